/*
 * kpstate — a partition's producer state (see kpstate.h for the rules and the file format).
 *
 * The map is an array of entries sorted by producer id (binary search): a partition has few
 * producers, a new one is rare next to its appends, and snapshots come out in a stable order.
 * Invariant: ids strictly increase along the array; every entry has 0..KPSTATE_BATCHES batches,
 * oldest first, all of the entry's epoch.
 */
#include "kpstate.h"

#include "buf.h"
#include "crc32c.h"
#include "err.h"
#include "kbatch.h"
#include "klog.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct kpstate {
	struct kpstate_entry *e;
	size_t n, cap;
	kpstate_txn_cb txn_cb;
	void *txn_arg;
	size_t n_open; /* entries with txn_first_offset >= 0: most partitions have none, and then
			* kpstate_first_unstable (every fetch's LSO) needs no scan */
};

void kpstate_set_txn_cb(struct kpstate *s, kpstate_txn_cb cb, void *arg)
{
	s->txn_cb = cb;
	s->txn_arg = arg;
}

int64_t kpstate_first_unstable(const struct kpstate *s)
{
	int64_t first = -1;
	if (s->n_open == 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) /* only while a transaction is open: a scan */
		if (s->e[i].txn_first_offset >= 0 && (first < 0 || s->e[i].txn_first_offset < first))
			first = s->e[i].txn_first_offset;
	return first;
}

int64_t kpstate_lso(const struct kpstate *s, int64_t hw)
{
	int64_t first = kpstate_first_unstable(s);
	return first >= 0 && first < hw ? first : hw;
}

struct kpstate *kpstate_new(void)
{
	return calloc(1, sizeof(struct kpstate));
}

void kpstate_free(struct kpstate *s)
{
	if (!s)
		return;
	free(s->e);
	free(s);
}

void kpstate_clear(struct kpstate *s)
{
	s->n = 0;
	s->n_open = 0;
}

size_t kpstate_count(const struct kpstate *s)
{
	return s->n;
}

/* Index of producer_id, or where it would go (*found false). */
static size_t kpstate_find(const struct kpstate *s, int64_t producer_id, bool *found)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->e[mid].producer_id < producer_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->n && s->e[lo].producer_id == producer_id;
	return lo;
}

int kpstate_get(const struct kpstate *s, int64_t producer_id, struct kpstate_entry *e)
{
	bool found;
	size_t i = kpstate_find(s, producer_id, &found);
	if (!found)
		return ERR_NOTFOUND;
	*e = s->e[i];
	return 0;
}

/* Inserts a fresh entry for producer_id at i (from kpstate_find); NULL on ERR_NOMEM/ERR_FULL. */
static struct kpstate_entry *kpstate_insert(struct kpstate *s, size_t i, int64_t producer_id, int *rc)
{
	if (s->n >= KPSTATE_MAX_PRODUCERS) {
		*rc = ERR_FULL;
		return NULL;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct kpstate_entry *e = realloc(s->e, cap * sizeof(*e));
		if (!e) {
			*rc = ERR_NOMEM;
			return NULL;
		}
		s->e = e;
		s->cap = cap;
	}
	memmove(&s->e[i + 1], &s->e[i], (s->n - i) * sizeof(*s->e));
	s->n++;
	struct kpstate_entry *en = &s->e[i];
	memset(en, 0, sizeof(*en));
	en->producer_id = producer_id;
	en->epoch = KPSTATE_NO_EPOCH;
	en->coordinator_epoch = -1;
	en->txn_first_offset = -1;
	en->last_timestamp = -1;
	return en;
}

/* Kafka's DefaultRecordBatch.incrementSequence: base + delta, wrapping past INT32_MAX to 0. */
static int32_t kpstate_seq_add(int32_t base, int32_t delta)
{
	if (base > INT32_MAX - delta)
		return delta - (INT32_MAX - base) - 1;
	return base + delta;
}

/* decrementSequence: last - delta, wrapping below 0 to INT32_MAX. */
static int32_t kpstate_seq_sub(int32_t last, int32_t delta)
{
	if (last < delta)
		return INT32_MAX - (delta - last) + 1;
	return last - delta;
}

