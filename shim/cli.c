/* cli.c - see cli.h. */
#include "cli.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "presets.h"

#define USAGE_HINT "try 'keyshim --help'"

enum long_only {
	OPT_VERSION = 256,
	OPT_ALLOW_EPHEMERAL,
	OPT_ON_CONFLICT,
	OPT_NO_CREATE,
	OPT_ADOPT_PUBLISHED,
};

static const struct option long_options[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "preset", required_argument, NULL, 'p' },
	{ "key", required_argument, NULL, 'k' },
	{ "user", required_argument, NULL, 'u' },
	{ "supervise", no_argument, NULL, 'g' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "allow-ephemeral", no_argument, NULL, OPT_ALLOW_EPHEMERAL },
	{ "on-conflict", required_argument, NULL, OPT_ON_CONFLICT },
	{ "no-create", no_argument, NULL, OPT_NO_CREATE },
	{ "adopt-published", no_argument, NULL, OPT_ADOPT_PUBLISHED },
	{ NULL, 0, NULL, 0 },
};

void cli_print_help(void)
{
	fputs(
	    "usage: keyshim [OPTIONS] -- COMMAND [ARG...]  keep keys, export them, exec COMMAND\n"
	    "       keyshim [OPTIONS] init                 keep keys, print NAME FINGERPRINT STATE\n"
	    "       keyshim [OPTIONS] check                read only: 0 valid, 1 missing, 65 invalid\n"
	    "       keyshim install DIR                    copy this binary to DIR/keyshim\n"
	    "       keyshim presets                        PRESET NAME FORMAT BYTES CLASS ACCEPTS SOURCE\n"
	    "\n"
	    "options (environment twin in brackets; the option wins):\n"
	    "  -d, --dir DIR           key directory on the volume [KEYSHIM_DIR] (" DEFAULT_KEY_DIR ")\n",
	    stdout);
	printf("  -p, --preset NAME       %s [KEYSHIM_PRESET, comma separated]\n"
	       "  -k, --key NAME[:FORMAT[:BYTES]]\n"
	       "                          a key; FORMAT %s (base64 if not given);\n",
	       preset_names(), format_names());
	fputs(
	    "                          BYTES 16..1024 (32) [KEYSHIM_KEYS, comma separated]\n"
	    "  -u, --user USER[:GROUP] run COMMAND as this user; keys are made for it [KEYSHIM_USER]\n"
	    "  -g, --supervise         stay as PID 1: forward signals, reap zombies [KEYSHIM_SUPERVISE=1]\n"
	    "      --no-create         a missing key is an error, never made anew [KEYSHIM_NO_CREATE=1]\n"
	    "      --allow-ephemeral   allow keys on the container's own or a tmpfs filesystem\n"
	    "                          [KEYSHIM_ALLOW_EPHEMERAL=1]\n"
	    "      --on-conflict refuse|env|file\n"
	    "                          NAME set and DIR/NAME differs: refuse (default), or which\n"
	    "                          wins; the file is never changed [KEYSHIM_ON_CONFLICT]\n"
	    "      --adopt-published   take a data key even when its value is one upstream\n"
	    "                          published (anyone can decrypt) [KEYSHIM_ADOPT_PUBLISHED=1]\n"
	    "  -q, --quiet             errors only [KEYSHIM_QUIET=1]\n"
	    "  -v, --verbose           say more [KEYSHIM_VERBOSE=1]\n"
	    "  -h, --help              this text\n"
	    "      --version           keyshim's and libsodium's versions\n"
	    "\n"
	    "exit codes: 0 ok; 1 check: key missing; 64 usage; 65 bad key data; 67 unknown user;\n"
	    "  73 cannot create; 74 I/O error; 77 permission, symlink, owner or mode;\n"
	    "  78 refused by configuration; 126 COMMAND not executable; 127 COMMAND not found;\n"
	    "  with -g, COMMAND's own status, or 128+N when signal N killed it\n",
	    stdout);
}

static _Noreturn void usage_error(const char *what, const char *detail)
{
	die(EX_USAGE, "%s%s; " USAGE_HINT, what, detail);
}

