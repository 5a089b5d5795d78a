/* keys.c - see keys.h. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "redact.h"

static const char *const state_names[] = {
	[KEY_MISSING] = "missing",  [KEY_LOADED] = "loaded",
	[KEY_CREATED] = "created",  [KEY_ADOPTED] = "adopted",
	[KEY_FROM_FILE_VAR] = "file", [KEY_FROM_ENV] = "env",
};

const char *key_state_name(enum key_state state) { return state_names[state]; }

void keys_wipe(struct key *keys, size_t count)
{
	sodium_memzero(keys, count * sizeof *keys);
}

/* A value given from outside the key directory: NAME or NAME_FILE. */
struct given {
	bool present;
	bool from_file_var;
	const char *source; /* "the environment" or NAME_FILE's path */
	size_t len;
	char text[KEY_TEXT_MAX + 1];
};

struct resolver {
	const struct key_policy *policy;
	struct key_dir *dir;
	char path[PATH_MAX];
};

static void read_file_var(const struct key_spec *spec, const char *variable,
                          const char *path, struct given *given)
{
	/* NAME_FILE=<a key> is an easy slip: show only what is plainly a path */
	const char *shown = value_shown(path);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		die(errno == ENOENT ? EX_CONFIG : exit_code_for_errno(errno),
		    "%s=%s: cannot open: %s; mount the secret there or unset %s", variable,
		    shown, strerror(errno), variable);
	if (fstat(fd, &st) != 0)
		die(EX_IOERR, "%s=%s: cannot stat: %s", variable, shown, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EX_NOPERM, "%s=%s: not a regular file", variable, shown);
	if (!key_text_read(fd, shown, spec, given->text, &given->len))
		die(EX_DATAERR, "%s=%s: not a valid %s key of %zu bytes; fix the secret",
		    variable, shown, format_name(spec->format), spec->bytes);
	close(fd);
	given->present = true;
	given->from_file_var = true;
	given->source = path;
}

/* NAME from the environment, or NAME_FILE's contents. An empty NAME counts
 * as unset: compose files often say NAME=${NAME:-}. */
static void read_given(const struct key_spec *spec, struct given *given)
{
	char variable[KEY_NAME_MAX + sizeof "_FILE"];
	snprintf(variable, sizeof variable, "%s_FILE", spec->name);
	const char *value = getenv(spec->name);
	const char *path = getenv(variable);
	if (value && !*value)
		value = NULL;
	if (value && path && *path)
		die(EX_USAGE, "both %s and %s are set; unset one of them", spec->name, variable);
	if (path && *path) {
		read_file_var(spec, variable, path, given);
		return;
	}
	if (!value)
		return;
	size_t len = strlen(value);
	if (!format_is_valid(spec->format, value, len, spec->bytes))
		die(EX_DATAERR,
		    "%s (from the environment) is not a valid %s key of %zu bytes; fix or unset it",
		    spec->name, format_name(spec->format), spec->bytes);
	memcpy(given->text, value, len + 1);
	given->len = len;
	given->present = true;
	given->source = "the environment";
}

/* The first write in DIR: refuse storage that dies with the container,
 * then create DIR, lock it and clear what a crash left. */
static void prepare_to_write(struct resolver *r, const struct key_spec *spec)
{
	if (r->dir->prepared)
		return;
	char why[PATH_MAX + 128];
	bool ephemeral = key_dir_is_ephemeral(r->dir, why, sizeof why);
	if (ephemeral && !r->policy->allow_ephemeral)
		die(EX_CONFIG,
		    "%s: refusing to keep %s there: %s; mount a volume at %s, or pass --allow-ephemeral",
		    r->dir->path, spec->name, why, r->dir->path);
	log_debug("%s: %s%s", r->dir->path, ephemeral ? "ephemeral, allowed: " : "", why);
	key_dir_prepare(r->dir);
}

static void set_key(struct key *key, enum key_state state, const char *source,
                    const char *text, size_t len)
{
	if (key->text != text)
		memcpy(key->text, text, len + 1);
	key->len = len;
	key->state = state;
	key->source = source;
}

/* NAME (or NAME_FILE) and DIR/NAME both hold a key, and they differ. */
static void settle_conflict(struct resolver *r, struct key *key, const struct given *given)
{
	char given_fp[FINGERPRINT_SIZE];
	fingerprint(given->text, given->len, given_fp);
	fingerprint(key->text, key->len, key->fingerprint);
	switch (r->policy->on_conflict) {
	case CONFLICT_REFUSE:
		die(EX_CONFIG,
		    "%s: the value from %s (%s) differs from the key file %s (%s); the file is kept: unset %s, or choose with --on-conflict env|file",
		    key->spec->name, given->source, given_fp, r->path, key->fingerprint,
		    key->spec->name);
	case CONFLICT_ENV:
		log_warn("%s: using the value from %s (%s), not the key file %s (%s), as --on-conflict env says",
		         key->spec->name, given->source, given_fp, r->path, key->fingerprint);
		set_key(key, given->from_file_var ? KEY_FROM_FILE_VAR : KEY_FROM_ENV,
		        given->source, given->text, given->len);
		return;
	case CONFLICT_FILE:
		log_warn("%s: using the key file %s (%s), not the value from %s (%s), as --on-conflict file says",
		         key->spec->name, r->path, key->fingerprint, given->source, given_fp);
		return; /* key already holds the file's value */
	}
}

