/*
 * log — leveled, timestamped logging to stderr and to a file under the daemon's logs/ folder
 * (Kafka's `logs/server.log` style):
 *   [2026-11-24 01:43:01,123] INFO message (module)
 *
 * The sink is process-wide state (one per process, set up once in main before the loop starts
 * and torn down at exit): the one exception to "no mutable globals", because every module logs.
 * Only the loop thread and worker threads that hold no lock call it; each line is written with
 * one write() so lines of different threads never interleave.
 */
#ifndef SAMSA_LOG_H
#define SAMSA_LOG_H

enum log_level { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Opens dir/file for appending (creating dir if needed) in addition to stderr. dir NULL means
 * stderr only. Returns 0 or a negative ERR_* with text in errbuf. */
int log_open(const char *dir, const char *file, char *errbuf, unsigned errlen);
void log_close(void);
void log_set_level(enum log_level level);
/* Parses TRACE/DEBUG/INFO/WARN/ERROR/FATAL (any case); -1 if unknown. */
int log_level_parse(const char *s);
/* 0 to keep stderr output, 1 to silence it (daemon mode after detaching). */
void log_set_quiet_stderr(int quiet);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_trace(mod, ...) do { if (log_enabled(LOG_TRACE)) log_msg(LOG_TRACE, mod, __VA_ARGS__); } while (0)
#define log_debug(mod, ...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, mod, __VA_ARGS__); } while (0)
#define log_info(mod, ...) log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)
#define log_fatal(mod, ...) log_msg(LOG_FATAL, mod, __VA_ARGS__)

#endif
