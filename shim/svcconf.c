/* svcconf.c - see svcconf.h. */
#include "svcconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "log.h"
#include "svcform.h"

/* One configuration file, read once however many keys it holds. */
struct loaded {
	const struct service_conf *conf;
	char *text; /* NULL: the file does not exist */
	size_t len;
	bool checked; /* refuse_unreadable passed */
	char path[PATH_MAX]; /* last: a short path shares the fields' page */
};

/* A file per key at most, so the bound below is never met (bss: pages
 * that no start touches cost nothing). */
static struct loaded loaded[KEYS_MAX];
static size_t loaded_count;

/* The paths of the files that file: URIs named: keys' sources, named in
 * the log after the configuration files are forgotten; not secret. */
static char *uri_paths[KEYS_MAX];
static size_t uri_path_count;

/* The first place whose variable is set (or that needs none). */
static void find_place(const struct conf_place *places, size_t count, const char *label,
                       char *path, size_t size)
{
	for (size_t i = 0; i < count; i++) {
		const struct conf_place *place = &places[i];
		const char *base = place->variable ? getenv(place->variable) : "";
		if (!place->path || !base || (place->variable && !*base))
			continue;
		if ((size_t)snprintf(path, size, "%s%s", base, place->path) >= size)
			die(EX_CONFIG, "%s: the path of the service's %s is too long",
			    place->variable, label);
		return;
	}
	die(EX_SOFTWARE, "no place for %s", label); /* the last never needs a variable */
}

static void find_path(const struct service_conf *conf, char *path, size_t size)
{
	find_place(conf->places, sizeof conf->places / sizeof conf->places[0], conf->label,
	           path, size);
}

/* Set the file-system ids (and groups) to the reader's, or back to ours. */
static void become(uid_t uid, gid_t gid, int count, const gid_t *groups)
{
	if (setgroups((size_t)count, groups) != 0)
		die(EX_NOPERM, "cannot take uid %u's groups to read the service's configuration as it: %s; give keyshim the SETUID and SETGID capabilities (with -u as root it needs them anyway to drop to that user)",
		    (unsigned)uid, strerror(errno));
	setfsgid(gid);
	setfsuid(uid);
	/* setfsuid reports the current id, and never fails loudly: ask */
	if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid)
		die(EX_NOPERM, "cannot take uid %u's file-system ids", (unsigned)uid);
}

/* open(2), or lstat(2) when st is given, as the service's user when
 * keyshim is root for someone else, so the path and any symlink in it are
 * resolved with that user's rights. */
static int as_reader(const struct run_as *reader, const char *path, struct stat *lst)
{
	int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	if (!reader->change)
		return lst ? lstat(path, lst) : open(path, flags);
	/* Nothing there at all (the usual case in an init container): no need
	 * to take the user's ids, which needs SETUID and SETGID. Whether a
	 * path exists is all root learns here; the file is read as the user. */
	struct stat st;
	if ((lst ? lstat(path, &st) : stat(path, &st)) != 0 && (errno == ENOENT || errno == ENOTDIR))
		return -1;
	gid_t saved[RUN_AS_GROUPS_MAX];
	int saved_count = getgroups(RUN_AS_GROUPS_MAX, saved);
	if (saved_count < 0)
		die(EX_OSERR, "cannot read keyshim's own groups: %s", strerror(errno));
	become(reader->uid, reader->gid, reader->group_count, reader->groups);
	int fd = lst ? lstat(path, lst) : open(path, flags);
	int err = errno;
	become(geteuid(), getegid(), saved_count, saved);
	errno = err;
	return fd;
}

int svcconf_open(const struct run_as *reader, const char *path)
{
	return as_reader(reader, path, NULL);
}

/* Read path (the service's `label`) whole as the reader: *text is NULL
 * when there is no such file. */