/* KEYSHIM_X=1|true|yes or 0|false|no|empty. */
static bool env_flag(const char *name)
{
	const char *value = getenv(name);
	if (!value || !*value || strcmp(value, "0") == 0 ||
	    strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
		return false;
	if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
	    strcmp(value, "yes") == 0)
		return true;
	die(EX_USAGE, "%s='%s' is not a flag: use 1 or 0", name, value);
}

static enum on_conflict parse_on_conflict(const char *text, const char *origin)
{
	if (strcmp(text, "refuse") == 0)
		return CONFLICT_REFUSE;
	if (strcmp(text, "env") == 0)
		return CONFLICT_ENV;
	if (strcmp(text, "file") == 0)
		return CONFLICT_FILE;
	die(EX_USAGE, "%s '%s' must be refuse, env or file", origin, text);
}

/* KEYSHIM_PRESET or KEYSHIM_KEYS: comma-separated items. */
static void add_env_list(const char *variable, key_list_adder add, struct key_list *list)
{
	const char *value = getenv(variable);
	char why[256];
	if (value && !key_list_add_csv(value, add, list, why, sizeof why))
		die(EX_USAGE, "%s: %s; " USAGE_HINT, variable, why);
}

static void defaults_from_environment(struct options *options)
{
	const char *value;
	options->dir = (value = getenv("KEYSHIM_DIR")) && *value ? value : DEFAULT_KEY_DIR;
	options->user = (value = getenv("KEYSHIM_USER")) && *value ? value : NULL;
	options->verbosity = env_flag("KEYSHIM_QUIET")     ? LOG_QUIET
	                     : env_flag("KEYSHIM_VERBOSE") ? LOG_VERBOSE
	                                                   : LOG_NORMAL;
	options->policy.on_conflict = (value = getenv("KEYSHIM_ON_CONFLICT")) && *value
	    ? parse_on_conflict(value, "KEYSHIM_ON_CONFLICT")
	    : CONFLICT_REFUSE;
	options->policy.allow_ephemeral = env_flag("KEYSHIM_ALLOW_EPHEMERAL");
	options->policy.no_create = env_flag("KEYSHIM_NO_CREATE");
	options->policy.adopt_published = env_flag("KEYSHIM_ADOPT_PUBLISHED");
	options->supervise = env_flag("KEYSHIM_SUPERVISE");
}

/* What follows the options: init, check, install DIR, or -- COMMAND. */
static void parse_operands(int argc, char **argv, bool after_dashdash,
                           struct options *options)
{
	char **rest = argv + optind;
	int count = argc - optind;
	if (after_dashdash) {
		if (count == 0)
			usage_error("no COMMAND after --", "");
		options->mode = MODE_EXEC;
		options->command = rest;
		return;
	}
	if (count == 0)
		usage_error("nothing to do: give init, check, or -- COMMAND", "");
	const char *verb = rest[0];
	if (strcmp(verb, "init") == 0 || strcmp(verb, "check") == 0) {
		if (count != 1)
			usage_error("unexpected argument after ", verb);
		options->mode = verb[0] == 'i' ? MODE_INIT : MODE_CHECK;
	} else if (strcmp(verb, "presets") == 0) {
		if (count != 1)
			usage_error("unexpected argument after ", verb);
		options->mode = MODE_PRESETS;
	} else if (strcmp(verb, "install") == 0) {
		if (count != 2)
			usage_error("install takes one DIR", "");
		options->mode = MODE_INSTALL;
		options->command = rest + 1;
	} else {
		die(EX_USAGE, "unknown command '%s': to run a program, put -- before it; " USAGE_HINT,
		    verb);
	}
}

/* NAME_FILE names the file holding NAME: a key may not be called that. */
static void check_file_variables(const struct key_list *keys)
{
	for (size_t i = 0; i < keys->count; i++)
		for (size_t j = 0; j < keys->count; j++) {
			const char *name = keys->specs[i].name, *other = keys->specs[j].name;
			size_t len = strlen(name);
			if (strncmp(other, name, len) == 0 && strcmp(other + len, "_FILE") == 0)
				die(EX_USAGE, "keys %s and %s clash: %s names the file holding %s; rename one; " USAGE_HINT,
				    name, other, other, name);
		}
}

