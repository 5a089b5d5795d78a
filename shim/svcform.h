/* svcform.h - forms in which a service takes a value besides the value
 * itself (issue 13, "every form the service accepts"): a file whose whole
 * content, trimmed, is the value (Plausible's $CONFIG_DIR/NAME, authentik's
 * file:// target); a reference in the variable (authentik's env://VAR and
 * file:///path); a YAML file keyshim does not read but must not be shadowed
 * by. Pure: text in, answer out; no I/O; reached by the fuzzers. */
#ifndef KEYSHIM_SVCFORM_H
#define KEYSHIM_SVCFORM_H

#include <stdbool.h>
#include <stddef.h>

/* The value a service gets from a file it trims (Elixir's String.trim,
 * Python's str.strip, Go's strings.TrimSpace): text[*start..+*len) once
 * ASCII whitespace (space, \t \n \v \f \r) is cut from both ends. False
 * when nothing is left, or when the value would begin or end with a byte
 * those trims disagree on or that keyshim cannot be sure about (another
 * control character, DEL, any non-ASCII byte): keyshim refuses rather
 * than guess. */
bool svcform_trim(const char *text, size_t len, size_t *start, size_t *out_len);

enum svcform_ref_kind {
	SVCFORM_PLAIN,   /* not a reference: the value itself */
	SVCFORM_ENV,     /* env://VAR[?DEFAULT] */
	SVCFORM_FILE,    /* file://[HOST]/PATH[?DEFAULT] */
	SVCFORM_UNCLEAR, /* might be read as a reference; see svcform_reference */
};

struct svcform_ref {
	enum svcform_ref_kind kind;
	/* ENV: the variable's name; FILE: the absolute path (offsets into the
	 * text, not NUL-terminated) */
	size_t target, target_len;
	/* the text after '?' and before '#': ENV's default value */
	bool has_default;
	size_t fallback, fallback_len;
};

/* authentik's reading of a configuration value (authentik/lib/config.py
 * parse_uri with Python's urlparse, internal/config/config.go parseScheme
 * with Go's net/url): a value whose scheme is `env` or `file` (letters in
 * either case) names where the value is. SVCFORM_UNCLEAR for every text
 * the two readers may see differently or keyshim cannot mirror exactly: a
 * scheme behind leading whitespace or control characters or broken by a
 * tab (Python drops them, Go refuses), an env:// name that is not
 * [A-Za-z_][A-Za-z0-9_]*, a file path that is not absolute or holds '%'
 * (Go decodes escapes, Python does not). */
void svcform_reference(const char *text, size_t len, struct svcform_ref *ref);

/* True when Python's json.loads might read text as JSON (a number,
 * true/false/null, NaN, Infinity, or anything that starts with '{', '['
 * or '"', leading whitespace aside): authentik decodes such environment
 * values, so a value that reaches the service through the environment
 * must not look like one unless it came from there. */
bool svcform_json_like(const char *text, size_t len);

/* True unless a YAML document surely cannot set the mapping key `key`:
 * false only when the text holds neither `key` itself nor a backslash (an
 * escape in a double-quoted scalar can spell any name) nor a NUL. */
bool svcform_yaml_may_set(const char *text, size_t len, const char *key);

/* Gitea's and Forgejo's environment-to-ini (modules/setting/config_env.go
 * decodeEnvironmentKey; the images apply it to app.ini at every start):
 * true when the variable name[0..len) starts with `prefix` ("GITEA__";
 * Forgejo also "FORGEJO__") and sets [section] option: after the prefix
 * and without one trailing "__FILE" (then *file is true: the value is a
 * file's path), the first "__" outside an escape splits SECTION from KEY;
 * an escape `_0X` + pairs of hex digits + `_` (x in either case) stands
 * for those bytes. SECTION is compared lower-cased as Go's
 * strings.ToLower does (U+0130 is `i`, U+212A is `k`) with `section`, a
 * lower-case ASCII name; KEY exactly with `option`. */
bool svcform_ini_env_sets(const char *name, size_t len, const char *prefix,
                          const char *section, const char *option, bool *file);

#endif
