/* keystore.c - see keystore.h. */
#include "keystore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"
#include "mounts.h"

/* A temporary file's name: prefix, key name, '-', boot tag, '-', nonce. */
#define BOOT_TAG_LEN 16
#define TEMP_NAME_SIZE (sizeof KEYSTORE_TEMP_PREFIX + KEY_NAME_MAX + 2 + BOOT_TAG_LEN + 16)

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

void key_dir_init(struct key_dir *dir, const char *path, uid_t owner_uid,
                  gid_t owner_gid, bool read_only)
{
	*dir = (struct key_dir){
		.path = path,
		.fd = -1,
		.parent_fd = -1,
		.read_only = read_only,
		.owner_uid = owner_uid,
		.owner_gid = owner_gid,
		.hand_over = geteuid() == 0 && owner_uid != 0,
	};
}

/* Only root, or keyshim's own user, can have made what is in a directory
 * that it owns and no one else may write. */
static bool only_we_write(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* A symlink at `name` in the directory `at` may be followed when no less
 * privileged user could have planted it: root (or we) own it, and only
 * root (or we) may write the directory it is in. */
static bool trusted_link(int at, const char *name)
{
	struct stat link, parent;
	return fstatat(at, name, &link, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(link.st_mode) &&
	       (link.st_uid == 0 || link.st_uid == geteuid()) && fstat(at, &parent) == 0 &&
	       only_we_write(&parent);
}

#define WALK_LINKS_MAX 40 /* as the kernel's MAXSYMLINKS */

/* Put a trusted link's target in front of what is left to walk (`rest`,
 * which lies inside todo). */
static void splice_link(struct key_dir *dir, int at, const char *name, char *todo,
                        const char *rest, int *links)
{
	static char target[PATH_MAX]; /* static: small stacks (ulimit -s) */
	ssize_t len = readlinkat(at, name, target, sizeof target);
	size_t rest_len = strlen(rest);
	if (len <= 0 || ++*links > WALK_LINKS_MAX)
		die(EX_NOPERM, "%s: cannot follow the symbolic link %s on its way (%s); give -d the real path",
		    dir->path, name, len <= 0 ? strerror(errno) : "too many links");
	if ((size_t)len + 1 + rest_len >= PATH_MAX)
		die(EX_CANTCREAT, "%s: path too long after following %s", dir->path, name);
	memmove(todo + len + 1, rest, rest_len + 1);
	memcpy(todo, target, (size_t)len);
	todo[len] = '/';
	dir->via_link = true;
}

/* Walk DIR's path from "/" (or the working directory) component by
 * component with O_NOFOLLOW; see key_dir_open(). Leaves dir->parent_fd
 * (and dir->leaf) set; returns DIR's descriptor, or -1 when it is missing. */
static int walk(struct key_dir *dir)
{
	static char todo[PATH_MAX]; /* static: small stacks (ulimit -s) */
	int links = 0;
	if (snprintf(todo, sizeof todo, "%s", dir->path) >= (int)sizeof todo)
		die(EX_USAGE, "%s: key directory path too long", dir->path);
	/* openat, not open: musl's open() adds an fcntl(FD_CLOEXEC) for
	 * kernels older than O_CLOEXEC, a syscall on every start */
	int at = openat(AT_FDCWD, todo[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (at < 0)
		die(exit_code_for_errno(errno), "%s: cannot open %s: %s", dir->path,
		    todo[0] == '/' ? "/" : "the working directory", strerror(errno));
	for (;;) {
		char *name = todo + strspn(todo, "/");
		size_t len = strcspn(name, "/");
		char *rest = name + len + strspn(name + len, "/");
		if (len == 0) { /* DIR is "/" or "." */
			dir->parent_fd = dup(at);
			strcpy(dir->leaf, ".");
			return at;
		}
		if (len >= sizeof dir->leaf)
			die(EX_CANTCREAT, "%s: a name on the way is too long", dir->path);
		name[len] = '\0';
		int next = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			struct stat st;
			if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
				if (!trusted_link(at, name))
					die(EX_NOPERM,
					    "%s: %s on its way is a symbolic link that uid %u could have planted; root follows only links root owns in a directory only root may write: give -d the real path",
					    dir->path, name, (unsigned)st.st_uid);
				splice_link(dir, at, name, todo, rest, &links);
				if (todo[0] == '/') {
					close(at);
					at = openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
					if (at < 0)
						die(exit_code_for_errno(errno), "%s: cannot open /: %s",
						    dir->path, strerror(errno));
				}
				continue;
			}
			die(EX_CANTCREAT, "%s: %s on its way is not a directory; point -d at a directory on the volume",
			    dir->path, name);
		}
		if (next < 0 && errno == ENOENT) {
			dir->parent_fd = at; /* the deepest directory that exists */
			dir->parent_missing = *rest != '\0';
			strcpy(dir->leaf, name);
			return -1;
		}
		if (next < 0)
			die(exit_code_for_errno(errno),
			    "%s: cannot open key directory: %s; it must be readable by uid %u (see -u)",
			    dir->path, strerror(errno), (unsigned)dir->owner_uid);
		if (*rest == '\0') {
			dir->parent_fd = at;
			strcpy(dir->leaf, name);
			return next;
		}
		close(at);
		at = next;
		memmove(todo, rest, strlen(rest) + 1);
	}
	return -1;
}

/* Who may change DIR decides whether its keys can be trusted: DIR must
 * belong to the service's user or root, and no one else may write it (a
 * sticky directory of the service's user excepted). */
static void check_dir(struct key_dir *dir)
{
	struct stat st;
	if (fstat(dir->fd, &st) != 0)
		die(EX_IOERR, "%s: cannot stat key directory: %s", dir->path, strerror(errno));
	if (st.st_uid != dir->owner_uid && st.st_uid != 0)
		die(EX_NOPERM, "%s: key directory owned by uid %u, but keys here belong to uid %u; chown it, or run with -u %u",
		    dir->path, (unsigned)st.st_uid, (unsigned)dir->owner_uid, (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !((st.st_mode & S_ISVTX) && st.st_uid == dir->owner_uid))
		die(EX_NOPERM, "%s: group or others may write the key directory (mode %04o) and delete keys; chmod 700 it",
		    dir->path, (unsigned)(st.st_mode & 07777));
}

/* As root for another user, DIR's parent must be root's alone: anyone
 * else who may write it could swap DIR for a link or their own directory
 * between two steps. */
static void check_parent(struct key_dir *dir)
{
	struct stat st;
	if (!dir->hand_over || dir->parent_fd < 0)
		return;
	if (fstat(dir->parent_fd, &st) != 0)
		die(EX_IOERR, "%s: cannot stat the key directory's parent: %s", dir->path, strerror(errno));
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		die(EX_NOPERM,
		    "%s: uid %u (mode %04o) may write the directory that holds the key directory, so root will not make or give it there; mount the volume at the key directory itself",
		    dir->path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
}

bool key_dir_open(struct key_dir *dir)
{
	dir->fd = walk(dir);
	check_parent(dir);
	if (dir->fd < 0)
		return false;
	check_dir(dir);
	return true;
}

bool key_dir_is_ephemeral(struct key_dir *dir, char *why, size_t why_size)
{
	int fd = dir->fd >= 0 ? dir->fd : dir->parent_fd;
	if (fd < 0) {
		snprintf(why, why_size, "it is not open");
		return true;
	}
	return fd_is_ephemeral(fd, why, why_size);
}

void key_dir_close(struct key_dir *dir)
{
	if (dir->fd >= 0)
		close(dir->fd); /* also drops the lock */
	if (dir->parent_fd >= 0)
		close(dir->parent_fd);
	dir->fd = dir->parent_fd = -1;
}

/* mkdirat and openat on the same parent, reached without untrusted links. */
static void create_dir(struct key_dir *dir)
{
	if (dir->parent_fd < 0 || dir->parent_missing)
		die(EX_CANTCREAT, "%s: cannot create key directory: its parent does not exist; mount the volume's directory there",
		    dir->path);
	if (mkdirat(dir->parent_fd, dir->leaf, 0700) == 0) {
		dir->created = true;
		if (fsync(dir->parent_fd) != 0)
			die(EX_IOERR, "%s: cannot flush the parent of the new key directory: %s",
			    dir->path, strerror(errno));
	} else if (errno != EEXIST) {
		die(exit_code_for_create(errno), "%s: cannot create key directory: %s; mount the volume's directory there",
		    dir->path, strerror(errno));
	}
	dir->fd = openat(dir->parent_fd, dir->leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir->fd < 0)
		die(exit_code_for_errno(errno), "%s: cannot open the key directory just made: %s",
		    dir->path, strerror(errno));
	check_dir(dir);
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
 * ours alone (made by this run, or an empty volume root reached without
 * links) is handed to that user, mode 0700. Anything else is left as it is: a volume that
 * holds other data, or a shared or sticky directory such as /tmp. */
static bool is_volume_root(struct key_dir *dir)
{
	uint64_t mine, parent;
	return !dir->via_link && dir->parent_fd >= 0 && fd_mount_id(dir->fd, &mine) &&
	       fd_mount_id(dir->parent_fd, &parent) && mine != parent;
}

static void hand_over_dir(struct key_dir *dir)
{
	struct stat st;
	if (!dir->hand_over)
		return;
	if (fstat(dir->fd, &st) != 0)
		die(EX_IOERR, "%s: cannot stat key directory: %s", dir->path, strerror(errno));
	if (st.st_uid != 0 || (st.st_mode & S_ISVTX) ||
	    !(dir->created || (dir_is_empty(dir) && is_volume_root(dir))))
		return;
	if (fchown(dir->fd, dir->owner_uid, dir->owner_gid) != 0 || fchmod(dir->fd, 0700) != 0)
		die(exit_code_for_errno(errno), "%s: cannot give key directory to uid %u: %s",
		    dir->path, (unsigned)dir->owner_uid, strerror(errno));
	log_debug("%s: key directory now belongs to uid %u, mode 0700", dir->path,
	          (unsigned)dir->owner_uid);
}

/* Temporary files: the rule for removing them is in keystore.h. */

/* This kernel's boot id, as 16 hex digits: two processes whose temporary
 * file names carry the same tag ran on one kernel, and so saw one another's
 * flock(2) on a local filesystem. When it cannot be read, a tag that is no
 * boot id: such a file is then judged by its age alone. */
static const char *boot_tag(void)
{
	static char tag[BOOT_TAG_LEN + 1];
	if (tag[0])
		return tag;
	char id[64];
	size_t n = 0;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, id, sizeof id) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; i < got && n < BOOT_TAG_LEN; i++)
		if (id[i] && strchr("0123456789abcdef", id[i]))
			tag[n++] = id[i];
	if (n < BOOT_TAG_LEN)
		n = 0;
	memset(tag + n, 'x', BOOT_TAG_LEN - n);
	return tag;
}

/* A fresh temporary file name for key `name`: PREFIX NAME-BOOT-NONCE. */
static void temp_name(char out[TEMP_NAME_SIZE], const char *name)
{
	unsigned char nonce[8];
	char nonce_hex[2 * sizeof nonce + 1];
	randombytes_buf(nonce, sizeof nonce);
	sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
	snprintf(out, TEMP_NAME_SIZE, KEYSTORE_TEMP_PREFIX "%s-%s-%s", name, boot_tag(), nonce_hex);
}

static bool is_temp_name(const char *name)
{
	return strncmp(name, KEYSTORE_TEMP_PREFIX, strlen(KEYSTORE_TEMP_PREFIX)) == 0;
}

/* True when temporary file `name` was made on this boot of this kernel. */
static bool made_on_this_boot(const char *name)
{
	const char *tag = boot_tag();
	size_t len = strlen(name), tail = BOOT_TAG_LEN + 1 + 16; /* BOOT-NONCE */
	return tag[0] != 'x' && len > tail && name[len - tail - 1] == '-' &&
	       memcmp(name + len - tail, tag, BOOT_TAG_LEN) == 0;
}

/* Filesystems that live on one machine: every process that can reach DIR
 * runs on this kernel, so one flock(2) on DIR is seen by all of them.
 * Network and FUSE filesystems are not here: their locks may stay on each
 * host (NFS with nolock or local_lock, sshfs), so a lock proves nothing. */
static bool fs_is_local(int fd)
{
	static const unsigned long local[] = {
		0xEF53,     /* ext2, ext3, ext4 */
		0x58465342, /* xfs */
		0x9123683E, /* btrfs */
		0xF2F52010, /* f2fs */
		0x2FC12FC1, /* zfs */
		0x01021994, /* tmpfs */
		0x858458F6, /* ramfs */
		0x794C7630, /* overlayfs */
	};
	struct statfs st;
	if (fstatfs(fd, &st) != 0)
		return false;
	for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
		if ((unsigned long)st.f_type == local[i])
			return true;
	return false;
}

/* The filesystem's own "now": the mtime it gives a file made this moment.
 * Judging ages by it, not by this host's clock, keeps hosts whose clocks
 * disagree from taking a live file for an old one. */
static bool filesystem_now(struct key_dir *dir, struct timespec *now)
{
	char name[TEMP_NAME_SIZE];
	struct stat st;
	temp_name(name, "clock");
	int fd = openat(dir->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool known = fstat(fd, &st) == 0;
	close(fd);
	unlinkat(dir->fd, name, 0);
	if (known)
		*now = st.st_mtim;
	return known;
}

/* Last written KEYSTORE_TEMP_MAX_AGE seconds or more before `now`. */
static bool is_old(struct key_dir *dir, const char *name, const struct timespec *now)
{
	struct stat st;
	return fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       now->tv_sec - st.st_mtim.tv_sec >= KEYSTORE_TEMP_MAX_AGE;
}

/* The kernel's getdents64 record (linux/dirent.h). */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Whether DIR holds a temporary file: every start that writes nothing asks,
 * so it reads the entries straight from dir->fd with getdents64, rewound
 * first, into a buffer on the stack: two or three syscalls, where
 * fdopendir() and readdir() take a dup, fcntl, fstat, malloc (brk, mmap)
 * and close around the same reads. An unreadable DIR holds none we could
 * remove. */
static bool has_temp_files(struct key_dir *dir)
{
	char buf[2048] __attribute__((aligned(8)));
	if (lseek(dir->fd, 0, SEEK_SET) != 0)
		return false;
	for (;;) { /* ends with the directory: each read moves on */
		long got = syscall(SYS_getdents64, dir->fd, buf, sizeof buf);
		if (got <= 0)
			return false;
		for (long at = 0; at < got;) {
			const struct linux_dirent64 *entry = (const void *)(buf + at);
			if (is_temp_name(entry->d_name))
				return true;
			if (entry->d_reclen == 0)
				return false; /* never from the kernel */
			at += entry->d_reclen;
		}
	}
}

/* Remove the temporary files no live start can own: all of this boot's
 * when `locked` (this start holds DIR's lock) on a local filesystem, and
 * any that is old by the filesystem's clock. The rest stay for later. */
static void remove_dead_temp_files(struct key_dir *dir, bool locked)
{
	struct timespec now;
	int clock = -1; /* unknown until needed: reading it makes a file */
	bool lock_covers_all = locked && fs_is_local(dir->fd);
	DIR *stream = open_entries(dir);
	for (struct dirent *entry; stream && (entry = readdir(stream));) {
		const char *name = entry->d_name;
		if (!is_temp_name(name))
			continue;
		bool dead = lock_covers_all && made_on_this_boot(name);
		if (!dead && clock < 0)
			clock = filesystem_now(dir, &now);
		if (!dead && !(clock == 1 && is_old(dir, name, &now))) {
			log_debug("%s/%s: kept: a start on another host may own it (removed once %d s old)",
			          dir->path, name, KEYSTORE_TEMP_MAX_AGE);
			continue;
		}
		if (unlinkat(dir->fd, name, 0) == 0)
			log_info("%s/%s: removed a temporary file left by an interrupted start",
			         dir->path, name);
		else if (errno != ENOENT)
			log_debug("%s/%s: cannot remove: %s", dir->path, name, strerror(errno));
	}
	if (stream)
		closedir(stream);
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
	if (rc != 0) /* no locks here (some network filesystems): link(2) alone
	              * keeps creation safe */
		log_debug("%s: cannot lock key directory (%s); going on without",
		          dir->path, strerror(errno));
	remove_dead_temp_files(dir, rc == 0);
	dir->prepared = true;
}

void key_dir_tidy(struct key_dir *dir)
{
	if (dir->fd < 0 || dir->read_only || dir->prepared || !has_temp_files(dir))
		return;
	/* not locked when another keyshim here is creating keys: then only
	 * old files go, its own are young */
	bool locked = flock(dir->fd, LOCK_EX | LOCK_NB) == 0;
	remove_dead_temp_files(dir, locked);
	if (locked)
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
	if (root_owned_for_hand_over && st.st_nlink != 1)
		die(EX_NOPERM, "%s/%s: a root-owned key file with %lu links; root gives away only a file with one: remove the other links",
		    dir->path, name, (unsigned long)st.st_nlink);
	if (!root_owned_for_hand_over || dir->read_only)
		return;
	for (size_t i = 0; i < dir->root_owned_count; i++)
		if (strcmp(dir->root_owned[i], name) == 0)
			return;
	if (dir->root_owned_count < KEYS_MAX)
		dir->root_owned[dir->root_owned_count++] = name;
}

void key_files_hand_over(struct key_dir *dir)
{
	for (size_t i = 0; i < dir->root_owned_count; i++) {
		const char *name = dir->root_owned[i];
		struct stat st;
		int fd = openat(dir->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0)
			die(exit_code_for_errno(errno), "%s/%s: cannot open it again to give it to uid %u: %s",
			    dir->path, name, (unsigned)dir->owner_uid, strerror(errno));
		if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
			die(EX_NOPERM, "%s/%s: changed while keyshim read the keys; root gives away only a plain file with one link",
			    dir->path, name);
		if (st.st_uid == 0 && fchown(fd, dir->owner_uid, dir->owner_gid) != 0)
			die(exit_code_for_errno(errno), "%s/%s: cannot give it to uid %u: %s",
			    dir->path, name, (unsigned)dir->owner_uid, strerror(errno));
		close(fd);
		log_info("%s/%s: handed from root to uid %u", dir->path, name,
		         (unsigned)dir->owner_uid);
	}
	dir->root_owned_count = 0;
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

	/* as long as it needs to be (the path is shorter than PATH_MAX): a
	 * PATH_MAX buffer here made the stack of every start a page deeper */
	char label[strlen(dir->path) + 1 + strlen(spec->name) + 1];
	snprintf(label, sizeof label, "%s/%s", dir->path, spec->name);
	bool valid = key_text_read(fd, label, spec, text, len);
	close(fd);
	if (!valid) {
		char wanted[128];
		key_spec_describe(spec, wanted, sizeof wanted);
		die(EX_DATAERR,
		    "%s: not %s (empty, cut short or damaged?); left as it is: restore it from a backup",
		    label, wanted);
	}
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

/* link(2) or rename(RENAME_NOREPLACE) answering that this filesystem
 * cannot do it at all, rather than that this one call failed. */
static bool unsupported(int err)
{
	return err == EPERM || err == EOPNOTSUPP || err == EINVAL || err == ENOSYS || err == EXDEV;
}

/* Give the new name to the temporary file without ever replacing a key:
 * link(2) fails with EEXIST when the name is taken. Filesystems without
 * hard links get rename with RENAME_NOREPLACE, which fails the same way.
 * 0 when done, else the errno, with the failed call in *step; when the
 * filesystem has neither call, *step is NULL and *rename_err is set. */
static int publish_name(int dirfd, const char *temp, const char *name,
                        const char **step, int *rename_err)
{
	*step = "link";
	if (linkat(dirfd, temp, dirfd, name, 0) == 0)
		return 0;
	int link_err = errno;
	if (!unsupported(link_err))
		return link_err;
	*step = "rename";
	if (syscall(SYS_renameat2, dirfd, temp, dirfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (!unsupported(errno))
		return errno;
	*step = NULL;
	*rename_err = errno;
	return link_err;
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

/* Write the key to a new temporary file, durably; its name in temp. */
static void write_temp(struct key_dir *dir, const struct key_spec *spec,
                       const char *text, size_t len, char temp[TEMP_NAME_SIZE])
{
	temp_name(temp, spec->name);
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
}

static bool name_exists(struct key_dir *dir, const char *name)
{
	struct stat st;
	return fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool key_file_publish(struct key_dir *dir, const struct key_spec *spec,
                      const char *text, size_t len)
{
	char temp[TEMP_NAME_SIZE];
	const char *step;
	int err, rename_err = 0;
	for (int tries = 1;; tries++) {
		write_temp(dir, spec, text, len, temp);
		err = publish_name(dir->fd, temp, spec->name, &step, &rename_err);
		if (err == 0)
			break;
		unlinkat(dir->fd, temp, 0);
		/* Whatever failed, a key under NAME is the one to use: another
		 * start's, or ours when the reply to a link that happened was lost. */
		if (err == EEXIST || name_exists(dir, spec->name))
			return false;
		if (!step) {
			char link_why[64];
			snprintf(link_why, sizeof link_why, "%s", strerror(err));
			die(EX_CANTCREAT,
			    "%s/%s: cannot create key: this filesystem has neither link(2) (%s) nor rename without replacing (%s); keyshim publishes keys in no weaker way: keep the key directory on a filesystem that has either",
			    dir->path, spec->name, link_why, strerror(rename_err));
		}
		/* our temporary file vanished: a start on another host took it
		 * for a dead start's leftover (we were paused that long) */
		if (err != ENOENT || tries == KEYSTORE_PUBLISH_TRIES)
			die(exit_code_for_errno(err), "%s/%s: cannot create key (%s: %s); nothing was written, fix it and start again",
			    dir->path, spec->name, step, strerror(err));
		log_info("%s/%s: the temporary file was removed before it was published; trying again",
		         dir->path, spec->name);
	}
	if (fsync(dir->fd) != 0) {
		err = errno;
		unlinkat(dir->fd, temp, 0); /* the key is whole; leave no second link */
		die(EX_IOERR, "%s: cannot flush the directory after creating %s: %s",
		    dir->path, spec->name, strerror(err));
	}
	if (unlinkat(dir->fd, temp, 0) != 0 && errno != ENOENT)
		log_warn("%s/%s: cannot remove temporary file: %s (removed on a later start)",
		         dir->path, temp, strerror(errno));
	return true;
}