int32_t kpstate_last_seq(int32_t base_seq, int32_t records_count)
{
	if (records_count < 1) /* kbatch_validate refuses such a batch; keep the arithmetic defined */
		records_count = 1;
	if (base_seq < 0)
		return base_seq;
	return kpstate_seq_add(base_seq, records_count - 1);
}

enum kpstate_verdict kpstate_check(const struct kpstate *s, int64_t producer_id, int16_t epoch,
				   int32_t base_seq, int32_t records_count, struct kpstate_batch *dup)
{
	bool found;
	size_t i = kpstate_find(s, producer_id, &found);
	if (!found)
		return KPSTATE_OK; /* rule 5 (KIP-360) */
	const struct kpstate_entry *en = &s->e[i];
	int32_t last = kpstate_last_seq(base_seq, records_count);
	/* rule 1: findDuplicateBatch looks only within the same epoch */
	if (epoch == en->epoch) {
		for (int b = 0; b < en->n_batches; b++) {
			if (en->batches[b].first_seq == base_seq && en->batches[b].last_seq == last) {
				if (dup)
					*dup = en->batches[b];
				return KPSTATE_DUPLICATE;
			}
		}
	}
	if (epoch < en->epoch)
		return KPSTATE_INVALID_EPOCH; /* rule 2 */
	if (epoch != en->epoch) /* rule 3: a bump starts again at 0 */
		return base_seq == 0 || en->epoch == KPSTATE_NO_EPOCH ? KPSTATE_OK : KPSTATE_OUT_OF_ORDER;
	/* rule 4 */
	int32_t cur = en->n_batches ? en->batches[en->n_batches - 1].last_seq : KPSTATE_NO_SEQUENCE;
	bool in_seq = (int64_t)base_seq == (int64_t)cur + 1 || (base_seq == 0 && cur == INT32_MAX);
	return in_seq ? KPSTATE_OK : KPSTATE_OUT_OF_ORDER;
}

/* Adds a batch to en (Kafka's ProducerStateEntry.addBatch). */
static void kpstate_entry_add(struct kpstate_entry *en, int16_t epoch, const struct kpstate_batch *b)
{
	if (epoch != en->epoch) {
		en->epoch = epoch;
		en->n_batches = 0;
	}
	if (en->n_batches == KPSTATE_BATCHES) {
		memmove(&en->batches[0], &en->batches[1], (KPSTATE_BATCHES - 1) * sizeof(en->batches[0]));
		en->n_batches--;
	}
	en->batches[en->n_batches++] = *b;
	en->last_timestamp = b->timestamp;
}

int kpstate_update(struct kpstate *s, int64_t producer_id, int16_t epoch, int32_t base_seq,
		   int64_t base_offset, int32_t last_offset_delta, int64_t max_timestamp)
{
	if (producer_id < 0)
		return 0;
	if (last_offset_delta < 0)
		last_offset_delta = 0;
	bool found;
	int rc = 0;
	size_t i = kpstate_find(s, producer_id, &found);
	struct kpstate_entry *en = found ? &s->e[i] : kpstate_insert(s, i, producer_id, &rc);
	if (!en)
		return rc;
	struct kpstate_batch b = {
		.first_seq = base_seq,
		.last_seq = base_seq < 0 ? base_seq : kpstate_seq_add(base_seq, last_offset_delta),
		.first_offset = base_offset,
		.last_offset = base_offset + last_offset_delta,
		.timestamp = max_timestamp,
	};
	kpstate_entry_add(en, epoch, &b);
	return 0;
}

enum kpstate_verdict kpstate_check_marker(const struct kpstate *s, int64_t producer_id, int16_t epoch,
					  int32_t coordinator_epoch)
{
	bool found;
	size_t i = kpstate_find(s, producer_id, &found);
	if (!found)
		return KPSTATE_OK;
	if (epoch < s->e[i].epoch)
		return KPSTATE_INVALID_EPOCH;
	if (coordinator_epoch < s->e[i].coordinator_epoch)
		return KPSTATE_COORDINATOR_FENCED;
	return KPSTATE_OK;
}

