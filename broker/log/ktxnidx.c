/*
 * ktxnidx — aborted transactions in memory and in Kafka's .txnindex files (see ktxnidx.h).
 * Invariant: x->e is sorted by last offset (ties by producer id), one entry per (producer,
 * last offset).
 */
#include "ktxnidx.h"

#include "buf.h"
#include "err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ktxnidx {
	struct ktxnidx_entry *e;
	size_t n, cap;
};

int ktxnidx_encode(struct wbuf *w, const struct ktxnidx_entry *e)
{
	wbuf_i16(w, KTXNIDX_VERSION);
	wbuf_i64(w, e->producer_id);
	wbuf_i64(w, e->first_offset);
	wbuf_i64(w, e->last_offset);
	wbuf_i64(w, e->lso);
	return w->err;
}

int ktxnidx_decode(const uint8_t *p, size_t len, struct ktxnidx_entry **out, size_t *n, char *eb, size_t el)
{
	*out = NULL;
	*n = 0;
	if (len > KTXNIDX_MAX_BYTES)
		return err_set(eb, el, ERR_TOOBIG, "txnindex of %zu bytes", len);
	if (len % KTXNIDX_ENTRY)
		return err_set(eb, el, ERR_CORRUPT, "txnindex of %zu bytes, not a multiple of %d", len, KTXNIDX_ENTRY);
	size_t cnt = len / KTXNIDX_ENTRY;
	if (cnt == 0)
		return 0;
	struct ktxnidx_entry *v = malloc(cnt * sizeof(*v));
	if (!v)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	struct rbuf r = rbuf_make(p, len);
	const char *bad = NULL;
	size_t i;
	for (i = 0; i < cnt && !bad; i++) {
		int16_t ver;
		struct ktxnidx_entry *e = &v[i];
		rbuf_i16(&r, &ver);
		rbuf_i64(&r, &e->producer_id);
		rbuf_i64(&r, &e->first_offset);
		rbuf_i64(&r, &e->last_offset);
		rbuf_i64(&r, &e->lso);
		if (ver != KTXNIDX_VERSION)
			bad = "version other than 0";
		else if (e->producer_id < 0 || e->first_offset < 0 || e->lso < 0)
			bad = "negative producer id or offset";
		else if (e->first_offset > e->last_offset)
			bad = "first offset above the last";
		else if (i > 0 && e->last_offset < v[i - 1].last_offset)
			bad = "entries not in marker order";
	}
	if (bad) {
		free(v);
		return err_set(eb, el, ERR_CORRUPT, "txnindex entry %zu: %s", i - 1, bad);
	}
	*out = v;
	*n = cnt;
	return 0;
}

struct ktxnidx *ktxnidx_new(void)
{
	return calloc(1, sizeof(struct ktxnidx));
}

void ktxnidx_free(struct ktxnidx *x)
{
	if (!x)
		return;
	free(x->e);
	free(x);
}

void ktxnidx_clear(struct ktxnidx *x)
{
	x->n = 0;
}

size_t ktxnidx_count(const struct ktxnidx *x)
{
	return x->n;
}

const struct ktxnidx_entry *ktxnidx_at(const struct ktxnidx *x, size_t i)
{
	return i < x->n ? &x->e[i] : NULL;
}

static bool ktxnidx_before(const struct ktxnidx_entry *a, const struct ktxnidx_entry *b)
{
	return a->last_offset < b->last_offset || (a->last_offset == b->last_offset && a->producer_id < b->producer_id);
}

int ktxnidx_add(struct ktxnidx *x, const struct ktxnidx_entry *e)
{
	size_t i = x->n;
	while (i > 0 && ktxnidx_before(e, &x->e[i - 1])) /* nearly always appended at the end */
		i--;
	if (i > 0 && x->e[i - 1].last_offset == e->last_offset && x->e[i - 1].producer_id == e->producer_id) {
		x->e[i - 1] = *e;
		return 0;
	}
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct ktxnidx_entry *v = realloc(x->e, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		x->e = v;
		x->cap = cap;
	}
	memmove(&x->e[i + 1], &x->e[i], (x->n - i) * sizeof(*x->e));
	x->e[i] = *e;
	x->n++;
	return 0;
}

void ktxnidx_truncate(struct ktxnidx *x, int64_t offset)
{
	while (x->n > 0 && x->e[x->n - 1].last_offset >= offset)
		x->n--;
}

void ktxnidx_trim(struct ktxnidx *x, int64_t offset)
{
	size_t i = 0;
	while (i < x->n && x->e[i].last_offset < offset)
		i++;
	if (i == 0)
		return; /* also an empty list, whose array may be NULL */
	memmove(x->e, x->e + i, (x->n - i) * sizeof(*x->e));
	x->n -= i;
}

size_t ktxnidx_collect(const struct ktxnidx *x, int64_t from, int64_t upto, struct ktxnidx_entry *out, size_t max)
{
	size_t lo = 0, hi = x->n, cnt = 0;
	while (lo < hi) { /* the first entry whose marker is at or after from */
		size_t mid = lo + (hi - lo) / 2;
		if (x->e[mid].last_offset < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < x->n; i++) {
		if (x->e[i].first_offset >= upto)
			continue; /* a later marker may still belong to a transaction begun earlier */
		if (out && cnt < max)
			out[cnt] = x->e[i];
		cnt++;
	}
	return cnt;
}

/* ---- files ---- */

int ktxnidx_path(char *buf, size_t len, const char *dir, int64_t base)
{
	int n = snprintf(buf, len, "%s/%020" PRId64 ".txnindex", dir, base);
	return n < 0 || (size_t)n >= len ? ERR_TOOBIG : 0;
}

static int ktxnidx_write_fd(int fd, const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_IO;
		off += (size_t)n;
	}
	return 0;
}

