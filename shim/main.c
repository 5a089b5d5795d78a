/* keyshim - keep a container's secret keys on its volume, then exec.
 *
 * One run: read the options, find each key (the key file on the volume,
 * else NAME_FILE, NAME or the service's own configuration; else create it
 * once), then either
 * print them (init, check) or export them and become the service (exec),
 * optionally staying as its init (-g) and as another user (-u).
 * Key values are never printed: only their fingerprints. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "exec.h"
#include "install.h"
#include "keys.h"
#include "log.h"
#include "presets.h"
#include "privs.h"

#ifndef KEYSHIM_VERSION
#define KEYSHIM_VERSION "unknown"
#endif

static struct options options;
static struct key keys[KEYS_MAX];

static void wipe_keys(void) { keys_wipe(keys, options.keys.count); }

/* libsodium calls this instead of abort() when it cannot go on, which in
 * keyshim means the kernel refused random bytes. */
static void random_failure(void)
{
	die(EX_OSERR, "cannot get random bytes from the kernel; no key was written");
}

static void report(const struct key *key, const char *dir)
{
	const char *name = key->spec->name;
	if (key->state == KEY_ADOPTED)
		log_info("%s adopted %s (%s/%s, from %s)", name, key->fingerprint, dir, name,
		         key->source);
	else if (key->source)
		log_info("%s %s %s (%s)", name, key_state_name(key->state), key->fingerprint, key->source);
	else
		log_info("%s %s %s (%s/%s)", name, key_state_name(key->state),
		         key->state == KEY_MISSING ? "-" : key->fingerprint, dir, name);
}

/* init and check: NAME FINGERPRINT STATE on stdout, for scripts. */
static void print_table(void)
{
	for (size_t i = 0; i < options.keys.count; i++)
		printf("%s %s %s\n", keys[i].spec->name,
		       keys[i].state == KEY_MISSING ? "-" : keys[i].fingerprint,
		       key_state_name(keys[i].state));
	if (fflush(stdout) != 0)
		die(EX_IOERR, "cannot write to standard output");
}

static int count_missing(void)
{
	int missing = 0;
	for (size_t i = 0; i < options.keys.count; i++)
		missing += keys[i].state == KEY_MISSING;
	return missing;
}

int main(int argc, char **argv)
{
	exec_guard_core(); /* first: no key may ever reach a core file */
	log_set_exit_hook(wipe_keys);
	/* No sodium_init(): it only picks the fastest ciphers for this CPU
	 * and stirs the random source early, and keyshim needs neither. Of
	 * what keyshim uses, randombytes_buf() opens the kernel's random
	 * source itself on its first call (before the first key is written),
	 * crypto_generichash() works with the portable BLAKE2b it starts
	 * with, and the rest (memzero, memcmp, hex, base64) is plain code.
	 * sodium_init() costs about 5 CPUID instructions, each a trap to the
	 * hypervisor in a VM (some 7 us here: half of keyshim's start-up),
	 * and it links in every cipher it could pick (127 KB of the binary).
	 * libsodium 1.0.18: randombytes/randombytes.c, sodium/core.c. */
	sodium_set_misuse_handler(random_failure);

	cli_parse(argc, argv, &options);
	log_set_verbosity(options.verbosity);
	switch (options.mode) {
	case MODE_HELP:
		cli_print_help();
		return 0;
	case MODE_VERSION:
		printf("keyshim %s (libsodium %s)\n", KEYSHIM_VERSION, sodium_version_string());
		return 0;
	case MODE_INSTALL:
		install_self(options.command[0]);
		return 0;
	case MODE_PRESETS:
		presets_print(stdout);
		if (fflush(stdout) != 0)
			die(EX_IOERR, "cannot write to standard output");
		return 0;
	default:
		break;
	}

	if (options.supervise && options.mode == MODE_EXEC)
		supervise_hold_signals(); /* none lost before the service starts */
	struct run_as run_as;
	run_as_lookup(options.user, &run_as);
	struct key_dir dir;
	key_dir_init(&dir, options.dir, run_as.uid, run_as.gid, options.mode == MODE_CHECK);
	options.policy.read_only = options.mode == MODE_CHECK;
	keys_resolve(&options.keys, &options.policy, &dir, &run_as, keys);

	if (options.mode == MODE_INIT || options.mode == MODE_CHECK) {
		/* the table is the report; the log lines only with -v */
		if (options.verbosity == LOG_VERBOSE)
			for (size_t i = 0; i < options.keys.count; i++)
				report(&keys[i], options.dir);
		print_table();
		int missing = count_missing();
		wipe_keys();
		return missing ? EXIT_MISSING_KEYS : 0;
	}

	for (size_t i = 0; i < options.keys.count; i++)
		report(&keys[i], options.dir);
	char **envp = env_with_keys(keys, options.keys.count);
	run_as_apply(&run_as);
	if (options.supervise)
		supervise_command(options.command, envp, wipe_keys);
	wipe_keys(); /* the exec'd process gets the keys from envp alone */
	exec_command(options.command, envp);
}
