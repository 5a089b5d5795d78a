/* libFuzzer: key file contents, for every format and a spread of sizes.
 * The first byte picks the spec; the rest is the file. Whatever parses
 * must be exactly a canonical key that re-validates. */
#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "keystore.h"

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
	char text[KEY_TEXT_MAX + 1];
	size_t len;
	if (key_text_parse((const char *)data + 1, size - 1, &spec, text, &len)) {
		assert(len == format_text_len(spec.format, spec.bytes));
		assert(strlen(text) == len);
		assert(format_is_valid(spec.format, text, len, spec.bytes));
	}
	return 0;
}
