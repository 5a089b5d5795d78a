/* libFuzzer: svcform.c, the forms in which services take a value. The
 * first byte picks the function; each answer is checked against a naive
 * reading of svcform.h written apart from shim/. */
#include <assert.h>
#include <string.h>

#include "naive.h"
#include "svcform.h"

static struct naive_count counts[] = {
	{ "trim_ok", 0 }, { "trim_refused", 0 }, { "plain", 0 }, { "reference", 0 },
	{ "unclear", 0 }, { "json_like", 0 }, { "not_json", 0 }, { "yaml_may", 0 },
	{ "yaml_cannot", 0 },
};

static void __attribute__((destructor)) report(void)
{
	naive_report("svcform", counts, sizeof counts / sizeof counts[0]);
}

static int ws(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13); }

static int naive_trim(const char *t, size_t n, size_t *s, size_t *l)
{
	size_t a = 0, b = n;
	while (a < b && ws((unsigned char)t[a])) a++;
	while (b > a && ws((unsigned char)t[b - 1])) b--;
	*s = a, *l = b - a;
	return b > a && t[a] > 32 && t[a] < 127 && t[b - 1] > 32 && t[b - 1] < 127;
}

/* Python's view (leading controls/spaces and every tab dropped) starts
 * with a scheme env: or file:, any case */
static int naive_may_reference(const char *t, size_t n)
{
	char v[6] = "";
	size_t k = 0, i = 0;
	while (i < n && (unsigned char)t[i] <= 32) i++;
	for (; i < n && k < 5; i++)
		if (t[i] != '\t') v[k++] = (char)tolower((unsigned char)t[i]);
	return (k >= 4 && !memcmp(v, "env:", 4)) || (k >= 5 && !memcmp(v, "file:", 5));
}

static int naive_json_like(const char *t, size_t n)
{
	char s[64];
	while (n && strchr(" \t\n\r", *t) && *t) t++, n--;
	while (n && strchr(" \t\n\r", t[n - 1]) && t[n - 1]) n--;
	if (!n) return 0;
	if (*t == '{' || *t == '[' || *t == '"') return 1;
	if (n >= sizeof s || memchr(t, 0, n)) return 0; /* short ones only; no NUL inside */
	memcpy(s, t, n), s[n] = 0;
	if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null") ||
	    !strcmp(s, "NaN") || !strcmp(s, "Infinity") || !strcmp(s, "-Infinity"))
		return 1;
	size_t i = s[0] == '-';
	if (!isdigit((unsigned char)s[i]) || (s[i] == '0' && isdigit((unsigned char)s[i + 1]))) return 0;
	while (isdigit((unsigned char)s[i])) i++;
	if (s[i] == '.') { if (!isdigit((unsigned char)s[++i])) return 0; while (isdigit((unsigned char)s[i])) i++; }
	if (s[i] == 'e' || s[i] == 'E') {
		i++;
		if (s[i] == '+' || s[i] == '-') i++;
		if (!isdigit((unsigned char)s[i])) return 0;
		while (isdigit((unsigned char)s[i])) i++;
	}
	return s[i] == 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *t = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0: {
		size_t s1, l1, s2, l2;
		int got = svcform_trim(t, n, &s1, &l1), want = naive_trim(t, n, &s2, &l2);
		assert(got == want);
		if (got)
			assert(s1 == s2 && l1 == l2);
		counts[got ? 0 : 1].count++;
		return 0;
	}
	case 1: {
		struct svcform_ref ref;
		svcform_reference(t, n, &ref);
		assert((ref.kind == SVCFORM_PLAIN) == !naive_may_reference(t, n));
		if (ref.kind == SVCFORM_ENV || ref.kind == SVCFORM_FILE) {
			assert(ref.target + ref.target_len <= n && ref.target_len > 0);
			assert(!memchr(t, '%', n));
			for (size_t i = 0; i < n; i++)
				assert((unsigned char)t[i] >= 32 && t[i] != 127);
			if (ref.kind == SVCFORM_FILE)
				assert(t[ref.target] == '/');
			else
				for (size_t i = 0; i < ref.target_len; i++)
					assert(t[ref.target + i] == '_' || isalnum((unsigned char)t[ref.target + i]));
			if (ref.has_default)
				assert(ref.fallback > 0 && t[ref.fallback - 1] == '?' &&
				       ref.fallback + ref.fallback_len <= n);
		}
		counts[ref.kind == SVCFORM_PLAIN ? 2 : ref.kind == SVCFORM_UNCLEAR ? 4 : 3].count++;
		return 0;
	}
	case 2: {
		int got = svcform_json_like(t, n);
		/* numbers longer than the naive buffer: the naive reading says no */
		if (n < 60)
			assert(got == naive_json_like(t, n));
		counts[got ? 5 : 6].count++;
		return 0;
	}
	default: {
		int got = svcform_yaml_may_set(t, n, "secret_key");
		int want = 0;
		for (size_t i = 0; i < n; i++)
			if (t[i] == '\\' || t[i] == 0 || (i + 10 <= n && !memcmp(t + i, "secret_key", 10)))
				want = 1;
		assert(got == want);
		counts[got ? 7 : 8].count++;
		return 0;
	}
	}
}
