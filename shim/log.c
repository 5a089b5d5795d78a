/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static enum verbosity current_level = LOG_NORMAL;
static void (*exit_hook)(void);

void log_set_verbosity(enum verbosity level) { current_level = level; }

void log_set_exit_hook(void (*hook)(void)) { exit_hook = hook; }

/* Format "keyshim: <prefix><message>\n" and emit it with a single write. */
static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	int head = snprintf(line, sizeof line, "keyshim: %s", prefix);
	int body = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, ap);
	size_t len = (size_t)head + (body < 0 ? 0 : (size_t)body);
	if (len > sizeof line - 2)
		len = sizeof line - 2; /* truncated: still one line */
	for (size_t i = 0; i < len; i++) /* a newline in a path must not split it */
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	ssize_t ignored = write(STDERR_FILENO, line, len);
	(void)ignored; /* nowhere left to report a failing stderr */
}

void log_info(const char *fmt, ...)
{
	if (current_level < LOG_NORMAL)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	if (current_level < LOG_VERBOSE)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("warning: ", fmt, ap);
	va_end(ap);
}

_Noreturn void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("error: ", fmt, ap);
	va_end(ap);
	if (exit_hook)
		exit_hook();
	exit(code);
}

int exit_code_for_errno(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
	case ELOOP:
		return EX_NOPERM;
	case ENOSPC:
	case EDQUOT:
	case EROFS:
		return EX_CANTCREAT;
	default:
		return EX_IOERR;
	}
}

int exit_code_for_create(int err)
{
	int code = exit_code_for_errno(err);
	return code == EX_IOERR ? EX_CANTCREAT : code;
}
