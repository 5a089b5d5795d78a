/* libFuzzer: /proc/self/mountinfo text, as dir_is_ephemeral() reads it.
 * The first line is a path to look up (when it is absolute; a few fixed
 * paths are looked up too), the rest is the mountinfo text. The mount
 * found must hold the path, be absolute, and be the last of the longest
 * mount points that hold it: checked against a line-by-line reading. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"

/* The answer mount_find() must give, worked out independently. */
static size_t expected(const char *text, const char *path, struct mount_entry *best)
{
	static struct mount_entry entry;
	size_t best_len = 0;
	int found = 0;
	const char *line = text;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, len);
		assert(copy);
		if (mountinfo_parse_line(copy, &entry) && mount_holds_path(entry.mount_point, path) &&
		    strlen(entry.mount_point) >= best_len) {
			best_len = strlen(entry.mount_point);
			*best = entry;
			found = 1;
		}
		free(copy);
		if (!end)
			break;
		line = end + 1;
	}
	return found ? best_len + 1 : 0;
}

static void check(const char *text, const char *path)
{
	static struct mount_entry found, best;
	int have = mount_find(text, path, &found);
	assert(have == (expected(text, path, &best) != 0));
	if (!have)
		return;
	assert(found.mount_point[0] == '/');
	assert(mount_holds_path(found.mount_point, path));
	assert(strcmp(found.mount_point, best.mount_point) == 0);
	assert(strcmp(found.fs_type, best.fs_type) == 0);
	assert(strlen(found.fs_type) < sizeof found.fs_type);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const paths[] = { "/", "/var/lib/keyshim", "/var/lib/keyshim/sub",
	                                     "/a b", "/data" };
	char *input = malloc(size + 1);
	if (!input)
		return 0;
	memcpy(input, data, size);
	input[size] = '\0';
	char *newline = strchr(input, '\n');
	const char *text = input;
	if (input[0] == '/' && newline) {
		*newline = '\0';
		text = newline + 1;
		check(text, input);
	}
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		check(text, paths[i]);
	free(input);
	return 0;
}
