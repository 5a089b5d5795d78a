/* conffile.h - STUB until branch issue-12-parsers lands: the two pure
 * parsers for the services' own configuration files. */
#ifndef KEYSHIM_CONFFILE_H
#define KEYSHIM_CONFFILE_H

#include <stddef.h>

enum conf_result { CONF_FOUND, CONF_ABSENT, CONF_MALFORMED };

/* JSON: top-level object; the string value of `field` (unescaped, no NUL) */
enum conf_result json_get_string(const char *text, size_t len, const char *field,
                                 char *out, size_t out_size, size_t *out_len,
                                 char *why, size_t why_size);

/* INI as Python's configparser reads airflow.cfg: `option` in `[section]` */
enum conf_result ini_get(const char *text, size_t len, const char *section,
                         const char *option, char *out, size_t out_size,
                         size_t *out_len, char *why, size_t why_size);

#endif
