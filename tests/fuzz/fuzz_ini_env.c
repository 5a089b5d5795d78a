/* libFuzzer: svcform_ini_env_sets, Gitea's and Forgejo's environment-to-ini
 * reading of a variable's name. Input: the name. The oracle follows
 * config_env.go step by step (written from its description, no code
 * shared with shim/): strip one "__FILE", check the prefix, find every
 * escape `_0[xX](hex pairs)+_` left to right, split at the first "__" of
 * the plain text before the key, decode, lower-case the section as Go
 * does rune by rune, compare with [security] SECRET_KEY. */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "naive.h"
#include "svcform.h"

static struct naive_count counts[] = { { "sets", 0 }, { "sets_file", 0 }, { "not", 0 } };

static void __attribute__((destructor)) report(void)
{
	naive_report("ini_env", counts, sizeof counts / sizeof counts[0]);
}

static int is_hex(char c) { return c && strchr("0123456789abcdefABCDEF", c) != NULL; }

static int hex_value(char c)
{
	const char *digits = "0123456789abcdef";
	return (int)(strchr(digits, tolower((unsigned char)c)) - digits);
}

/* An escape at s[i]: its length, else 0. */
static size_t naive_escape_at(const char *s, size_t n, size_t i)
{
	if (!(i + 2 < n && s[i] == '_' && s[i + 1] == '0' && (s[i + 2] | 0x20) == 'x'))
		return 0;
	size_t j = i + 3, pairs = 0;
	while (j + 1 < n && is_hex(s[j]) && is_hex(s[j + 1]))
		j += 2, pairs++;
	return pairs && j < n && s[j] == '_' ? j + 1 - i : 0;
}

/* Go's strings.ToLower, as far as it can make ASCII: ASCII letters,
 * U+0130 -> i, U+212A -> k; every other non-ASCII rune or invalid byte
 * stays non-ASCII (here: 0x80). */
static size_t go_lower(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (in[i] < 0x80) {
			out[o++] = (char)tolower(in[i]);
			i++;
		} else if (i + 1 < n && in[i] == 0xC4 && in[i + 1] == 0xB0) {
			out[o++] = 'i', i += 2;
		} else if (i + 2 < n && in[i] == 0xE2 && in[i + 1] == 0x84 && in[i + 2] == 0xAA) {
			out[o++] = 'k', i += 3;
		} else {
			out[o++] = (char)0x80, i++;
		}
	}
	return o;
}

static int naive_sets(const char *name, size_t n, const char *prefix, int *file)
{
	size_t p = strlen(prefix);
	*file = 0;
	if (n < p || memcmp(name, prefix, p) != 0)
		return 0;
	if (n - p >= 6 && memcmp(name + n - 6, "__FILE", 6) == 0)
		*file = 1, n -= 6;
	const char *s = name + p;
	n -= p;
	unsigned char *section = malloc(n + 1), *key = malloc(n + 1);
	size_t sl = 0, kl = 0, last = 0;
	int in_key = 0;
	for (size_t i = 0; i <= n; i++) {
		size_t e = i < n ? naive_escape_at(s, n, i) : 0;
		if (i < n && !e)
			continue;
		/* the plain text s[last..i), then the escape's bytes */
		for (size_t j = last; j < i; j++) {
			if (!in_key && j + 1 < i && s[j] == '_' && s[j + 1] == '_') {
				in_key = 1, j++;
				continue;
			}
			if (in_key)
				key[kl++] = (unsigned char)s[j];
			else
				section[sl++] = (unsigned char)s[j];
		}
		for (size_t j = i + 3; e && j + 1 < i + e; j += 2) {
			unsigned char b = (unsigned char)(hex_value(s[j]) * 16 + hex_value(s[j + 1]));
			if (in_key)
				key[kl++] = b;
			else
				section[sl++] = b;
		}
		last = i + e;
		if (e)
			i += e - 1;
	}
	char lower[3 * n + 1];
	size_t ll = go_lower(section, sl, lower);
	int sets = in_key && kl > 0 && ll == 8 && memcmp(lower, "security", 8) == 0 &&
	           kl == 10 && memcmp(key, "SECRET_KEY", 10) == 0;
	free(section);
	free(key);
	return sets;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *name = (const char *)data;
	static const char *const prefixes[] = { "GITEA__", "FORGEJO__" };
	for (size_t i = 0; i < 2; i++) {
		bool file;
		int naive_file;
		bool got = svcform_ini_env_sets(name, size, prefixes[i], "security", "SECRET_KEY", &file);
		int want = naive_sets(name, size, prefixes[i], &naive_file);
		assert(got == (want != 0));
		if (got)
			assert(file == (naive_file != 0));
		counts[got ? (file ? 1 : 0) : 2].count++;
	}
	return 0;
}