int kpstate_end_txn(struct kpstate *s, int64_t producer_id, int16_t epoch, int32_t coordinator_epoch, bool commit,
		    int64_t offset, int64_t timestamp, struct kpstate_txn *t)
{
	if (producer_id < 0)
		return 0;
	bool found;
	int rc = 0;
	size_t i = kpstate_find(s, producer_id, &found);
	struct kpstate_entry *en = found ? &s->e[i] : kpstate_insert(s, i, producer_id, &rc);
	if (!en)
		return rc;
	if (epoch != en->epoch) { /* Kafka's maybeUpdateProducerEpoch */
		en->epoch = epoch;
		en->n_batches = 0;
	}
	struct kpstate_txn done = {
		.producer_id = producer_id,
		.first_offset = en->txn_first_offset >= 0 ? en->txn_first_offset : offset,
		.last_offset = offset,
		.aborted = !commit,
	};
	if (en->txn_first_offset >= 0)
		s->n_open--;
	en->txn_first_offset = -1;
	en->coordinator_epoch = coordinator_epoch;
	if (timestamp > en->last_timestamp)
		en->last_timestamp = timestamp;
	int64_t first = kpstate_first_unstable(s);
	done.lso = first >= 0 ? first : offset + 1;
	if (t)
		*t = done;
	if (s->txn_cb)
		s->txn_cb(s->txn_arg, &done);
	return 0;
}

struct kpstate_walk {
	struct kpstate *s;
	int64_t from; /* batches ending below it are skipped (kpstate_load) */
	int64_t next; /* the offset after the last batch seen */
};

static int kpstate_walk_cb(const uint8_t *b, size_t blen, void *arg)
{
	struct kpstate_walk *w = arg;
	struct kbatch_hdr h;
	if (kbatch_parse_hdr(b, blen, &h) != 0)
		return ERR_CORRUPT;
	int64_t last = h.base_offset + (h.last_offset_delta < 0 ? 0 : h.last_offset_delta);
	if (last + 1 > w->next)
		w->next = last + 1;
	if (last < w->from || h.producer_id < 0)
		return 0;
	if (h.attributes & KBATCH_CONTROL) {
		int16_t type;
		int32_t coord_epoch;
		/* a control batch that is no readable marker (a compressed one, another type) is skipped */
		if (kbatch_control_marker(b, blen, &type, &coord_epoch) ||
		    (type != KBATCH_MARKER_ABORT && type != KBATCH_MARKER_COMMIT))
			return 0;
		return kpstate_end_txn(w->s, h.producer_id, h.producer_epoch, coord_epoch, type == KBATCH_MARKER_COMMIT,
				       h.base_offset, h.max_timestamp, NULL);
	}
	int rc = kpstate_update(w->s, h.producer_id, h.producer_epoch, h.base_sequence, h.base_offset,
				h.last_offset_delta, h.max_timestamp);
	if (rc || !(h.attributes & KBATCH_TRANSACTIONAL))
		return rc;
	bool found;
	size_t i = kpstate_find(w->s, h.producer_id, &found);
	if (found && w->s->e[i].txn_first_offset < 0) { /* the transaction's first batch here */
		w->s->e[i].txn_first_offset = h.base_offset;
		w->s->n_open++;
	}
	return 0;
}

int kpstate_update_batches(struct kpstate *s, const uint8_t *p, size_t len, char *eb, size_t el)
{
	struct kpstate_walk w = {.s = s, .from = INT64_MIN, .next = 0};
	return kbatch_foreach(p, len, kpstate_walk_cb, &w, eb, el);
}

size_t kpstate_expire(struct kpstate *s, int64_t now_ms, int64_t expiration_ms)
{
	size_t j = 0, gone = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct kpstate_entry *en = &s->e[i];
		if (en->txn_first_offset < 0 && now_ms - en->last_timestamp >= expiration_ms) {
			gone++;
			continue;
		}
		s->e[j++] = s->e[i];
	}
	s->n = j;
	return gone;
}