/* The option getopt_long just refused: a short one is in optopt, a long
 * one is the argument it last looked at. */
static const char *offending_option(char **argv)
{
	static char short_option[3] = "-?";
	if (optopt > 0 && optopt < 256) {
		short_option[1] = (char)optopt;
		return short_option;
	}
	return argv[optind - 1];
}

void cli_parse(int argc, char **argv, struct options *options)
{
	/* not the 64 specs of an empty key list: clearing them touched 4
	 * pages, some 3 us of every start */
	memset(options, 0, offsetof(struct options, keys));
	options->keys.count = 0;
	if (argc < 1 || !argv[0]) /* execve with an empty argv (Linux < 5.18) */
		die(EX_USAGE, "started with an empty argument list; run keyshim with its name as argv[0]");
	defaults_from_environment(options);

	/* static: 13 KiB is too much for a small stack (ulimit -s); one call.
	 * Presets go straight to options->keys, which is empty until then. */
	static struct key_list cli_keys;
	bool have_cli_presets = false, have_cli_keys = false;
	const char *last_value = NULL; /* so that "-d --" is not taken for "--" */
	char why[256];
	int opt;
	opterr = 0; /* we print our own one-line errors */
	/* '+': options stop at the first operand. Never permute: the words
	 * after init or -- must stay exactly where the operator put them. */
	while ((opt = getopt_long(argc, argv, "+:d:p:k:u:gqvh", long_options, NULL)) != -1) {
		last_value = optarg;
		switch (opt) {
		case 'd':
			if (!*optarg)
				usage_error("--dir needs a directory", "");
			options->dir = optarg;
			break;
		case 'p':
			have_cli_presets = true;
			if (!preset_add(optarg, &options->keys, why, sizeof why))
				usage_error("--preset: ", why);
			break;
		case 'k':
			have_cli_keys = true;
			if (!key_list_add_spec(optarg, &cli_keys, why, sizeof why))
				usage_error("--key: ", why);
			break;
		case 'u':
			options->user = optarg;
			break;
		case 'g':
			options->supervise = true;
			break;
		case 'q':
			options->verbosity = LOG_QUIET;
			break;
		case 'v':
			options->verbosity = LOG_VERBOSE;
			break;
		case 'h':
			options->mode = MODE_HELP;
			return;
		case OPT_VERSION:
			options->mode = MODE_VERSION;
			return;
		case OPT_ALLOW_EPHEMERAL:
			options->policy.allow_ephemeral = true;
			break;
		case OPT_ON_CONFLICT:
			options->policy.on_conflict = parse_on_conflict(optarg, "--on-conflict");
			break;
		case OPT_NO_CREATE:
			options->policy.no_create = true;
			break;
		case OPT_ADOPT_PUBLISHED:
			options->policy.adopt_published = true;
			break;
		case ':':
			usage_error("missing value for ", offending_option(argv));
		default:
			usage_error("unknown option ", offending_option(argv));
		}
	}
	bool after_dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
	                      argv[optind - 1] != last_value;
	parse_operands(argc, argv, after_dashdash, options);
	if (options->mode == MODE_INSTALL || options->mode == MODE_PRESETS)
		return; /* they need no keys */

	/* Presets first, then single keys; a command-line list replaces its
	 * environment twin, and the two kinds combine. */
	if (!have_cli_presets)
		add_env_list("KEYSHIM_PRESET", preset_add, &options->keys);
	if (have_cli_keys) {
		for (size_t i = 0; i < cli_keys.count; i++)
			if (!key_list_add(&options->keys, &cli_keys.specs[i], why, sizeof why))
				usage_error("--key: ", why);
	} else {
		add_env_list("KEYSHIM_KEYS", key_list_add_spec, &options->keys);
	}
	if (options->keys.count == 0)
		usage_error("no keys: give -p PRESET or -k NAME", "");
	check_file_variables(&options->keys);
}