/* DIR/NAME exists and was read into key: reconcile it with a given value. */
static void use_stored(struct resolver *r, struct key *key, const struct given *given)
{
	key->state = KEY_LOADED;
	key->source = NULL;
	if (given->present && (given->len != key->len ||
	                       sodium_memcmp(given->text, key->text, key->len) != 0))
		settle_conflict(r, key, given);
}

static void create_key(struct resolver *r, struct key *key)
{
	const struct key_spec *spec = key->spec;
	unsigned char raw[KEY_BYTES_MAX];
	randombytes_buf(raw, spec->bytes);
	format_encode(spec->format, raw, spec->bytes, key->text);
	sodium_memzero(raw, sizeof raw);
	key->len = format_text_len(spec->format, spec->bytes);
	if (key_file_publish(r->dir, spec, key->text, key->len))
		key->state = KEY_CREATED;
	else if (key_file_read(r->dir, spec, key->text, &key->len))
		key->state = KEY_LOADED; /* another container won the race */
	else
		die(EX_IOERR, "%s: published by another process, then gone", r->path);
}

static void adopt_key(struct resolver *r, struct key *key, const struct given *given)
{
	if (key_file_publish(r->dir, key->spec, given->text, given->len)) {
		set_key(key, KEY_ADOPTED, NULL, given->text, given->len);
		return;
	}
	if (!key_file_read(r->dir, key->spec, key->text, &key->len))
		die(EX_IOERR, "%s: published by another process, then gone", r->path);
	use_stored(r, key, given); /* another container won: agree or conflict */
}

static void set_path(struct resolver *r, const struct key_spec *spec)
{
	snprintf(r->path, sizeof r->path, "%s/%s", r->dir->path, spec->name);
}

/* First pass, nothing written: take what exists (the key file, NAME_FILE)
 * and refuse every mistake, so that a refusal never leaves half a set.
 * Returns true when the key still has to be adopted or created. */
static bool resolve_without_writing(struct resolver *r, struct key *key,
                                    struct given *given)
{
	const struct key_spec *spec = key->spec;
	set_path(r, spec);
	read_given(spec, given);
	key->state = KEY_MISSING;
	key->source = NULL;
	if (key_file_read(r->dir, spec, key->text, &key->len))
		use_stored(r, key, given);
	else if (given->from_file_var)
		set_key(key, KEY_FROM_FILE_VAR, given->source, given->text, given->len);
	else if (r->policy->read_only)
		return false;
	else if (r->policy->no_create && !given->present)
		die(EX_CONFIG,
		    "%s: missing, and --no-create forbids a new key; restore %s from a backup (data encrypted with the old key needs it)",
		    spec->name, r->path);
	else
		return true;
	return false;
}

/* Second pass: publish NAME's value or a new key. */
static void resolve_by_writing(struct resolver *r, struct key *key, const struct given *given)
{
	set_path(r, key->spec);
	prepare_to_write(r, key->spec);
	/* look again, under the lock: another container may have won */
	if (key_file_read(r->dir, key->spec, key->text, &key->len))
		use_stored(r, key, given);
	else if (given->present) /* adopting is no new key: --no-create allows it */
		adopt_key(r, key, given);
	else
		create_key(r, key);
}

void keys_resolve(const struct key_list *list, const struct key_policy *policy,
                  struct key_dir *dir, struct key *keys)
{
	static struct given givens[KEYS_MAX];
	bool pending[KEYS_MAX] = { false };
	struct resolver resolver = { .policy = policy, .dir = dir };
	key_dir_open(dir);
	for (size_t i = 0; i < list->count; i++) {
		keys[i].spec = &list->specs[i];
		pending[i] = resolve_without_writing(&resolver, &keys[i], &givens[i]);
	}
	for (size_t i = 0; i < list->count; i++)
		if (pending[i])
			resolve_by_writing(&resolver, &keys[i], &givens[i]);
	key_files_hand_over(dir); /* only now: every key read and checked */
	sodium_memzero(givens, sizeof givens);
	for (size_t i = 0; i < list->count; i++)
		if (keys[i].state != KEY_MISSING)
			fingerprint(keys[i].text, keys[i].len, keys[i].fingerprint);
	key_dir_tidy(dir);
	key_dir_close(dir);
}
