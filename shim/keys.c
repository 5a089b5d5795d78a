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
#include "presets.h"
#include "redact.h"
#include "svcconf.h"
#include "svcform.h"

static const char *const state_names[] = {
	[KEY_MISSING] = "missing",  [KEY_LOADED] = "loaded",
	[KEY_CREATED] = "created",  [KEY_ADOPTED] = "adopted",
	[KEY_FROM_FILE_VAR] = "file", [KEY_FROM_ENV] = "env",
};

const char *key_state_name(enum key_state state) { return state_names[state]; }

enum source_kind { SOURCE_FILE_VAR, SOURCE_ENV, SOURCE_ALIAS, SOURCE_SERVICE_CONF };

/* A value given from outside the key directory. */
struct outside {
	bool present;
	enum source_kind kind;
	const char *source; /* NAME_FILE's path, "the environment", the service's file */
	const char *suffix; /* SOURCE_FILE_VAR: "_FILE", or the service's own twin */
	bool service_reads; /* the service reads it itself: never exported (svcconf_service_reads) */
	size_t len;
	char text[KEY_TEXT_MAX + 1];
};

/* Outside values between the two passes: secret, wiped on every exit. */
static struct outside givens[KEYS_MAX];

void keys_wipe(struct key *keys, size_t count)
{
	sodium_memzero(keys, count * sizeof *keys);
	/* only the entries a run used: the rest were never written, and
	 * touching all 64 faults in some 33 pages on every start */
	sodium_memzero(givens, count * sizeof *givens);
	svcconf_forget();
}

struct resolver {
	size_t index; /* of the key being resolved */
	const struct key_policy *policy;
	struct key_dir *dir;
	const struct run_as *reader;
	char path[PATH_MAX];
};

/* "NAME_FILE" and the like. */
static void variable_name(char *out, const struct key_spec *spec, const char *suffix)
{
	snprintf(out, KEY_NAME_MAX + 16, "%s%s", spec->name, suffix);
}

/* An environment variable, unset when empty: compose files often say
 * NAME=${NAME:-}. */
static const char *env_value(const char *variable)
{
	const char *value = getenv(variable);
	return value && *value ? value : NULL;
}

/* VARIABLE (NAME_FILE or the service's own twin of it): the file's
 * contents, symlinks followed (Kubernetes secrets), opened with the
 * service user's rights (with -u): a link that user planted leads root to
 * nothing that user could not read itself. */
static bool read_file_variable(const struct resolver *r, const struct key_spec *spec,
                               const char *suffix, struct outside *out)
{
	char variable[KEY_NAME_MAX + 16], wanted[128];
	variable_name(variable, spec, suffix);
	const char *path = env_value(variable);
	if (!path)
		return false;
	/* NAME_FILE=<a key> is an easy slip: show only what is plainly a path */
	const char *shown = value_shown(path);
	int fd = svcconf_open(r->reader, path);
	struct stat st;
	if (fd < 0 && errno == EACCES)
		die(EX_NOPERM, "%s=%s: cannot open as uid %u: %s; make the secret readable by the service's user",
		    variable, shown, (unsigned)r->reader->uid, strerror(errno));
	if (fd < 0)
		die(errno == ENOENT ? EX_CONFIG : exit_code_for_errno(errno),
		    "%s=%s: cannot open: %s; mount the secret there or unset %s", variable,
		    shown, strerror(errno), variable);
	if (fstat(fd, &st) != 0)
		die(EX_IOERR, "%s=%s: cannot stat: %s", variable, shown, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EX_NOPERM, "%s=%s: not a regular file", variable, shown);
	key_spec_describe(spec, wanted, sizeof wanted);
	if (!key_text_read(fd, shown, spec, out->text, &out->len))
		die(EX_DATAERR, "%s=%s: not %s; fix the secret", variable, shown, wanted);
	close(fd);
	out->source = path;
	out->suffix = suffix;
	return true;
}

/* NAME_FILE. */
static bool from_file_var(struct resolver *r, const struct key_spec *spec,
                          struct outside *out)
{
	return read_file_variable(r, spec, "_FILE", out);
}

/* The service's own NAME_FILE (Grafana's image: NAME__FILE), which it
 * refuses beside NAME, as keyshim does. */
