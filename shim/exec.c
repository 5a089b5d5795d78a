/* exec.c - see exec.h.
 *
 * Supervision follows tini: every signal blocked and taken synchronously
 * with sigtimedwait() in one loop, no asynchronous handlers; the child in
 * its own process group, which receives what we receive (tini -g); as PID 1
 * or, failing that, a child subreaper (tini -s), we reap every orphan. */
#include "exec.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

static char *key_block;
static size_t key_block_size;
/* The keys whose inherited NAME=, NAME_FILE= (and the service's own twin
 * of it) entries env_wipe() clears,
 * every copy of them, however many the environment holds. */
static const struct key_spec *replaced[KEYS_MAX];
static size_t replaced_count;
/* RLIMIT_CORE as keyshim found it: the service gets it back. */
static struct rlimit core_limit;
static bool core_limit_saved;
/* The usual environment, its pointers and then the key strings, without
 * malloc(): its first call takes four syscalls and four page faults, some
 * 8 us of every start. A larger one goes to the heap. */
static char *env_room[1024];

/* True when environment entry `entry`, whose name is name_len bytes long
 * (up to its '='), is NAME<suffix>=... */
static bool entry_is(const char *entry, size_t name_len, const char *name, const char *suffix)
{
	if (entry[0] != name[0]) /* most entries: names are never empty */
		return false;
	size_t len = strlen(name), suffix_len = strlen(suffix);
	return name_len == len + suffix_len && memcmp(entry, name, len) == 0 &&
	       memcmp(entry + len, suffix, suffix_len) == 0;
}

static bool entry_is_replaced(const char *entry)
{
	size_t name_len = strcspn(entry, "=");
	if (entry[name_len] != '=')
		return false;
	for (size_t i = 0; i < replaced_count; i++) {
		const struct key_spec *spec = replaced[i];
		/* the service's own NAME_FILE twin (Grafana's NAME__FILE) */
		const char *twin = spec->own.conf ? spec->own.conf->file_suffix : NULL;
		if (entry_is(entry, name_len, spec->name, "") ||
		    entry_is(entry, name_len, spec->name, "_FILE") ||
		    (twin && entry_is(entry, name_len, spec->name, twin)) ||
		    (spec->own.alias && entry_is(entry, name_len, spec->own.alias, "")))
			return true;
	}
	return false;
}

char **env_with_keys(const struct key *keys, size_t count)
{
	size_t inherited = 0;
	while (environ[inherited])
		inherited++;
	key_block_size = 0;
	for (size_t i = 0; i < count; i++)
		if (!keys[i].unexported) /* the service reads it itself */
			key_block_size += strlen(keys[i].spec->name) + 1 + keys[i].len + 1 +
			                  (keys[i].spec->own.alias
			                       ? strlen(keys[i].spec->own.alias) + 1 + keys[i].len + 1
			                       : 0);

	size_t slots = inherited + 2 * count + 1;
	char **envp;
	if (slots * sizeof *envp + key_block_size <= sizeof env_room) {
		envp = env_room;
		key_block = (char *)(env_room + slots);
	} else {
		envp = calloc(slots, sizeof *envp);
		key_block = malloc(key_block_size);
		if (!envp || !key_block)
			die(EX_OSERR, "out of memory building the environment");
	}

	size_t used = 0;
	for (replaced_count = 0; replaced_count < count; replaced_count++)
		replaced[replaced_count] = keys[replaced_count].spec;
	for (size_t i = 0; i < inherited; i++)
		if (!entry_is_replaced(environ[i]))
			envp[used++] = environ[i];
	char *cursor = key_block;
	for (size_t i = 0; i < count; i++) {
		if (keys[i].unexported) /* the service reads it itself */
			continue;
		/* the key under its name, and under the name older releases read */
		const char *names[] = { keys[i].spec->name, keys[i].spec->own.alias };
		for (size_t n = 0; n < 2 && names[n]; n++) {
			size_t name_len = strlen(names[n]);
			envp[used++] = cursor;
			memcpy(cursor, names[n], name_len);
			cursor[name_len] = '=';
			memcpy(cursor + name_len + 1, keys[i].text, keys[i].len + 1);
			cursor += name_len + 1 + keys[i].len + 1;
		}
	}
	envp[used] = NULL;
	return envp;
}

