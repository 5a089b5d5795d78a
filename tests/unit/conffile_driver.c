/* conffile-driver: runs json_get_string and ini_get over many documents
 * for tests/test_conffile.py, which compares the answers with Python's own
 * json and configparser. Reads records from stdin until its end:
 *   kind ('J', 'I', or 'G'/'g': go-ini with/without continuation lines),
 *   out_size (u32 LE), document length (u32 LE),
 *   document, section length (u16 LE), section, name length (u16 LE), name
 * and writes one line per record: "F LEN FINGERPRINT", "A" or "M WHY".
 * A found value is shown as its fingerprint only, like everything keyshim
 * prints. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "encoding.h"

static const unsigned char *in, *in_end;

static int take(void *dst, size_t n)
{
	if ((size_t)(in_end - in) < n)
		return 0;
	memcpy(dst, in, n);
	in += n;
	return 1;
}

static unsigned long take_le(size_t n)
{
	unsigned char b[4] = { 0 };
	if (!take(b, n)) {
		fprintf(stderr, "conffile-driver: truncated record\n");
		exit(2);
	}
	return b[0] | (unsigned long)b[1] << 8 | (unsigned long)b[2] << 16 |
	       (unsigned long)b[3] << 24;
}

/* A length-prefixed name, NUL-terminated in a fresh buffer. */
static char *take_name(void)
{
	size_t n = take_le(2);
	char *s = calloc(n + 1, 1);
	if (!s || !take(s, n)) {
		fprintf(stderr, "conffile-driver: truncated record\n");
		exit(2);
	}
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	size_t cap = 1 << 20, len = 0;
	unsigned char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf)
		return 2;
	in = buf;
	in_end = buf + len;
	while (in < in_end) {
		char kind;
		take(&kind, 1);
		size_t out_size = take_le(4), doc_len = take_le(4);
		/* The document in its own allocation, so ASan sees any overread. */
		char *doc = malloc(doc_len ? doc_len : 1);
		if (!doc || !take(doc, doc_len))
			return 2;
		char *section = take_name(), *name = take_name();
		char *out = malloc(out_size ? out_size : 1), why[256];
		size_t out_len = 12345;
		enum conf_result r = kind == 'J'
			? json_get_string(doc, doc_len, name, out, out_size, &out_len, why, sizeof why)
			: kind == 'G' || kind == 'g' /* go-ini: Grafana's, Gitea's */
			? go_ini_get(doc, doc_len, kind == 'G', section, name, out, out_size,
			             &out_len, why, sizeof why)
			: ini_get(doc, doc_len, section, name, out, out_size, &out_len, why, sizeof why);
		if (r == CONF_FOUND) {
			char fp[FINGERPRINT_SIZE];
			fingerprint(out, out_len, fp);
			printf("F %zu %s\n", out_len, fp);
		} else if (r == CONF_ABSENT) {
			printf("A\n");
		} else {
			printf("M %s\n", why);
		}
		free(doc);
		free(out);
		free(section);
		free(name);
	}
	free(buf);
	return 0;
}
