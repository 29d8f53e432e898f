/*
 * log — the process-wide log sink (see log.h for why it is the one global).
 */
#include "log.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
	int fd;
	int level;
	int quiet;
} log_sink = { -1, LOG_INFO, 0 };

static const char *const log_names[] = { "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL" };

int log_open(const char *dir, const char *file, char *errbuf, unsigned errlen)
{
	char path[4096];

	log_close();
	if (!dir)
		return 0;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return err_set(errbuf, errlen, ERR_IO, "cannot create log directory %s: %s", dir,
			       strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	log_sink.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_sink.fd < 0)
		return err_set(errbuf, errlen, ERR_IO, "cannot open log file %s: %s", path,
			       strerror(errno));
	return 0;
}

void log_close(void)
{
	if (log_sink.fd >= 0)
		close(log_sink.fd);
	log_sink.fd = -1;
}

void log_set_level(enum log_level level)
{
	log_sink.level = (int)level;
}

void log_set_quiet_stderr(int quiet)
{
	log_sink.quiet = quiet;
}

int log_level_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (!strcasecmp(s, log_names[i]))
			return (int)i;
	if (!strcasecmp(s, "WARNING"))
		return LOG_WARN;
	return -1;
}

int log_enabled(enum log_level level)
{
	return (int)level >= log_sink.level;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	va_list ap;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "[%Y-%m-%d %H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ",%03ld] %s ", (long)(tv.tv_usec / 1000),
			      log_names[level]);
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = (m < 0 || (size_t)m >= sizeof(line) - n) ? sizeof(line) - 1 : n + (size_t)m;
	if (module && n < sizeof(line) - 1)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " (%s)", module);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (!log_sink.quiet) {
		ssize_t w = write(STDERR_FILENO, line, n);
		(void)w;
	}
	if (log_sink.fd >= 0) {
		ssize_t w = write(log_sink.fd, line, n);
		(void)w;
	}
}