int kpstate_snapshot_encode(const struct kpstate *s, struct wbuf *w)
{
	size_t start = w->len;
	wbuf_i16(w, KPSTATE_SNAPSHOT_VERSION);
	wbuf_u32(w, 0); /* the CRC, filled in below */
	wbuf_i32(w, (int32_t)s->n);
	for (size_t i = 0; i < s->n; i++) {
		const struct kpstate_entry *en = &s->e[i];
		const struct kpstate_batch *b = en->n_batches ? &en->batches[en->n_batches - 1] : NULL;
		wbuf_i64(w, en->producer_id);
		wbuf_i16(w, en->epoch);
		wbuf_i32(w, b ? b->last_seq : KPSTATE_NO_SEQUENCE);
		wbuf_i64(w, b ? b->last_offset : -1);
		wbuf_i32(w, b ? (int32_t)(b->last_offset - b->first_offset) : 0);
		wbuf_i64(w, en->last_timestamp);
		wbuf_i32(w, en->coordinator_epoch);
		wbuf_i64(w, en->txn_first_offset);
	}
	if (w->err)
		return w->err;
	uint32_t crc = crc32c(0, w->p + start + 6, w->len - start - 6);
	be32_put(w->p + start + 2, crc);
	return 0;
}

int kpstate_snapshot_decode(struct kpstate *s, const uint8_t *p, size_t len, int64_t now_ms,
			    int64_t expiration_ms, char *eb, size_t el)
{
	kpstate_clear(s);
	if (len > KPSTATE_SNAPSHOT_MAX_BYTES)
		return err_set(eb, el, ERR_TOOBIG, "snapshot of %zu bytes", len);
	struct rbuf r = rbuf_make(p, len);
	int16_t version;
	uint32_t crc;
	int32_t count;
	if (rbuf_i16(&r, &version) || rbuf_u32(&r, &crc) || rbuf_i32(&r, &count))
		return err_set(eb, el, ERR_CORRUPT, "snapshot header truncated (%zu bytes)", len);
	if (version != KPSTATE_SNAPSHOT_VERSION)
		return err_set(eb, el, ERR_CORRUPT, "snapshot version %d (only 1 is known)", version);
	if (count < 0 || count > KPSTATE_MAX_PRODUCERS ||
	    len != KPSTATE_SNAPSHOT_HDR + (size_t)count * KPSTATE_SNAPSHOT_ENTRY)
		return err_set(eb, el, ERR_CORRUPT, "snapshot of %zu bytes with %" PRId32 " entries", len,
			       count);
	uint32_t got = crc32c(0, p + 6, len - 6);
	if (got != crc)
		return err_set(eb, el, ERR_CORRUPT, "snapshot CRC %08" PRIx32 ", computed %08" PRIx32, crc,
			       got);
	int64_t prev = -1;
	for (int32_t i = 0; i < count; i++) {
		int64_t pid, last_offset, ts, txn_first;
		int16_t epoch;
		int32_t last_seq, delta, coord_epoch;
		rbuf_i64(&r, &pid);
		rbuf_i16(&r, &epoch);
		rbuf_i32(&r, &last_seq);
		rbuf_i64(&r, &last_offset);
		rbuf_i32(&r, &delta);
		rbuf_i64(&r, &ts);
		rbuf_i32(&r, &coord_epoch);
		rbuf_i64(&r, &txn_first);
		const char *bad = NULL;
		if (pid < 0)
			bad = "producer id below 0";
		else if (pid <= prev)
			bad = "producer ids not increasing"; /* samsa writes them sorted */
		else if (last_seq < KPSTATE_NO_SEQUENCE)
			bad = "sequence below -1";
		else if (delta < 0 || (last_offset >= 0 && delta > last_offset))
			bad = "offset delta out of range";
		else if (txn_first < -1)
			bad = "transaction first offset below -1";
		if (bad) {
			kpstate_clear(s);
			return err_set(eb, el, ERR_CORRUPT, "snapshot entry %" PRId32 ": %s", i, bad);
		}
		prev = pid;
		if (expiration_ms > 0 && txn_first < 0 && now_ms - ts >= expiration_ms)
			continue;
		int rc = 0;
		struct kpstate_entry *en = kpstate_insert(s, s->n, pid, &rc);
		if (!en) {
			kpstate_clear(s);
			return err_set(eb, el, rc, "snapshot entry %" PRId32 ": %s", i, err_str(rc));
		}
		en->epoch = epoch;
		en->coordinator_epoch = coord_epoch;
		en->txn_first_offset = txn_first;
		if (txn_first >= 0)
			s->n_open++;
		en->last_timestamp = ts;
		if (last_offset >= 0 && last_seq >= 0) {
			en->n_batches = 1;
			en->batches[0] = (struct kpstate_batch){
				.first_seq = kpstate_seq_sub(last_seq, delta),
				.last_seq = last_seq,
				.first_offset = last_offset - delta,
				.last_offset = last_offset,
				.timestamp = ts,
			};
		}
	}
	return 0;
}

