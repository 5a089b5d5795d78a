/* privs.c - see privs.h. */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* A whole decimal id: digits only, no sign, fits in 31 bits. */
static bool parse_id(const char *text, unsigned *id)
{
	unsigned long long value = 0; /* 10 digits fit, even where long is 32 bits */
	if (!*text || strlen(text) > 10)
		return false;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		value = value * 10 + (unsigned long long)(*p - '0');
	}
	if (value > 0x7fffffffULL)
		return false;
	*id = (unsigned)value;
	return true;
}

/* The passwd entry for a name or a numeric id; false when there is none. */
static bool find_user(const char *user, struct passwd *entry, char *buffer,
                      size_t size)
{
	struct passwd *found = NULL;
	unsigned id;
	int rc = parse_id(user, &id)
	    ? getpwuid_r((uid_t)id, entry, buffer, size, &found)
	    : getpwnam_r(user, entry, buffer, size, &found);
	if (rc != 0 && rc != ENOENT)
		die(EX_OSERR, "cannot read /etc/passwd for user %s: %s", user, strerror(rc));
	return found != NULL;
}

static gid_t find_group(const char *group)
{
	unsigned id;
	if (parse_id(group, &id))
		return (gid_t)id;
	struct group entry, *found = NULL;
	static char buffer[16384]; /* not on the stack: keyshim runs under small stack limits */
	int rc = getgrnam_r(group, &entry, buffer, sizeof buffer, &found);
	if (rc != 0 && rc != ENOENT)
		die(EX_OSERR, "cannot read /etc/group for group %s: %s", group, strerror(rc));
	if (!found)
		die(EX_NOUSER, "-u: no group '%s' in /etc/group; give a numeric gid", group);
	return found->gr_gid;
}

/* Fill uid, gid and supplementary groups: a named user (or an id with a
 * passwd entry) and no group gets its primary group and getgrouplist();
 * an explicit group means exactly that group and no supplementary ones. */
static void resolve_ids(char *user, const char *group, struct run_as *run_as)
{
	struct passwd entry;
	static char buffer[16384]; /* not on the stack: keyshim runs under small stack limits */
	unsigned id;
	bool known = find_user(user, &entry, buffer, sizeof buffer);
	if (known)
		run_as->uid = entry.pw_uid;
	else if (parse_id(user, &id))
		run_as->uid = (uid_t)id;
	else
		die(EX_NOUSER, "-u: no user '%s' in /etc/passwd; give a numeric uid:gid", user);

	if (group) {
		run_as->gid = find_group(group);
		run_as->group_count = 0;
		return;
	}
	if (!known)
		die(EX_NOUSER, "-u: uid %s has no entry in /etc/passwd to take its group from; give one: -u %s:GID",
		    user, user);
	run_as->gid = entry.pw_gid;
	run_as->group_count = RUN_AS_GROUPS_MAX;
	errno = 0;
	if (getgrouplist(entry.pw_name, entry.pw_gid, run_as->groups, &run_as->group_count) < 0) {
		if (run_as->group_count > RUN_AS_GROUPS_MAX) /* the one failure that sets it */
			die(EX_NOUSER, "-u: user '%s' is in more than %d groups", user, RUN_AS_GROUPS_MAX);
		die(EX_OSERR, "-u: cannot read /etc/group for user '%s': %s", user,
		    errno ? strerror(errno) : "unknown error");
	}
}

static bool has_group(const gid_t *groups, int count, gid_t gid)
{
	for (int i = 0; i < count; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* True when our supplementary groups are already the target's (the
 * primary group aside, which the kernel may or may not list). */
static bool groups_are(const struct run_as *run_as)
{
	gid_t current[RUN_AS_GROUPS_MAX];
	int count = getgroups(RUN_AS_GROUPS_MAX, current);
	if (count < 0)
		return false;
	for (int i = 0; i < count; i++)
		if (current[i] != run_as->gid && !has_group(run_as->groups, run_as->group_count, current[i]))
			return false;
	for (int i = 0; i < run_as->group_count; i++)
		if (run_as->groups[i] != run_as->gid && !has_group(current, count, run_as->groups[i]))
			return false;
	return true;
}

void run_as_lookup(const char *spec, struct run_as *run_as)
{
	*run_as = (struct run_as){ .uid = geteuid(), .gid = getegid() };
	if (!spec)
		return;
	char copy[256];
	if (!*spec || strlen(spec) >= sizeof copy)
		die(EX_USAGE, "-u: '%s' is not USER[:GROUP]", spec);
	strcpy(copy, spec);
	char *group = strchr(copy, ':');
	if (group) {
		*group++ = '\0';
		if (!*group || !*copy)
			die(EX_USAGE, "-u: '%s' is not USER[:GROUP]", spec);
	}
	run_as->set = true;
	resolve_ids(copy, group, run_as);

	bool same = run_as->uid == getuid() && run_as->uid == geteuid() &&
	            run_as->gid == getgid() && run_as->gid == getegid();
	if (geteuid() != 0 && !same)
		die(EX_NOPERM, "-u %s needs root, but keyshim runs as uid %u; start the container as root, or drop -u",
		    spec, (unsigned)geteuid());
	if (geteuid() != 0 && !groups_are(run_as))
		die(EX_NOPERM, "-u %s: keyshim has supplementary groups that only root can drop; start it without them (or as root)",
		    spec);
	/* root always sets all three, so the groups are exactly these even
	 * when the ids already match */
	run_as->change = geteuid() == 0;
}

void run_as_apply(const struct run_as *run_as)
{
	if (!run_as->change)
		return;
	if (setgroups((size_t)run_as->group_count, run_as->groups) != 0 ||
	    setgid(run_as->gid) != 0 || setuid(run_as->uid) != 0)
		die(EX_NOPERM, "cannot become uid %u gid %u: %s", (unsigned)run_as->uid,
		    (unsigned)run_as->gid, strerror(errno));
	/* A dropped root must not come back. */
	if (run_as->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		die(EX_NOPERM, "could regain root after dropping to uid %u; refusing to run",
		    (unsigned)run_as->uid);
	if (getuid() != run_as->uid || geteuid() != run_as->uid ||
	    getgid() != run_as->gid || getegid() != run_as->gid)
		die(EX_NOPERM, "ids after the drop are not uid %u gid %u", (unsigned)run_as->uid,
		    (unsigned)run_as->gid);
	log_debug("running as uid %u gid %u with %d supplementary groups",
	          (unsigned)run_as->uid, (unsigned)run_as->gid, run_as->group_count);
}
