/*
 * jute — decoding requests and encoding replies of the ZooKeeper client protocol (jute.h).
 * Record layouts: zookeeper.jute (org.apache.zookeeper.proto). Encoding: int = 4 bytes and
 * long = 8 bytes big-endian, boolean = 1 byte, buffer/ustring = int length + bytes (-1 = null),
 * vector = int count + elements (-1 = null).
 */
#include "jute.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

struct jute_arena_block {
	struct jute_arena_block *next;
	size_t used, cap;
	uint8_t data[];
};

#define JUTE_BLOCK_SIZE 65536

void jute_arena_init(struct jute_arena *a, size_t max_bytes)
{
	a->head = NULL;
	a->total = 0;
	a->max = max_bytes;
}

/* Keeps the first block (the common case needs only one), frees the rest. */
void jute_arena_reset(struct jute_arena *a)
{
	struct jute_arena_block *b = a->head;
	if (!b)
		return;
	while (b->next) {
		struct jute_arena_block *n = b->next;
		b->next = n->next;
		a->total -= n->cap;
		free(n);
	}
	b->used = 0;
}

void jute_arena_free(struct jute_arena *a)
{
	while (a->head) {
		struct jute_arena_block *n = a->head->next;
		free(a->head);
		a->head = n;
	}
	a->total = 0;
}

/* Memory for n bytes, 8-aligned; NULL past the arena's maximum. */
static void *jute_arena_alloc(struct jute_arena *a, size_t n)
{
	struct jute_arena_block *b = a->head;
	if (b) {
		size_t at = (b->used + 7) & ~(size_t)7;
		if (at <= b->cap && n <= b->cap - at) {
			b->used = at + n;
			return b->data + at;
		}
	}
	size_t cap = n > JUTE_BLOCK_SIZE ? n : JUTE_BLOCK_SIZE;
	if (cap > a->max || a->total > a->max - cap)
		return NULL;
	struct jute_arena_block *nb = malloc(sizeof(*nb) + cap);
	if (!nb)
		return NULL;
	nb->cap = cap;
	nb->used = n;
	a->total += cap;
	/* the new block goes second if the first still has room for small things later */
	if (b && n > JUTE_BLOCK_SIZE / 2) {
		nb->next = b->next;
		b->next = nb;
	} else {
		nb->next = b;
		a->head = nb;
	}
	return nb->data;
}

/* ---- decoding ---- */

struct jute_dec {
	struct rbuf r;
	struct jute_arena *a;
	bool bad_string;
	int err;
};

static int jute_fail(struct jute_dec *d, int err)
{
	if (!d->err)
		d->err = err;
	if (!d->r.err)
		d->r.err = err;
	return d->err;
}

/* ustring: NUL-terminated copy in the arena; NULL for a null string. */
static const char *jute_string(struct jute_dec *d)
{
	const uint8_t *p;
	int32_t n;
	if (rbuf_bytes_i32(&d->r, d->r.len, &p, &n))
		return NULL;
	if (n < 0)
		return NULL;
	char *s = jute_arena_alloc(d->a, (size_t)n + 1);
	if (!s) {
		jute_fail(d, ERR_NOMEM);
		return NULL;
	}
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	if (memchr(p, 0, (size_t)n))
		d->bad_string = true;
	return s;
}

static int32_t jute_int(struct jute_dec *d)
{
	int32_t v;
	rbuf_i32(&d->r, &v);
	return v;
}

static int64_t jute_long(struct jute_dec *d)
{
	int64_t v;
	rbuf_i64(&d->r, &v);
	return v;
}

static bool jute_bool(struct jute_dec *d)
{
	bool v;
	rbuf_bool(&d->r, &v);
	return v;
}

static void jute_buffer(struct jute_dec *d, const uint8_t **p, int32_t *n)
{
	if (rbuf_bytes_i32(&d->r, d->r.len, p, n)) {
		*p = NULL;
		*n = -1;
	}
}