static void read_path(const struct run_as *reader, const char *path, const char *label,
                      char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	int fd = svcconf_open(reader, path);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return; /* no such file: the service keeps nothing there */
	if (fd < 0)
		die(exit_code_for_errno(errno),
		    "%s: cannot open the service's %s as uid %u: %s; make it readable by the service's user, or remove it",
		    path, label, (unsigned)reader->uid, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0)
		die(EX_IOERR, "%s: cannot stat: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EX_NOPERM, "%s: the service's %s is not a regular file", path, label);
	if (st.st_size > SVCCONF_SIZE_MAX)
		die(EX_DATAERR, "%s: the service's %s is larger than %d bytes; keyshim reads no more",
		    path, label, SVCCONF_SIZE_MAX);
	/* one byte more than the limit, to see a file that grew meanwhile */
	size_t room = (size_t)st.st_size + 1, got = 0;
	char *data = malloc(room);
	if (!data)
		die(EX_OSERR, "%s: out of memory", path);
	while (got < room) {
		ssize_t n = read(fd, data + got, room - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EX_IOERR, "%s: cannot read: %s", path, strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got == room)
		die(EX_IOERR, "%s: changed while keyshim read it; start again", path);
	*text = data;
	*len = got;
}

static void read_file(const struct run_as *reader, struct loaded *file)
{
	read_path(reader, file->path, file->conf->label, &file->text, &file->len);
}

static void forget_text(char *text, size_t len)
{
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
}

/* The trimmed whole of a file the service reads as the value itself. */
static bool whole_value(const char *data, size_t size, const char *path, const char *label,
                        char *text, size_t *len)
{
	size_t start, used;
	if (!svcform_trim(data, size, &start, &used))
		die(EX_DATAERR,
		    "%s: the service's %s is empty, or begins or ends with a character other than a space, a tab or a newline, which the service may cut off; fix the file (keyshim never changes it)",
		    path, label);
	if (used > KEY_TEXT_MAX)
		die(EX_DATAERR, "%s: the service's %s is longer than a key may be (%d bytes)", path,
		    label, KEY_TEXT_MAX);
	memcpy(text, data + start, used);
	text[used] = '\0';
	*len = used;
	return true;
}

bool svcconf_read_whole(const char *path, const char *label, const struct run_as *reader,
                        char *text, size_t *len)
{
	char *data;
	size_t size;
	read_path(reader, path, label, &data, &size);
	if (!data)
		return false;
	whole_value(data, size, path, label, text, len);
	forget_text(data, size);
	return true;
}

/* Node-RED reads PATH.backup instead of an empty PATH (an empty backup,
 * or none, is an empty object), and skips one byte-order mark. */
static void read_as_node_red(const struct run_as *reader, struct loaded *file)
{
	static const char bom[] = "\xEF\xBB\xBF";
	if (file->text && file->len == 0) {
		free(file->text);
		file->text = NULL;
		size_t used = strlen(file->path);
		if ((size_t)snprintf(file->path + used, sizeof file->path - used, ".backup") >=
		    sizeof file->path - used)
			die(EX_CONFIG, "%s: the path of its backup is too long", file->path);
		read_file(reader, file);
		if (file->text && file->len == 0) {
			free(file->text);
			file->text = NULL;
		}
	}
	if (file->text && file->len >= 3 && memcmp(file->text, bom, 3) == 0) {
		memmove(file->text, file->text + 3, file->len - 3);
		sodium_memzero(file->text + file->len - 3, 3);
		file->len -= 3;
	}
}

static void refuse_unreadable_variable(const struct unreadable_keys *u)
{
	const char *value = u->variable ? getenv(u->variable) : NULL;
	if (value && *value)
		die(EX_CONFIG, "%s is set: the service keeps %s there, which keyshim cannot read; %s",
		    u->variable, u->what, u->fix);
}

/* Keys the service keeps where keyshim cannot read them: refuse (78)
 * rather than export or create a key that takes their place. */
static void refuse_unreadable(const struct run_as *reader, const struct loaded *file)
{
	const struct service_conf *conf = file->conf;
	/* a file beside it, in a syntax keyshim does not read, that the
	 * service reads when this one is missing (Semaphore's config.yaml) */
	for (size_t i = 0; !file->text && i < sizeof conf->instead / sizeof conf->instead[0]; i++) {
		if (!conf->instead[i])
			continue;
		/* as long as it needs to be, not PATH_MAX: a page less of stack */
		char beside[strlen(file->path) + 1 + strlen(conf->instead[i]) + 1];
		const char *slash = strrchr(file->path, '/');
		int dir_len = slash ? (int)(slash - file->path) : 0;
		snprintf(beside, sizeof beside, "%.*s/%s", dir_len, file->path, conf->instead[i]);
		int fd = svcconf_open(reader, beside);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
			continue;
		if (fd >= 0)
			close(fd);
		die(EX_CONFIG,
		    "%s: the service reads its keys from this file, which keyshim cannot read; convert it to %s, or give each key as NAME_FILE or in the key file, then start again",
		    beside, conf->label);
	}
	for (size_t i = 0; i < sizeof conf->unreadable / sizeof conf->unreadable[0]; i++) {
		const struct unreadable_keys *u = &conf->unreadable[i];
		refuse_unreadable_variable(u);
		if (!u->field || !file->text || conf->syntax != CONF_JSON)
			continue;
		/* any value: a string is FOUND, anything else MALFORMED; only a
		 * missing member is ABSENT (the document itself parsed before) */
		char text[KEY_TEXT_MAX + 1], why[256];
		size_t len = 0;
		enum conf_result found = json_get_string(file->text, file->len, u->field, text,
		                                         sizeof text, &len, why, sizeof why);
		sodium_memzero(text, sizeof text);
		if (found == CONF_MALFORMED || (found == CONF_FOUND && len > 0))
			die(EX_CONFIG, "%s: %s holds %s, which keyshim cannot keep; %s",
			    file->path, u->field, u->what, u->fix);
	}
}

static struct loaded *load(const struct service_conf *conf, const struct run_as *reader)
{
	for (size_t i = 0; i < loaded_count; i++)
		if (loaded[i].conf == conf)
			return &loaded[i];
	if (loaded_count == sizeof loaded / sizeof loaded[0])
		die(EX_SOFTWARE, "too many service configuration files");
	struct loaded *file = &loaded[loaded_count++];
	file->conf = conf;
	file->checked = false;
	find_path(conf, file->path, sizeof file->path);
	read_file(reader, file);
	if (conf->node_red_reading)
		read_as_node_red(reader, file);
	return file;
}

/* [section] option, or the JSON field; dies on a malformed file. */
static bool get_value(const struct loaded *file, const char *section, const char *option,
                      char *text, size_t *len)
{
	char why[256] = "";
	enum conf_syntax syntax = file->conf->syntax;
	if (syntax == CONF_WHOLE)
		return whole_value(file->text, file->len, file->path, file->conf->label, text, len);
	enum conf_result found = syntax == CONF_JSON
	    ? json_get_string(file->text, file->len, option, text, KEY_TEXT_MAX + 1,
	                      len, why, sizeof why)
	    : syntax == CONF_INI
	    ? ini_get(file->text, file->len, section, option, text,
	              KEY_TEXT_MAX + 1, len, why, sizeof why)
	    : go_ini_get(file->text, file->len, syntax == CONF_GO_INI, section, option,
	                 text, KEY_TEXT_MAX + 1, len, why, sizeof why);
	if (found == CONF_MALFORMED)
		die(EX_DATAERR, "%s: cannot read %s%s%s%s from the service's %s: %s; fix the file (keyshim never changes it)",
		    file->path, section ? "[" : "", section ? section : "",
		    section ? "] " : "", option, file->conf->label, why);
	return found == CONF_FOUND;
}

/* Airflow's `[section] option_cmd` and `option_secret` in airflow.cfg: a
 * command keyshim cannot run, a secrets backend it cannot ask. */
static void refuse_indirect_options(const struct loaded *file, const char *section,
                                    const struct key_spec *spec)
{
	static const char *const suffixes[] = { "_cmd", "_secret" };
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char option[KEY_NAME_MAX + 16], text[KEY_TEXT_MAX + 1];
		size_t len = 0;
		snprintf(option, sizeof option, "%s%s", spec->own.field, suffixes[i]);
		bool found = get_value(file, section, option, text, &len);
		sodium_memzero(text, sizeof text);
		if (found)
			die(EX_CONFIG,
			    "%s: [%s] %s is set: keyshim cannot run it or ask its secrets backend, and the %s it exports would take its place; put the key in %s_FILE or in the key file, and remove %s from the file",
			    file->path, section, option, spec->name, spec->name, option);
	}
}

/* ---- the image's environment-to-ini (Gitea, Forgejo: conf->ini_env_prefixes) ---- */

extern char **environ;

/* The first environment variable, not empty and none of skip[], that the
 * image's environment-to-ini applies to [section] option: its name (for
 * messages; a static copy, cut short past 200 bytes), *value its value;
 * NULL when there is none. */
static const char *ini_env_setting(const struct service_conf *conf, const char *section,
                                   const char *option, const char *const skip[3],
                                   const char **value)
{
	static char name[201];
	for (size_t i = 0; environ[i]; i++) {
		const char *entry = environ[i];
		size_t len = strcspn(entry, "=");
		bool file, sets = false, skipped = false;
		if (entry[len] != '=' || entry[len + 1] == '\0')
			continue;
		for (size_t p = 0; p < 2 && conf->ini_env_prefixes[p]; p++)
			sets = sets || svcform_ini_env_sets(entry, len, conf->ini_env_prefixes[p],
			                                    section, option, &file);
		for (size_t k = 0; sets && skip && k < 3; k++)
			skipped = skipped || (skip[k] && strlen(skip[k]) == len &&
			                      memcmp(skip[k], entry, len) == 0);
		if (!sets || skipped)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)len, entry);
		*value = entry + len + 1;
		return name;
	}
	return NULL;
}