static bool from_service_file_var(struct resolver *r, const struct key_spec *spec,
                                  struct outside *out)
{
	const char *suffix = spec->own.conf ? spec->own.conf->file_suffix : NULL;
	if (!suffix)
		return false;
	char variable[KEY_NAME_MAX + 16];
	variable_name(variable, spec, suffix);
	if (env_value(variable) && env_value(spec->name))
		die(EX_USAGE, "both %s and %s are set; unset one of them", spec->name, variable);
	return read_file_variable(r, spec, suffix, out);
}

/* Where a reference in NAME led (issue 13): named in the log, never the
 * value nor the reference's default. */
static char reference_sources[KEYS_MAX][PATH_MAX + 2 * KEY_NAME_MAX];

/* NAME=env://VAR[?DEFAULT] or file:///PATH, which the service resolves
 * (service_conf.references): keyshim resolves it as the service does, so the
 * key file holds the key, not the reference. False: value is the key. */
static bool resolve_reference(struct resolver *r, const struct key_spec *spec,
                              const char *value, struct outside *out)
{
	struct svcform_ref ref;
	char *where = reference_sources[r->index], target[PATH_MAX];
	size_t size = sizeof reference_sources[0];
	svcform_reference(value, strlen(value), &ref);
	if (ref.kind == SVCFORM_PLAIN)
		return false;
	if (ref.kind == SVCFORM_UNCLEAR)
		die(EX_DATAERR,
		    "%s (from the environment) may be read as an env:// or file:// reference, and keyshim cannot be sure how the service reads it; write env://VAR, env://VAR?DEFAULT or file:///PATH, or the key itself",
		    spec->name);
	if (ref.target_len >= sizeof target)
		die(EX_CONFIG, "%s: the path it names is too long", spec->name);
	memcpy(target, value + ref.target, ref.target_len);
	target[ref.target_len] = '\0';
	if (ref.kind == SVCFORM_FILE) {
		snprintf(where, size, "%s", target);
		if (!svcconf_read_whole(target, spec->name, r->reader, out->text, &out->len))
			die(EX_CONFIG,
			    "%s=file://%s: no such file; mount the secret there, or give the key itself (keyshim never takes the ?default in place of a missing file)",
			    spec->name, target);
	} else {
		char var[KEY_NAME_MAX + 1];
		if (ref.target_len > KEY_NAME_MAX)
			die(EX_CONFIG, "%s: the variable it names is too long", spec->name);
		memcpy(var, target, ref.target_len + 1);
		/* getenv, not env_value: set but empty is not unset to the
		 * service (os.getenv, os.LookupEnv), which takes the empty value
		 * over the default and cannot start with it */
		const char *found = getenv(var);
		if (found && !*found)
			die(EX_CONFIG, "%s=env://%s: %s is set but empty, which the service takes over the default; set it to the key, or unset it",
			    spec->name, var, var);
		size_t len = found ? strlen(found) : ref.fallback_len;
		if (!found && !(ref.has_default && len > 0))
			die(EX_CONFIG, "%s=env://%s: %s is not set and there is no default; set it, or give the key itself",
			    spec->name, var, var);
		if (len > KEY_TEXT_MAX)
			die(EX_DATAERR, "%s=env://%s: the value is longer than a key may be", spec->name, var);
		memcpy(out->text, found ? found : value + ref.fallback, len);
		out->text[len] = '\0';
		out->len = len;
		if (found)
			snprintf(where, size, "%s (%s=env://%s)", var, spec->name, var);
		else
			snprintf(where, size, "the default of %s=env://%s", spec->name, var);
	}
	out->source = where;
	/* the service took it as it is; from the environment it would read
	 * JSON as JSON */
	if (svcform_json_like(out->text, out->len))
		die(EX_DATAERR,
		    "%s: the key from %s reads as JSON, which the service decodes when it finds the key in the environment, where keyshim puts it; keyshim cannot keep this key",
		    spec->name, where);
	return true;
}