/* vector<ACL>: each at least 4 + 4 + 4 bytes. */
static void jute_acl_list(struct jute_dec *d, struct zk_acl **out, int32_t *n)
{
	int32_t count;
	*out = NULL;
	*n = 0;
	if (rbuf_count_i32(&d->r, JUTE_MAX_LIST, 12, &count) || count <= 0) {
		*n = count < 0 ? -1 : 0;
		return;
	}
	struct zk_acl *acl = jute_arena_alloc(d->a, (size_t)count * sizeof(*acl));
	if (!acl) {
		jute_fail(d, ERR_NOMEM);
		return;
	}
	for (int32_t i = 0; i < count && !d->r.err; i++) {
		acl[i].perms = jute_int(d);
		acl[i].scheme = jute_string(d);
		acl[i].id = jute_string(d);
		/* kazoo sends "" as a null string; ZooKeeper takes null ids (e.g. auth:) as given */
		if (!acl[i].scheme)
			acl[i].scheme = "";
		if (!acl[i].id)
			acl[i].id = "";
	}
	*out = acl;
	*n = count;
}

/* vector<ustring>: each at least 4 bytes. */
static void jute_string_list(struct jute_dec *d, const char ***out, int32_t *n)
{
	int32_t count;
	*out = NULL;
	*n = 0;
	if (rbuf_count_i32(&d->r, JUTE_MAX_LIST, 4, &count) || count <= 0)
		return;
	const char **v = jute_arena_alloc(d->a, (size_t)count * sizeof(*v));
	if (!v) {
		jute_fail(d, ERR_NOMEM);
		return;
	}
	for (int32_t i = 0; i < count && !d->r.err; i++) {
		v[i] = jute_string(d);
		if (!v[i] && !d->r.err)
			d->bad_string = true;
	}
	*out = v;
	*n = count;
}

/* A request's path: kept as sent (ZooKeeper validates the path of writes only, and answers a
 * null or NUL-holding one differently per op), so not a bad_string. */
static void jute_path(struct jute_dec *d, struct jute_req *q)
{
	bool bad = d->bad_string;
	const uint8_t *p;
	int32_t n;
	struct rbuf peek = d->r;
	q->path_len = -1;
	if (!rbuf_bytes_i32(&peek, peek.len, &p, &n) && n >= 0)
		q->path_len = n;
	q->path = jute_string(d);
	q->path_nul = q->path && strlen(q->path) != (size_t)q->path_len;
	d->bad_string = bad;
}

/* The body of one request of the given type (no header). 0, or ERR_PROTO for unknown types. */
static int jute_body(struct jute_dec *d, struct jute_req *q, bool in_multi);

static void jute_multi(struct jute_dec *d, struct jute_req *q)
{
	/* count ops first (each at least a 9-byte MultiHeader) to size the array */
	int32_t cap = 16;
	int32_t n = 0;
	struct jute_req *ops = jute_arena_alloc(d->a, (size_t)cap * sizeof(*ops));
	if (!ops) {
		jute_fail(d, ERR_NOMEM);
		return;
	}
	for (;;) {
		int32_t type = jute_int(d);
		bool done = jute_bool(d);
		(void)jute_int(d); /* err: unused in requests */
		if (d->r.err)
			return;
		if (done)
			break;
		if (n == JUTE_MAX_OPS) {
			jute_fail(d, ERR_TOOBIG);
			return;
		}
		if (n == cap) {
			struct jute_req *nops = jute_arena_alloc(d->a, (size_t)cap * 2 * sizeof(*ops));
			if (!nops) {
				jute_fail(d, ERR_NOMEM);
				return;
			}
			memcpy(nops, ops, (size_t)n * sizeof(*ops));
			ops = nops;
			cap *= 2;
		}
		struct jute_req *op = &ops[n++];
		memset(op, 0, sizeof(*op));
		op->xid = q->xid;
		op->type = type;
		op->data_len = -1;
		op->path_len = -1;
		if (jute_body(d, op, true)) {
			jute_fail(d, ERR_CORRUPT);
			return;
		}
	}
	q->ops = ops;
	q->n_ops = n;
}

