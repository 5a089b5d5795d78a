/* keys.h - deciding each key's value:
 *   the key file DIR/NAME when it exists (checked against NAME or
 *   NAME_FILE when one is given too: a difference is a conflict);
 *   else NAME_FILE's contents (a mounted secret; nothing written);
 *   else NAME's value, published ("adopted");
 *   else new random bytes, published ("created").
 * Every key is checked before anything is written, and a key file that
 * exists is never replaced, whatever the environment says. */
#ifndef KEYSHIM_KEYS_H
#define KEYSHIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "encoding.h"
#include "keystore.h"

enum key_state {
	KEY_MISSING,  /* check mode: there is no key file */
	KEY_LOADED,   /* read from DIR/NAME */
	KEY_CREATED,  /* made here from libsodium's randomness and published */
	KEY_ADOPTED,  /* NAME's value from the environment, now published */
	KEY_FROM_FILE_VAR, /* read from NAME_FILE; nothing written */
	KEY_FROM_ENV, /* NAME's value, preferred to DIR/NAME by --on-conflict env */
};

struct key {
	const struct key_spec *spec;
	enum key_state state;
	const char *source; /* NAME_FILE's path or "the environment"; NULL: DIR/NAME */
	size_t len;
	char text[KEY_TEXT_MAX + 1]; /* the exported value: secret */
	char fingerprint[FINGERPRINT_SIZE];
};

struct key_policy {
	bool read_only;
	bool no_create;
	bool allow_ephemeral;
	enum on_conflict on_conflict;
};

/* Fill keys[i] for every spec of list; exits on any refusal. */
void keys_resolve(const struct key_list *list, const struct key_policy *policy,
                  struct key_dir *dir, struct key *keys);

const char *key_state_name(enum key_state state);

void keys_wipe(struct key *keys, size_t count);

#endif
