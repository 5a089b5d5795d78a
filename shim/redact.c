/* redact.c - see redact.h. */
#include "redact.h"

#include <limits.h>
#include <string.h>

#include "encoding.h"

bool value_is_plain_path(const char *value)
{
	size_t len = strnlen(value, PATH_MAX);
	if (value[0] != '/' || len >= PATH_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = value[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '/'))
			return false;
	}
	/* Hex never starts with '/' and URL-safe base64 has none; standard
	 * base64 without '+' or '=' looks like this, so ask the decoder. */
	return !(len % 4 == 0 && len / 4 * 3 >= KEY_BYTES_MIN &&
	         format_is_valid(FORMAT_BASE64, value, len, len / 4 * 3));
}

const char *value_shown(const char *value)
{
	return value_is_plain_path(value) ? value : REDACTED;
}
