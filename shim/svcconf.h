/* svcconf.h - the service's own configuration files, where it keeps keys
 * when nobody gave it any (Semaphore's config.json, Airflow's airflow.cfg).
 *
 * Found where the service finds them, opened with the service user's
 * file-system ids (keyshim may be root, and that user may have planted a
 * symlink to a file only root can read), a regular file of at most
 * SVCCONF_SIZE_MAX bytes, read once a run, parsed by conffile and never
 * written. */
#ifndef KEYSHIM_SVCCONF_H
#define KEYSHIM_SVCCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "keyspec.h"
#include "privs.h"

#define SVCCONF_SIZE_MAX (1024 * 1024)

/* The value of spec's own field (spec->own.conf must be set; INI: in
 * `section`, own.section or own.old_section) in text (room for
 * KEY_TEXT_MAX + 1); *path names the file. False when the file does not
 * exist or holds no value for the key (absent or empty). Exits, naming the
 * file, when it cannot be read (EX_NOPERM, EX_IOERR) or parsed
 * (EX_DATAERR), and with EX_CONFIG when the service keeps keys where
 * keyshim cannot read them (conf->instead, conf->unreadable, an INI
 * `field_cmd`/`field_secret` option). */
bool svcconf_lookup(const struct key_spec *spec, const char *section,
                    const struct run_as *reader, char *text, size_t *len,
                    const char **path);

/* Whether the service's data is there (silent->data, found as
 * conf_place), seen as the service's user without following a link at its
 * last component; *path names the place. Exits (EX_NOPERM, EX_IOERR) when
 * that cannot be told. */
bool svcconf_data_exists(const struct silent_default *silent, const struct run_as *reader,
                         char *path, size_t size);

/* Whether a setting of conf->silent->elsewhere keeps the service's data
 * where keyshim cannot look; *what names it (never its value). Exits like
 * svcconf_lookup when the service's file cannot be read or parsed. */
bool svcconf_data_elsewhere(const struct service_conf *conf, const struct run_as *reader,
                            char *what, size_t size);
/* The value in a file the service reads whole and trims (authentik's
 * file:// reference), read as svcconf_lookup reads its files; `label`
 * names it in messages. False when there is no such file; exits on one it
 * cannot read or whose trimmed value it cannot be sure of (EX_DATAERR). */
bool svcconf_read_whole(const char *path, const char *label, const struct run_as *reader,
                        char *text, size_t *len);

/* open(2) PATH read-only as the service's user when keyshim is root for
 * someone else (reader->change), so the path and every symlink in it are
 * resolved with that user's rights, not root's. */
int svcconf_open(const struct run_as *reader, const char *path);
/* True when path, a source svcconf_lookup gave, is the file an INI
 * FIELD_URI option names (Gitea's SECRET_KEY_URI): the service reads the
 * key there itself, and exporting it would set FIELD beside FIELD_URI,
 * which the service refuses. */
bool svcconf_service_reads(const char *path);

/* Wipe and free every file read. */
void svcconf_forget(void);

#endif