int kpstate_snapshot_path(char *buf, size_t len, const char *dir, int64_t offset)
{
	int n = snprintf(buf, len, "%s/%020" PRId64 ".snapshot", dir, offset);
	return n < 0 || (size_t)n >= len ? ERR_TOOBIG : 0;
}

/* The offset of a file named <20 digits>.snapshot, or -1. */
static int64_t kpstate_name_offset(const char *name)
{
	if (strlen(name) != 29 || strcmp(name + 20, ".snapshot") != 0)
		return -1;
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		if (v > (INT64_MAX - (name[i] - '0')) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static int kpstate_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	int rc = fsync(fd) == 0 ? 0 : ERR_IO;
	close(fd);
	return rc;
}

int kpstate_snapshot_write(const struct kpstate *s, const char *dir, int64_t offset, char *eb, size_t el)
{
	char path[4096], tmp[4200];
	if (kpstate_snapshot_path(path, sizeof(path), dir, offset))
		return err_set(eb, el, ERR_TOOBIG, "%s: path too long", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	struct wbuf w;
	wbuf_init(&w, KPSTATE_SNAPSHOT_MAX_BYTES);
	int rc = kpstate_snapshot_encode(s, &w);
	if (rc) {
		wbuf_free(&w);
		return err_set(eb, el, rc, "%s: %s", path, err_str(rc));
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		wbuf_free(&w);
		return err_set(eb, el, ERR_IO, "%s: %s", tmp, strerror(errno));
	}
	size_t off = 0;
	while (off < w.len) {
		ssize_t n = write(fd, w.p + off, w.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	int saved = errno;
	bool ok = off == w.len && fsync(fd) == 0;
	if (!ok && off == w.len)
		saved = errno;
	close(fd);
	wbuf_free(&w);
	if (!ok || rename(tmp, path) != 0) {
		if (ok)
			saved = errno;
		unlink(tmp);
		return err_set(eb, el, ERR_IO, "%s: %s", path, strerror(saved));
	}
	if (kpstate_fsync_dir(dir))
		return err_set(eb, el, ERR_IO, "%s: fsync: %s", dir, strerror(errno));
	return 0;
}

/* Offsets of dir's snapshot files, malloc'd, sorted ascending; ERR_IO/ERR_NOMEM. */
static int kpstate_list(const char *dir, int64_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return ERR_IO;
	int64_t *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int64_t off = kpstate_name_offset(de->d_name);
		if (off < 0)
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 8;
			int64_t *nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				free(v);
				closedir(d);
				return ERR_NOMEM;
			}
			v = nv;
			cap = nc;
		}
		v[cnt++] = off;
	}
	closedir(d);
	for (size_t i = 1; i < cnt; i++) /* insertion sort: a handful of files */
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	*n = cnt;
	return 0;
}

int kpstate_snapshot_prune(const char *dir, int64_t min_offset, int64_t max_offset, char *eb, size_t el)
{
	int64_t *v;
	size_t n;
	int rc = kpstate_list(dir, &v, &n);
	if (rc)
		return err_set(eb, el, rc, "%s: cannot list snapshots", dir);
	for (size_t i = 0; i < n; i++) {
		if (v[i] <= max_offset && (min_offset <= 0 || v[i] >= min_offset))
			continue;
		char path[4096];
		if (kpstate_snapshot_path(path, sizeof(path), dir, v[i]) == 0 && unlink(path) != 0 &&
		    errno != ENOENT)
			rc = err_set(eb, el, ERR_IO, "%s: %s", path, strerror(errno));
	}
	free(v);
	return rc;
}

/* Reads a whole snapshot file; ERR_IO, ERR_TOOBIG, ERR_NOMEM. */
static int kpstate_read_file(const char *path, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return ERR_IO;
	}
	if ((uint64_t)st.st_size > KPSTATE_SNAPSHOT_MAX_BYTES) {
		close(fd);
		return ERR_TOOBIG;
	}
	size_t sz = (size_t)st.st_size;
	uint8_t *p = malloc(sz ? sz : 1);
	if (!p) {
		close(fd);
		return ERR_NOMEM;
	}
	size_t off = 0;
	while (off < sz) {
		ssize_t n = pread(fd, p + off, sz - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	*out = p;
	*len = off; /* a file that shrank meanwhile reads short and fails its checks */
	return 0;
}

/* Replays l's batches from offset from to the log end into s. */
static int kpstate_replay(struct kpstate *s, struct klog *l, int64_t from, char *eb, size_t el)
{
	int64_t end = klog_end_offset(l);
	struct kpstate_walk w = {.s = s, .from = from, .next = from};
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = 0;
	while (w.next < end) {
		struct klog_slice sl;
		int64_t at = w.next;
		rc = klog_read(l, at, 1u << 20, end, &sl, eb, el);
		if (rc)
			break;
		if (sl.len == 0)
			break;
		if (sl.len > cap) {
			uint8_t *nb = realloc(buf, sl.len);
			if (!nb) {
				close(sl.fd);
				rc = ERR_NOMEM;
				break;
			}
			buf = nb;
			cap = sl.len;
		}
		size_t got = 0;
		while (got < sl.len) {
			ssize_t n = pread(sl.fd, buf + got, sl.len - got, sl.pos + (off_t)got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		close(sl.fd);
		if (got < sl.len) {
			rc = err_set(eb, el, ERR_IO, "%s: short read at offset %" PRId64, klog_dir(l), at);
			break;
		}
		rc = kbatch_foreach(buf, got, kpstate_walk_cb, &w, eb, el);
		if (rc)
			break;
		if (w.next <= at) { /* no progress: a log that disagrees with its own framing */
			rc = err_set(eb, el, ERR_CORRUPT, "%s: no batch at offset %" PRId64, klog_dir(l), at);
			break;
		}
	}
	free(buf);
	return rc;
}

int kpstate_rebuild(struct kpstate *s, struct klog *l, int64_t now_ms, int64_t expiration_ms, char *eb, size_t el)
{
	kpstate_clear(s);
	int rc = kpstate_replay(s, l, klog_start_offset(l), eb, el);
	if (rc) {
		kpstate_clear(s);
		return rc;
	}
	if (expiration_ms > 0)
		kpstate_expire(s, now_ms, expiration_ms);
	return 0;
}

int kpstate_load(struct kpstate *s, struct klog *l, int64_t now_ms, int64_t expiration_ms,
		 int64_t *snap_offset, char *eb, size_t el)
{
	const char *dir = klog_dir(l);
	int64_t start = klog_start_offset(l), end = klog_end_offset(l);
	int64_t used = -1;
	int64_t *v = NULL;
	size_t n = 0;
	kpstate_clear(s);
	int rc = kpstate_list(dir, &v, &n);
	if (rc == ERR_NOMEM)
		return err_set(eb, el, rc, "%s: listing snapshots", dir);
	for (size_t i = n; i-- > 0 && used < 0;) {
		if (v[i] > end || v[i] < start)
			continue;
		char path[4096], why[256] = "";
		if (kpstate_snapshot_path(path, sizeof(path), dir, v[i]))
			continue;
		uint8_t *p;
		size_t len;
		rc = kpstate_read_file(path, &p, &len);
		if (rc == 0) {
			rc = kpstate_snapshot_decode(s, p, len, now_ms, expiration_ms, why, sizeof(why));
			free(p);
		} else {
			snprintf(why, sizeof(why), "%s", err_str(rc));
		}
		if (rc == ERR_NOMEM) {
			free(v);
			return err_set(eb, el, rc, "%s: %s", path, why);
		}
		if (rc) {
			/* Kafka's loadFromSnapshot: a corrupt snapshot is deleted and the next older tried */
			log_warn("kpstate", "%s: %s; deleted, rebuilding from older state and the log", path,
				 why);
			unlink(path);
			kpstate_clear(s);
			continue;
		}
		used = v[i];
	}
	free(v);
	rc = kpstate_replay(s, l, used >= 0 ? used : start, eb, el);
	if (rc) {
		kpstate_clear(s);
		return rc;
	}
	if (expiration_ms > 0)
		kpstate_expire(s, now_ms, expiration_ms);
	if (snap_offset)
		*snap_offset = used;
	return 0;
}
