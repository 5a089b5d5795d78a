/* naive.h - the fuzz harnesses' second opinion: plain, slow, obviously
 * right readings of what keyshim parses, written from the README and
 * proc(5), sharing no code with shim/ (only its limits and enum values).
 * Each harness compares keyshim's parser with these on every input and
 * counts the outcomes it compared; at exit it prints them as
 *   oracle NAME: compared N OUTCOME=COUNT ...
 * and tests/test_fuzz.py asserts that every outcome was seen. */
#ifndef KEYSHIM_FUZZ_NAIVE_H
#define KEYSHIM_FUZZ_NAIVE_H

#include <stdio.h>
#include <ctype.h>
#include <string.h>

#include "accept.h"
#include "encoding.h"
#include "keyspec.h"

static const char naive_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char naive_b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static inline int naive_index(const char *alphabet, char c)
{
	for (int i = 0; i < 64; i++)
		if (alphabet[i] == c)
			return i;
	return -1;
}

/* Is text[0..len) base64 of some bytes: 4-character groups (the last one
 * short when !padded), '=' only as the padding of the last group, unused
 * bits zero; `alphabet(c)` says which characters are digits. The number of
 * bytes goes to *bytes. */
static inline int naive_base64(const char *text, size_t len, int padded,
                               int (*digit)(char), size_t *bytes)
{
	size_t pad = 0;
	if (padded) {
		if (len == 0 || len % 4)
			return 0;
		while (pad < 2 && text[len - 1 - pad] == '=')
			pad++;
	} else if (len % 4 == 1) {
		return 0;
	}
	size_t data = len - pad;
	for (size_t i = 0; i < data; i++)
		if (digit(text[i]) < 0)
			return 0;
	size_t tail = data % 4; /* characters in a short last group */
	if (tail == 1)
		return 0;
	int last = data ? digit(text[data - 1]) : 0;
	if ((tail == 2 && (last & 15)) || (tail == 3 && (last & 3)))
		return 0;
	*bytes = data / 4 * 3 + (tail ? tail - 1 : 0);
	return 1;
}

static inline int naive_std_digit(char c) { return naive_index(naive_b64, c); }
static inline int naive_url_digit(char c) { return naive_index(naive_b64url, c); }
/* Python's urlsafe_b64decode: '-' and '_' stand for '+' and '/' */
static inline int naive_either_digit(char c)
{
	return naive_std_digit(c == '-' ? '+' : c == '_' ? '/' : c);
}

/* Is text[0..len) exactly the canonical text of `bytes` bytes in `format`:
 * lower-case hex, or base64 (padded or not) whose unused bits are zero? */
static inline int naive_key_text_valid(int format, const char *text, size_t len, size_t bytes)
{
	size_t got = 0;
	if (bytes < 16 || bytes > 1024)
		return 0;
	switch (format) {
	case FORMAT_HEX:
		if (len != 2 * bytes)
			return 0;
		for (size_t i = 0; i < len; i++)
			if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
				return 0;
		return 1;
	case FORMAT_BASE64:
		return naive_base64(text, len, 1, naive_std_digit, &got) && got == bytes;
	case FORMAT_BASE64URL:
		return naive_base64(text, len, 1, naive_url_digit, &got) && got == bytes;
	case FORMAT_BASE64URL_RAW:
		return naive_base64(text, len, 0, naive_url_digit, &got) && got == bytes;
	case FORMAT_LARAVEL: /* "base64:" then the padded standard form */
		return len > 7 && memcmp(text, "base64:", 7) == 0 &&
		       naive_base64(text + 7, len - 7, 1, naive_std_digit, &got) && got == bytes;
	default:
		return 0;
	}
}

