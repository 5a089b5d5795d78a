/* mounts.h - is the key directory on storage that outlives the container?
 *
 * Decided from /proc/self/mountinfo, by the mount whose mount point is the
 * longest prefix of the directory's real path; not by st_dev, which cannot
 * tell a bind-mounted host directory from the container's own layers. */
#ifndef KEYSHIM_MOUNTS_H
#define KEYSHIM_MOUNTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct mount_entry {
	char mount_point[PATH_MAX]; /* with the kernel's \ooo escapes undone */
	char fs_type[64];
};

/* Parse one mountinfo line (proc(5)); false when it is malformed. */
bool mountinfo_parse_line(const char *line, struct mount_entry *entry);

/* True when a mount at mount_point holds path (both absolute, canonical). */
bool mount_holds_path(const char *mount_point, const char *path);

/* Find the mount holding `path` (absolute, canonical) in a mountinfo
 * stream. Later lines win ties: they are mounted on top. */
bool mount_find(const char *mountinfo_text, const char *path,
                struct mount_entry *found);

/* Decide whether `dir` (which need not exist yet) is ephemeral: on the
 * container's root filesystem, or on tmpfs, ramfs or devtmpfs. Returns true when it
 * is, with the reason in `why`. Unreadable mountinfo counts as ephemeral
 * (fail closed), with that said in `why`. */
bool dir_is_ephemeral(const char *dir, char *why, size_t why_size);

#endif