/* NAME from the environment. */
static bool from_environment(struct resolver *r, const struct key_spec *spec,
                             struct outside *out)
{
	(void)r;
	char variable[KEY_NAME_MAX + 16], wanted[128];
	const char *value = env_value(spec->name);
	if (!value)
		return false;
	variable_name(variable, spec, "_FILE");
	if (env_value(variable))
		die(EX_USAGE, "both %s and %s are set; unset one of them", spec->name, variable);
	key_spec_describe(spec, wanted, sizeof wanted);
	/* authentik's Python half json-decodes "..." (and then reads what is
	 * inside as a reference), its Go half takes the text as it is: the
	 * two would run with different keys */
	if (spec->own.conf && spec->own.conf->references && value[strspn(value, " \t\n\r")] == '"')
		die(EX_DATAERR,
		    "%s (from the environment) is a JSON string, which the service's Python half decodes and its Go half does not; give the key itself, unquoted",
		    spec->name);
	if (spec->own.conf && spec->own.conf->references && resolve_reference(r, spec, value, out)) {
		if (!key_value_valid(spec, out->text, out->len))
			die(EX_DATAERR, "%s: the value from %s is not %s; fix it", spec->name,
			    out->source, wanted);
		return true;
	}
	size_t len = strlen(value);
	if (len > KEY_TEXT_MAX || !key_value_valid(spec, value, len))
		die(EX_DATAERR, "%s (from the environment) is not %s; fix or unset it",
		    spec->name, wanted);
	memcpy(out->text, value, len + 1);
	out->len = len;
	out->source = "the environment";
	return true;
}

/* The name older releases read (Airflow's AIRFLOW__WEBSERVER__SECRET_KEY,
 * which 3.0.2+ still read when AIRFLOW__API__SECRET_KEY is unset). */
static bool from_alias(struct resolver *r, const struct key_spec *spec,
                       struct outside *out)
{
	(void)r;
	char wanted[128];
	const char *value = spec->own.alias ? env_value(spec->own.alias) : NULL;
	if (!value)
		return false;
	size_t len = strlen(value);
	key_spec_describe(spec, wanted, sizeof wanted);
	if (len > KEY_TEXT_MAX || !key_value_valid(spec, value, len))
		die(EX_DATAERR, "%s (from the environment, read as %s) is not %s; fix or unset it",
		    spec->own.alias, spec->name, wanted);
	memcpy(out->text, value, len + 1);
	out->len = len;
	out->source = spec->own.alias;
	return true;
}

/* The service's own configuration file, read only: `section` is where
 * the key is now, or where older releases kept it. */
static bool from_conf_section(struct resolver *r, const struct key_spec *spec,
                              const char *section, struct outside *out)
{
	char wanted[128];
	if (!spec->own.conf ||
	    !svcconf_lookup(spec, section, r->reader, out->text, &out->len, &out->source))
		return false;
	key_spec_describe(spec, wanted, sizeof wanted);
	if (!key_value_valid(spec, out->text, out->len))
		die(EX_DATAERR, "%s: %s%s%s%s is not %s, which %s needs; fix the file (keyshim never changes it)",
		    out->source, section ? "[" : "", section ? section : "", section ? "] " : "",
		    spec->own.field, wanted, spec->name);
	out->service_reads = svcconf_service_reads(out->source);
	return true;
}

static bool read_before_env(const struct key_spec *spec)
{
	return spec->own.conf && spec->own.conf->before_env;
}

/* A file the service reads before the environment (Plausible's
 * $CONFIG_DIR/NAME) comes first: it wins for the service too. */
static bool from_service_conf_first(struct resolver *r, const struct key_spec *spec,
                                    struct outside *out)
{
	return read_before_env(spec) && from_conf_section(r, spec, spec->own.section, out);
}

static bool from_service_conf(struct resolver *r, const struct key_spec *spec,
                              struct outside *out)
{
	return !read_before_env(spec) && from_conf_section(r, spec, spec->own.section, out);
}

static bool from_service_conf_old(struct resolver *r, const struct key_spec *spec,
                                  struct outside *out)
{
	return spec->own.old_section &&
	       from_conf_section(r, spec, spec->own.old_section, out);
}

/* NAME_CMD and NAME_SECRET: the service would run the command or ask its
 * secrets backend, but only when NAME is unset, and keyshim sets NAME. */
static void refuse_indirect(const struct key_spec *spec)
{
	static const char *const suffixes[] = { "_CMD", "_SECRET" };
	if (!spec->own.cmd_secret)
		return;
	const char *names[] = { spec->name, spec->own.alias };
	for (size_t n = 0; n < 2 && names[n]; n++)
		for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
			char variable[KEY_NAME_MAX + 16];
			snprintf(variable, sizeof variable, "%s%s", names[n], suffixes[i]);
			if (env_value(variable))
				die(EX_CONFIG,
				    "%s is set: keyshim cannot run it, and the %s it exports would take its place; put the key in %s_FILE or in the key file, and unset %s",
				    variable, spec->name, spec->name, variable);
		}
}