/* Spellings of [section] FIELD that keyshim does not read (FORGEJO__...,
 * GITEA__SECURITY__...__FILE, escapes), and any of FIELD_URI: the image
 * writes them into the file, where the key keyshim exports takes their
 * place, or beside which the service refuses it. */
static void refuse_ini_env(const struct loaded *file, const char *section,
                           const struct key_spec *spec)
{
	const struct service_conf *conf = file->conf;
	char twin[KEY_NAME_MAX + 16], option[KEY_NAME_MAX + 16];
	const char *value, *found;
	snprintf(twin, sizeof twin, "%s%s", spec->name, conf->file_suffix ? conf->file_suffix : "");
	const char *const read[3] = { spec->name, twin, spec->own.alias };
	if ((found = ini_env_setting(conf, section, spec->own.field, read, &value)))
		die(EX_CONFIG,
		    "%s is set: the image writes it into [%s] %s of the service's %s, where the %s keyshim exports takes its place; give the key as %s (or %s) and unset %s",
		    found, section, spec->own.field, conf->label, spec->name, spec->name, twin, found);
	if (!conf->uri_suffix)
		return;
	snprintf(option, sizeof option, "%s%s", spec->own.field, conf->uri_suffix);
	if ((found = ini_env_setting(conf, section, option, NULL, &value)))
		die(EX_CONFIG,
		    "%s is set: keyshim does not read [%s] %s from the environment, and the image would write it into the service's %s beside the %s keyshim exports, which the service refuses; give the file as %s and unset %s",
		    found, section, option, conf->label, spec->name, twin, found);
}

