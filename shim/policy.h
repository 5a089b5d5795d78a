/* policy.h - what a run of keyshim may do with keys: set by the command
 * line (cli), obeyed by the resolver (keys). */
#ifndef KEYSHIM_POLICY_H
#define KEYSHIM_POLICY_H

#include <stdbool.h>

/* Which value wins when an outside value (NAME, NAME_FILE, the service's
 * own configuration) differs from the key file DIR/NAME. */
enum on_conflict { CONFLICT_REFUSE, CONFLICT_ENV, CONFLICT_FILE };

struct key_policy {
	bool read_only;        /* check: change nothing */
	bool no_create;        /* a missing key is an error */
	bool allow_ephemeral;  /* keys may live on the container's own filesystem */
	bool adopt_published;  /* a data key may be a value upstream published */
	enum on_conflict on_conflict;
};

#endif