static int jute_body(struct jute_dec *d, struct jute_req *q, bool in_multi)
{
	switch (q->type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
		jute_path(d, q);
		jute_buffer(d, &q->data, &q->data_len);
		jute_acl_list(d, &q->acl, &q->n_acl);
		q->flags = jute_int(d);
		if (q->type == ZK_OP_CREATETTL)
			q->ttl = jute_long(d);
		return 0;
	case ZK_OP_DELETE:
	case ZK_OP_CHECK:
		jute_path(d, q);
		q->version = jute_int(d);
		return 0;
	case ZK_OP_DELETECONTAINER:
	case ZK_OP_GETACL:
	case ZK_OP_SYNC:
	case ZK_OP_GETALLCHILDRENNUMBER:
	case ZK_OP_GETEPHEMERALS:
		jute_path(d, q);
		return 0;
	case ZK_OP_EXISTS:
	case ZK_OP_GETDATA:
	case ZK_OP_GETCHILDREN:
	case ZK_OP_GETCHILDREN2:
		jute_path(d, q);
		q->watch = jute_bool(d);
		return 0;
	case ZK_OP_SETDATA:
		jute_path(d, q);
		jute_buffer(d, &q->data, &q->data_len);
		q->version = jute_int(d);
		return 0;
	case ZK_OP_SETACL:
		jute_path(d, q);
		jute_acl_list(d, &q->acl, &q->n_acl);
		q->version = jute_int(d);
		return 0;
	default:
		break;
	}
	if (in_multi)
		return ERR_PROTO;
	switch (q->type) {
	case ZK_OP_PING:
	case ZK_OP_CLOSESESSION:
	case ZK_OP_WHOAMI:
		return 0;
	case ZK_OP_MULTI:
	case ZK_OP_MULTIREAD:
		jute_multi(d, q);
		return 0;
	case ZK_OP_ADDWATCH:
	case ZK_OP_REMOVEWATCHES:
	case ZK_OP_CHECKWATCHES:
		jute_path(d, q);
		q->mode = jute_int(d);
		return 0;
	case ZK_OP_AUTH:
		q->auth_type = jute_int(d);
		q->scheme = jute_string(d);
		jute_buffer(d, &q->auth, &q->auth_len);
		return 0;
	case ZK_OP_SETWATCHES:
	case ZK_OP_SETWATCHES2:
		q->relative_zxid = jute_long(d);
		for (int k = 0; k < (q->type == ZK_OP_SETWATCHES ? 3 : 5); k++)
			jute_string_list(d, &q->watches[k], &q->n_watches[k]);
		return 0;
	case ZK_OP_RECONFIG:
		for (int k = 0; k < 3; k++)
			q->reconfig[k] = jute_string(d);
		q->config_id = jute_long(d);
		return 0;
	case ZK_OP_SASL:
		jute_buffer(d, &q->auth, &q->auth_len);
		return 0;
	default:
		return ERR_PROTO;
	}
}

int jute_decode_request(const uint8_t *p, size_t len, struct jute_arena *a, struct jute_req *out)
{
	struct jute_dec d = { rbuf_make(p, len), a, false, 0 };
	memset(out, 0, sizeof(*out));
	out->data_len = -1;
	out->auth_len = -1;
	out->path_len = -1;
	int rc;
	out->xid = jute_int(&d);
	out->type = jute_int(&d);
	if (d.r.err)
		return d.r.err;
	rc = jute_body(&d, out, false);
	if (rc == ERR_PROTO)
		return ERR_PROTO;
	if (d.err)
		return d.err;
	if (d.r.err)
		return d.r.err;
	out->bad_string = d.bad_string;
	return 0;
}

int jute_decode_connect(const uint8_t *p, size_t len, struct jute_connect_req *out)
{
	struct rbuf r = rbuf_make(p, len);
	memset(out, 0, sizeof(*out));
	rbuf_i32(&r, &out->protocol_version);
	rbuf_i64(&r, &out->last_zxid_seen);
	rbuf_i32(&r, &out->timeout);
	rbuf_i64(&r, &out->session_id);
	rbuf_bytes_i32(&r, 4096, &out->passwd, &out->passwd_len);
	if (r.err)
		return r.err;
	if (rbuf_left(&r) >= 1) {
		out->has_read_only = true;
		rbuf_bool(&r, &out->read_only);
	}
	return 0;
}

/* ---- encoding ---- */

size_t jute_frame_begin(struct wbuf *w)
{
	size_t off = w->len;
	wbuf_i32(w, 0);
	return off;
}

void jute_frame_end(struct wbuf *w, size_t off)
{
	wbuf_put_i32_at(w, off, (int32_t)(w->len - off - 4));
}

void jute_put_reply_header(struct wbuf *w, int32_t xid, int64_t zxid, int32_t err)
{
	wbuf_i32(w, xid);
	wbuf_i64(w, zxid);
	wbuf_i32(w, err);
}

