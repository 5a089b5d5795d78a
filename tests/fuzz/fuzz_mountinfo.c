/* libFuzzer: /proc/self/mountinfo text, as fd_is_ephemeral() reads it.
 * The first line is a mount id to look up (when it is a number; a few
 * fixed ids are looked up too), the rest is the mountinfo text. The mount
 * found must have that id, an absolute mount point and a type that fits,
 * and be the first well-formed line with that id: checked against a
 * line-by-line reading of copies of each line. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"

/* The answer mount_find_id() must give, worked out independently. */
static int expected(const char *text, uint64_t id, struct mount_entry *first)
{
	const char *line = text;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, len);
		assert(copy);
		int match = mountinfo_parse_line(copy, first) && first->id == id;
		free(copy);
		if (match)
			return 1;
		if (!end)
			break;
		line = end + 1;
	}
	return 0;
}

static void check(const char *text, uint64_t id)
{
	static struct mount_entry found, first;
	int have = mount_find_id(text, id, &found);
	assert(have == expected(text, id, &first));
	if (!have)
		return;
	assert(found.id == id);
	assert(found.mount_point[0] == '/');
	assert(strcmp(found.mount_point, first.mount_point) == 0);
	assert(strcmp(found.fs_type, first.fs_type) == 0);
	assert(strlen(found.fs_type) < sizeof found.fs_type);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const uint64_t ids[] = { 0, 1, 26, 36, UINT64_MAX };
	char *input = malloc(size + 1);
	if (!input)
		return 0;
	memcpy(input, data, size);
	input[size] = '\0';
	char *newline = strchr(input, '\n');
	const char *text = input;
	if (input[0] >= '0' && input[0] <= '9' && newline) {
		*newline = '\0';
		text = newline + 1;
		check(text, strtoull(input, NULL, 10));
	}
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		check(text, ids[i]);
	free(input);
	return 0;
}
