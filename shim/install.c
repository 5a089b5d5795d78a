/* install.c - see install.h. */
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static _Noreturn void fail(const char *target, const char *temp, const char *step, int err)
{
	if (temp)
		unlink(temp);
	die(exit_code_for_create(err), "%s: cannot install (%s: %s)", target, step, strerror(err));
}

static bool copy_fd(int from, int to)
{
	char buffer[65536];
	for (;;) {
		ssize_t got = read(from, buffer, sizeof buffer);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got == 0;
		for (ssize_t done = 0; done < got;) {
			ssize_t put = write(to, buffer + done, (size_t)(got - done));
			if (put < 0 && errno == EINTR)
				continue;
			if (put < 0)
				return false;
			done += put;
		}
	}
}

void install_self(const char *dir)
{
	char target[PATH_MAX], temp[PATH_MAX];
	if (snprintf(target, sizeof target, "%s/keyshim", dir) >= (int)sizeof target ||
	    snprintf(temp, sizeof temp, "%s/.keyshim-install-XXXXXX", dir) >= (int)sizeof temp)
		die(EX_USAGE, "install: directory name too long");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		fail(target, NULL, "mkdir", errno);

	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		fail(target, NULL, "open /proc/self/exe", errno);
	int out = mkostemp(temp, O_CLOEXEC);
	if (out < 0)
		fail(target, NULL, "create", errno);
	if (!copy_fd(self, out))
		fail(target, temp, "copy", errno);
	if (fchmod(out, 0755) != 0)
		fail(target, temp, "chmod", errno);
	if (fsync(out) != 0)
		fail(target, temp, "fsync", errno);
	if (close(out) != 0)
		fail(target, temp, "close", errno);
	close(self);
	if (rename(temp, target) != 0)
		fail(target, temp, "rename", errno);
	log_info("installed %s", target);
}