/* [section] FIELD_URI is in the file: any variable that makes keyshim
 * export the key (NAME_FILE) or the image write FIELD (every spelling)
 * would set FIELD beside it, which the service refuses. */
static void refuse_env_beside_uri(const struct loaded *file, const char *section,
                                  const struct key_spec *spec, const char *option)
{
	char name_file[KEY_NAME_MAX + 16];
	const char *value, *found = NULL;
	snprintf(name_file, sizeof name_file, "%s_FILE", spec->name);
	if (file->conf->ini_env_prefixes[0])
		found = ini_env_setting(file->conf, section, spec->own.field, NULL, &value);
	if (!found && (value = getenv(name_file)) && *value)
		found = name_file;
	if (found)
		die(EX_CONFIG,
		    "%s is set and %s has [%s] %s: the service would find %s beside it, which it refuses; unset %s, or remove %s from the file",
		    found, file->path, section, option, spec->own.field, found, option);
}

/* The file does not exist yet: variables the image's first start writes
 * into the new one, where keyshim cannot see them. */
static void refuse_setup_variables(const struct loaded *file)
{
	const struct service_conf *conf = file->conf;
	for (size_t i = 0; !file->text && i < sizeof conf->setup_variables / sizeof conf->setup_variables[0]; i++) {
		const char *variable = conf->setup_variables[i].variable;
		const char *value = variable ? getenv(variable) : NULL;
		if (value && *value)
			die(EX_CONFIG,
			    "%s is set and %s does not exist: the image's first start writes it into a new %s, which keyshim cannot see; give it as %s instead, and unset %s",
			    variable, file->path, conf->label, conf->setup_variables[i].instead, variable);
	}
}
/* ---- end of the image's environment-to-ini ---- */

/* [section] FIELD_URI = file:PATH (Gitea's loadSecret): the file's
 * contents, whitespace trimmed, are the key; beside FIELD, or empty, or
 * unreadable, the service refuses to start, and so does keyshim. Only a
 * plain absolute path is taken (no %-escapes, query or host). */