typedef bool (*source_reader)(struct resolver *r, const struct key_spec *spec,
                              struct outside *out);

/* The outside sources in the order the services prefer them. */
static const struct {
	enum source_kind kind;
	source_reader read;
} sources[] = {
	{ SOURCE_SERVICE_CONF, from_service_conf_first },
	{ SOURCE_FILE_VAR, from_file_var },
	{ SOURCE_FILE_VAR, from_service_file_var },
	{ SOURCE_ENV, from_environment },
	{ SOURCE_ALIAS, from_alias },
	{ SOURCE_SERVICE_CONF, from_service_conf },
	{ SOURCE_SERVICE_CONF, from_service_conf_old },
};

static bool same_value(const struct outside *a, const char *text, size_t len)
{
	return a->len == len && sodium_memcmp(a->text, text, len) == 0;
}

/* Published values: kept silently never. Session keys drop the value
 * (the volume's key serves); data keys refuse unless told. */
static void check_published(struct resolver *r, const struct key_spec *spec,
                            struct outside *out)
{
	char fp[FINGERPRINT_SIZE];
	fingerprint(out->text, out->len, fp);
	const char *where = published_value_source(spec->name, fp);
	if (!where)
		return;
	if (spec->key_class == KEY_CLASS_SESSION) {
		log_warn("%s: ignoring the value from %s (%s): it is the one published in %s; using the key file %s instead",
		         spec->name, out->source, fp, where, r->path);
		sodium_memzero(out, sizeof *out);
		return;
	}
	if (!r->policy->adopt_published)
		die(EX_CONFIG,
		    "%s: the value from %s (%s) is the one published in %s: anyone can decrypt what it protects; remove it, or if data is encrypted with it, keep it with --adopt-published and rotate the key",
		    spec->name, out->source, fp, where);
	log_warn("%s: keeping the value from %s (%s), published in %s, as --adopt-published says: anyone can decrypt what it protects",
	         spec->name, out->source, fp, where);
}

/* Walk the outside sources: the first present one is the key's outside
 * value; a later one that differs is only shadowed (the service itself
 * would not use it either), which is worth a warning. */
static void read_outside(struct resolver *r, const struct key_spec *spec,
                         struct outside *out)
{
	static struct outside later;
	refuse_indirect(spec);
	out->present = false;
	out->service_reads = false;
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		struct outside *slot = out->present ? &later : out;
		if (!sources[i].read(r, spec, slot))
			continue;
		slot->kind = sources[i].kind;
		slot->present = true;
		if (slot == &later && !same_value(&later, out->text, out->len)) {
			char first_fp[FINGERPRINT_SIZE], later_fp[FINGERPRINT_SIZE];
			fingerprint(out->text, out->len, first_fp);
			fingerprint(later.text, later.len, later_fp);
			log_warn("%s: the value from %s (%s) is not used: the one from %s (%s) comes first, for the service too",
			         spec->name, later.source, later_fp, out->source, first_fp);
		}
		sodium_memzero(&later, sizeof later);
	}
	if (!out->present)
		return;
	check_published(r, spec, out);
	if (out->present && accept_value_is_short(spec->accept, out->text, out->len)) {
		char fp[FINGERPRINT_SIZE];
		fingerprint(out->text, out->len, fp);
		log_warn("%s: the value from %s (%s) is %zu bytes, short of the %d that HS512 wants; replace it when sessions may be reset",
		         spec->name, out->source, fp, out->len, HS512_KEY_BYTES);
	}
}

/* The first write in DIR: refuse storage that dies with the container,
 * then create DIR, lock it and clear what a crash left. */
