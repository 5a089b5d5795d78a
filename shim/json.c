/* json.c - one top-level string member out of a JSON document; see
 * conffile.h. A recursive-descent checker of RFC 8259 whose recursion is
 * bounded by JSON_MAX_DEPTH; strings are decoded into a bounded sink that
 * remembers what the caller must refuse (overflow, NUL, lone surrogate). */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conffile.h"
#include "utf8.h"

/* Longest member name compared with `field`: three bytes a character
 * (U+212A) for fields of up to 128 characters. */
#define NAME_MAX_BYTES 512
#define FIELD_MAX_CHARS 128

struct json {
	const unsigned char *start, *p, *end;
	char *why;
	size_t why_size;
	bool failed;
};

struct sink {
	unsigned char *buf;
	size_t cap, len;
	bool overflow, nul, lone_surrogate;
};

static bool fail(struct json *j, const char *reason)
{
	if (!j->failed) {
		size_t line = 1;
		for (const unsigned char *q = j->start; q < j->p && q < j->end; q++)
			line += *q == '\n';
		snprintf(j->why, j->why_size, "line %zu: %s", line, reason);
		j->failed = true;
	}
	return false;
}

static void put(struct sink *s, const unsigned char *bytes, size_t n)
{
	if (!s)
		return;
	if (s->overflow || n > s->cap - s->len) {
		s->overflow = true;
		return;
	}
	memcpy(s->buf + s->len, bytes, n);
	s->len += n;
}

