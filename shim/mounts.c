/* mounts.c - see mounts.h. */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Copy one space-separated field, undoing the \ooo escapes the kernel uses
 * for space, tab, newline and backslash. Returns the position after the
 * field, or NULL when it is missing or does not fit. */
static const char *take_field(const char *p, char *out, size_t out_size)
{
	size_t len = 0;
	while (*p == ' ')
		p++;
	if (*p == '\0' || *p == '\n')
		return NULL;
	while (*p && *p != ' ' && *p != '\n') {
		char c = *p++;
		if (c == '\\' && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' &&
		    p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
			c = (char)((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0'));
			p += 3;
		}
		if (len + 1 >= out_size)
			return NULL;
		out[len++] = c;
	}
	out[len] = '\0';
	return p;
}

/* A whole decimal number; false on anything else or overflow. */
static bool parse_u64(const char *text, uint64_t *value)
{
	*value = 0;
	if (!*text)
		return false;
	for (const char *p = text; *p; p++) {
		uint64_t digit = (uint64_t)(*p - '0');
		if (*p < '0' || *p > '9' || *value > (UINT64_MAX - digit) / 10)
			return false;
		*value = *value * 10 + digit;
	}
	return true;
}

/* Fields: ID parent major:minor root MOUNT_POINT options [optional...] -
 * FS_TYPE source super-options. */
bool mountinfo_parse_line(const char *line, struct mount_entry *entry)
{
	char field[PATH_MAX];
	const char *p = line;
	if (!(p = take_field(p, field, sizeof field)) || !parse_u64(field, &entry->id))
		return false;
	for (int i = 0; i < 3; i++)
		if (!(p = take_field(p, field, sizeof field)))
			return false;
	if (!(p = take_field(p, entry->mount_point, sizeof entry->mount_point)) ||
	    entry->mount_point[0] != '/')
		return false;
	do { /* options, then optional fields up to the lone "-" */
		if (!(p = take_field(p, field, sizeof field)))
			return false;
	} while (strcmp(field, "-") != 0);
	return take_field(p, entry->fs_type, sizeof entry->fs_type) != NULL;
}

bool mount_find_id(const char *text, uint64_t id, struct mount_entry *found)
{
	for (const char *line = text; line && *line;) {
		const char *newline = strchr(line, '\n');
		if (mountinfo_parse_line(line, found) && found->id == id)
			return true;
		line = newline ? newline + 1 : NULL;
	}
	return false;
}

/* statx(2) through syscall(): musl 1.2.3 (Debian 12) has no wrapper. Only
 * the fields used here are named; the layout is the kernel's. */
#define MOUNTS_STATX_MNT_ID 0x1000U
struct statx_mnt_id {
	uint32_t mask;
	uint32_t unused[35];
	uint64_t mnt_id;
	uint64_t spare[13];
};
_Static_assert(offsetof(struct statx_mnt_id, mnt_id) == 0x90, "statx layout");
_Static_assert(sizeof(struct statx_mnt_id) == 256, "statx size");

/* /proc/self/fdinfo/FD has "mnt_id:\t<id>" since Linux 3.15. */
static bool fdinfo_mount_id(int fd, uint64_t *id)
{
	char path[64], text[4096];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	int info = open(path, O_RDONLY | O_CLOEXEC);
	if (info < 0)
		return false;
	ssize_t got;
	while ((got = read(info, text, sizeof text - 1)) < 0 && errno == EINTR)
		;
	close(info);
	if (got <= 0)
		return false;
	text[got] = '\0';
	for (char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "mnt_id:", 7) != 0)
			continue;
		char *value = line + 7;
		value += strspn(value, " \t");
		char *end = value + strcspn(value, "\n");
		*end = '\0';
		return parse_u64(value, id);
	}
	errno = ENOENT;
	return false;
}

/* name_to_handle_at(2) reports the mount id (Linux >= 2.6.39) even when
 * the handle does not fit: ask for none, get EOVERFLOW and the id. Not on
 * filesystems that cannot make handles (EOPNOTSUPP). */
static bool handle_mount_id(int fd, uint64_t *id)
{
	struct file_handle none = { .handle_bytes = 0 };
	int mount_id = -1;
	int rc = name_to_handle_at(fd, "", &none, &mount_id, AT_EMPTY_PATH);
	if ((rc == 0 || errno == EOVERFLOW) && mount_id >= 0) {
		*id = (uint64_t)mount_id;
		return true;
	}
	return false;
}

/* statx first (Linux >= 5.8); then a file handle; then fdinfo, which a
 * non-dumpable process that is not root cannot read on kernels before
 * 5.19 (its /proc/self belongs to root then). A statx id of 0 is no
 * answer: only mounts made before any other (never a volume) have it, and
 * qemu-user 7.2 (an arm64 image on an amd64 host) passes the kernel's
 * mask through but not the id, so 0 is all it ever says. */
bool fd_mount_id(int fd, uint64_t *id)
{
	struct statx_mnt_id stx = { 0 };
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, MOUNTS_STATX_MNT_ID, &stx) == 0 &&
	    (stx.mask & MOUNTS_STATX_MNT_ID) && stx.mnt_id != 0) {
		*id = stx.mnt_id;
		return true;
	}
	return handle_mount_id(fd, id) || fdinfo_mount_id(fd, id);
}

static bool read_mountinfo(char **text)
{
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t size = 0, capacity = 0;
	char *buffer = NULL;
	for (;;) {
		if (capacity - size < 4096) {
			char *bigger = realloc(buffer, capacity = capacity * 2 + 8192);
			if (!bigger)
				break;
			buffer = bigger;
		}
		ssize_t got = read(fd, buffer + size, capacity - size - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			close(fd);
			if (got < 0) {
				free(buffer);
				return false;
			}
			buffer[size] = '\0';
			*text = buffer;
			return true;
		}
		size += (size_t)got;
	}
	close(fd);
	free(buffer);
	return false;
}

bool fd_is_ephemeral(int fd, char *why, size_t why_size)
{
	uint64_t id;
	char *mountinfo = NULL;
	static struct mount_entry holder; /* PATH_MAX is too large for the stack's taste */
	if (!fd_mount_id(fd, &id)) {
		snprintf(why, why_size, "the kernel does not tell which mount holds it (%s)",
		         strerror(errno));
		return true;
	}
	if (!read_mountinfo(&mountinfo)) {
		snprintf(why, why_size, "cannot read /proc/self/mountinfo to tell");
		return true;
	}
	bool found = mount_find_id(mountinfo, id, &holder);
	free(mountinfo);
	if (!found) {
		snprintf(why, why_size, "its mount (id %llu) is not in /proc/self/mountinfo",
		         (unsigned long long)id);
		return true;
	}
	if (strcmp(holder.mount_point, "/") == 0) {
		snprintf(why, why_size, "it is on the container's own root filesystem (%s)",
		         holder.fs_type);
		return true;
	}
	if (strcmp(holder.fs_type, "tmpfs") == 0 || strcmp(holder.fs_type, "ramfs") == 0 ||
	    strcmp(holder.fs_type, "devtmpfs") == 0) {
		snprintf(why, why_size, "it is on %s mounted at %s, which is lost on restart",
		         holder.fs_type, holder.mount_point);
		return true;
	}
	snprintf(why, why_size, "on %s mounted at %s", holder.fs_type, holder.mount_point);
	return false;
}
