/* libFuzzer: key file contents, for every format and a spread of sizes.
 * The first byte picks the spec; the rest is the file. keyshim's reading
 * (key_text_parse, libsodium underneath) must agree with naive.h's plain
 * reading of the README's rule on every input: accept exactly the
 * canonical text, with at most one trailing newline, and return it. */
#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "keystore.h"
#include "naive.h"

static struct naive_count counts[] = {
	{ "accepted", 0 }, { "accepted_with_newline", 0 }, { "rejected", 0 },
};

static void __attribute__((destructor)) report(void)
{
	naive_report("key_text", counts, sizeof counts / sizeof counts[0]);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const size_t sizes[] = { 16, 17, 31, 32, 33, 64, 100, 1024 };
	if (size < 1 || sodium_init() < 0)
		return 0;
	struct key_spec spec = {
		.name = "K",
		.format = (enum key_format)(data[0] % 3),
		.bytes = sizes[(data[0] / 3) % 8],
	};
	const char *file = (const char *)data + 1;
	size_t file_len = size - 1;

	/* the oracle: one trailing newline off, then the plain rule */
	size_t want = spec.format == FORMAT_HEX ? 2 * spec.bytes : 4 * ((spec.bytes + 2) / 3);
	int newline = file_len == want + 1 && file[want] == '\n';
	size_t key_len = newline ? want : file_len;
	int expect = naive_key_text_valid((int)spec.format, file, key_len, spec.bytes);

	char text[KEY_TEXT_MAX + 1];
	size_t len = 12345;
	int got = key_text_parse(file, file_len, &spec, text, &len);
	assert(got == expect);
	if (got) {
		assert(len == key_len && memcmp(text, file, len) == 0 && text[len] == '\0');
		counts[newline ? 1 : 0].count++;
	} else {
		assert(len == 0);
		counts[2].count++;
	}
	return 0;
}
