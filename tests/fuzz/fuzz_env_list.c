/* libFuzzer: KEYSHIM_KEYS and KEYSHIM_PRESET values (comma-separated).
 * The list never overflows and holds no two keys of one name. */
#include <assert.h>
#include <string.h>

#include "keyspec.h"
#include "presets.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char input[4096], why[256];
	if (size < 1 || size >= sizeof input)
		return 0;
	memcpy(input, data + 1, size - 1);
	input[size - 1] = '\0';
	static struct key_list list;
	memset(&list, 0, sizeof list);
	key_list_add_csv(input, data[0] & 1 ? preset_add : key_list_add_spec, &list, why,
	                 sizeof why);
	assert(list.count <= KEYS_MAX);
	for (size_t i = 0; i < list.count; i++)
		for (size_t j = i + 1; j < list.count; j++)
			assert(strcmp(list.specs[i].name, list.specs[j].name) != 0);
	return 0;
}
