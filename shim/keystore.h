/* keystore.h - key files in the key directory.
 *
 * DIR/NAME holds the key's text form and one newline, mode 0600, owned by
 * the user the service runs as. A key file is published once, atomically
 * (write a temporary file, fsync, link(2) to its name, fsync DIR), and never
 * rewritten: a crash leaves either no key or a whole one, and of many
 * containers racing on one empty volume, on one host or several sharing it
 * over a network filesystem, exactly one creates each key.
 *
 * Temporary files are named PREFIX NAME-BOOT-NONCE: BOOT is 16 hex digits
 * of the creator's kernel boot id, NONCE 16 random hex digits. A start
 * removes one only when no live start, on any host, can own it:
 *  - at once, when this start holds DIR's flock, DIR's filesystem is local
 *    to this machine (ext4, xfs, btrfs, f2fs, zfs, tmpfs, ramfs, overlay),
 *    and BOOT is this kernel's: its creator ran here and held that same
 *    lock for as long as the file lived, so it is dead;
 *  - otherwise (network and FUSE filesystems, whose locks may be per host;
 *    another boot; no lock) once it was last written KEYSTORE_TEMP_MAX_AGE
 *    seconds before the filesystem's own now (the mtime of a file made for
 *    the purpose), never by this host's clock.
 * A start paused longer than that, whose file was removed, makes a new one
 * (at most KEYSTORE_PUBLISH_TRIES times); whatever else happens to a
 * temporary file, a start ends with the key published under NAME, or with
 * an error when the volume itself fails. */
#ifndef KEYSHIM_KEYSTORE_H
#define KEYSHIM_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "keyspec.h"

/* Temporary files start with this; a key NAME never does. */
#define KEYSTORE_TEMP_PREFIX ".keyshim-tmp-"
/* Older than any creation takes, by far: removable on any filesystem. */
#define KEYSTORE_TEMP_MAX_AGE (15 * 60)
#define KEYSTORE_PUBLISH_TRIES 3

struct key_dir {
	const char *path;
	int fd;           /* -1 until opened */
	int parent_fd;    /* the directory holding DIR (or its deepest existing
	                   * ancestor), reached without untrusted links; -1 */
	bool parent_missing; /* an ancestor of DIR does not exist */
	bool via_link;    /* the walk followed a (trusted) symlink */
	char leaf[256];   /* DIR's last component, as created in parent_fd */
	bool prepared;    /* created if missing, locked, stale files gone */
	bool created;     /* this run made DIR */
	bool read_only;   /* check mode: change nothing */
	uid_t owner_uid;  /* whom key files belong to: the service's user */
	gid_t owner_gid;
	bool hand_over;   /* root making keys for owner_uid: chown what we make */
	/* root-owned key files to give to owner_uid once every check passed */
	const char *root_owned[KEYS_MAX];
	size_t root_owned_count;
};

void key_dir_init(struct key_dir *dir, const char *path, uid_t owner_uid,
                  gid_t owner_gid, bool read_only);

/* Open DIR if it exists, walking its path from "/" one component at a
 * time with O_NOFOLLOW: a symlink on the way is followed only when root
 * (or keyshim's own user) owns it and the directory holding it, and no one
 * else may write there. False when DIR does not exist; exits on anything
 * else (a link someone else could have planted, unreadable, DIR writable by
 * others or owned by a third user: EX_NOPERM; not a directory:
 * EX_CANTCREAT). As root for another user (-u), DIR's parent must be
 * writable by root alone (EX_NOPERM), or the user could swap DIR. */
bool key_dir_open(struct key_dir *dir);

/* The ephemeral guard (mounts.h) for the directory open as DIR, or, while
 * DIR does not exist yet, for the directory it will be made in. */
bool key_dir_is_ephemeral(struct key_dir *dir, char *why, size_t why_size);

/* Before the first write: create DIR (0700, owned by the service's user)
 * if missing, take its lock (keyshims on this host then take turns), and
 * remove the temporary files of dead starts (by the rule above). */
void key_dir_prepare(struct key_dir *dir);

/* Remove the temporary files of dead starts (by the rule above) in a run
 * that wrote nothing. Cheap when there are none: one directory read. */
void key_dir_tidy(struct key_dir *dir);

void key_dir_close(struct key_dir *dir);

/* As root for another user: give the root-owned key files read so far to
 * that user (chown), each checked again on its open descriptor. Called
 * once, after every key was read and validated and every refusal checked,
 * so that a refused run changes no owner. */
void key_files_hand_over(struct key_dir *dir);

/* Read DIR/NAME into text (room for KEY_TEXT_MAX + 1). False when it does
 * not exist. Exits, leaving the file as it is, when it is a symlink or not
 * a regular file, has the wrong owner or mode (EX_NOPERM), cannot be read
 * (EX_IOERR), or is not a valid key of its spec (EX_DATAERR). A root-owned
 * key file that root will hand to the service's user must have one link
 * (EX_NOPERM); it is only noted here, and changed by key_files_hand_over(). */
bool key_file_read(struct key_dir *dir, const struct key_spec *spec,
                   char *text, size_t *len);

/* Publish a new key file. True when this call created it; false when
 * DIR/NAME exists (another process published it first: read theirs).
 * Exits when the volume fails, or refuses (EX_CANTCREAT) when the
 * filesystem has neither link(2) nor rename with RENAME_NOREPLACE. */
bool key_file_publish(struct key_dir *dir, const struct key_spec *spec,
                      const char *text, size_t len);

/* A key file's contents: the text form and at most one trailing newline.
 * True, with the text NUL-terminated in `text`, when data is exactly that. */
bool key_text_parse(const char *data, size_t size, const struct key_spec *spec,
                    char *text, size_t *len);

/* Read a key's text from an open file: the text form and at most one
 * trailing newline. False when the contents are not a valid key of spec;
 * exits EX_IOERR on a read error, naming `label`. */
bool key_text_read(int fd, const char *label, const struct key_spec *spec,
                   char *text, size_t *len);

#endif
