/* cli.h - the command line and its environment twins. */
#ifndef KEYSHIM_CLI_H
#define KEYSHIM_CLI_H

#include <stdbool.h>

#include "keyspec.h"
#include "log.h"
#include "policy.h"

#define DEFAULT_KEY_DIR "/var/lib/keyshim"

enum mode {
	MODE_EXEC,    /* keyshim [OPTIONS] -- COMMAND [ARG...] */
	MODE_INIT,    /* keyshim [OPTIONS] init */
	MODE_CHECK,   /* keyshim [OPTIONS] check */
	MODE_INSTALL, /* keyshim install DIR */
	MODE_PRESETS, /* keyshim presets */
	MODE_HELP,
	MODE_VERSION,
};

struct options {
	enum mode mode;
	const char *dir;
	const char *user;      /* -u USER[:GROUP], or NULL */
	enum verbosity verbosity;
	struct key_policy policy; /* all but read_only, which the mode decides */
	bool supervise;
	char **command;        /* exec: COMMAND [ARG...]; install: DIR */
	struct key_list keys;  /* last: cli_parse() clears only what is before it */
};

/* Parse argv and the KEYSHIM_* variables; a command-line option overrides
 * its twin. Any mistake exits EX_USAGE with a one-line hint. */
void cli_parse(int argc, char **argv, struct options *options);

void cli_print_help(void);

#endif