static bool from_uri(const struct run_as *reader, const struct loaded *file,
                     const char *section, const struct key_spec *spec, bool found,
                     char *text, size_t *len, const char **path)
{
	/* static, as every big buffer here: small stacks (README, Threat model) */
	static char uri[KEY_TEXT_MAX + 1];
	char option[KEY_NAME_MAX + 16];
	size_t uri_len = 0;
	snprintf(option, sizeof option, "%s%s", spec->own.field, file->conf->uri_suffix);
	if (!get_value(file, section, option, uri, &uri_len) || uri_len == 0)
		return found;
	if (found)
		die(EX_CONFIG, "%s: [%s] %s and %s are both set, which the service refuses; remove one",
		    file->path, section, spec->own.field, option);
	refuse_env_beside_uri(file, section, spec, option);
	const char *target = strncmp(uri, "file://", 7) == 0 ? uri + 7
	                   : strncmp(uri, "file:", 5) == 0 ? uri + 5 : NULL;
	if (!target || target[0] != '/' ||
	    strspn(target, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/") !=
	        strlen(target))
		die(EX_DATAERR, "%s: [%s] %s is not a file: URI of a plain absolute path, the only kind keyshim reads; give the key in %s_FILE instead",
		    file->path, section, option, spec->name);
	char label[KEY_NAME_MAX + 64];
	snprintf(label, sizeof label, "file of [%s] %s", section, option);
	if (!svcconf_read_whole(target, label, reader, text, len))
		die(EX_CONFIG, "%s: the file [%s] %s names, %s, does not exist, which the service refuses; mount it there",
		    file->path, section, option, target);
	if (uri_path_count == KEYS_MAX || !(uri_paths[uri_path_count] = strdup(target)))
		die(EX_OSERR, "out of memory");
	*path = uri_paths[uri_path_count++];
	return true;
}

/* A YAML file (authentik's config.yml) that may set the key: refused. */
static void refuse_yaml_file(const struct run_as *reader, const struct key_spec *spec,
                             const char *path)
{
	char *data;
	size_t size;
	read_path(reader, path, spec->own.conf->label, &data, &size);
	if (!data)
		return;
	bool may_set = svcform_yaml_may_set(data, size, spec->own.field);
	forget_text(data, size);
	if (may_set)
		die(EX_CONFIG,
		    "%s: the service may read %s from this YAML file, which keyshim cannot read; give the key as %s, %s_FILE or in the key file, and remove %s from the file",
		    path, spec->own.field, spec->name, spec->name, spec->own.field);
}

/* A directory of *.yml files (authentik's config.d/): each is checked. */
static void refuse_yaml_dir(const struct run_as *reader, const struct key_spec *spec,
                            const char *path)
{
	int fd = svcconf_open(reader, path);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return;
	if (fd < 0)
		die(exit_code_for_errno(errno), "%s: cannot open the service's %s directory as uid %u: %s",
		    path, spec->own.conf->label, (unsigned)reader->uid, strerror(errno));
	DIR *dir = fdopendir(fd);
	if (!dir)
		die(EX_NOPERM, "%s: not a directory: %s", path, strerror(errno));
	struct dirent *entry;
	while ((errno = 0, entry = readdir(dir))) {
		size_t n = strlen(entry->d_name);
		char file[PATH_MAX];
		if (n <= 4 || strcmp(entry->d_name + n - 4, ".yml") != 0)
			continue;
		if ((size_t)snprintf(file, sizeof file, "%s%s", path, entry->d_name) >= sizeof file)
			die(EX_CONFIG, "%s%s: path too long", path, entry->d_name);
		refuse_yaml_file(reader, spec, file);
	}
	if (errno)
		die(EX_IOERR, "%s: cannot list: %s", path, strerror(errno));
	closedir(dir);
}

static void refuse_yaml(const struct key_spec *spec, const struct run_as *reader)
{
	const struct service_conf *conf = spec->own.conf;
	for (size_t i = 0; i < sizeof conf->unreadable / sizeof conf->unreadable[0]; i++)
		refuse_unreadable_variable(&conf->unreadable[i]);
	for (size_t i = 0; i < sizeof conf->places / sizeof conf->places[0]; i++) {
		const char *path = conf->places[i].path;
		if (!path)
			continue;
		if (path[strlen(path) - 1] == '/')
			refuse_yaml_dir(reader, spec, path);
		else
			refuse_yaml_file(reader, spec, path);
	}
}

bool svcconf_lookup(const struct key_spec *spec, const char *section,
                    const struct run_as *reader, char *text, size_t *len,
                    const char **path)
{
	const struct key_origin *own = &spec->own;
	if (own->conf->syntax == CONF_YAML) {
		refuse_yaml(spec, reader);
		return false;
	}
	struct loaded *file = load(own->conf, reader);
	*path = file->path;
	*len = 0;
	/* the key's own field first: a file that does not parse says so */
	bool found = file->text && get_value(file, section, own->field, text, len) && *len > 0;
	if (!file->checked) {
		refuse_unreadable(reader, file);
		refuse_setup_variables(file);
	}
	file->checked = true;
	if (own->conf->ini_env_prefixes[0])
		refuse_ini_env(file, section, spec);
	if (file->text && own->cmd_secret && own->conf->syntax == CONF_INI)
		refuse_indirect_options(file, section, spec);
	if (file->text && own->conf->uri_suffix)
		found = from_uri(reader, file, section, spec, found, text, len, path);
	return found;
}

bool svcconf_data_exists(const struct silent_default *silent, const struct run_as *reader,
                         char *path, size_t size)
{
	find_place(silent->data, sizeof silent->data / sizeof silent->data[0],
	           "data", path, size);
	/* lstat: the last component is never followed (a link there, even a
	 * dangling one, counts as data: refusing is the safe answer) */
	struct stat st;
	if (as_reader(reader, path, &st) == 0)
		return true;
	if (errno == ENOENT || errno == ENOTDIR)
		return false;
	die(exit_code_for_errno(errno),
	    "%s: cannot tell whether the service's data is there as uid %u: %s; make its directory readable by the service's user",
	    path, (unsigned)reader->uid, strerror(errno));
}

bool svcconf_data_elsewhere(const struct service_conf *conf, const struct run_as *reader,
                            char *what, size_t size)
{
	const struct silent_default *silent = conf->silent;
	for (size_t i = 0; i < sizeof silent->elsewhere / sizeof silent->elsewhere[0]; i++) {
		const struct data_setting *s = &silent->elsewhere[i];
		static char text[KEY_TEXT_MAX + 1]; /* small stacks; wiped below */
		size_t len = 0;
		/* the service's image reads VARIABLE__FILE into VARIABLE after
		 * keyshim has run (Grafana's run.sh; a database URL holds a
		 * password, so __FILE is the usual way): keyshim does not read it,
		 * and cannot tell where the data is */
		char twin[KEY_NAME_MAX + 16];
		const char *via_file = NULL;
		if (s->variable && conf->file_suffix &&
		    (size_t)snprintf(twin, sizeof twin, "%s%s", s->variable, conf->file_suffix) < sizeof twin)
			via_file = getenv(twin);
		if (via_file && *via_file) {
			snprintf(what, size, "%s is set", twin);
			return true;
		}
		const char *value = s->variable ? getenv(s->variable) : NULL, *variable = s->variable;
		/* any spelling the image's environment-to-ini applies (its __FILE
		 * form's value, a path, is never `local`) */
		if ((!value || !*value) && s->section && conf->ini_env_prefixes[0]) {
			const char *other = ini_env_setting(conf, s->section, s->option, NULL, &value);
			variable = other ? other : variable;
		}
		if (value && *value && s->variable_is_place) {
			continue;
		} else if (value && *value) {
			snprintf(what, size, "%s is set", variable);
		} else if (s->option) {
			struct loaded *file = load(conf, reader);
			if (!file->text || !get_value(file, s->section, s->option, text, &len) || len == 0)
				continue;
			value = text;
			snprintf(what, size, "%s: [%s] %s is set", file->path, s->section, s->option);
		} else {
			continue;
		}
		bool local = s->local && strcmp(value, s->local) == 0;
		sodium_memzero(text, sizeof text);
		if (!local)
			return true;
	}
	return false;
}

bool svcconf_service_reads(const char *path)
{
	for (size_t i = 0; i < uri_path_count; i++)
		if (path == uri_paths[i])
			return true;
	return false;
}

void svcconf_forget(void)
{
	/* uri_paths stay: keys name them as their source until the exec */
	for (size_t i = 0; i < loaded_count; i++) {
		if (loaded[i].text) {
			sodium_memzero(loaded[i].text, loaded[i].len);
			free(loaded[i].text);
		}
		loaded[i].text = NULL;
	}
	loaded_count = 0;
}
