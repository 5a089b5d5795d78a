/* exec.h - hand the keys to the service: build its environment, then
 * either become it (exec) or stay as its init (supervise, like tini -s -g). */
#ifndef KEYSHIM_EXEC_H
#define KEYSHIM_EXEC_H

#include <stddef.h>

#include "keys.h"

/* The current environment with NAME=value for every key, and without any
 * earlier NAME or NAME_FILE. The key strings live in one block that
 * env_wipe() clears. */
char **env_with_keys(const struct key *keys, size_t count);
void env_wipe(void);
/* Give back what env_with_keys() took (for the fuzzer: keyshim execs). */
void env_free(char **envp);

/* Called first in main, before any key is read: keyshim is not dumpable
 * and its RLIMIT_CORE is 0, so no core file can hold a key. exec_command
 * gives the service the core limit keyshim found. */
void exec_guard_core(void);

/* With -g, called before any key is read: block every signal but the
 * faults, so that none is lost before the service starts. A stop signal
 * (TERM, INT, HUP, QUIT) received by then ends keyshim with 128+N before
 * the fork, and the service is not started; others are forwarded to it. */
void supervise_hold_signals(void);

/* Replace this process with argv[0] (searched in PATH). On failure exits
 * 127 (not found) or 126 (cannot execute). */
_Noreturn void exec_command(char **argv, char **envp);

/* Fork the command into its own process group and stay as its parent:
 * forward signals to the group, reap every child, and exit with the
 * command's status (128+N when signal N killed it). wipe_secrets runs in
 * the parent right after the fork: it holds no key while it waits. */
_Noreturn void supervise_command(char **argv, char **envp, void (*wipe_secrets)(void));

#endif
