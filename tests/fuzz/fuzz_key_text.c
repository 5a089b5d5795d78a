/* libFuzzer: key file contents (and NAME_FILE's, read the same way), for
 * every format, a spread of sizes and every acceptance rule. The first
 * two bytes pick the spec (format and size, then rule); the rest is the
 * file. keyshim's reading
 * (key_text_parse: libsodium and accept.c underneath) must agree with
 * naive.h's plain reading of each rule on every input: one trailing
 * newline off, then accept exactly what the rule says, and return it. */
#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "keystore.h"
#include "naive.h"

static struct naive_count counts[] = {
	{ "canonical_accepted", 0 }, { "other_rule_accepted", 0 },
	{ "accepted_with_newline", 0 }, { "rejected", 0 },
};

static void __attribute__((destructor)) report(void)
{
	naive_report("key_text", counts, sizeof counts / sizeof counts[0]);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const size_t sizes[] = { 16, 17, 31, 32, 33, 64, 100, 1024 };
	if (size < 2 || sodium_init() < 0)
		return 0;
	struct key_spec spec = {
		.name = "K",
		.format = (enum key_format)(data[0] % FORMAT_COUNT),
		.bytes = sizes[(data[0] / FORMAT_COUNT) % 8],
		.accept = (enum accept_rule)(data[1] % ACCEPT_COUNT),
	};
	const char *file = (const char *)data + 2;
	size_t file_len = size - 2;

	/* the oracle: one trailing newline off, then the rule, read plainly */
	int newline = file_len > 0 && file[file_len - 1] == '\n';
	size_t key_len = newline ? file_len - 1 : file_len;
	int expect = key_len <= KEY_TEXT_MAX &&
	             naive_accepts((int)spec.accept, (int)spec.format, spec.bytes, file, key_len);

	char text[KEY_TEXT_MAX + 1];
	size_t len = 12345;
	int got = key_text_parse(file, file_len, &spec, text, &len);
	assert(got == expect);
	if (!got) {
		assert(len == 0);
		counts[3].count++;
		return 0;
	}
	assert(len == key_len && memcmp(text, file, len) == 0 && text[len] == '\0');
	if (spec.accept == ACCEPT_FERNET)
		assert(len == 44);
	counts[newline ? 2 : spec.accept == ACCEPT_CANONICAL ? 0 : 1].count++;
	return 0;
}
