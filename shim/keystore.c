/* keystore.c - see keystore.h. */
#include "keystore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

void key_dir_init(struct key_dir *dir, const char *path, uid_t owner_uid,
                  gid_t owner_gid, bool read_only)
{
	*dir = (struct key_dir){
		.path = path,
		.fd = -1,
		.read_only = read_only,
		.owner_uid = owner_uid,
		.owner_gid = owner_gid,
		.hand_over = geteuid() == 0 && owner_uid != 0,
	};
}

bool key_dir_open(struct key_dir *dir)
{
	dir->fd = open(dir->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir->fd >= 0)
		return true;
	if (errno == ENOENT)
		return false;
	if (errno == ENOTDIR)
		die(EX_CANTCREAT, "%s: key directory is not a directory; point -d at a directory on the volume",
		    dir->path);
	die(exit_code_for_errno(errno),
	    "%s: cannot open key directory: %s; it must be readable by uid %u (see -u)",
	    dir->path, strerror(errno), (unsigned)dir->owner_uid);
}

void key_dir_close(struct key_dir *dir)
{
	if (dir->fd >= 0)
		close(dir->fd); /* also drops the lock */
	dir->fd = -1;
}

/* fsync the directory holding `path`, so a new entry in it survives a
 * power cut as surely as the key files inside it. */
