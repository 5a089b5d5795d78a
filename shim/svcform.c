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

/* ---- Gitea's environment-to-ini (svcform_ini_env_sets) ---- */

static int hex_digit(char c)
{
	return (c >= '0' && c <= '9') ? c - '0'
	     : (c >= 'a' && c <= 'f') ? c - 'a' + 10
	     : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* The length of Go's escape regexp `_0[xX](([0-9a-fA-F]{2})+)_` at
 * text[i..len): an even run of hex digits closed by '_'; 0 for none. */
static size_t escape_length(const char *text, size_t len, size_t i)
{
	if (len - i < 6 || text[i] != '_' || text[i + 1] != '0' ||
	    (text[i + 2] != 'x' && text[i + 2] != 'X'))
		return 0;
	size_t run = 0;
	while (i + 3 + run < len && hex_digit(text[i + 3 + run]) >= 0)
		run++;
	if (run == 0 || run % 2 != 0 || i + 3 + run >= len || text[i + 3 + run] != '_')
		return 0;
	return 3 + run + 1;
}

/* A decoded section or key, compared as it grows: `at` bytes of `want`
 * matched so far; `lower`: the section, compared as Go lower-cases it. */
struct ini_env_part {
	const char *want;
	size_t at;
	bool lower, differs;
	unsigned char held[3]; /* the start of a multi-byte character */
	size_t held_len;
};

static void part_match(struct ini_env_part *p, char c)
{
	if (p->want[p->at] == c && c != '\0')
		p->at++;
	else
		p->differs = true;
}

static void part_add(struct ini_env_part *p, unsigned char c)
{
	if (p->differs)
		return;
	if (!p->lower) {
		part_match(p, (char)c);
		return;
	}
	if (p->held_len == 0 && c < 0x80) {
		part_match(p, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
		return;
	}
	/* only two characters lower-case to ASCII: U+0130 (C4 B0) to `i`,
	 * U+212A (E2 84 AA) to `k`; any other non-ASCII one differs */
	p->held[p->held_len++] = c;
	if (p->held_len == 2 && memcmp(p->held, "\xC4\xB0", 2) == 0) {
		p->held_len = 0;
		part_match(p, 'i');
	} else if (p->held_len == 3 && memcmp(p->held, "\xE2\x84\xAA", 3) == 0) {
		p->held_len = 0;
		part_match(p, 'k');
	} else if (!((p->held_len == 1 && (c == 0xC4 || c == 0xE2)) ||
	             (p->held_len == 2 && p->held[0] == 0xE2 && c == 0x84))) {
		p->differs = true;
	}
}

static bool part_equals(const struct ini_env_part *p)
{
	return !p->differs && p->held_len == 0 && p->want[p->at] == '\0';
}

bool svcform_ini_env_sets(const char *name, size_t len, const char *prefix,
                          const char *section, const char *option, bool *file)
{
	static const char file_suffix[] = "__FILE";
	size_t prefix_len = strlen(prefix), suffix_len = sizeof file_suffix - 1;
	*file = false;
	if (len < prefix_len || memcmp(name, prefix, prefix_len) != 0)
		return false;
	if (len - prefix_len >= suffix_len &&
	    memcmp(name + len - suffix_len, file_suffix, suffix_len) == 0) {
		*file = true;
		len -= suffix_len;
	}
	const char *text = name + prefix_len;
	len -= prefix_len;
	struct ini_env_part parts[2] = { { .want = section, .lower = true },
	                                 { .want = option } };
	size_t in = 0, key_len = 0; /* in: 1 once in KEY */
	for (size_t i = 0; i < len;) {
		size_t escape = escape_length(text, len, i);
		if (escape) {
			for (size_t h = i + 3; h + 1 < i + escape; h += 2)
				part_add(&parts[in], (unsigned char)(hex_digit(text[h]) * 16 +
				                                     hex_digit(text[h + 1])));
			key_len += in ? (escape - 4) / 2 : 0;
			i += escape;
		} else if (!in && i + 1 < len && text[i] == '_' && text[i + 1] == '_' &&
		           !escape_length(text, len, i + 1)) {
			in = 1; /* the first plain "__" */
			i += 2;
		} else {
			part_add(&parts[in], (unsigned char)text[i]);
			key_len += in;
			i++;
		}
	}
	return in && key_len > 0 && part_equals(&parts[0]) && part_equals(&parts[1]);
}