void jute_put_stat(struct wbuf *w, const struct zk_stat *st)
{
	wbuf_i64(w, st->czxid);
	wbuf_i64(w, st->mzxid);
	wbuf_i64(w, st->ctime);
	wbuf_i64(w, st->mtime);
	wbuf_i32(w, st->version);
	wbuf_i32(w, st->cversion);
	wbuf_i32(w, st->aversion);
	wbuf_i64(w, st->ephemeral_owner);
	wbuf_i32(w, st->data_length);
	wbuf_i32(w, st->num_children);
	wbuf_i64(w, st->pzxid);
}

void jute_put_acl_list(struct wbuf *w, const struct zk_acl *acl, int32_t n)
{
	wbuf_i32(w, n);
	for (int32_t i = 0; i < n; i++) {
		wbuf_i32(w, acl[i].perms);
		wbuf_str_i32(w, acl[i].scheme);
		wbuf_str_i32(w, acl[i].id);
	}
}

/* id with every ":" .. (newline or end) replaced by ":x": the length, or the bytes into w. */
static size_t jute_masked_id(const char *id, struct wbuf *w)
{
	size_t len = 0;
	for (const char *p = id; *p;) {
		if (*p != ':') {
			if (w)
				wbuf_raw(w, p, 1);
			len++;
			p++;
			continue;
		}
		if (w)
			wbuf_raw(w, ":x", 2);
		len += 2;
		while (*p && *p != '\n')
			p++;
	}
	return len;
}

void jute_put_acl_list_masked(struct wbuf *w, const struct zk_acl *acl, int32_t n)
{
	wbuf_i32(w, n);
	for (int32_t i = 0; i < n; i++) {
		wbuf_i32(w, acl[i].perms);
		wbuf_str_i32(w, acl[i].scheme);
		if (strcmp(acl[i].scheme, "digest")) {
			wbuf_str_i32(w, acl[i].id);
			continue;
		}
		wbuf_i32(w, (int32_t)jute_masked_id(acl[i].id, NULL));
		jute_masked_id(acl[i].id, w);
	}
}

void jute_put_string_list(struct wbuf *w, const char *const *v, int32_t n)
{
	wbuf_i32(w, n);
	for (int32_t i = 0; i < n; i++)
		wbuf_str_i32(w, v[i]);
}

void jute_put_connect_resp(struct wbuf *w, int32_t protocol_version, int32_t timeout, int64_t session_id,
			   const uint8_t passwd[ZK_PASSWD_LEN], bool read_only)
{
	wbuf_i32(w, protocol_version);
	wbuf_i32(w, timeout);
	wbuf_i64(w, session_id);
	wbuf_bytes_i32(w, passwd, ZK_PASSWD_LEN);
	wbuf_bool(w, read_only);
}

void jute_put_watcher_event(struct wbuf *w, int32_t type, int32_t state, const char *path)
{
	wbuf_i32(w, type);
	wbuf_i32(w, state);
	wbuf_str_i32(w, path);
}

void jute_put_multi_header(struct wbuf *w, int32_t type, bool done, int32_t err)
{
	wbuf_i32(w, type);
	wbuf_bool(w, done);
	wbuf_i32(w, err);
}

int jute_read_reply_header(const uint8_t *p, size_t len, struct jute_reply_header *out, size_t *used)
{
	struct rbuf r = rbuf_make(p, len);
	rbuf_i32(&r, &out->xid);
	rbuf_i64(&r, &out->zxid);
	rbuf_i32(&r, &out->err);
	if (used)
		*used = r.pos;
	return r.err;
}

int jute_read_stat(const uint8_t *p, size_t len, struct zk_stat *st)
{
	struct rbuf r = rbuf_make(p, len);
	rbuf_i64(&r, &st->czxid);
	rbuf_i64(&r, &st->mzxid);
	rbuf_i64(&r, &st->ctime);
	rbuf_i64(&r, &st->mtime);
	rbuf_i32(&r, &st->version);
	rbuf_i32(&r, &st->cversion);
	rbuf_i32(&r, &st->aversion);
	rbuf_i64(&r, &st->ephemeral_owner);
	rbuf_i32(&r, &st->data_length);
	rbuf_i32(&r, &st->num_children);
	rbuf_i64(&r, &st->pzxid);
	return r.err;
}