static void prepare_to_write(struct resolver *r, const struct key_spec *spec)
{
	if (r->dir->prepared)
		return;
	/* static: inlined, it would deepen keys_resolve's frame by 4 KiB, a
	 * page fault more on every start */
	static char why[PATH_MAX + 128];
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

/* How to make an outside value go away. */
static void removal_hint(const struct key_spec *spec, const struct outside *given,
                         char *out, size_t size)
{
	switch (given->kind) {
	case SOURCE_FILE_VAR:
		snprintf(out, size, "unset %s%s", spec->name, given->suffix);
		return;
	case SOURCE_ENV:
		snprintf(out, size, "unset %s", spec->name);
		return;
	case SOURCE_ALIAS:
		snprintf(out, size, "unset %s", spec->own.alias);
		return;
	case SOURCE_SERVICE_CONF:
		snprintf(out, size, "remove %s from %s", spec->own.field, given->source);
		return;
	}
}

/* An outside value and DIR/NAME both hold a key, and they differ. */
static void settle_conflict(struct resolver *r, struct key *key, const struct outside *given)
{
	char given_fp[FINGERPRINT_SIZE], hint[PATH_MAX + 64];
	fingerprint(given->text, given->len, given_fp);
	fingerprint(key->text, key->len, key->fingerprint);
	switch (r->policy->on_conflict) {
	case CONFLICT_REFUSE:
		removal_hint(key->spec, given, hint, sizeof hint);
		die(EX_CONFIG,
		    "%s: the value from %s (%s) differs from the key file %s (%s); the file is kept: %s, or choose with --on-conflict env|file",
		    key->spec->name, given->source, given_fp, r->path, key->fingerprint, hint);
	case CONFLICT_ENV:
		log_warn("%s: using the value from %s (%s), not the key file %s (%s), as --on-conflict env says",
		         key->spec->name, given->source, given_fp, r->path, key->fingerprint);
		set_key(key, given->kind == SOURCE_FILE_VAR ? KEY_FROM_FILE_VAR : KEY_FROM_ENV,
		        given->source, given->text, given->len);
		return;
	case CONFLICT_FILE:
		if (given->kind == SOURCE_SERVICE_CONF && read_before_env(key->spec))
			die(EX_CONFIG,
			    "%s: --on-conflict file cannot win over %s (%s): the service reads that file before the environment and would not use the key file %s (%s); remove it (keyshim never changes it)",
			    key->spec->name, given->source, given_fp, r->path, key->fingerprint);
		if (given->service_reads)
			die(EX_CONFIG,
			    "%s: --on-conflict file cannot win over %s (%s): the service reads the key there itself, and keyshim does not export it; make the file hold the key file %s's key (%s), or move the key file away",
			    key->spec->name, given->source, given_fp, r->path, key->fingerprint);
		log_warn("%s: using the key file %s (%s), not the value from %s (%s), as --on-conflict file says",
		         key->spec->name, r->path, key->fingerprint, given->source, given_fp);
		return; /* key already holds the file's value */
	}
}

/* DIR/NAME exists and was read into key: reconcile it with a given value. */
static void use_stored(struct resolver *r, struct key *key, const struct outside *given)
{
	key->state = KEY_LOADED;
	key->source = NULL;
	if (given->present && !same_value(given, key->text, key->len))
		settle_conflict(r, key, given);
}

static void create_key(struct resolver *r, struct key *key)
{
	const struct key_spec *spec = key->spec;
	key->len = format_create(spec->format, spec->bytes, key->text);
	if (key_file_publish(r->dir, spec, key->text, key->len))
		key->state = KEY_CREATED;
	else if (key_file_read(r->dir, spec, key->text, &key->len))
		key->state = KEY_LOADED; /* another container won the race */
	else
		die(EX_IOERR, "%s: published by another process, then gone", r->path);
}

/* Publish the outside value exactly as it is. */
static void adopt_key(struct resolver *r, struct key *key, const struct outside *given)
{
	if (key_file_publish(r->dir, key->spec, given->text, given->len)) {
		set_key(key, KEY_ADOPTED, given->source, given->text, given->len);
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

/* No key anywhere, and the service falls back to a value published in its
 * source (struct silent_default): where its data exists, the data was
 * encrypted with that value. Refuse, or with --adopt-published take that
 * value as the key's outside value, to be adopted; a fresh volume gets a
 * new key as usual. */
static void take_silent_default(struct resolver *r, const struct key_spec *spec,
                                struct outside *given)
{
	const struct silent_default *silent = spec->own.conf ? spec->own.conf->silent : NULL;
	if (!silent || strcmp(silent->name, spec->name) != 0)
		return;
	/* paths, not secrets; static: the -g stack wipe and small stacks
	 * (README, Threat model) want keyshim's frames small */
	static char where_data[PATH_MAX + 64], data[3 * PATH_MAX];
	char fp[FINGERPRINT_SIZE];
	if (svcconf_data_elsewhere(spec->own.conf, r->reader, where_data, sizeof where_data))
		/* a database keyshim cannot look into may hold the data */
		snprintf(data, sizeof data,
		         "%s, so the data may be in a database keyshim cannot see (if it is new, give it a new key yourself, in %s_FILE or %s)",
		         where_data, spec->name, r->path);
	else if (svcconf_data_exists(silent, r->reader, where_data, sizeof where_data))
		snprintf(data, sizeof data, "%s exists", where_data);
	else
		return;
	size_t len = strlen(silent->value);
	fingerprint(silent->value, len, fp);
	const char *where = published_value_source(spec->name, fp);
	if (!where) /* every silent default is in the published table */
		die(EX_SOFTWARE, "%s: its service's default is not in the published table", spec->name);
	if (!r->policy->adopt_published)
		die(EX_CONFIG,
		    "%s: %s, and no key is set (not in %s, %s_FILE, %s or the service's %s): the service then uses the one published in %s (%s), and what it stored is encrypted with it; a new key would lose that: set %s to the key the data was encrypted with, or pass --adopt-published to keep the published one",
		    spec->name, data, r->path, spec->name, spec->name, spec->own.conf->label, where,
		    fp, spec->name);
	memcpy(given->text, silent->value, len + 1);
	given->len = len;
	given->source = where;
	given->kind = SOURCE_SERVICE_CONF;
	given->present = true;
	log_warn("%s: %s, and no key is set: keeping the key published in %s (%s), as --adopt-published says, so that the data stays readable; anyone can decrypt it: %s",
	         spec->name, data, where, fp, silent->rotate);
}

/* First pass, nothing written: take what exists (the key file, NAME_FILE)
 * and refuse every mistake, so that a refusal never leaves half a set.
 * Returns true when the key still has to be adopted or created. */
static bool resolve_without_writing(struct resolver *r, struct key *key,
                                    struct outside *given)
{
	const struct key_spec *spec = key->spec;
	set_path(r, spec);
	read_outside(r, spec, given);
	key->state = KEY_MISSING;
	key->source = NULL;
	key->unexported = given->present && given->service_reads;
	if (key->unexported)
		log_info("%s: not exported: the service reads it from %s itself", spec->name,
		         given->source);
	if (key_file_read(r->dir, spec, key->text, &key->len))
		use_stored(r, key, given);
	else if (given->present && given->kind == SOURCE_FILE_VAR)
		set_key(key, KEY_FROM_FILE_VAR, given->source, given->text, given->len);
	else {
		if (!given->present) /* refused, or given the published value to adopt */
			take_silent_default(r, spec, given);
		if (r->policy->read_only)
			return false;
		if (r->policy->no_create && !given->present)
			die(EX_CONFIG,
			    "%s: missing, and --no-create forbids a new key; restore %s from a backup (data encrypted with the old key needs it)",
			    spec->name, r->path);
		return true;
	}
	return false;
}

/* Second pass: publish the outside value or a new key. */
static void resolve_by_writing(struct resolver *r, struct key *key, const struct outside *given)
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
                  struct key_dir *dir, const struct run_as *reader, struct key *keys)
{
	bool pending[KEYS_MAX] = { false };
	struct resolver resolver = { .policy = policy, .dir = dir, .reader = reader };
	key_dir_open(dir);
	for (size_t i = 0; i < list->count; i++) {
		keys[i].spec = &list->specs[i];
		resolver.index = i;
		pending[i] = resolve_without_writing(&resolver, &keys[i], &givens[i]);
	}
	for (size_t i = 0; i < list->count; i++)
		if (pending[i])
			resolve_by_writing(&resolver, &keys[i], &givens[i]);
	key_files_hand_over(dir); /* only now: every key read and checked */
	sodium_memzero(givens, list->count * sizeof *givens);
	svcconf_forget();
	for (size_t i = 0; i < list->count; i++)
		if (keys[i].state != KEY_MISSING)
			fingerprint(keys[i].text, keys[i].len, keys[i].fingerprint);
	key_dir_tidy(dir);
	key_dir_close(dir);
}
