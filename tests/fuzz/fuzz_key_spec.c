/* libFuzzer: one --key spec "NAME[:FORMAT[:BYTES]]". Whatever parses must
 * name a valid variable with a size in range. */
#include <assert.h>
#include <string.h>

#include "keyspec.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char input[512], why[256];
	if (size >= sizeof input)
		return 0;
	memcpy(input, data, size);
	input[size] = '\0';
	struct key_spec spec;
	if (key_spec_parse(input, &spec, why, sizeof why)) {
		assert(key_name_is_valid(spec.name));
		assert(spec.bytes >= KEY_BYTES_MIN && spec.bytes <= KEY_BYTES_MAX);
		assert(spec.format < FORMAT_COUNT);
		assert(spec.accept == ACCEPT_CANONICAL);
	}
	return 0;
}
