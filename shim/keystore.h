/* keystore.h - key files in the key directory.
 *
 * DIR/NAME holds the key's text form and one newline, mode 0600, owned by
 * the user the service runs as. A key file is published once, atomically
 * (write a temporary file, fsync, link(2) to its name, fsync DIR), and never
 * rewritten: a crash leaves either no key or a whole one, and of many
 * containers racing on one empty volume exactly one creates each key. */
#ifndef KEYSHIM_KEYSTORE_H
#define KEYSHIM_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "keyspec.h"

/* Temporary files start with this; a key NAME never does. */
#define KEYSTORE_TEMP_PREFIX ".keyshim-tmp-"

struct key_dir {
	const char *path;
	int fd;           /* -1 until opened */
	bool prepared;    /* created if missing, locked, stale files gone */
	bool created;     /* this run made DIR */
	bool read_only;   /* check mode: change nothing */
	uid_t owner_uid;  /* whom key files belong to: the service's user */
	gid_t owner_gid;
	bool hand_over;   /* root making keys for owner_uid: chown what we make */
};

void key_dir_init(struct key_dir *dir, const char *path, uid_t owner_uid,
                  gid_t owner_gid, bool read_only);

/* Open DIR if it exists. False when it does not; exits on anything else
 * (unreadable: EX_NOPERM; not a directory: EX_CANTCREAT). */
bool key_dir_open(struct key_dir *dir);

/* Before the first write: create DIR (0700, owned by the service's user)
 * if missing, take its lock, and remove temporary files of crashed runs. */
void key_dir_prepare(struct key_dir *dir);

/* Remove temporary files left by a crash, when no other keyshim is at
 * work in DIR. Cheap when there are none: one directory read. */
void key_dir_tidy(struct key_dir *dir);

void key_dir_close(struct key_dir *dir);

/* Read DIR/NAME into text (room for KEY_TEXT_MAX + 1). False when it does
 * not exist. Exits, leaving the file as it is, when it is a symlink or not
 * a regular file, has the wrong owner or mode (EX_NOPERM), cannot be read
 * (EX_IOERR), or is not a valid key of its spec (EX_DATAERR). */
bool key_file_read(struct key_dir *dir, const struct key_spec *spec,
                   char *text, size_t *len);

/* Publish a new key file. True when this call created it; false when
 * another process published DIR/NAME first (read theirs). */
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