int ktxnidx_file_append(const char *dir, int64_t base, const struct ktxnidx_entry *e, char *eb, size_t el)
{
	char path[4200];
	uint8_t b[KTXNIDX_ENTRY];
	struct wbuf w;
	if (ktxnidx_path(path, sizeof(path), dir, base))
		return err_set(eb, el, ERR_TOOBIG, "%s: path too long", dir);
	wbuf_init(&w, KTXNIDX_ENTRY);
	ktxnidx_encode(&w, e);
	if (w.err || w.len != KTXNIDX_ENTRY) {
		wbuf_free(&w);
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	}
	memcpy(b, w.p, KTXNIDX_ENTRY);
	wbuf_free(&w);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(eb, el, ERR_IO, "%s: %s", path, strerror(errno));
	int rc = ktxnidx_write_fd(fd, b, sizeof(b));
	int saved = errno;
	close(fd);
	return rc ? err_set(eb, el, rc, "%s: %s", path, strerror(saved)) : 0;
}

int ktxnidx_file_read(struct ktxnidx *x, const char *dir, int64_t base, char *eb, size_t el)
{
	char path[4200];
	if (ktxnidx_path(path, sizeof(path), dir, base))
		return err_set(eb, el, ERR_TOOBIG, "%s: path too long", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : err_set(eb, el, ERR_IO, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > KTXNIDX_MAX_BYTES) {
		close(fd);
		return err_set(eb, el, ERR_TOOBIG, "%s: too large or unreadable", path);
	}
	size_t sz = (size_t)st.st_size, off = 0;
	uint8_t *p = malloc(sz ? sz : 1);
	if (!p) {
		close(fd);
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	}
	while (off < sz) {
		ssize_t n = pread(fd, p + off, sz - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	struct ktxnidx_entry *v;
	size_t n;
	char why[200];
	int rc = ktxnidx_decode(p, off, &v, &n, why, sizeof(why));
	free(p);
	if (rc)
		return err_set(eb, el, rc, "%s: %s", path, why);
	for (size_t i = 0; i < n && !rc; i++)
		rc = ktxnidx_add(x, &v[i]);
	free(v);
	return rc ? err_set(eb, el, rc, "out of memory") : 0;
}

/* The base of a file named <20 digits>.txnindex, or -1. */
static int64_t ktxnidx_name_base(const char *name)
{
	if (strlen(name) != 29 || strcmp(name + 20, ".txnindex") != 0)
		return -1;
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - (name[i] - '0')) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static bool ktxnidx_has(const int64_t *bases, size_t n, int64_t base)
{
	for (size_t i = 0; i < n; i++)
		if (bases[i] == base)
			return true;
	return false;
}

int ktxnidx_prune(const char *dir, const int64_t *bases, size_t n, char *eb, size_t el)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_set(eb, el, ERR_IO, "%s: %s", dir, strerror(errno));
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int64_t base = ktxnidx_name_base(de->d_name);
		if (base < 0 || ktxnidx_has(bases, n, base))
			continue;
		char path[4200];
		if (ktxnidx_path(path, sizeof(path), dir, base) == 0 && unlink(path) != 0 && errno != ENOENT)
			rc = err_set(eb, el, ERR_IO, "%s: %s", path, strerror(errno));
	}
	closedir(d);
	return rc;
}

int ktxnidx_write_all(const struct ktxnidx *x, const char *dir, const int64_t *bases, size_t n, char *eb,
		      size_t el)
{
	size_t j = 0;
	for (size_t s = 0; s < n; s++) {
		int64_t end = s + 1 < n ? bases[s + 1] : INT64_MAX;
		struct wbuf w;
		wbuf_init(&w, KTXNIDX_MAX_BYTES);
		while (j < x->n && x->e[j].last_offset < bases[s])
			j++; /* below the log start: not kept */
		for (; j < x->n && x->e[j].last_offset < end; j++)
			ktxnidx_encode(&w, &x->e[j]);
		char path[4200], tmp[4300];
		if (w.err || ktxnidx_path(path, sizeof(path), dir, bases[s])) {
			wbuf_free(&w);
			return err_set(eb, el, ERR_NOMEM, "%s: txnindex of %" PRId64 " not written", dir, bases[s]);
		}
		if (w.len == 0) { /* no aborted transaction here: no file, as Kafka */
			wbuf_free(&w);
			if (unlink(path) != 0 && errno != ENOENT)
				return err_set(eb, el, ERR_IO, "%s: %s", path, strerror(errno));
			continue;
		}
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int rc = fd < 0 ? ERR_IO : ktxnidx_write_fd(fd, w.p, w.len);
		int saved = errno;
		if (fd >= 0)
			close(fd);
		wbuf_free(&w);
		if (rc || rename(tmp, path) != 0) {
			if (!rc)
				saved = errno;
			unlink(tmp);
			return err_set(eb, el, ERR_IO, "%s: %s", path, strerror(saved));
		}
	}
	return ktxnidx_prune(dir, bases, n, eb, el);
}
