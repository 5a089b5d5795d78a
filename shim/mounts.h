/* mounts.h - is the key directory on storage that outlives the container?
 *
 * Decided for the directory keyshim has open, by its mount id (statx
 * STATX_MNT_ID; before Linux 5.8 name_to_handle_at or /proc/self/fdinfo)
 * looked up in /proc/self/mountinfo: the mount that really holds it, even
 * where a later mount hides its path. Not by st_dev, which cannot tell a
 * bind-mounted host directory from the container's own layers, and not by
 * the path's text, which a mount on top of it or a symlink can belie. */
#ifndef KEYSHIM_MOUNTS_H
#define KEYSHIM_MOUNTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mount_entry {
	uint64_t id;                /* the first field: unique while mounted */
	char mount_point[PATH_MAX]; /* with the kernel's \ooo escapes undone */
	char fs_type[64];
};

/* Parse one mountinfo line (proc(5)); false when it is malformed. */
bool mountinfo_parse_line(const char *line, struct mount_entry *entry);

/* Find the mount with this id in a mountinfo stream (the first well-formed
 * line that has it); false when there is none. */
bool mount_find_id(const char *mountinfo_text, uint64_t id, struct mount_entry *found);

/* The mount id of an open file; false (errno set) when the kernel tells
 * it neither by statx, nor by name_to_handle_at, nor in /proc/self/fdinfo. */
bool fd_mount_id(int fd, uint64_t *id);

/* Decide whether the directory open as `fd` is ephemeral: on the
 * container's root filesystem, or on tmpfs, ramfs or devtmpfs. Returns true
 * when it is, with the reason in `why`. When the mount cannot be told
 * (no mount id, unreadable mountinfo, id not listed) it counts as
 * ephemeral (fail closed), with that said in `why`. */
bool fd_is_ephemeral(int fd, char *why, size_t why_size);

#endif