static bool sync_parent(const char *path)
{
	char parent[PATH_MAX];
	if (snprintf(parent, sizeof parent, "%s", path) >= (int)sizeof parent)
		return false;
	char *slash = strrchr(parent, '/');
	if (!slash)
		strcpy(parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool synced = fd >= 0 && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	return synced;
}

static void create_dir(struct key_dir *dir)
{
	if (mkdir(dir->path, 0700) == 0) {
		dir->created = true;
		if (!sync_parent(dir->path))
			die(EX_IOERR, "%s: cannot flush the parent of the new key directory: %s",
			    dir->path, strerror(errno));
	} else if (errno != EEXIST) {
		die(exit_code_for_create(errno), "%s: cannot create key directory: %s; mount the volume's directory there",
		    dir->path, strerror(errno));
	}
	if (!key_dir_open(dir))
		die(EX_CANTCREAT, "%s: key directory vanished while being created", dir->path);
}

/* A stream over DIR's entries from the start, on a dup of dir->fd (which
 * shares its offset with earlier scans, hence the rewind); NULL if none. */
static DIR *open_entries(struct key_dir *dir)
{
	int fd = dup(dir->fd);
	DIR *stream = fd >= 0 ? fdopendir(fd) : NULL;
	if (!stream) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(stream);
	return stream;
}

static bool dir_is_empty(struct key_dir *dir)
{
	DIR *stream = open_entries(dir);
	bool empty = stream != NULL;
	for (struct dirent *entry; empty && (entry = readdir(stream));)
		empty = strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0;
	if (stream)
		closedir(stream);
	return empty;
}

/* As root for another user, a key directory that root owns and that is
 * ours alone (made by this run, or an empty fresh volume) is handed to
 * that user, mode 0700. Anything else is left as it is: a volume that
 * holds other data, or a shared or sticky directory such as /tmp. */
static void hand_over_dir(struct key_dir *dir)
{
	struct stat st;
	if (!dir->hand_over)
		return;
	if (fstat(dir->fd, &st) != 0)
		die(EX_IOERR, "%s: cannot stat key directory: %s", dir->path, strerror(errno));
	if (st.st_uid != 0 || (st.st_mode & S_ISVTX) || !(dir->created || dir_is_empty(dir)))
		return;
	if (fchown(dir->fd, dir->owner_uid, dir->owner_gid) != 0 || fchmod(dir->fd, 0700) != 0)
		die(exit_code_for_errno(errno), "%s: cannot give key directory to uid %u: %s",
		    dir->path, (unsigned)dir->owner_uid, strerror(errno));
	log_debug("%s: key directory now belongs to uid %u, mode 0700", dir->path,
	          (unsigned)dir->owner_uid);
}

/* Count DIR's temporary files, unlinking them when `remove`. Removing is
 * only safe under the lock: a live keyshim holds it for as long as its
 * temporary file exists. */
static size_t temp_files(struct key_dir *dir, bool remove)
{
	DIR *stream = open_entries(dir);
	size_t seen = 0;
	if (!stream)
		return 0;
	for (struct dirent *entry; (entry = readdir(stream));) {
		if (strncmp(entry->d_name, KEYSTORE_TEMP_PREFIX, strlen(KEYSTORE_TEMP_PREFIX)) != 0)
			continue;
		seen++;
		if (!remove)
			break; /* one is enough to know */
		if (unlinkat(dir->fd, entry->d_name, 0) == 0)
			log_info("%s/%s: removed a temporary file left by an interrupted start",
			         dir->path, entry->d_name);
		else
			log_debug("%s/%s: cannot remove: %s", dir->path, entry->d_name, strerror(errno));
	}
	closedir(stream);
	return seen;
}

void key_dir_prepare(struct key_dir *dir)
{
	if (dir->prepared)
		return;
	if (dir->fd < 0)
		create_dir(dir);
	hand_over_dir(dir);
	int rc = flock(dir->fd, LOCK_EX | LOCK_NB);
	if (rc != 0 && errno == EWOULDBLOCK) {
		/* say so: a paused container holding the lock would look like a hang */
		log_info("%s: waiting for another keyshim that is creating keys here", dir->path);
		while ((rc = flock(dir->fd, LOCK_EX)) != 0 && errno == EINTR)
			;
	}
	if (rc == 0)
		temp_files(dir, true);
	else /* no locks here (some network filesystems): link(2) alone keeps
	      * creation safe, but stale temporary files must then stay */
		log_debug("%s: cannot lock key directory (%s); going on without",
		          dir->path, strerror(errno));
	dir->prepared = true;
}

void key_dir_tidy(struct key_dir *dir)
{
	if (dir->fd < 0 || dir->read_only || dir->prepared || !temp_files(dir, false))
		return;
	if (flock(dir->fd, LOCK_EX | LOCK_NB) != 0)
		return; /* another keyshim is creating keys: its file is live */
	temp_files(dir, true);
	flock(dir->fd, LOCK_UN);
}

bool key_text_parse(const char *data, size_t size, const struct key_spec *spec,
                    char *text, size_t *len)
{
	if (size > 0 && data[size - 1] == '\n')
		size--; /* one trailing newline */
	*len = 0;
	text[0] = '\0';
	if (size > KEY_TEXT_MAX || !key_value_valid(spec, data, size))
		return false;
	memcpy(text, data, size);
	text[size] = '\0';
	*len = size;
	return true;
}

bool key_text_read(int fd, const char *label, const struct key_spec *spec,
                   char *text, size_t *len)
{
	/* One byte more than a key and its newline can be, to see junk. */
	char data[KEY_TEXT_MAX + 2];
	size_t limit = sizeof data;
	size_t got = 0;
	while (got < limit) {
		ssize_t n = read(fd, data + got, limit - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sodium_memzero(data, got);
			die(EX_IOERR, "%s: cannot read: %s", label, strerror(errno));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	bool valid = key_text_parse(data, got, spec, text, len);
	sodium_memzero(data, got);
	return valid;
}

/* The owner and mode rules for an existing key file; see README. */
static void check_key_file(struct key_dir *dir, int fd, const char *name)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		die(EX_IOERR, "%s/%s: cannot stat: %s", dir->path, name, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EX_NOPERM, "%s/%s: not a regular file; move it away, a key file must be a plain file",
		    dir->path, name);
	bool root_owned_for_hand_over = dir->hand_over && st.st_uid == 0;
	if (st.st_uid != dir->owner_uid && !root_owned_for_hand_over)
		die(EX_NOPERM,
		    "%s/%s: owned by uid %u, but keys here belong to uid %u; chown it, or run with -u %u",
		    dir->path, name, (unsigned)st.st_uid, (unsigned)dir->owner_uid,
		    (unsigned)st.st_uid);
	if (st.st_mode & 077)
		die(EX_NOPERM, "%s/%s: group or others may access it (mode %04o); chmod 600 it",
		    dir->path, name, (unsigned)(st.st_mode & 07777));
	if (root_owned_for_hand_over && !dir->read_only) {
		if (fchown(fd, dir->owner_uid, dir->owner_gid) != 0)
			die(exit_code_for_errno(errno), "%s/%s: cannot give it to uid %u: %s",
			    dir->path, name, (unsigned)dir->owner_uid, strerror(errno));
		log_info("%s/%s: handed from root to uid %u", dir->path, name,
		         (unsigned)dir->owner_uid);
	}
}

bool key_file_read(struct key_dir *dir, const struct key_spec *spec,
                   char *text, size_t *len)
{
	if (dir->fd < 0)
		return false;
	int fd = openat(dir->fd, spec->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return false;
	if (fd < 0 && errno == ENXIO) /* a socket */
		die(EX_NOPERM, "%s/%s: not a regular file; move it away, a key file must be a plain file",
		    dir->path, spec->name);
	if (fd < 0 && errno == ELOOP)
		die(EX_NOPERM, "%s/%s: is a symbolic link; keyshim reads only plain files: replace it with the key file itself",
		    dir->path, spec->name);
	if (fd < 0)
		die(exit_code_for_errno(errno), "%s/%s: cannot open: %s; it must be readable by uid %u",
		    dir->path, spec->name, strerror(errno), (unsigned)geteuid());
	check_key_file(dir, fd, spec->name);

	char label[PATH_MAX + KEY_NAME_MAX + 2];
	snprintf(label, sizeof label, "%s/%s", dir->path, spec->name);
	bool valid = key_text_read(fd, label, spec, text, len);
	close(fd);
	char wanted[128];
	key_spec_describe(spec, wanted, sizeof wanted);
	if (!valid)
		die(EX_DATAERR,
		    "%s: not %s (empty, cut short or damaged?); left as it is: restore it from a backup",
		    label, wanted);
	return true;
}

static bool write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Give the new name to the temporary file without ever replacing a key:
 * link(2) fails with EEXIST when the name is taken. Filesystems without
 * hard links get rename with RENAME_NOREPLACE, which fails the same way. */
static int publish_name(int dirfd, const char *temp, const char *name)
{
	if (linkat(dirfd, temp, dirfd, name, 0) == 0)
		return 0;
	if (errno != EPERM && errno != EOPNOTSUPP && errno != EXDEV)
		return -1;
	return (int)syscall(SYS_renameat2, dirfd, temp, dirfd, name, RENAME_NOREPLACE);
}

/* Remove the temporary file and exit: nothing half-made stays behind. */
static _Noreturn void abandon(struct key_dir *dir, const char *temp, int fd,
                              const char *name, const char *step, int err)
{
	if (fd >= 0)
		close(fd);
	unlinkat(dir->fd, temp, 0);
	die(exit_code_for_errno(err), "%s/%s: cannot create key (%s: %s); nothing was written, fix it and start again",
	    dir->path, name, step, strerror(err));
}

bool key_file_publish(struct key_dir *dir, const struct key_spec *spec,
                      const char *text, size_t len)
{
	char temp[sizeof KEYSTORE_TEMP_PREFIX + KEY_NAME_MAX + 20];
	unsigned char nonce[4];
	char nonce_hex[2 * sizeof nonce + 1];
	randombytes_buf(nonce, sizeof nonce);
	sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
	snprintf(temp, sizeof temp, KEYSTORE_TEMP_PREFIX "%s-%s", spec->name, nonce_hex);

	int fd = openat(dir->fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		die(exit_code_for_create(errno), "%s/%s: cannot create key: %s; the directory must be writable by uid %u",
		    dir->path, spec->name, strerror(errno), (unsigned)geteuid());
	if (fchmod(fd, 0600) != 0) /* exact, whatever the umask */
		abandon(dir, temp, fd, spec->name, "chmod", errno);
	if (dir->hand_over && fchown(fd, dir->owner_uid, dir->owner_gid) != 0)
		abandon(dir, temp, fd, spec->name, "chown", errno);
	if (!write_all(fd, text, len) || !write_all(fd, "\n", 1))
		abandon(dir, temp, fd, spec->name, "write", errno);
	if (fsync(fd) != 0)
		abandon(dir, temp, fd, spec->name, "fsync", errno);
	if (close(fd) != 0)
		abandon(dir, temp, -1, spec->name, "close", errno);

	bool created = publish_name(dir->fd, temp, spec->name) == 0;
	if (!created && errno != EEXIST)
		abandon(dir, temp, -1, spec->name, "link", errno);
	if (created && fsync(dir->fd) != 0) {
		int err = errno;
		unlinkat(dir->fd, temp, 0); /* the key is whole; leave no second link */
		die(EX_IOERR, "%s: cannot flush the directory after creating %s: %s",
		    dir->path, spec->name, strerror(err));
	}
	if (unlinkat(dir->fd, temp, 0) != 0 && errno != ENOENT)
		log_warn("%s/%s: cannot remove temporary file: %s (removed on a later start)",
		         dir->path, temp, strerror(errno));
	return created;
}
