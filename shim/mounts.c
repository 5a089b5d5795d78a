/* mounts.c - see mounts.h. */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Fields: id parent major:minor root MOUNT_POINT options [optional...] -
 * FS_TYPE source super-options. */
bool mountinfo_parse_line(const char *line, struct mount_entry *entry)
{
	char field[PATH_MAX];
	const char *p = line;
	for (int i = 0; i < 4; i++)
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

bool mount_holds_path(const char *mount_point, const char *path)
{
	size_t len = strlen(mount_point);
	if (strcmp(mount_point, "/") == 0)
		return path[0] == '/';
	return strncmp(mount_point, path, len) == 0 &&
	       (path[len] == '\0' || path[len] == '/');
}

bool mount_find(const char *text, const char *path, struct mount_entry *found)
{
	static struct mount_entry entry; /* PATH_MAX is too large for the stack's taste */
	size_t best_len = 0;
	bool have = false;
	for (const char *line = text; line && *line;) {
		const char *newline = strchr(line, '\n');
		if (mountinfo_parse_line(line, &entry) &&
		    mount_holds_path(entry.mount_point, path) &&
		    strlen(entry.mount_point) >= best_len) {
			best_len = strlen(entry.mount_point);
			*found = entry;
			have = true;
		}
		line = newline ? newline + 1 : NULL;
	}
	return have;
}

/* The canonical form of a path that may not exist yet: realpath() of its
 * longest existing ancestor, with the missing rest appended. */
static bool canonical_path(const char *path, char out[PATH_MAX])
{
	char full[PATH_MAX], head[PATH_MAX], cwd[PATH_MAX];
	if (path[0] != '/' && !getcwd(cwd, sizeof cwd))
		return false;
	int len = path[0] == '/'
	    ? snprintf(full, sizeof full, "%s", path)
	    : snprintf(full, sizeof full, "%s/%s", cwd, path);
	if (len < 0 || len >= (int)sizeof full || full[0] != '/')
		return false;
	strcpy(head, full);
	const char *tail = "";
	while (!realpath(head[0] ? head : "/", out)) {
		if (errno != ENOENT && errno != ENOTDIR)
			return false;
		char *slash = strrchr(head, '/'); /* never NULL: head starts with '/' */
		tail = full + (slash - head);
		*slash = '\0';
	}
	size_t used = strcmp(out, "/") == 0 ? 0 : strlen(out);
	return snprintf(out + used, PATH_MAX - used, "%s", tail) < (int)(PATH_MAX - used);
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

bool dir_is_ephemeral(const char *dir, char *why, size_t why_size)
{
	char path[PATH_MAX];
	char *mountinfo = NULL;
	struct mount_entry holder;
	if (!canonical_path(dir, path)) {
		snprintf(why, why_size, "cannot resolve the path");
		return true;
	}
	if (!read_mountinfo(&mountinfo)) {
		snprintf(why, why_size, "cannot read /proc/self/mountinfo to tell");
		return true;
	}
	bool found = mount_find(mountinfo, path, &holder);
	free(mountinfo);
	if (!found) {
		snprintf(why, why_size, "no mount holds it in /proc/self/mountinfo");
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
