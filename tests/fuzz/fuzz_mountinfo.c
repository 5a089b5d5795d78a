/* libFuzzer: /proc/self/mountinfo text, as fd_is_ephemeral() reads it.
 * The first line is a mount id to look up (when it is a number; a few fixed
 * ids, and the ids of the first lines, are looked up too), the rest is the
 * mountinfo text. mount_find_id() must give the answer of a plain reading
 * written here from proc(5), sharing no code with shim/mounts.c: split each
 * line at spaces, undo the \ooo escapes, take field 1 as the decimal mount
 * id, field 5 as the mount point and the field after the first lone "-"
 * (from field 6 on) as the filesystem type; the holder is the first
 * well-formed line with that id. */
#include <assert.h>
#include <stdint.h>
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

/* A decimal number that fits in 64 bits, nothing else. */
static int naive_id(const char *text, uint64_t *id)
{
	uint64_t value = 0;
	if (!*text)
		return 0;
	for (; *text; text++)
		if (*text < '0' || *text > '9' || __builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, (uint64_t)(*text - '0'), &value))
			return 0;
	*id = value;
	return 1;
}

/* The number a line starts with, up to the first space. */
static int naive_id_prefix(const char *line, uint64_t *id)
{
	char digits[32];
	size_t len = 0;
	while (line[len] >= '0' && line[len] <= '9' && len < sizeof digits - 1) {
		digits[len] = line[len];
		len++;
	}
	digits[len] = '\0';
	return naive_id(digits, id);
}

/* Id, mount point and type of one line; 0 when proc(5)'s layout is not there. */
static int naive_line(const char *line, const char *end, uint64_t *id, char *mount_point,
                      char *type, size_t type_cap)
{
	static char field[PATH_MAX];
	const char *p = line;
	int too_long;
	if (!naive_field(&p, end, field, sizeof field, &too_long) || too_long ||
	    !naive_id(field, id))
		return 0;
	for (int index = 1; index < 4; index++) /* parent major:minor root */
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

static void check(const char *text, uint64_t id)
{
	static struct mount_entry found;
	static char mount_point[PATH_MAX], type[sizeof found.fs_type];
	int have = 0;
	uint64_t line_id;
	for (const char *line = text; *line && !have;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		int ok = naive_line(line, end, &line_id, mount_point, type, sizeof type);
		counts[ok ? 3 : 4].count++;
		have = ok && line_id == id;
		if (!*end)
			break;
		line = end + 1;
	}
	int got = mount_find_id(text, id, &found);
	assert(got == have);
	if (!got) {
		counts[2].count++;
		return;
	}
	assert(found.id == id);
	assert(strcmp(found.mount_point, mount_point) == 0);
	assert(strcmp(found.fs_type, type) == 0);
	counts[strcmp(mount_point, "/") == 0 ? 0 : 1].count++;
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
	uint64_t id;
	if (input[0] >= '0' && input[0] <= '9' && newline) {
		*newline = '\0';
		text = newline + 1;
		if (naive_id(input, &id))
			check(text, id);
	}
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		check(text, ids[i]);
	/* the ids the first lines start with, so that lookups also succeed */
	const char *line = text;
	for (int n = 0; n < 3 && *line; n++) {
		if (naive_id_prefix(line, &id))
			check(text, id);
		const char *end = strchr(line, '\n');
		if (!end)
			break;
		line = end + 1;
	}
	free(input);
	return 0;
}
