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
#include <string.h>

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

/* Is text[0..len) exactly the canonical text of `bytes` bytes: lower-case
 * hex, or padded base64 whose unused bits are zero? */
static inline int naive_key_text_valid(int format, const char *text, size_t len, size_t bytes)
{
	if (bytes < 16 || bytes > 1024)
		return 0;
	if (format == FORMAT_HEX) {
		if (len != 2 * bytes)
			return 0;
		for (size_t i = 0; i < len; i++)
			if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
				return 0;
		return 1;
	}
	const char *alphabet = format == FORMAT_BASE64URL ? naive_b64url : naive_b64;
	size_t groups = (bytes + 2) / 3, pad = groups * 3 - bytes;
	if (len != 4 * groups)
		return 0;
	for (size_t i = 0; i < len; i++) {
		int is_pad = i >= len - pad;
		if (is_pad ? text[i] != '=' : naive_index(alphabet, text[i]) < 0)
			return 0;
	}
	/* the last data character carries 2 (pad 2) or 4 (pad 1) unused bits */
	int last = naive_index(alphabet, text[len - pad - 1]);
	if (pad == 2 && (last & 15))
		return 0;
	if (pad == 1 && (last & 3))
		return 0;
	return 1;
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
