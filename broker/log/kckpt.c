/*
 * kckpt — Kafka's checkpoint files (see kckpt.h). One line reader (kckpt_line/kckpt_field) shared
 * by both formats; every field is checked before it is stored, and entry arrays grow with the
 * lines actually present, never with the count line alone.
 */
#include "kckpt.h"

#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A cursor over the text and the number of the line it is on (1-based). */
struct kckpt_rd {
	const char *name;
	const char *p, *end;
	unsigned line;
	char *err;
	size_t errlen;
};

/* The next line (without its '\n') in *s, *n. ERR_TRUNC at the end of the text. A line with a
 * byte other than printable ASCII (CR, NUL, tab, ...) is ERR_CORRUPT. */
static int kckpt_line(struct kckpt_rd *rd, const char **s, size_t *n)
{
	if (rd->p >= rd->end)
		return ERR_TRUNC;
	rd->line++;
	const char *nl = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
	const char *e = nl ? nl : rd->end;
	for (const char *q = rd->p; q < e; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
			return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: byte 0x%02x not allowed", rd->name,
				       rd->line, (unsigned char)*q);
	*s = rd->p;
	*n = (size_t)(e - rd->p);
	rd->p = nl ? nl + 1 : rd->end;
	return 0;
}

/* Splits the line s[0..n) into exactly want fields separated by single spaces. */
static int kckpt_fields(struct kckpt_rd *rd, const char *s, size_t n, unsigned want, const char **f, size_t *fl)
{
	unsigned k = 0;
	size_t i = 0;
	for (;;) {
		size_t st = i;
		while (i < n && s[i] != ' ')
			i++;
		if (i == st)
			return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: empty field (expected %u fields)",
				       rd->name, rd->line, want);
		if (k == want)
			return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: more than %u fields", rd->name,
				       rd->line, want);
		f[k] = s + st;
		fl[k] = i - st;
		k++;
		if (i == n)
			break;
		i++; /* the space; a field must follow */
	}
	if (k != want)
		return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: %u fields, expected %u", rd->name, rd->line,
			       k, want);
	return 0;
}

/* A plain non-negative decimal (no sign, no leading zero except "0") <= max. */
static int kckpt_num(struct kckpt_rd *rd, const char *s, size_t n, int64_t max, const char *what, int64_t *out)
{
	int64_t v = 0;
	bool ok = n > 0 && n <= 19 && !(n > 1 && s[0] == '0');
	for (size_t i = 0; ok && i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (max - (s[i] - '0')) / 10) {
			ok = false;
			break;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (!ok)
		return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: bad %s '%.*s' (a decimal in [0, %lld])",
			       rd->name, rd->line, what, (int)(n > 40 ? 40 : n), s, (long long)max);
	*out = v;
	return 0;
}

/* The version and count lines; *count is capped by KCKPT_MAX_ENTRIES. *count -1: empty file. */
static int kckpt_header(struct kckpt_rd *rd, int64_t *count)
{
	const char *s;
	size_t n;
	int64_t v;
	int rc = kckpt_line(rd, &s, &n);
	if (rc == ERR_TRUNC) {
		*count = -1;
		return 0;
	}
	if (rc)
		return rc;
	if (n != 1 || s[0] != '0')
		return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: unsupported version '%.*s' (expected 0)",
			       rd->name, rd->line, (int)(n > 40 ? 40 : n), s);
	rc = kckpt_line(rd, &s, &n);
	if (rc == ERR_TRUNC)
		return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: missing the entry count line", rd->name,
			       rd->line + 1);
	if (rc || (rc = kckpt_num(rd, s, n, KCKPT_MAX_ENTRIES, "entry count", &v)))
		return rc;
	*count = v;
	return 0;
}

/* After the count's lines: nothing may follow. */
static int kckpt_tail(struct kckpt_rd *rd, int64_t count)
{
	if (rd->p < rd->end)
		return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: more lines than the count %lld", rd->name,
			       rd->line + 1, (long long)count);
	return 0;
}

static int kckpt_missing(struct kckpt_rd *rd, int64_t count, int64_t got)
{
	return err_set(rd->err, rd->errlen, ERR_CORRUPT, "%s:%u: %lld entries, the count line says %lld", rd->name,
		       rd->line + 1, (long long)got, (long long)count);
}

static int kckpt_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	void *p = realloc(*arr, c * size);
	if (!p)
		return ERR_NOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

