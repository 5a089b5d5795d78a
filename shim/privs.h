/* privs.h - the user the service runs as (-u USER[:GROUP]), looked up in
 * the container's /etc/passwd and /etc/group by libc (musl reads them
 * itself, no NSS), and the drop to it: setgroups, setgid, setuid. */
#ifndef KEYSHIM_PRIVS_H
#define KEYSHIM_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RUN_AS_GROUPS_MAX 256

struct run_as {
	bool set;       /* -u given */
	bool change;    /* we are root: set groups, gid, uid before exec */
	uid_t uid;
	gid_t gid;
	int group_count; /* supplementary groups */
	gid_t groups[RUN_AS_GROUPS_MAX];
};

/* Resolve spec (NULL: stay as we are). Exits EX_USAGE on a malformed spec,
 * EX_NOUSER for an unknown user or group, EX_NOPERM when not root and the
 * target (ids and supplementary groups) is not who we already are. */
void run_as_lookup(const char *spec, struct run_as *run_as);

/* Become the target for good, checked; exits EX_NOPERM on any failure. */
void run_as_apply(const struct run_as *run_as);

#endif