void env_free(char **envp)
{
	if (envp != env_room) {
		free(key_block);
		free(envp);
	}
	key_block = NULL;
}

void env_wipe(void)
{
	if (key_block)
		sodium_memzero(key_block, key_block_size);
	for (size_t i = 0; environ[i]; i++)
		if (entry_is_replaced(environ[i]))
			sodium_memzero(environ[i], strlen(environ[i]));
}

void exec_guard_core(void)
{
	/* before any key is read: no core file, no same-user ptrace or
	 * /proc/PID/mem of the process that holds keys */
	prctl(PR_SET_DUMPABLE, 0);
	if (getrlimit(RLIMIT_CORE, &core_limit) == 0) {
		core_limit_saved = true;
		struct rlimit none = { .rlim_cur = 0, .rlim_max = core_limit.rlim_max };
		if (setrlimit(RLIMIT_CORE, &none) != 0)
			die(EX_OSERR, "cannot turn off core dumps: %s", strerror(errno));
	}
}

_Noreturn void exec_command(char **argv, char **envp)
{
	if (core_limit_saved) /* the service's own limit; execve makes it dumpable again */
		setrlimit(RLIMIT_CORE, &core_limit);
	execvpe(argv[0], argv, envp);
	int err = errno;
	env_wipe();
	die(err == ENOENT || err == ENOTDIR ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE,
	    "%s: cannot run: %s; check the command after --", argv[0], strerror(err));
}

/* Signals that report a fault in keyshim itself stay unblocked, so a bug
 * crashes it loudly instead of being swallowed. */
static const int fault_signals[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };

/* A stop signal that arrives before the service starts ends keyshim. */
static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

static sigset_t blocked, original;
static bool signals_held;

void supervise_hold_signals(void)
{
	if (signals_held)
		return;
	sigfillset(&blocked);
	for (size_t i = 0; i < sizeof fault_signals / sizeof fault_signals[0]; i++)
		sigdelset(&blocked, fault_signals[i]);
	if (sigprocmask(SIG_SETMASK, &blocked, &original) != 0)
		die(EX_OSERR, "cannot block signals: %s", strerror(errno));
	signals_held = true;
}

/* Before the fork: a pending stop signal means the service never starts. */
static void stop_if_asked(void (*wipe_secrets)(void))
{
	sigset_t pending;
	if (sigpending(&pending) != 0)
		die(EX_OSERR, "sigpending: %s", strerror(errno));
	for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) {
		if (sigismember(&pending, stop_signals[i]) != 1)
			continue;
		log_info("stopped by signal %d before the service started; it was not started",
		         stop_signals[i]);
		env_wipe();
		wipe_secrets();
		exit(128 + stop_signals[i]);
	}
}

/* In the child: its own process group, the terminal's foreground if it has
 * one (or it would stop on reading it), original signal mask, then exec. */
static _Noreturn void start_child(char **argv, char **envp, const sigset_t *original)
{
	setpgid(0, 0);
	/* SIGTTOU is still blocked here, so tcsetpgrp() from what is now a
	 * background group works, and the disposition we inherited is kept. */
	if (isatty(STDIN_FILENO))
		tcsetpgrp(STDIN_FILENO, getpgrp());
	sigprocmask(SIG_SETMASK, original, NULL);
	exec_command(argv, envp);
}

static void forward_signal(pid_t child, int sig)
{
	/* The group first; if the child has not made it yet, the child. */
	if (kill(-child, sig) != 0 && errno == ESRCH && kill(child, sig) != 0 && errno != ESRCH)
		log_warn("cannot forward signal %d: %s", sig, strerror(errno));
	log_debug("forwarded signal %d to process group %d", sig, (int)child);
}

