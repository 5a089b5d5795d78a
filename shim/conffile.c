/* conffile.c - STUB until branch issue-12-parsers lands. */
#include "conffile.h"

#include <stdio.h>

enum conf_result json_get_string(const char *text, size_t len, const char *field,
                                 char *out, size_t out_size, size_t *out_len,
                                 char *why, size_t why_size)
{
	(void)text, (void)len, (void)field, (void)out, (void)out_size;
	*out_len = 0;
	snprintf(why, why_size, "no JSON parser yet");
	return CONF_MALFORMED;
}

enum conf_result ini_get(const char *text, size_t len, const char *section,
                         const char *option, char *out, size_t out_size,
                         size_t *out_len, char *why, size_t why_size)
{
	(void)text, (void)len, (void)section, (void)option, (void)out, (void)out_size;
	*out_len = 0;
	snprintf(why, why_size, "no INI parser yet");
	return CONF_MALFORMED;
}
