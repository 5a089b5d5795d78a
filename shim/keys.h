/* keys.h - deciding each key's value.
 *
 * A key's sources, in the order its service itself prefers them:
 *   1. the key file DIR/NAME: once there, it is the key;
 *   2. outside values, walked in order, the first present one counting:
 *      a file the service reads before the environment (Plausible's
 *      $CONFIG_DIR/NAME),
 *      NAME_FILE's contents (a mounted secret; nothing written),
 *      the service's own twin of NAME_FILE (Grafana's NAME__FILE), the same,
 *      NAME from the environment (authentik's env://VAR and file:///PATH
 *      in it resolved as authentik resolves them),
 *      the service's own configuration file (preset keys: config.json,
 *      airflow.cfg), read only;
 *      NAME_CMD / NAME_SECRET (Airflow): keyshim cannot run them, and its
 *      NAME would shadow them, so their presence is a refusal.
 * Where none is there and the service's data exists while the service falls
 * back to a value published in its source (struct silent_default), that
 * value is refused, or adopted with --adopt-published.
 * An outside value and a different key file are a conflict (refused unless
 * --on-conflict picks one); an outside value alone is adopted (published
 * in DIR) unless it came from NAME_FILE; nothing at all: a new key.
 * Outside values must pass the key's acceptance rule; one that upstream
 * published is ignored (session keys) or refused (data keys).
 * Every key is checked before anything is written, and a key file that
 * exists is never replaced, whatever the environment says. */
#ifndef KEYSHIM_KEYS_H
#define KEYSHIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "encoding.h"
#include "keystore.h"
#include "policy.h"
#include "privs.h"

enum key_state {
	KEY_MISSING,  /* check mode: there is no key file */
	KEY_LOADED,   /* read from DIR/NAME */
	KEY_CREATED,  /* made here from libsodium's randomness and published */
	KEY_ADOPTED,  /* an outside value (NAME, the service's file), now published */
	KEY_FROM_FILE_VAR, /* read from NAME_FILE; nothing written */
	KEY_FROM_ENV, /* an outside value preferred to DIR/NAME by --on-conflict env */
};

struct key {
	const struct key_spec *spec;
	enum key_state state;
	/* where the value came from when not DIR/NAME: NAME_FILE's path,
	 * "the environment" or the service's file; NULL: DIR/NAME */
	const char *source;
	size_t len;
	char text[KEY_TEXT_MAX + 1]; /* the exported value: secret */
	char fingerprint[FINGERPRINT_SIZE];
	/* the service reads this value itself (Gitea's SECRET_KEY_URI file):
	 * kept and checked, never exported */
	bool unexported;
};

/* Fill keys[i] for every spec of list; exits on any refusal. The service's
 * own files are read with reader's rights. */
void keys_resolve(const struct key_list *list, const struct key_policy *policy,
                  struct key_dir *dir, const struct run_as *reader, struct key *keys);

const char *key_state_name(enum key_state state);

void keys_wipe(struct key *keys, size_t count);

#endif
