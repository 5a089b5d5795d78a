/* libFuzzer: the environment handed to the command, env_with_keys().
 * Input: byte 0 picks how many keys (1-4); then newline-separated lines,
 * the first ones the keys' names, the rest the inherited environment.
 * The result must hold every key exactly once as NAME=value, no other
 * NAME= or NAME_FILE= entry, and every other inherited entry in order. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "naive.h"

static struct naive_count counts[] = {
	{ "nothing_replaced", 0 }, { "name_replaced", 0 }, { "name_file_removed", 0 },
};

static void __attribute__((destructor)) report(void)
{
	naive_report("environ", counts, sizeof counts / sizeof counts[0]);
}

extern char **environ;

static size_t count_prefix(char **envp, const char *name, const char *suffix)
{
	size_t n = 0, name_len = strlen(name), suffix_len = strlen(suffix);
	for (; *envp; envp++)
		n += strncmp(*envp, name, name_len) == 0 &&
		     strncmp(*envp + name_len, suffix, suffix_len) == 0 &&
		     (*envp)[name_len + suffix_len] == '=';
	return n;
}

static int is_key_name(const struct key *keys, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(keys[i].spec->name, name) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	size_t count = 1 + data[0] % 4;
	char *input = malloc(size);
	char *lines[4096];
	size_t nlines = 0;
	if (!input)
		return 0;
	memcpy(input, data + 1, size - 1);
	input[size - 1] = '\0';
	for (char *p = input; nlines < sizeof lines / sizeof lines[0];) {
		lines[nlines++] = p;
		char *end = strchr(p, '\n');
		if (!end)
			break;
		*end = '\0';
		p = end + 1;
	}

	static struct key_spec specs[4];
	static struct key keys[4];
	if (nlines < count)
		goto out;
	for (size_t i = 0; i < count; i++) {
		if (!key_name_is_valid(lines[i]) || strlen(lines[i]) > KEY_NAME_MAX ||
		    is_key_name(keys, i, lines[i]))
			goto out;
		memset(&specs[i], 0, sizeof specs[i]);
		strcpy(specs[i].name, lines[i]);
		keys[i] = (struct key){ .spec = &specs[i], .len = 2 };
		keys[i].text[0] = 'v';
		keys[i].text[1] = (char)('0' + i);
	}

	char **inherited = lines + count;
	size_t ninherited = nlines - count;
	char **saved = environ;
	char **env = malloc((ninherited + 1) * sizeof *env);
	assert(env);
	memcpy(env, inherited, ninherited * sizeof *env);
	env[ninherited] = NULL;
	environ = env;
	char **envp = env_with_keys(keys, count);
	environ = saved;

	/* the kept entries, in order, then the keys */
	size_t used = 0;
	int saw_name = 0, saw_file = 0;
	for (size_t i = 0; i < ninherited; i++) {
		int replaced = 0;
		for (size_t k = 0; k < count; k++) {
			const char *name = keys[k].spec->name;
			size_t len = strlen(name);
			int is_name = strncmp(inherited[i], name, len) == 0 && inherited[i][len] == '=';
			int is_file = strncmp(inherited[i], name, len) == 0 &&
			              strncmp(inherited[i] + len, "_FILE=", 6) == 0;
			saw_name |= is_name;
			saw_file |= is_file;
			replaced |= is_name || is_file;
		}
		if (!replaced)
			assert(envp[used++] == inherited[i]);
	}
	counts[saw_file ? 2 : saw_name ? 1 : 0].count++;
	for (size_t k = 0; k < count; k++) {
		const char *name = keys[k].spec->name;
		size_t len = strlen(name);
		assert(strncmp(envp[used + k], name, len) == 0 && envp[used + k][len] == '=');
		assert(strcmp(envp[used + k] + len + 1, keys[k].text) == 0);
		assert(count_prefix(envp, name, "") == 1);
		char file_name[KEY_NAME_MAX + 6];
		strcpy(file_name, name);
		strcat(file_name, "_FILE");
		assert(count_prefix(envp, name, "_FILE") == (size_t)is_key_name(keys, count, file_name));
	}
	assert(envp[used + count] == NULL);
	env_free(envp);
	free(env);
out:
	free(input);
	return 0;
}
