/* libFuzzer: one --key spec "NAME[:FORMAT[:BYTES]]". keyshim's parser must
 * agree with naive.h's reading on every input: accept or refuse alike,
 * and on acceptance the same name, format and size. */
#include <assert.h>
#include <string.h>

#include "keyspec.h"
#include "naive.h"

static struct naive_count counts[] = {
	{ "accepted_name_only", 0 }, { "accepted_with_format", 0 },
	{ "accepted_with_bytes", 0 }, { "rejected", 0 },
};

static void __attribute__((destructor)) report(void)
{
	naive_report("key_spec", counts, sizeof counts / sizeof counts[0]);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char input[512], why[256];
	if (size >= sizeof input)
		return 0;
	memcpy(input, data, size);
	input[size] = '\0';
	struct key_spec spec;
	struct naive_spec want;
	int expect = naive_key_spec(input, &want);
	int got = key_spec_parse(input, &spec, why, sizeof why);
	assert(got == expect);
	if (!got) {
		assert(why[0] != '\0');
		counts[3].count++;
		return 0;
	}
	assert(strcmp(spec.name, want.name) == 0);
	assert((int)spec.format == want.format && spec.bytes == want.bytes);
	assert(spec.accept == ACCEPT_CANONICAL); /* -k keys take exactly what they make */
	const char *colon = strchr(input, ':');
	counts[!colon ? 0 : strchr(colon + 1, ':') ? 2 : 1].count++;
	return 0;
}
