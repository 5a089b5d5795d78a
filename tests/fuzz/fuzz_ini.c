/* libFuzzer: ini_get on any document. The first byte picks the section
 * and option asked for and the room for the value; the rest is the
 * document. Whatever is found must be NUL-free, fit, carry nothing Airflow
 * would expand, and read back the same out of a fresh document written
 * the way configparser writes one; a refusal wipes the output. The same
 * document goes through go_ini_get (go-ini's dialect, both ways): what it
 * finds must be NUL-free and fit, and a plain value read back the same. */
#include <assert.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "naive.h"

/* The oracle here is the round trip (and tests/test_conffile.py runs the
 * same inputs through Python's own reader); the counts show that every
 * outcome was reached and checked. */
static struct naive_count counts[] = {
	{ "found", 0 }, { "absent", 0 }, { "malformed", 0 },
};

static void __attribute__((destructor)) report(void)
{
	naive_report("ini", counts, sizeof counts / sizeof counts[0]);
}

static const char *const sections[] = { "core", "api", "DEFAULT", "a" };
static const char *const options[] = { "fernet_key", "secret_key", "k", "o" };
static const size_t sizes[] = { 1, 3, 64, 2049 };

static void check_found(const char *out, size_t len, size_t size)
{
	assert(len < size && out[len] == '\0' && strlen(out) == len);
	assert(len == 0 || out[0] != '~');
	/* no "%(" check: "%%(" in the file is a legitimate "%(" in the value */
	/* [s] / o = first line / indented further lines, '%' doubled */
	size_t cap = 16 + 3 * len;
	char *doc = malloc(cap), *again = malloc(2 * len + 1), why[200];
	assert(doc && again);
	size_t n = (size_t)snprintf(doc, cap, "[s]\no = ");
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '%')
			doc[n++] = '%';
		if (out[i] == '\n') {
			memcpy(doc + n, "\n  ", 3);
			n += 3;
		} else {
			doc[n++] = out[i];
		}
	}
	doc[n++] = '\n';
	size_t again_len;
	assert(ini_get(doc, n, "s", "o", again, 2 * len + 1, &again_len, why, sizeof why) == CONF_FOUND);
	assert(again_len == len && memcmp(again, out, len) == 0);
	free(doc);
	free(again);
}

/* go-ini: a value with nothing go-ini would strip or read specially
 * reads back the same from "[s]\no = VALUE\n". */
static void check_go_found(const char *out, size_t len, size_t size, bool continuation)
{
	assert(len < size && out[len] == '\0' && strlen(out) == len);
	if (len == 0 || strpbrk(out, "#;\n\\%\"'`") || out[0] == ' ' || out[0] == '\t' ||
	    out[len - 1] == ' ' || out[len - 1] == '\t' || out[len - 1] == '\r' ||
	    (unsigned char)out[len - 1] < 0x20)
		return;
	char *doc = malloc(len + 16), *again = malloc(len + 1), why[200];
	assert(doc && again);
	size_t n = (size_t)snprintf(doc, len + 16, "[s]\no = %s\n", out);
	size_t again_len;
	assert(go_ini_get(doc, n, continuation, "s", "o", again, len + 1, &again_len, why,
	                  sizeof why) == CONF_FOUND);
	assert(again_len == len && memcmp(again, out, len) == 0);
	free(doc);
	free(again);
}

static void check_go(const unsigned char *data, size_t size, const char *section,
                     const char *option, size_t out_size, bool continuation)
{
	char *out = malloc(out_size), why[200];
	size_t out_len;
	enum conf_result r = go_ini_get((const char *)data, size, continuation, section, option,
	                                out, out_size, &out_len, why, sizeof why);
	if (r == CONF_FOUND) {
		check_go_found(out, out_len, out_size, continuation);
	} else if (r == CONF_ABSENT) {
		assert(out_len == 0 && out[0] == '\0');
	} else {
		assert(r == CONF_MALFORMED && out_len == 0 && why[0] != '\0');
		for (size_t i = 0; i < out_size; i++)
			assert(out[i] == '\0');
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1 || sodium_init() < 0)
		return 0;
	const char *section = sections[data[0] % 4];
	const char *option = options[(data[0] / 4) % 4];
	size_t out_size = sizes[(data[0] / 16) % 4];
	char *out = malloc(out_size), why[200];
	size_t out_len;
	enum conf_result r = ini_get((const char *)data + 1, size - 1, section, option,
	                             out, out_size, &out_len, why, sizeof why);
	if (r == CONF_FOUND) {
		check_found(out, out_len, out_size);
	} else if (r == CONF_ABSENT) {
		assert(out_len == 0 && out[0] == '\0');
	} else {
		assert(r == CONF_MALFORMED && out_len == 0 && why[0] != '\0');
		for (size_t i = 0; i < out_size; i++)
			assert(out[i] == '\0');
	}
	counts[r == CONF_FOUND ? 0 : r == CONF_ABSENT ? 1 : 2].count++;
	free(out);
	check_go(data + 1, size - 1, section, option, out_size, true);
	check_go(data + 1, size - 1, section, option, out_size, false);
	return 0;
}
