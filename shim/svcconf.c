/* svcconf.c - see svcconf.h. */
#include "svcconf.h"

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

/* One configuration file, read once however many keys it holds. */
struct loaded {
	const struct service_conf *conf;
	char *text; /* NULL: the file does not exist */
	size_t len;
	bool checked; /* refuse_unreadable passed */
	char path[PATH_MAX]; /* last: a short path shares the fields' page */
};

static struct loaded loaded[4];
static size_t loaded_count;

/* The first place whose variable is set (or that needs none). */
static void find_path(const struct service_conf *conf, char *path, size_t size)
{
	for (size_t i = 0; i < sizeof conf->places / sizeof conf->places[0]; i++) {
		const struct conf_place *place = &conf->places[i];
		const char *base = place->variable ? getenv(place->variable) : "";
		if (!place->path || !base || (place->variable && !*base))
			continue;
		if ((size_t)snprintf(path, size, "%s%s", base, place->path) >= size)
			die(EX_CONFIG, "%s: the path of the service's %s is too long",
			    place->variable, conf->label);
		return;
	}
	die(EX_SOFTWARE, "no place for %s", conf->label); /* the last never needs a variable */
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

/* open(2) as the service's user when keyshim is root for someone else, so
 * the path and any symlink in it are resolved with that user's rights. */
static int open_as(const struct run_as *reader, const char *path)
{
	int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	if (!reader->change)
		return open(path, flags);
	/* Nothing there at all (the usual case in an init container): no need
	 * to take the user's ids, which needs SETUID and SETGID. Whether a
	 * path exists is all root learns here; the file is read as the user. */
	struct stat st;
	if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
		return -1;
	gid_t saved[RUN_AS_GROUPS_MAX];
	int saved_count = getgroups(RUN_AS_GROUPS_MAX, saved);
	if (saved_count < 0)
		die(EX_OSERR, "cannot read keyshim's own groups: %s", strerror(errno));
	become(reader->uid, reader->gid, reader->group_count, reader->groups);
	int fd = open(path, flags);
	int err = errno;
	become(geteuid(), getegid(), saved_count, saved);
	errno = err;
	return fd;
}

static void read_file(const struct run_as *reader, struct loaded *file)
{
	int fd = open_as(reader, file->path);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return; /* no such file: the service keeps nothing there */
	if (fd < 0)
		die(exit_code_for_errno(errno),
		    "%s: cannot open the service's %s as uid %u: %s; make it readable by the service's user, or remove it",
		    file->path, file->conf->label, (unsigned)reader->uid, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0)
		die(EX_IOERR, "%s: cannot stat: %s", file->path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EX_NOPERM, "%s: the service's %s is not a regular file", file->path,
		    file->conf->label);
	if (st.st_size > SVCCONF_SIZE_MAX)
		die(EX_DATAERR, "%s: the service's %s is larger than %d bytes; keyshim reads no more",
		    file->path, file->conf->label, SVCCONF_SIZE_MAX);
	/* one byte more than the limit, to see a file that grew meanwhile */
	size_t room = (size_t)st.st_size + 1, got = 0;
	file->text = malloc(room);
	if (!file->text)
		die(EX_OSERR, "%s: out of memory", file->path);
	while (got < room) {
		ssize_t n = read(fd, file->text + got, room - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EX_IOERR, "%s: cannot read: %s", file->path, strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got == room)
		die(EX_IOERR, "%s: changed while keyshim read it; start again", file->path);
	file->len = got;
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
		int fd = open_as(reader, beside);
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
		const char *value = u->variable ? getenv(u->variable) : NULL;
		if (value && *value)
			die(EX_CONFIG, "%s is set: the service keeps %s there, which keyshim cannot read; %s",
			    u->variable, u->what, u->fix);
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
	enum conf_result found = file->conf->syntax == CONF_JSON
	    ? json_get_string(file->text, file->len, option, text, KEY_TEXT_MAX + 1,
	                      len, why, sizeof why)
	    : ini_get(file->text, file->len, section, option, text,
	              KEY_TEXT_MAX + 1, len, why, sizeof why);
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

bool svcconf_lookup(const struct key_spec *spec, const char *section,
                    const struct run_as *reader, char *text, size_t *len,
                    const char **path)
{
	const struct key_origin *own = &spec->own;
	struct loaded *file = load(own->conf, reader);
	*path = file->path;
	*len = 0;
	/* the key's own field first: a file that does not parse says so */
	bool found = file->text && get_value(file, section, own->field, text, len) && *len > 0;
	if (!file->checked)
		refuse_unreadable(reader, file);
	file->checked = true;
	if (file->text && own->cmd_secret && own->conf->syntax == CONF_INI)
		refuse_indirect_options(file, section, spec);
	return found;
}

void svcconf_forget(void)
{
	for (size_t i = 0; i < loaded_count; i++) {
		if (loaded[i].text) {
			sodium_memzero(loaded[i].text, loaded[i].len);
			free(loaded[i].text);
		}
		loaded[i].text = NULL;
	}
	loaded_count = 0;
}