int kckpt_epochs_parse(const char *name, const char *text, size_t len, struct kepoch_entry **out, size_t *n,
		       char *err, size_t errlen)
{
	struct kckpt_rd rd = { .name = name, .p = text, .end = text + len, .err = err, .errlen = errlen };
	struct kepoch_entry *e = NULL;
	size_t cap = 0;
	int64_t count = 0, i = 0;
	*out = NULL;
	*n = 0;
	int rc = kckpt_header(&rd, &count);
	if (rc || count < 0)
		goto done;
	for (i = 0; i < count; i++) {
		const char *s, *f[2];
		size_t sl, fl[2];
		int64_t ep, off;
		rc = kckpt_line(&rd, &s, &sl);
		if (rc == ERR_TRUNC)
			rc = kckpt_missing(&rd, count, i);
		if (rc || (rc = kckpt_fields(&rd, s, sl, 2, f, fl)) ||
		    (rc = kckpt_num(&rd, f[0], fl[0], INT32_MAX, "leader epoch", &ep)) ||
		    (rc = kckpt_num(&rd, f[1], fl[1], INT64_MAX, "start offset", &off)))
			goto done;
		if (i && ep <= e[i - 1].epoch) {
			rc = err_set(err, errlen, ERR_CORRUPT, "%s:%u: epoch %lld not above the previous %d", name,
				     rd.line, (long long)ep, e[i - 1].epoch);
			goto done;
		}
		if (i && off < e[i - 1].start_offset) {
			rc = err_set(err, errlen, ERR_CORRUPT, "%s:%u: start offset %lld below the previous %lld",
				     name, rd.line, (long long)off, (long long)e[i - 1].start_offset);
			goto done;
		}
		if ((rc = kckpt_grow((void **)&e, &cap, (size_t)i + 1, sizeof(*e))))
			goto done;
		e[i].epoch = (int32_t)ep;
		e[i].start_offset = off;
	}
	rc = kckpt_tail(&rd, count);
done:
	if (rc) {
		free(e);
		return rc;
	}
	*out = e;
	*n = (size_t)i;
	return 0;
}

