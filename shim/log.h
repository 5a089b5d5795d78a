/* log.h - one-line messages on stderr, and the exit path for errors.
 *
 * Every message is a single line written with one write(2), so lines from
 * many containers sharing a log stream never interleave mid-line.
 * Nothing here ever receives a key's value: callers pass fingerprints. */
#ifndef KEYSHIM_LOG_H
#define KEYSHIM_LOG_H

#include <sysexits.h>

/* Exit codes not in sysexits.h: the shell's conventions for exec failures. */
#define EXIT_MISSING_KEYS 1   /* check: some key is missing */
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

enum verbosity { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_VERBOSE = 2 };

void log_set_verbosity(enum verbosity level);
/* Called by die() before exiting, so secrets are wiped on every exit path. */
void log_set_exit_hook(void (*hook)(void));

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The exit code for a failed system call on a key file or directory:
 * permission problems are EX_NOPERM, a full or read-only disk is
 * EX_CANTCREAT, anything else is EX_IOERR. */
int exit_code_for_errno(int err);
/* The same for a failure to create a file or directory: EX_CANTCREAT
 * where exit_code_for_errno would say EX_IOERR. */
int exit_code_for_create(int err);

#endif
