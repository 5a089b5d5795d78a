/* libFuzzer: json_get_string on any document. The first byte picks the
 * member asked for and the room for its value; the rest is the document.
 * Whatever is found must be a NUL-free UTF-8 string that fits and that
 * reads back the same out of a fresh document; a refusal wipes the output
 * and says why. */
#include <assert.h>
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
	naive_report("json", counts, sizeof counts / sizeof counts[0]);
}
#include "utf8.h"

static const char *const fields[] = { "access_key_encryption", "cookie_hash", "encryptionKey", "k" };
static const size_t sizes[] = { 1, 2, 16, 45, 100, 2049, 65536 };

static void check_found(const char *field, const char *out, size_t len, size_t size)
{
	assert(len < size && out[len] == '\0' && strlen(out) == len);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode((const unsigned char *)out + i, len - i, &cp);
		assert(n > 0);
		i += n;
	}
	/* {"field":"..."} with every byte escaped as JSON needs */
	size_t cap = 16 + strlen(field) + 6 * len;
	char *doc = malloc(cap), *again = malloc(len + 1), why[200];
	assert(doc && again);
	size_t n = (size_t)snprintf(doc, cap, "{\"%s\":\"", field);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == '"' || c == '\\')
			n += (size_t)snprintf(doc + n, cap - n, "\\u%04x", c);
		else
			doc[n++] = (char)c;
	}
	n += (size_t)snprintf(doc + n, cap - n, "\"}");
	size_t again_len;
	assert(json_get_string(doc, n, field, again, len + 1, &again_len, why, sizeof why) == CONF_FOUND);
	assert(again_len == len && memcmp(again, out, len) == 0);
	free(doc);
	free(again);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1 || sodium_init() < 0)
		return 0;
	const char *field = fields[data[0] % 4];
	size_t out_size = sizes[(data[0] / 4) % 7];
	char *out = malloc(out_size), why[200];
	size_t out_len;
	enum conf_result r = json_get_string((const char *)data + 1, size - 1, field,
	                                     out, out_size, &out_len, why, sizeof why);
	if (r == CONF_FOUND) {
		check_found(field, out, out_len, out_size);
	} else if (r == CONF_ABSENT) {
		assert(out_len == 0 && out[0] == '\0');
	} else {
		assert(r == CONF_MALFORMED && out_len == 0 && why[0] != '\0');
		for (size_t i = 0; i < out_size; i++)
			assert(out[i] == '\0');
	}
	counts[r == CONF_FOUND ? 0 : r == CONF_ABSENT ? 1 : 2].count++;
	free(out);
	return 0;
}
