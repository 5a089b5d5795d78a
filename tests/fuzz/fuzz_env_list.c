/* libFuzzer: KEYSHIM_KEYS and KEYSHIM_PRESET values (comma-separated).
 * KEYSHIM_KEYS: keyshim's list must equal naive.h's reading item by item
 * (split at commas, no empty item, each a spec, a name twice only with the
 * same format and size, at most KEYS_MAX keys), or both refuse.
 * KEYSHIM_PRESET: accepted only when every item is a preset name that
 * preset_names() lists ("a, b or c"); an unknown or empty item is refused. */
#include <assert.h>
#include <string.h>

#include "keyspec.h"
#include "naive.h"
#include "presets.h"

static struct naive_count counts[] = {
	{ "keys_accepted", 0 }, { "keys_rejected", 0 },
	{ "presets_accepted", 0 }, { "presets_rejected", 0 },
};

static void __attribute__((destructor)) report(void)
{
	naive_report("env_list", counts, sizeof counts / sizeof counts[0]);
}

static struct naive_spec expected[KEYS_MAX];

/* The naive list for KEYSHIM_KEYS; -1 when it must be refused. */
static int naive_keys(const char *csv)
{
	int count = 0;
	if (!*csv)
		return 0;
	for (const char *start = csv;;) {
		const char *comma = strchr(start, ',');
		size_t len = comma ? (size_t)(comma - start) : strlen(start);
		char item[512];
		struct naive_spec spec;
		if (len == 0 || len >= KEY_NAME_MAX + 32)
			return -1;
		memcpy(item, start, len);
		item[len] = '\0';
		if (!naive_key_spec(item, &spec))
			return -1;
		int seen = 0;
		for (int i = 0; i < count; i++) {
			if (strcmp(expected[i].name, spec.name) != 0)
				continue;
			if (expected[i].format != spec.format || expected[i].bytes != spec.bytes)
				return -1;
			seen = 1;
		}
		if (!seen) {
			if (count == KEYS_MAX)
				return -1;
			expected[count++] = spec;
		}
		if (!comma)
			return count;
		start = comma + 1;
	}
}

/* Is every item a name in preset_names() ("a, b or c")? */
static int naive_presets_known(const char *csv)
{
	const char *names = preset_names();
	if (!*csv)
		return 1;
	for (const char *start = csv;;) {
		const char *comma = strchr(start, ',');
		size_t len = comma ? (size_t)(comma - start) : strlen(start);
		int known = 0;
		for (const char *n = names; *n && !known;) {
			size_t name_len = strcspn(n, ", ");
			known = len > 0 && name_len == len && memcmp(n, start, len) == 0 &&
			        !(len == 2 && memcmp(start, "or", 2) == 0);
			n += name_len;
			while (*n == ',' || *n == ' ')
				n++;
		}
		if (!known)
			return 0;
		if (!comma)
			return 1;
		start = comma + 1;
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char input[4096], why[256];
	if (size < 1 || size >= sizeof input)
		return 0;
	memcpy(input, data + 1, size - 1);
	input[size - 1] = '\0';
	static struct key_list list;
	memset(&list, 0, sizeof list);
	int presets = data[0] & 1;
	int got = key_list_add_csv(input, presets ? preset_add : key_list_add_spec, &list, why,
	                           sizeof why);
	assert(list.count <= KEYS_MAX);
	for (size_t i = 0; i < list.count; i++)
		for (size_t j = i + 1; j < list.count; j++)
			assert(strcmp(list.specs[i].name, list.specs[j].name) != 0);
	if (presets) {
		int known = naive_presets_known(input);
		if (got)
			assert(known);
		else /* unknown, or known presets that disagree on a key or
		      * would export one variable twice (airflow's alias) */
			assert(!known || strstr(why, "twice") || strstr(why, "more than") ||
			       strstr(why, "also exported as"));
		counts[got ? 2 : 3].count++;
		return 0;
	}
	int want = naive_keys(input);
	assert(got == (want >= 0));
	if (got) {
		assert(list.count == (size_t)want);
		for (int i = 0; i < want; i++) {
			assert(strcmp(list.specs[i].name, expected[i].name) == 0);
			assert((int)list.specs[i].format == expected[i].format);
			assert(list.specs[i].bytes == expected[i].bytes);
		}
	}
	counts[got ? 0 : 1].count++;
	return 0;
}