/* Reap every exited child. True once `child` itself is gone. */
static bool reap_children(pid_t child, int *child_status)
{
	bool child_gone = false;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == child) {
			*child_status = status;
			child_gone = true;
		} else {
			log_debug("reaped orphan %d", (int)pid);
		}
	}
	if (pid < 0 && errno != ECHILD)
		die(EX_OSERR, "waitpid: %s", strerror(errno));
	return child_gone;
}

/* The code that resolved the keys (ours, libsodium's, libc's) leaves
 * fragments of them in dead stack frames below ours: 8-byte pieces were
 * seen in /proc/PID/mem. The supervisor lives as long as the service, so
 * it clears that stack before it waits: up to 64 KiB below this frame, but
 * never past RLIMIT_STACK less a margin for the calls it makes (under
 * `ulimit -s 64` a fixed 64 KiB would crash, with keys in memory). The
 * stack's top is where the kernel put the program's name (AT_EXECFN). No
 * code deeper than the limit can have run, so nothing is left there. */
#define STACK_WIPE_MAX (64 * 1024)
#define STACK_WIPE_MARGIN (16 * 1024)

static size_t stack_wipe_size(void)
{
	unsigned char here;
	struct rlimit limit;
	uintptr_t top = (uintptr_t)getauxval(AT_EXECFN);
	if (getrlimit(RLIMIT_STACK, &limit) != 0 || !top || top < (uintptr_t)&here)
		return 0;
	if (limit.rlim_cur == RLIM_INFINITY)
		return STACK_WIPE_MAX;
	size_t used = top - (uintptr_t)&here + STACK_WIPE_MARGIN;
	if (limit.rlim_cur <= used)
		return 0;
	size_t room = (size_t)(limit.rlim_cur - used);
	return room < STACK_WIPE_MAX ? room : STACK_WIPE_MAX;
}

static __attribute__((noinline)) void wipe_area(size_t size)
{
	unsigned char area[size]; /* size > 0 */
	sodium_memzero(area, size);
	__asm__ __volatile__("" : : "r"(area) : "memory"); /* keep it on the stack */
}

static __attribute__((noinline)) void wipe_stack(void)
{
	size_t size = stack_wipe_size();
	if (size > 0)
		wipe_area(size);
}

static _Noreturn __attribute__((noinline)) void supervise(char **argv, char **envp,
                                                          void (*wipe_secrets)(void))
{
	supervise_hold_signals();
	stop_if_asked(wipe_secrets);
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		log_warn("cannot become a child subreaper (%s): orphans may stay zombies",
		         strerror(errno));

	pid_t child = fork();
	if (child < 0)
		die(EX_OSERR, "cannot fork: %s", strerror(errno));
	if (child == 0)
		start_child(argv, envp, &original);
	setpgid(child, child); /* also here, so signals never miss the group */
	env_wipe();
	wipe_secrets();
	log_debug("supervising %s as process %d", argv[0], (int)child);

	for (;;) {
		siginfo_t info;
		struct timespec tick = { .tv_sec = 1 }; /* also catches a lost SIGCHLD */
		int sig = sigtimedwait(&blocked, &info, &tick);
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			die(EX_OSERR, "sigtimedwait: %s", strerror(errno));
		/* like tini: stopping on the terminal is for the child, not us */
		if (sig > 0 && sig != SIGCHLD && sig != SIGTTIN && sig != SIGTTOU)
			forward_signal(child, sig);
		int status;
		if (reap_children(child, &status))
			exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
	}
}

_Noreturn void supervise_command(char **argv, char **envp, void (*wipe_secrets)(void))
{
	/* No locals here: supervise()'s frame (partly written sigsets) then
	 * lies on wiped memory too, not on what keys_resolve() left. */
	wipe_stack();
	supervise(argv, envp, wipe_secrets);
}
