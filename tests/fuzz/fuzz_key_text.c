/* libFuzzer: key file contents, for every format, a spread of sizes and
 * every acceptance rule. The first two bytes pick the spec; the rest is the
 * file. Whatever parses must re-validate under the same rule, and under
 * the strict rule be exactly a canonical key. */
#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "keystore.h"

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
	char text[KEY_TEXT_MAX + 1];
	size_t len;
	if (key_text_parse((const char *)data + 2, size - 2, &spec, text, &len)) {
		assert(len > 0 && len <= KEY_TEXT_MAX);
		assert(strlen(text) == len);
		assert(key_value_valid(&spec, text, len));
		if (spec.accept == ACCEPT_CANONICAL) {
			assert(len == format_text_len(spec.format, spec.bytes));
			assert(format_is_valid(spec.format, text, len, spec.bytes));
		}
		if (spec.accept == ACCEPT_FERNET)
			assert(len == 44);
		if (spec.accept == ACCEPT_HEX_32)
			assert(len == 64);
		if (spec.accept == ACCEPT_LINE_16)
			assert(len >= 16);
		if (spec.accept == ACCEPT_LINE_32)
			assert(len >= 32);
		if (spec.accept == ACCEPT_LARAVEL)
			assert(len == 32 || len == 51);
	}
	return 0;
}
