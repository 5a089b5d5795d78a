/* conffile.h - reading a key out of a service's own configuration file.
 * Pure: text in, value out. No I/O, no globals; reached by the fuzzers.
 *
 * Both readers refuse (CONF_MALFORMED) whatever they do not understand,
 * with a one-line reason in `why` that never holds the value, and wipe
 * `out` when they refuse. On CONF_FOUND, out[0..*out_len) is the value,
 * NUL-terminated, with no NUL inside. On CONF_ABSENT, out is "".
 * `field`, `section` and `option` are ASCII names chosen by the caller. */
#ifndef KEYSHIM_CONFFILE_H
#define KEYSHIM_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>

enum conf_result { CONF_FOUND, CONF_ABSENT, CONF_MALFORMED };

/* Arrays and objects nested deeper than this are refused. */
#define JSON_MAX_DEPTH 64
/* Sections plus options an INI document may hold. */
#define INI_MAX_ENTRIES 4096

/* JSON (RFC 8259; Semaphore's config.json, n8n's .n8n/config, Node-RED's
 * .config.runtime.json): the document is one object; `field` is a
 * top-level member whose value is a string; returns its unescaped value
 * (UTF-8; \uXXXX incl. surrogate pairs). CONF_ABSENT when the member is
 * not there. CONF_MALFORMED for anything not understood: bad syntax
 * anywhere (NaN and Infinity too, which Python accepts), invalid UTF-8, a
 * byte-order mark, a duplicate top-level member named `field` (decoders
 * disagree on which one wins), a top-level member whose name differs from
 * `field` only in letter case (Go's encoding/json, which Semaphore uses,
 * matches names case-insensitively, even U+017F and U+212A), a value for
 * `field` that is not a string, holds a NUL or a lone surrogate, or is
 * longer than out_size-1 bytes, nesting deeper than JSON_MAX_DEPTH.
 * Other members may hold any JSON value and are checked, then skipped. */
enum conf_result json_get_string(const char *text, size_t len, const char *field,
                                 char *out, size_t out_size, size_t *out_len,
                                 char *why, size_t why_size);

/* INI exactly as Apache Airflow's configparser reads airflow.cfg:
 * configparser.ConfigParser() with its defaults (strict=True,
 * BasicInterpolation, `=` and `:` delimiters, full-line `#` and `;`
 * comments, no inline comments, empty lines allowed in values, a DEFAULT
 * section inherited by every section) and Airflow's optionxform, which
 * keeps option names as written: names are matched case-sensitively, and
 * Airflow asks for lower-case ones. Lines end at \n, \r\n or \r (Python's
 * universal newlines); names and values are stripped of whitespace;
 * indented lines continue a value, which is returned joined with \n and
 * right-stripped, as configparser returns it (callers refuse multi-line
 * keys). `section` must exist in the file (configparser's has_option);
 * the option comes from it, else from [DEFAULT]. `%%` reads as `%`.
 *
 * CONF_MALFORMED for every document configparser rejects (no section
 * header first, a line that is neither, a duplicate section or option,
 * invalid UTF-8) and, where Python would carry on but keyshim cannot be
 * sure what Airflow sees, also for: a value with `%(name)s` interpolation
 * or a lone `%`; a value Airflow's expand_env_var would change (`$NAME`,
 * `${...}`, a leading `~`); a section or option that differs from the
 * asked one only in letter case (Airflow would silently ignore it); a
 * non-ASCII whitespace character anywhere; more than INI_MAX_ENTRIES
 * sections and options; a NUL in the value; a raw value longer than
 * out_size-1 bytes. */
enum conf_result ini_get(const char *text, size_t len, const char *section,
                         const char *option, char *out, size_t out_size,
                         size_t *out_len, char *why, size_t why_size);

/* INI as go-ini (gopkg.in/ini.v1, parser.go) reads it for Grafana's
 * grafana.ini and Gitea's app.ini: the same structure as above with
 * go-ini's differences. Lines end at \n (a trailing \r is whitespace); a
 * leading UTF-8 byte-order mark is skipped; leading whitespace is dropped
 * from every line, so an indented line is a line of its own; options
 * before the first header belong to DEFAULT, whose options no other
 * section inherits; a header is `[` up to the line's last `]`, its name
 * taken as written; a repeated section is merged and a repeated option's
 * last value wins. A value is right-stripped; a `#` or `;` anywhere in it
 * starts a comment; then one pair of surrounding `"` or `'` is removed.
 * `continuation` (go-ini's default, Grafana): a value ending in `\`
 * continues on the next lines; without it (Gitea's IgnoreContinuation)
 * the `\` is kept. A value in backquotes or triple double quotes is taken
 * as written up to the last closing quote on its line.
 *
 * CONF_MALFORMED for what go-ini refuses (an unclosed header, a line with
 * no `=` or `:`, an empty option name) and, where keyshim cannot be sure
 * what the service sees, also for: a quoted option name; an asked value
 * that continues on the next lines or in an unclosed quote; an asked value
 * holding go-ini's `%(name)s` reference; names that differ from the asked
 * one only in letter case; invalid UTF-8 and non-ASCII whitespace; more
 * than INI_MAX_ENTRIES sections and options; a NUL in the value; a value
 * longer than out_size-1 bytes. */
enum conf_result go_ini_get(const char *text, size_t len, bool continuation,
                            const char *section, const char *option, char *out,
                            size_t out_size, size_t *out_len, char *why,
                            size_t why_size);

#endif
