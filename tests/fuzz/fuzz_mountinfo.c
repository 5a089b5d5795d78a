/* libFuzzer: /proc/self/mountinfo text, as dir_is_ephemeral() reads it.
 * The first line is a path to look up (when it is absolute; a few fixed
 * paths are looked up too), the rest is the mountinfo text. mount_find()
 * must give the answer of a plain reading written here from proc(5),
 * sharing no code with shim/mounts.c: split each line at spaces, undo the
 * \ooo escapes, take field 5 as the mount point and the field after the
 * first lone "-" (from field 6 on) as the filesystem type; the holder is
 * the mount point that is a whole-component prefix of the path, longest
 * first, the later line on a tie. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"
#include "naive.h"

static struct naive_count counts[] = {
	{ "found_root", 0 }, { "found_below_root", 0 }, { "not_found", 0 },
	{ "lines_read", 0 }, { "lines_refused", 0 },
};

static void __attribute__((destructor)) report(void)
{
	naive_report("mountinfo", counts, sizeof counts / sizeof counts[0]);
}

/* The next space-separated field of [*p, end), \ooo escapes undone, into
 * out (cap bytes); 0 at the end of the line. *too_long when it did not fit. */
static int naive_field(const char **p, const char *end, char *out, size_t cap, int *too_long)
{
	const char *q = *p;
	while (q < end && *q == ' ')
		q++;
	if (q >= end)
		return 0;
	size_t len = 0;
	*too_long = 0;
	while (q < end && *q != ' ') {
		char c = *q++;
		if (c == '\\' && end - q >= 3 && q[0] >= '0' && q[0] <= '3' && q[1] >= '0' &&
		    q[1] <= '7' && q[2] >= '0' && q[2] <= '7') {
			c = (char)(((q[0] - '0') << 6) | ((q[1] - '0') << 3) | (q[2] - '0'));
			q += 3;
		}
		if (len + 1 < cap)
			out[len++] = c;
		else
			*too_long = 1;
	}
	out[len] = '\0';
	*p = q;
	return 1;
}

/* Mount point and type of one line; 0 when proc(5)'s layout is not there. */
static int naive_line(const char *line, const char *end, char *mount_point, char *type,
                      size_t type_cap)
{
	static char field[PATH_MAX];
	const char *p = line;
	int too_long, index = 0;
	for (; index < 4; index++) /* id parent major:minor root */
		if (!naive_field(&p, end, field, sizeof field, &too_long) || too_long)
			return 0;
	if (!naive_field(&p, end, mount_point, PATH_MAX, &too_long) || too_long ||
	    mount_point[0] != '/')
		return 0;
	do { /* options, optional fields, up to the first lone "-" */
		if (!naive_field(&p, end, field, sizeof field, &too_long) || too_long)
			return 0;
	} while (strcmp(field, "-") != 0);
	return naive_field(&p, end, type, type_cap, &too_long) && !too_long;
}

/* Does a mount at `mp` hold `path`: "/" holds every absolute path, any
 * other mount point itself and everything below it, one component on. */
static int naive_holds(const char *mp, const char *path)
{
	if (mp[0] == '/' && mp[1] == '\0')
		return path[0] == '/';
	size_t i = 0;
	while (mp[i] && path[i] == mp[i])
		i++;
	return mp[i] == '\0' && (path[i] == '\0' || path[i] == '/');
}

static void check(const char *text, const char *path)
{
	static struct mount_entry found;
	static char best_mp[PATH_MAX], best_type[PATH_MAX];
	size_t best_len = 0;
	int have = 0;
	static char mount_point[PATH_MAX], type[sizeof found.fs_type];
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		int ok = naive_line(line, end, mount_point, type, sizeof type);
		counts[ok ? 3 : 4].count++;
		if (ok && naive_holds(mount_point, path) && strlen(mount_point) >= best_len) {
			best_len = strlen(mount_point);
			strcpy(best_mp, mount_point);
			strcpy(best_type, type);
			have = 1;
		}
		if (!*end)
			break;
		line = end + 1;
	}
	int got = mount_find(text, path, &found);
	assert(got == have);
	if (!got) {
		counts[2].count++;
		return;
	}
	assert(strcmp(found.mount_point, best_mp) == 0);
	assert(strcmp(found.fs_type, best_type) == 0);
	counts[strcmp(best_mp, "/") == 0 ? 0 : 1].count++;
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
