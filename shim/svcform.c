/* svcform.c - see svcform.h. */
#include "svcform.h"

#include <string.h>

static bool is_ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Printable ASCII, not a space: no trim anywhere removes it. */
static bool is_solid(unsigned char c)
{
	return c > ' ' && c < 0x7f;
}

bool svcform_trim(const char *text, size_t len, size_t *start, size_t *out_len)
{
	size_t begin = 0, end = len;
	while (begin < end && is_ascii_space((unsigned char)text[begin]))
		begin++;
	while (end > begin && is_ascii_space((unsigned char)text[end - 1]))
		end--;
	*start = begin;
	*out_len = end - begin;
	return end > begin && is_solid((unsigned char)text[begin]) &&
	       is_solid((unsigned char)text[end - 1]);
}

static bool is_name_char(char c, bool first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && c >= '0' && c <= '9');
}

static bool lower_equals(const char *text, size_t len, const char *word)
{
	size_t n = strlen(word);
	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return true;
}

/* "env:" or "file:" at text, letters in either case: the length of the
 * scheme, 0 for neither. */
static size_t scheme_length(const char *text, size_t len)
{
	if (lower_equals(text, len, "env:"))
		return 3;
	if (lower_equals(text, len, "file:"))
		return 4;
	return 0;
}

/* Would Python's urlsplit, which drops leading C0 controls and spaces and
 * every tab, see an env: or file: scheme somewhere Go would not? */
static bool reference_hidden(const char *text, size_t len)
{
	char seen[5];
	size_t n = 0, i = 0;
	while (i < len && (unsigned char)text[i] <= ' ')
		i++;
	for (; i < len && n < sizeof seen; i++)
		if (text[i] != '\t')
			seen[n++] = text[i];
	return scheme_length(seen, n) != 0;
}

void svcform_reference(const char *text, size_t len, struct svcform_ref *ref)
{
	memset(ref, 0, sizeof *ref);
	size_t scheme = scheme_length(text, len);
	if (!scheme) {
		ref->kind = reference_hidden(text, len) ? SVCFORM_UNCLEAR : SVCFORM_PLAIN;
		return;
	}
	ref->kind = SVCFORM_UNCLEAR;
	for (size_t i = 0; i < len; i++) /* Go refuses controls; '%' escapes differ */
		if ((unsigned char)text[i] < ' ' || text[i] == 0x7f || text[i] == '%')
			return;
	const char *rest = text + scheme + 1;
	size_t rest_len = len - scheme - 1;
	const char *hash = memchr(rest, '#', rest_len);
	if (hash)
		rest_len = (size_t)(hash - rest);
	const char *query = memchr(rest, '?', rest_len);
	if (query) {
		ref->has_default = true;
		ref->fallback = (size_t)(query + 1 - text);
		ref->fallback_len = rest_len - (size_t)(query + 1 - rest);
		rest_len = (size_t)(query - rest);
	}
	bool authority = rest_len >= 2 && rest[0] == '/' && rest[1] == '/';
	if (authority) {
		rest += 2;
		rest_len -= 2;
	}
	const char *slash = memchr(rest, '/', rest_len);
	size_t netloc_len = authority ? (slash ? (size_t)(slash - rest) : rest_len) : 0;
	if (scheme == 3) { /* env://NAME: the name is the host */
		if (!authority || netloc_len == 0)
			return;
		for (size_t i = 0; i < netloc_len; i++)
			if (!is_name_char(rest[i], i == 0))
				return;
		ref->kind = SVCFORM_ENV;
		ref->target = (size_t)(rest - text);
		ref->target_len = netloc_len;
		return;
	}
	/* file:///PATH or file:/PATH; a host (file://HOST/PATH) is refused */
	if (netloc_len != 0 || rest_len == 0 || rest[0] != '/')
		return;
	ref->kind = SVCFORM_FILE;
	ref->target = (size_t)(rest - text);
	ref->target_len = rest_len;
}

static bool digits(const char *text, size_t len, size_t *i)
{
	size_t begin = *i;
	while (*i < len && text[*i] >= '0' && text[*i] <= '9')
		(*i)++;
	return *i > begin;
}

/* Python's json number: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?, ASCII
 * digits as its C scanner reads them. */
static bool json_number(const char *text, size_t len)
{
	size_t i = 0;
	if (i < len && text[i] == '-')
		i++;
	if (i < len && text[i] == '0')
		i++;
	else if (!(i < len && text[i] >= '1' && text[i] <= '9') || !digits(text, len, &i))
		return false;
	if (i < len && text[i] == '.' && (i++, !digits(text, len, &i)))
		return false;
	if (i < len && (text[i] == 'e' || text[i] == 'E')) {
		i++;
		if (i < len && (text[i] == '+' || text[i] == '-'))
			i++;
		if (!digits(text, len, &i))
			return false;
	}
	return i == len;
}

bool svcform_json_like(const char *text, size_t len)
{
	static const char *const words[] = { "true", "false", "null", "NaN",
	                                     "Infinity", "-Infinity" };
	/* json.loads skips ' ', \t, \n and \r around the document */
	while (len > 0 && strchr(" \t\n\r", text[0]) && text[0])
		text++, len--;
	while (len > 0 && strchr(" \t\n\r", text[len - 1]) && text[len - 1])
		len--;
	if (len == 0)
		return false;
	if (text[0] == '{' || text[0] == '[' || text[0] == '"')
		return true;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (len == strlen(words[i]) && memcmp(text, words[i], len) == 0)
			return true;
	return json_number(text, len);
}

bool svcform_yaml_may_set(const char *text, size_t len, const char *key)
{
	return memchr(text, '\\', len) || memchr(text, '\0', len) ||
	       memmem(text, len, key, strlen(key));
}