static void skip_ws(struct json *j)
{
	while (j->p < j->end &&
	       (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p[0..4): the code unit, or -1. */
static long hex4(const unsigned char *p, const unsigned char *end)
{
	if (end - p < 4)
		return -1;
	long u = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);
		if (d < 0)
			return -1;
		u = u * 16 + d;
	}
	return u;
}

/* The \uXXXX escape whose hex digits start at j->p: pairs of surrogates
 * join into one character, as Python and Go read them; a lone surrogate
 * is remembered, not written. */
static bool unicode_escape(struct json *j, struct sink *s)
{
	long u = hex4(j->p, j->end);
	if (u < 0)
		return fail(j, "bad \\u escape in a string");
	j->p += 4;
	uint32_t cp = (uint32_t)u;
	if (u >= 0xd800 && u <= 0xdbff) {
		long lo = -1;
		if (j->end - j->p >= 2 && j->p[0] == '\\' && j->p[1] == 'u') {
			lo = hex4(j->p + 2, j->end);
			if (lo < 0)
				return fail(j, "bad \\u escape in a string");
		}
		if (lo >= 0xdc00 && lo <= 0xdfff) {
			j->p += 6;
			cp = 0x10000 + (((uint32_t)u - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
		} else {
			if (s)
				s->lone_surrogate = true;
			return true;
		}
	} else if (u >= 0xdc00 && u <= 0xdfff) {
		if (s)
			s->lone_surrogate = true;
		return true;
	}
	if (cp == 0 && s)
		s->nul = true;
	unsigned char enc[4];
	put(s, enc, utf8_encode(cp, enc));
	return true;
}

/* A string; j->p is at its opening quote. Its decoded bytes go to s
 * (NULL: checked only). */
static bool string(struct json *j, struct sink *s)
{
	j->p++;
	for (;;) {
		if (j->p >= j->end)
			return fail(j, "a string is not closed");
		unsigned char c = *j->p;
		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return fail(j, "control character in a string");
		if (c == '\\') {
			if (++j->p >= j->end)
				return fail(j, "a string is not closed");
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *e = strchr(from, *j->p);
			if (*j->p == 'u') {
				j->p++;
				if (!unicode_escape(j, s))
					return false;
			} else if (*j->p && e) {
				put(s, (const unsigned char *)&to[e - from], 1);
				j->p++;
			} else {
				return fail(j, "bad escape in a string");
			}
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(j->p, (size_t)(j->end - j->p), &cp);
		if (n == 0)
			return fail(j, "invalid UTF-8");
		put(s, j->p, n);
		j->p += n;
	}
}

static bool digits(struct json *j)
{
	const unsigned char *from = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > from;
}

static bool number(struct json *j)
{
	if (*j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!digits(j))
		return fail(j, "bad number");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digits(j))
			return fail(j, "bad number");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digits(j))
			return fail(j, "bad number");
	}
	return true;
}

static bool literal(struct json *j, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return fail(j, "unexpected character");
	j->p += n;
	return true;
}

static bool value(struct json *j, int depth);

/* An array or an object, j->p at its opening bracket. */
static bool container(struct json *j, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return fail(j, "nested too deeply");
	bool object = *j->p == '{';
	unsigned char close = object ? '}' : ']';
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		if (object) {
			if (j->p >= j->end || *j->p != '"')
				return fail(j, "expected a member name");
			if (!string(j, NULL))
				return false;
			skip_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return fail(j, "expected ':'");
			j->p++;
			skip_ws(j);
		}
		if (!value(j, depth))
			return false;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			skip_ws(j);
		} else if (j->p < j->end && *j->p == close) {
			j->p++;
			return true;
		} else {
			return fail(j, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
}

/* Any value, j->p at its first character. */
static bool value(struct json *j, int depth)
{
	if (j->p >= j->end)
		return fail(j, "a value is missing");
	switch (*j->p) {
	case '{':
	case '[':
		return container(j, depth + 1);
	case '"':
		return string(j, NULL);
	case 't':
		return literal(j, "true");
	case 'f':
		return literal(j, "false");
	case 'n':
		return literal(j, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return number(j);
		return fail(j, "unexpected character");
	}
}

static uint32_t fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + ('a' - 'A');
	if (c == 0x17f) /* LATIN SMALL LETTER LONG S */
		return 's';
	if (c == 0x212a) /* KELVIN SIGN */
		return 'k';
	return c;
}

/* Whether Go's encoding/json would take `name` for the ASCII `field`:
 * equal under Unicode simple case folding, which for ASCII letters is
 * the ASCII case pairs plus U+017F (s) and U+212A (k). */
static bool folds_to(const unsigned char *name, size_t len, const char *field)
{
	size_t i = 0;
	for (const char *f = field; *f; f++) {
		uint32_t cp;
		size_t n = utf8_decode(name + i, len - i, &cp);
		if (n == 0 || fold(cp) != fold((unsigned char)*f))
			return false;
		i += n;
	}
	return i == len;
}

enum conf_result json_get_string(const char *text, size_t len, const char *field,
                                 char *out, size_t out_size, size_t *out_len,
                                 char *why, size_t why_size)
{
	struct json j = {
		.start = (const unsigned char *)text,
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.why = why,
		.why_size = why_size,
	};
	struct sink found = { .buf = (unsigned char *)out, .cap = out_size - 1 };
	bool seen = false;
	size_t field_len = strlen(field);

	*out_len = 0;
	if (why_size)
		why[0] = '\0';
	if (out_size == 0) {
		fail(&j, "no room for the value");
		return CONF_MALFORMED;
	}
	out[0] = '\0';
	if (field_len == 0 || field_len > FIELD_MAX_CHARS) {
		fail(&j, "the member name asked for is empty or too long");
		goto refuse;
	}
	skip_ws(&j);
	if (j.p >= j.end || *j.p != '{') {
		fail(&j, "the document is not a JSON object");
		goto refuse;
	}
	j.p++;
	skip_ws(&j);
	bool closed = j.p < j.end && *j.p == '}';
	if (closed)
		j.p++;
	while (!closed) {
		unsigned char name_buf[NAME_MAX_BYTES];
		struct sink name = { .buf = name_buf, .cap = sizeof name_buf };
		if (j.p >= j.end || *j.p != '"') {
			fail(&j, "expected a member name");
			goto refuse;
		}
		if (!string(&j, &name))
			goto refuse;
		skip_ws(&j);
		if (j.p >= j.end || *j.p != ':') {
			fail(&j, "expected ':'");
			goto refuse;
		}
		j.p++;
		skip_ws(&j);
		bool plain = !name.overflow && !name.lone_surrogate;
		if (plain && name.len == field_len && memcmp(name.buf, field, field_len) == 0) {
			if (seen) {
				fail(&j, "the member is there twice");
				goto refuse;
			}
			seen = true;
			if (j.p >= j.end || *j.p != '"') {
				fail(&j, "the member's value is not a string");
				goto refuse;
			}
			if (!string(&j, &found))
				goto refuse;
			if (found.overflow || found.nul || found.lone_surrogate) {
				fail(&j, found.overflow ? "the member's value is too long"
				         : found.nul ? "the member's value holds a NUL character"
				                     : "the member's value holds a lone surrogate");
				goto refuse;
			}
		} else if (plain && folds_to(name.buf, name.len, field)) {
			fail(&j, "a member name differs from the one asked for only in letter case");
			goto refuse;
		} else if (!value(&j, 1)) {
			goto refuse;
		}
		skip_ws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			skip_ws(&j);
		} else if (j.p < j.end && *j.p == '}') {
			j.p++;
			closed = true;
		} else {
			fail(&j, "expected ',' or '}'");
			goto refuse;
		}
	}
	skip_ws(&j);
	if (j.p != j.end) {
		fail(&j, "more data after the object");
		goto refuse;
	}
	if (!seen)
		return CONF_ABSENT;
	out[found.len] = '\0';
	*out_len = found.len;
	return CONF_FOUND;

refuse:
	sodium_memzero(out, out_size);
	*out_len = 0;
	return CONF_MALFORMED;
}