/* A non-empty single line: no NUL, CR or LF, at most KEY_TEXT_MAX. */
static inline int naive_one_line(const char *text, size_t len)
{
	if (len == 0 || len > KEY_TEXT_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0' || text[i] == '\n' || text[i] == '\r')
			return 0;
	return 1;
}

/* What each acceptance rule (accept.h) takes, from its comment there. */
static inline int naive_accepts(int rule, int format, size_t bytes, const char *text, size_t len)
{
	size_t got = 0;
	switch (rule) {
	case ACCEPT_CANONICAL:
		return naive_key_text_valid(format, text, len, bytes);
	case ACCEPT_AES_BASE64:
		return naive_base64(text, len, 1, naive_std_digit, &got) &&
		       (got == 16 || got == 24 || got == 32);
	case ACCEPT_BASE64:
		return naive_base64(text, len, 1, naive_std_digit, &got) && got >= 1 &&
		       got <= KEY_BYTES_MAX;
	case ACCEPT_FERNET:
		return len == 44 && naive_base64(text, len, 1, naive_either_digit, &got) && got == 32;
	case ACCEPT_HS512_SECRET:
	case ACCEPT_LINE:
		return naive_one_line(text, len);
	case ACCEPT_ASCII_LINE:
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)text[i] > 127)
				return 0;
		return naive_one_line(text, len);
	case ACCEPT_LINE_16: { /* characters: bytes that do not continue one */
		size_t chars = 0;
		for (size_t i = 0; i < len; i++)
			chars += ((unsigned char)text[i] >> 6) != 2;
		return naive_one_line(text, len) && chars >= 16;
	}
	case ACCEPT_LINE_32:
		return naive_one_line(text, len) && len >= 32;
	case ACCEPT_HEX_32:
		if (len != 64)
			return 0;
		for (size_t i = 0; i < len; i++)
			if (!strchr("0123456789abcdefABCDEF", text[i]) || !text[i])
				return 0;
		return 1;
	case ACCEPT_LARAVEL:
		if (len > 7 && memcmp(text, "base64:", 7) == 0)
			return naive_base64(text + 7, len - 7, 1, naive_std_digit, &got) && got == 32;
		return len == 32 && naive_one_line(text, len);
	case ACCEPT_GRAFANA: /* \$(|__\w+){([^}]+)} nowhere, by brute force */
		for (size_t i = 0; i < len; i++)
			for (size_t j = i + 1; j < len; j++) {
				int head = j == i + 1;
				if (j >= i + 4 && text[i + 1] == '_' && text[i + 2] == '_') {
					head = 1;
					for (size_t k = i + 3; k < j; k++)
						head &= isalnum((unsigned char)text[k]) || text[k] == '_';
				}
				if (text[i] != '$' || !head || text[j] != '{')
					continue;
				for (size_t k = j + 2; k < len; k++) {
					if (text[k] == '}' && !memchr(text + j + 1, '}', k - j - 1))
						return 0;
				}
			}
		return naive_one_line(text, len);
	case ACCEPT_NOT_REFERENCE: { /* as Python's urlsplit sees it: leading
		 * controls and spaces dropped, every tab dropped, then no
		 * "env:" or "file:" in either case */
		char view[5];
		size_t n = 0, i = 0;
		while (i < len && (unsigned char)text[i] <= 0x20)
			i++;
		for (; i < len && n < 5; i++)
			if (text[i] != '\t')
				view[n++] = (char)tolower((unsigned char)text[i]);
		return naive_one_line(text, len) && !(n >= 4 && memcmp(view, "env:", 4) == 0) &&
		       !(n >= 5 && memcmp(view, "file:", 5) == 0);
	}
	default:
		return 0;
	}
}

struct naive_spec {
	char name[KEY_NAME_MAX + 1];
	int format;
	size_t bytes;
};

/* "NAME[:FORMAT[:BYTES]]" as the README describes it. */
static inline int naive_key_spec(const char *in, struct naive_spec *out)
{
	size_t total = strlen(in);
	if (total >= KEY_NAME_MAX + 32)
		return 0;
	const char *colon = strchr(in, ':');
	size_t name_len = colon ? (size_t)(colon - in) : total;
	if (name_len == 0 || name_len > KEY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < name_len; i++) {
		char c = in[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
		         (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return 0;
	}
	memcpy(out->name, in, name_len);
	out->name[name_len] = '\0';
	out->format = FORMAT_BASE64;
	out->bytes = 32;
	if (!colon)
		return 1;
	const char *format = colon + 1;
	const char *colon2 = strchr(format, ':');
	size_t format_len = colon2 ? (size_t)(colon2 - format) : strlen(format);
	if (format_len == 6 && memcmp(format, "base64", 6) == 0)
		out->format = FORMAT_BASE64;
	else if (format_len == 9 && memcmp(format, "base64url", 9) == 0)
		out->format = FORMAT_BASE64URL;
	else if (format_len == 3 && memcmp(format, "hex", 3) == 0)
		out->format = FORMAT_HEX;
	else if (format_len == 13 && memcmp(format, "base64url-raw", 13) == 0)
		out->format = FORMAT_BASE64URL_RAW;
	else if (format_len == 7 && memcmp(format, "laravel", 7) == 0)
		out->format = FORMAT_LARAVEL;
	else
		return 0;
	if (!colon2)
		return 1;
	const char *digits = colon2 + 1;
	size_t n = strlen(digits), value = 0;
	if (n == 0 || n > 4)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return 0;
		value = value * 10 + (size_t)(digits[i] - '0');
	}
	if (value < 16 || value > 1024)
		return 0;
	out->bytes = value;
	return 1;
}

/* Outcome counters, printed once at exit. */
struct naive_count {
	const char *outcome;
	unsigned long count;
};

static inline void naive_report(const char *harness, struct naive_count *counts, size_t n)
{
	unsigned long total = 0;
	for (size_t i = 0; i < n; i++)
		total += counts[i].count;
	fprintf(stderr, "oracle %s: compared %lu", harness, total);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %s=%lu", counts[i].outcome, counts[i].count);
	fprintf(stderr, "\n");
}

#endif
