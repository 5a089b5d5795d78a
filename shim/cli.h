/* cli.h - the command line and its environment twins. */
#ifndef KEYSHIM_CLI_H
#define KEYSHIM_CLI_H

#include <stdbool.h>

#include "keyspec.h"
#include "log.h"

#define DEFAULT_KEY_DIR "/var/lib/keyshim"

enum mode {
	MODE_EXEC,    /* keyshim [OPTIONS] -- COMMAND [ARG...] */
	MODE_INIT,    /* keyshim [OPTIONS] init */
	MODE_CHECK,   /* keyshim [OPTIONS] check */
	MODE_INSTALL, /* keyshim install DIR */
	MODE_HELP,
	MODE_VERSION,
};

/* Which value wins when NAME is set and DIR/NAME holds another key. */
enum on_conflict { CONFLICT_REFUSE, CONFLICT_ENV, CONFLICT_FILE };

struct options {
	enum mode mode;
	const char *dir;
	const char *user;      /* -u USER[:GROUP], or NULL */
	enum verbosity verbosity;
	enum on_conflict on_conflict;
	bool allow_ephemeral;
	bool no_create;
	bool supervise;
	struct key_list keys;
	char **command;        /* exec: COMMAND [ARG...]; install: DIR */
};

/* Parse argv and the KEYSHIM_* variables; a command-line option overrides
 * its twin. Any mistake exits EX_USAGE with a one-line hint. */
void cli_parse(int argc, char **argv, struct options *options);

void cli_print_help(void);

#endif
