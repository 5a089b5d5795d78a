/* libFuzzer: /proc/self/mountinfo text. The mount found for a path must
 * hold that path and be an absolute mount point. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const paths[] = { "/", "/var/lib/keyshim", "/var/lib/keyshim/sub",
	                                     "/a b", "/data" };
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	static struct mount_entry found;
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (mount_find(text, paths[i], &found)) {
			assert(found.mount_point[0] == '/');
			assert(mount_holds_path(found.mount_point, paths[i]));
		}
	free(text);
	return 0;
}