/* Kafka's legal topic characters: ASCII letters, digits, '.', '_', '-'. */
static bool kckpt_topic_ok(const char *s, size_t n)
{
	if (!n || n > KCKPT_TOPIC_MAX || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int kckpt_offsets_parse(const char *name, const char *text, size_t len, struct kckpt_offset **out, size_t *n,
			char *err, size_t errlen)
{
	struct kckpt_rd rd = { .name = name, .p = text, .end = text + len, .err = err, .errlen = errlen };
	struct kckpt_offset *o = NULL;
	size_t cap = 0;
	int64_t count = 0, i = 0;
	*out = NULL;
	*n = 0;
	int rc = kckpt_header(&rd, &count);
	if (rc || count < 0)
		goto done;
	for (i = 0; i < count; i++) {
		const char *s, *f[3];
		size_t sl, fl[3];
		int64_t part, off;
		rc = kckpt_line(&rd, &s, &sl);
		if (rc == ERR_TRUNC)
			rc = kckpt_missing(&rd, count, i);
		if (rc || (rc = kckpt_fields(&rd, s, sl, 3, f, fl)))
			goto done;
		if (!kckpt_topic_ok(f[0], fl[0])) {
			rc = err_set(err, errlen, ERR_CORRUPT, "%s:%u: invalid topic name '%.*s'", name, rd.line,
				     (int)(fl[0] > 60 ? 60 : fl[0]), f[0]);
			goto done;
		}
		if ((rc = kckpt_num(&rd, f[1], fl[1], INT32_MAX, "partition", &part)) ||
		    (rc = kckpt_num(&rd, f[2], fl[2], INT64_MAX, "offset", &off)))
			goto done;
		for (int64_t k = 0; k < i; k++) {
			if (o[k].partition == part && strlen(o[k].topic) == fl[0] &&
			    !memcmp(o[k].topic, f[0], fl[0])) {
				rc = err_set(err, errlen, ERR_CORRUPT, "%s:%u: partition %.*s-%lld listed twice", name,
					     rd.line, (int)fl[0], f[0], (long long)part);
				goto done;
			}
		}
		if ((rc = kckpt_grow((void **)&o, &cap, (size_t)i + 1, sizeof(*o))))
			goto done;
		memcpy(o[i].topic, f[0], fl[0]);
		o[i].topic[fl[0]] = 0;
		o[i].partition = (int32_t)part;
		o[i].offset = off;
	}
	rc = kckpt_tail(&rd, count);
done:
	if (rc) {
		free(o);
		return rc;
	}
	*out = o;
	*n = (size_t)i;
	return 0;
}

/* ---- files ---- */

/* The last path component, for messages. */
static const char *kckpt_base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int kckpt_slurp(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	int rc = 0;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errlen, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		rc = err_set(err, errlen, ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size > (off_t)KCKPT_MAX_BYTES) {
		rc = err_set(err, errlen, ERR_TOOBIG, "%s: %lld bytes, over the %u limit", path,
			     (long long)st.st_size, KCKPT_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = ERR_NOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(err, errlen, ERR_IO, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break; /* shrank meanwhile: parse what is there */
		got += (size_t)r;
	}
	*text = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int kckpt_epochs_read(const char *path, struct kepoch_entry **out, size_t *n, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	*n = 0;
	int rc = kckpt_slurp(path, &text, &len, err, errlen);
	if (!rc)
		rc = kckpt_epochs_parse(path, text, len, out, n, err, errlen);
	free(text);
	return rc;
}

int kckpt_offsets_read(const char *path, struct kckpt_offset **out, size_t *n, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	*n = 0;
	int rc = kckpt_slurp(path, &text, &len, err, errlen);
	if (!rc)
		rc = kckpt_offsets_parse(path, text, len, out, n, err, errlen);
	free(text);
	return rc;
}

/* Writes text to path via path.tmp, fsync, rename, fsync of the directory. */
static int kckpt_replace(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int rc = 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return err_set(err, errlen, ERR_INVAL, "%s: path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, errlen, ERR_IO, "%s: create: %s", tmp, strerror(errno));
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = err_set(err, errlen, ERR_IO, "%s: write: %s", tmp, w < 0 ? strerror(errno) : "no progress");
			break;
		}
		done += (size_t)w;
	}
	if (!rc && fsync(fd))
		rc = err_set(err, errlen, ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
	if (close(fd) && !rc)
		rc = err_set(err, errlen, ERR_IO, "%s: close: %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path))
		rc = err_set(err, errlen, ERR_IO, "%s: rename to %s: %s", tmp, kckpt_base(path), strerror(errno));
	if (rc) {
		unlink(tmp);
		return rc;
	}
	/* the directory entry: without this a power cut may bring the old file back */
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_set(err, errlen, ERR_IO, "%s: open directory: %s", dir, strerror(errno));
	if (fsync(dfd))
		rc = err_set(err, errlen, ERR_IO, "%s: fsync of the directory: %s", dir, strerror(errno));
	close(dfd);
	return rc;
}

/* A growing text buffer for the writers. */
struct kckpt_txt {
	char *s;
	size_t n, cap;
	int rc;
};

static void kckpt_printf(struct kckpt_txt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kckpt_printf(struct kckpt_txt *t, const char *fmt, ...)
{
	if (t->rc)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
		va_end(ap);
		if (k < 0) {
			t->rc = ERR_INVAL;
			return;
		}
		if (t->s && t->n + (size_t)k < t->cap) {
			t->n += (size_t)k;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 256;
		while (cap < t->n + (size_t)k + 1)
			cap *= 2;
		char *s = realloc(t->s, cap);
		if (!s) {
			t->rc = ERR_NOMEM;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
}

int kckpt_epochs_write(const char *path, const struct kepoch_entry *e, size_t n, char *err, size_t errlen)
{
	if (n > KCKPT_MAX_ENTRIES)
		return err_set(err, errlen, ERR_INVAL, "%s: %zu entries, over the cap", path, n);
	for (size_t i = 0; i < n; i++)
		if (e[i].epoch < 0 || e[i].start_offset < 0 ||
		    (i && (e[i].epoch <= e[i - 1].epoch || e[i].start_offset < e[i - 1].start_offset)))
			return err_set(err, errlen, ERR_INVAL, "%s: entry %zu (%d %lld) out of order or negative",
				       path, i, e[i].epoch, (long long)e[i].start_offset);
	struct kckpt_txt t = { 0 };
	kckpt_printf(&t, "0\n%zu\n", n);
	for (size_t i = 0; i < n; i++)
		kckpt_printf(&t, "%d %lld\n", e[i].epoch, (long long)e[i].start_offset);
	int rc = t.rc ? err_set(err, errlen, t.rc, "%s: %s", path, err_str(t.rc))
		      : kckpt_replace(path, t.s, t.n, err, errlen);
	free(t.s);
	return rc;
}

int kckpt_offsets_write(const char *path, const struct kckpt_offset *o, size_t n, char *err, size_t errlen)
{
	if (n > KCKPT_MAX_ENTRIES)
		return err_set(err, errlen, ERR_INVAL, "%s: %zu entries, over the cap", path, n);
	for (size_t i = 0; i < n; i++)
		if (!kckpt_topic_ok(o[i].topic, strnlen(o[i].topic, sizeof(o[i].topic))) || o[i].partition < 0 ||
		    o[i].offset < 0)
			return err_set(err, errlen, ERR_INVAL, "%s: entry %zu (%.60s %d %lld) invalid", path, i,
				       o[i].topic, o[i].partition, (long long)o[i].offset);
	struct kckpt_txt t = { 0 };
	kckpt_printf(&t, "0\n%zu\n", n);
	for (size_t i = 0; i < n; i++)
		kckpt_printf(&t, "%s %d %lld\n", o[i].topic, o[i].partition, (long long)o[i].offset);
	int rc = t.rc ? err_set(err, errlen, t.rc, "%s: %s", path, err_str(t.rc))
		      : kckpt_replace(path, t.s, t.n, err, errlen);
	free(t.s);
	return rc;
}
