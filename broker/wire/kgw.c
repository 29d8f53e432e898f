/*
 * kgw — the consumer-group codecs (see kgw.h). Each message is described once, by a
 * kgw_<msg>_io function that walks its fields in schema order with a struct kgw_io that either
 * reads (decoding into the struct) or writes (encoding from it): the encoder and the decoder are
 * the same walk. A field absent in a version is skipped by both and set to its schema default
 * when decoding. Owns nothing between calls.
 */
#include "kgw.h"
#include "kwire.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

struct kgw_io {
	struct wbuf *w; /* encoding when set, else decoding from r */
	struct rbuf r;
	struct kgw_arena *a;
	int err;   /* sticky: ERR_NOMEM, ERR_PROTO (decoding), ERR_INVAL (encoding) */
	bool flex; /* a flexible version: compact strings, bytes and arrays, tagged fields */
};

/* The smallest encoding of a string / bytes / array (its length field). */
#define KGW_STR_MIN 2
#define KGW_BYTES_MIN 4
#define KGW_ARRAY_MIN 4

struct kgw_str kgw_s(const char *s)
{
	struct kgw_str k = { (const uint8_t *)s, s ? (int32_t)strlen(s) : -1 };
	return k;
}

bool kgw_eq(struct kgw_str a, const char *s)
{
	if (!s || a.len < 0)
		return !s && a.len < 0;
	size_t n = strlen(s);
	return (size_t)a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

void kgw_arena_free(struct kgw_arena *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	a->blocks = NULL;
	a->n = a->cap = 0;
	a->tags_skipped = 0;
}

static void *kgw_alloc(struct kgw_io *io, size_t n, size_t sz)
{
	struct kgw_arena *a = io->a;
	if (kwire_grow((void **)&a->blocks, &a->cap, a->n + 1, sizeof(void *)))
		goto nomem;
	void *p = calloc(n ? n : 1, sz);
	if (!p)
		goto nomem;
	a->blocks[a->n++] = p;
	return p;
nomem:
	if (!io->err)
		io->err = ERR_NOMEM;
	return NULL;
}

static bool kgw_ok(const struct kgw_io *io)
{
	return !io->err && (io->w ? !io->w->err : !io->r.err);
}

static void kgw_fail(struct kgw_io *io, int err)
{
	if (!io->err)
		io->err = err;
}

/* ---- fields; `on` says the field is in this version, `def` is its value when it is not ---- */

static void kgw_i8(struct kgw_io *io, int8_t *v, bool on, int8_t def)
{
	if (!on) {
		if (!io->w)
			*v = def;
		return;
	}
	if (io->w) {
		wbuf_u8(io->w, (uint8_t)*v);
	} else {
		uint8_t u;
		rbuf_u8(&io->r, &u);
		*v = (int8_t)u;
	}
}

static void kgw_bool(struct kgw_io *io, bool *v, bool on)
{
	if (!on) {
		if (!io->w)
			*v = false;
		return;
	}
	if (io->w)
		wbuf_bool(io->w, *v);
	else
		rbuf_bool(&io->r, v);
}

static void kgw_i16(struct kgw_io *io, int16_t *v, bool on, int16_t def)
{
	if (!on) {
		if (!io->w)
			*v = def;
		return;
	}
	if (io->w)
		wbuf_i16(io->w, *v);
	else
		rbuf_i16(&io->r, v);
}

static void kgw_i32(struct kgw_io *io, int32_t *v, bool on, int32_t def)
{
	if (!on) {
		if (!io->w)
			*v = def;
		return;
	}
	if (io->w)
		wbuf_i32(io->w, *v);
	else
		rbuf_i32(&io->r, v);
}

static void kgw_i64(struct kgw_io *io, int64_t *v, bool on, int64_t def)
{
	if (!on) {
		if (!io->w)
			*v = def;
		return;
	}
	if (io->w)
		wbuf_i64(io->w, *v);
	else
		rbuf_i64(&io->r, v);
}

/* A STRING (int16 length) or, with i32, BYTES; nullable says null is allowed. Absent fields
 * decode as def_null ? null : "". */
static void kgw_field_str(struct kgw_io *io, struct kgw_str *s, bool on, bool nullable, bool def_null, bool i32)
{
	if (!on) {
		if (!io->w) {
			s->p = def_null ? NULL : (const uint8_t *)"";
			s->len = def_null ? -1 : 0;
		}
		return;
	}
	if (io->w) {
		if ((s->len < 0 && !nullable) || (!i32 && s->len > INT16_MAX) || (s->len > 0 && !s->p) ||
		    (i32 && s->len > (int32_t)KGW_MAX_BYTES)) {
			kgw_fail(io, ERR_INVAL);
			return;
		}
		const void *p = s->len < 0 ? NULL : (s->p ? (const void *)s->p : "");
		int32_t n = s->len < 0 ? 0 : s->len;
		if (io->flex)
			wbuf_bytes_compact(io->w, p, n);
		else if (i32)
			wbuf_bytes_i32(io->w, p, n);
		else
			wbuf_bytes_i16(io->w, p, n);
		return;
	}
	size_t max = i32 ? KGW_MAX_BYTES : INT16_MAX;
	int rc = io->flex ? rbuf_bytes_compact(&io->r, max, &s->p, &s->len)
			  : i32 ? rbuf_bytes_i32(&io->r, max, &s->p, &s->len)
				: rbuf_bytes_i16(&io->r, max, &s->p, &s->len);
	if (rc == 0 && s->len < 0 && !nullable)
		kgw_fail(io, ERR_PROTO);
	if (rc == 0 && s->len == 0)
		s->p = (const uint8_t *)"";
}

static void kgw_str(struct kgw_io *io, struct kgw_str *s)
{
	kgw_field_str(io, s, true, false, false, false);
}

static void kgw_nstr(struct kgw_io *io, struct kgw_str *s, bool on)
{
	kgw_field_str(io, s, on, true, true, false);
}

static void kgw_bytes(struct kgw_io *io, struct kgw_str *s)
{
	kgw_field_str(io, s, true, false, false, true);
}

/* An array of *n elements of size sz at *v (n -1: null, only when nullable); each element is
 * walked by fn. min is the smallest encoding of one element in a non-flexible version; in a
 * flexible one (a COMPACT_ARRAY) every element takes at least one byte. */
typedef void (*kgw_elem_fn)(struct kgw_io *io, void *elem, int16_t ver);

static void kgw_array(struct kgw_io *io, void **v, int32_t *n, size_t sz, size_t min, bool nullable, kgw_elem_fn fn,
		      int16_t ver)
{
	if (io->w) {
		if ((*n < 0 && !nullable) || *n < -1 || *n > KGW_MAX_COUNT || (*n > 0 && !*v)) {
			kgw_fail(io, ERR_INVAL);
			return;
		}
		if (io->flex)
			wbuf_uvarint(io->w, (uint32_t)(*n + 1));
		else
			wbuf_i32(io->w, *n);
		for (int32_t i = 0; i < *n && kgw_ok(io); i++)
			fn(io, (char *)*v + (size_t)i * sz, ver);
		return;
	}
	*v = NULL;
	if (io->flex ? rbuf_count_compact(&io->r, KGW_MAX_COUNT, 1, n) : rbuf_count_i32(&io->r, KGW_MAX_COUNT, min, n))
		return;
	if (*n < 0) {
		if (!nullable)
			kgw_fail(io, ERR_PROTO);
		return;
	}
	if (*n == 0)
		return;
	*v = kgw_alloc(io, (size_t)*n, sz);
	for (int32_t i = 0; i < *n && kgw_ok(io); i++)
		fn(io, (char *)*v + (size_t)i * sz, ver);
}

/* The tagged fields that end every structure of a flexible version (nothing otherwise): none
 * are written; unknown ones are skipped when decoding, counted in the arena (none of these
 * messages defines a tagged field of its own). */
static void kgw_tags(struct kgw_io *io)
{
	if (!io->flex)
		return;
	if (io->w)
		wbuf_uvarint(io->w, 0);
	else
		rbuf_tags_skip(&io->r, &io->a->tags_skipped);
}

static void kgw_str_elem(struct kgw_io *io, void *e, int16_t ver)
{
	(void)ver;
	kgw_str(io, e);
}

static void kgw_i32_elem(struct kgw_io *io, void *e, int16_t ver)
{
	(void)ver;
	kgw_i32(io, e, true, 0);
}

/* ---- the messages ---- */

static void kgw_find_req_io(struct kgw_io *io, struct kgw_find_req *m, int16_t ver)
{
	kgw_str(io, &m->key);
	kgw_i8(io, &m->key_type, ver >= 1, KGW_COORD_GROUP);
}

static void kgw_find_resp_io(struct kgw_io *io, struct kgw_find_resp *m, int16_t ver)
{
	kgw_i32(io, &m->throttle_ms, ver >= 1, 0);
	kgw_i16(io, &m->error, true, 0);
	kgw_nstr(io, &m->error_message, ver >= 1);
	kgw_i32(io, &m->node_id, true, 0);
	kgw_str(io, &m->host);
	kgw_i32(io, &m->port, true, 0);
}

static void kgw_join_proto_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_join_proto *p = e;
	(void)ver;
	kgw_str(io, &p->name);
	kgw_bytes(io, &p->metadata);
}

static void kgw_join_req_io(struct kgw_io *io, struct kgw_join_req *m, int16_t ver)
{
	kgw_str(io, &m->group_id);
	kgw_i32(io, &m->session_timeout_ms, true, 0);
	kgw_i32(io, &m->rebalance_timeout_ms, ver >= 1, -1);
	kgw_str(io, &m->member_id);
	kgw_nstr(io, &m->group_instance_id, ver >= 5);
	kgw_str(io, &m->protocol_type);
	kgw_array(io, (void **)&m->protocols, &m->n_protocols, sizeof(*m->protocols), KGW_STR_MIN + KGW_BYTES_MIN,
		  false, kgw_join_proto_io, ver);
}

static void kgw_join_member_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_join_member *p = e;
	kgw_str(io, &p->member_id);
	kgw_nstr(io, &p->group_instance_id, ver >= 5);
	kgw_bytes(io, &p->metadata);
}

static void kgw_join_resp_io(struct kgw_io *io, struct kgw_join_resp *m, int16_t ver)
{
	kgw_i32(io, &m->throttle_ms, ver >= 2, 0);
	kgw_i16(io, &m->error, true, 0);
	kgw_i32(io, &m->generation_id, true, -1);
	kgw_str(io, &m->protocol_name);
	kgw_str(io, &m->leader);
	kgw_str(io, &m->member_id);
	kgw_array(io, (void **)&m->members, &m->n_members, sizeof(*m->members),
		  KGW_STR_MIN + KGW_BYTES_MIN + (ver >= 5 ? KGW_STR_MIN : 0), false, kgw_join_member_io, ver);
}

static void kgw_sync_assignment_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_sync_assignment *p = e;
	(void)ver;
	kgw_str(io, &p->member_id);
	kgw_bytes(io, &p->assignment);
}

static void kgw_sync_req_io(struct kgw_io *io, struct kgw_sync_req *m, int16_t ver)
{
	kgw_str(io, &m->group_id);
	kgw_i32(io, &m->generation_id, true, 0);
	kgw_str(io, &m->member_id);
	kgw_nstr(io, &m->group_instance_id, ver >= 3);
	kgw_array(io, (void **)&m->assignments, &m->n_assignments, sizeof(*m->assignments),
		  KGW_STR_MIN + KGW_BYTES_MIN, false, kgw_sync_assignment_io, ver);
}

static void kgw_sync_resp_io(struct kgw_io *io, struct kgw_sync_resp *m, int16_t ver)
{
	kgw_i32(io, &m->throttle_ms, ver >= 1, 0);
	kgw_i16(io, &m->error, true, 0);
	kgw_bytes(io, &m->assignment);
}

static void kgw_heartbeat_req_io(struct kgw_io *io, struct kgw_heartbeat_req *m, int16_t ver)
{
	kgw_str(io, &m->group_id);
	kgw_i32(io, &m->generation_id, true, 0);
	kgw_str(io, &m->member_id);
	kgw_nstr(io, &m->group_instance_id, ver >= 3);
}

static void kgw_heartbeat_resp_io(struct kgw_io *io, struct kgw_heartbeat_resp *m, int16_t ver)
{
	kgw_i32(io, &m->throttle_ms, ver >= 1, 0);
	kgw_i16(io, &m->error, true, 0);
}

static void kgw_leave_member_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_leave_member *p = e;
	kgw_str(io, &p->member_id);
	kgw_nstr(io, &p->group_instance_id, ver >= 3);
}

static void kgw_leave_req_io(struct kgw_io *io, struct kgw_leave_req *m, int16_t ver)
{
	kgw_str(io, &m->group_id);
	kgw_field_str(io, &m->member_id, ver <= 2, false, false, false);
	if (ver >= 3)
		kgw_array(io, (void **)&m->members, &m->n_members, sizeof(*m->members), 2 * KGW_STR_MIN, false,
			  kgw_leave_member_io, ver);
	else if (!io->w)
		m->n_members = 0;
}

static void kgw_leave_member_resp_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_leave_member_resp *p = e;
	kgw_str(io, &p->member_id);
	kgw_nstr(io, &p->group_instance_id, ver >= 3);
	kgw_i16(io, &p->error, true, 0);
}

static void kgw_leave_resp_io(struct kgw_io *io, struct kgw_leave_resp *m, int16_t ver)
{
	kgw_i32(io, &m->throttle_ms, ver >= 1, 0);
	kgw_i16(io, &m->error, true, 0);
	if (ver >= 3)
		kgw_array(io, (void **)&m->members, &m->n_members, sizeof(*m->members), 2 * KGW_STR_MIN + 2, false,
			  kgw_leave_member_resp_io, ver);
	else if (!io->w)
		m->n_members = 0;
}

static void kgw_commit_part_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_commit_part *p = e;
	kgw_i32(io, &p->partition, true, 0);
	kgw_i64(io, &p->offset, true, 0);
	kgw_i32(io, &p->leader_epoch, ver >= 6, -1);
	kgw_i64(io, &p->commit_timestamp, ver == 1, -1);
	kgw_nstr(io, &p->metadata, true);
	kgw_tags(io);
}

static void kgw_commit_topic_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_commit_topic *t = e;
	kgw_str(io, &t->name);
	kgw_array(io, (void **)&t->parts, &t->n_parts, sizeof(*t->parts), 4 + 8 + KGW_STR_MIN, false,
		  kgw_commit_part_io, ver);
	kgw_tags(io);
}

static void kgw_commit_req_io(struct kgw_io *io, struct kgw_commit_req *m, int16_t ver)
{
	io->flex = ver >= 8;
	kgw_str(io, &m->group_id);
	kgw_i32(io, &m->generation_id, ver >= 1, -1);
	kgw_field_str(io, &m->member_id, ver >= 1, false, false, false);
	kgw_nstr(io, &m->group_instance_id, ver >= 7);
	kgw_i64(io, &m->retention_time_ms, ver >= 2 && ver <= 4, -1);
	kgw_array(io, (void **)&m->topics, &m->n_topics, sizeof(*m->topics), KGW_STR_MIN + KGW_ARRAY_MIN, false,
		  kgw_commit_topic_io, ver);
	kgw_tags(io);
}

static void kgw_part_error_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_part_error *p = e;
	(void)ver;
	kgw_i32(io, &p->partition, true, 0);
	kgw_i16(io, &p->error, true, 0);
	kgw_tags(io);
}

static void kgw_topic_errors_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_topic_errors *t = e;
	kgw_str(io, &t->name);
	kgw_array(io, (void **)&t->parts, &t->n_parts, sizeof(*t->parts), 6, false, kgw_part_error_io, ver);
	kgw_tags(io);
}

static void kgw_commit_resp_io(struct kgw_io *io, struct kgw_commit_resp *m, int16_t ver)
{
	io->flex = ver >= 8;
	kgw_i32(io, &m->throttle_ms, ver >= 3, 0);
	kgw_array(io, (void **)&m->topics, &m->n_topics, sizeof(*m->topics), KGW_STR_MIN + KGW_ARRAY_MIN, false,
		  kgw_topic_errors_io, ver);
	kgw_tags(io);
}

static void kgw_fetch_topic_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_fetch_topic *t = e;
	kgw_str(io, &t->name);
	kgw_array(io, (void **)&t->parts, &t->n_parts, sizeof(*t->parts), 4, false, kgw_i32_elem, ver);
	kgw_tags(io);
}

static void kgw_ofetch_req_io(struct kgw_io *io, struct kgw_ofetch_req *m, int16_t ver)
{
	io->flex = ver >= 6;
	kgw_str(io, &m->group_id);
	kgw_array(io, (void **)&m->topics, &m->n_topics, sizeof(*m->topics), KGW_STR_MIN + KGW_ARRAY_MIN, ver >= 2,
		  kgw_fetch_topic_io, ver);
	kgw_bool(io, &m->require_stable, ver >= 7);
	kgw_tags(io);
}

static void kgw_ofetch_part_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_ofetch_part *p = e;
	kgw_i32(io, &p->partition, true, 0);
	kgw_i64(io, &p->offset, true, -1);
	kgw_i32(io, &p->leader_epoch, ver >= 5, -1);
	kgw_nstr(io, &p->metadata, true);
	kgw_i16(io, &p->error, true, 0);
	kgw_tags(io);
}

static void kgw_ofetch_topic_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_ofetch_topic *t = e;
	kgw_str(io, &t->name);
	kgw_array(io, (void **)&t->parts, &t->n_parts, sizeof(*t->parts), 4 + 8 + KGW_STR_MIN + 2, false,
		  kgw_ofetch_part_io, ver);
	kgw_tags(io);
}

static void kgw_ofetch_resp_io(struct kgw_io *io, struct kgw_ofetch_resp *m, int16_t ver)
{
	io->flex = ver >= 6;
	kgw_i32(io, &m->throttle_ms, ver >= 3, 0);
	kgw_array(io, (void **)&m->topics, &m->n_topics, sizeof(*m->topics), KGW_STR_MIN + KGW_ARRAY_MIN, false,
		  kgw_ofetch_topic_io, ver);
	kgw_i16(io, &m->error, ver >= 2, 0);
	kgw_tags(io);
}

static void kgw_listed_group_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_listed_group *g = e;
	(void)ver;
	kgw_str(io, &g->group_id);
	kgw_str(io, &g->protocol_type);
}

static void kgw_list_resp_io(struct kgw_io *io, struct kgw_list_resp *m, int16_t ver)
{
	kgw_i32(io, &m->throttle_ms, ver >= 1, 0);
	kgw_i16(io, &m->error, true, 0);
	kgw_array(io, (void **)&m->groups, &m->n_groups, sizeof(*m->groups), 2 * KGW_STR_MIN, false,
		  kgw_listed_group_io, ver);
}

static void kgw_describe_req_io(struct kgw_io *io, struct kgw_describe_req *m, int16_t ver)
{
	kgw_array(io, (void **)&m->groups, &m->n_groups, sizeof(*m->groups), KGW_STR_MIN, false, kgw_str_elem, ver);
	kgw_bool(io, &m->include_authorized_operations, ver >= 3);
}

static void kgw_described_member_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_described_member *p = e;
	kgw_str(io, &p->member_id);
	kgw_nstr(io, &p->group_instance_id, ver >= 4);
	kgw_str(io, &p->client_id);
	kgw_str(io, &p->client_host);
	kgw_bytes(io, &p->metadata);
	kgw_bytes(io, &p->assignment);
}

static void kgw_described_group_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_described_group *g = e;
	kgw_i16(io, &g->error, true, 0);
	kgw_str(io, &g->group_id);
	kgw_str(io, &g->state);
	kgw_str(io, &g->protocol_type);
	kgw_str(io, &g->protocol_data);
	kgw_array(io, (void **)&g->members, &g->n_members, sizeof(*g->members),
		  3 * KGW_STR_MIN + 2 * KGW_BYTES_MIN + (ver >= 4 ? KGW_STR_MIN : 0), false, kgw_described_member_io,
		  ver);
	kgw_i32(io, &g->authorized_operations, ver >= 3, INT32_MIN);
}

static void kgw_describe_resp_io(struct kgw_io *io, struct kgw_describe_resp *m, int16_t ver)
{
	kgw_i32(io, &m->throttle_ms, ver >= 1, 0);
	kgw_array(io, (void **)&m->groups, &m->n_groups, sizeof(*m->groups), 2 + 4 * KGW_STR_MIN + KGW_ARRAY_MIN,
		  false, kgw_described_group_io, ver);
}

static void kgw_delete_req_io(struct kgw_io *io, struct kgw_delete_req *m, int16_t ver)
{
	kgw_array(io, (void **)&m->groups, &m->n_groups, sizeof(*m->groups), KGW_STR_MIN, false, kgw_str_elem, ver);
}

static void kgw_delete_result_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_delete_result *r = e;
	(void)ver;
	kgw_str(io, &r->group_id);
	kgw_i16(io, &r->error, true, 0);
}

static void kgw_delete_resp_io(struct kgw_io *io, struct kgw_delete_resp *m, int16_t ver)
{
	kgw_i32(io, &m->throttle_ms, true, 0);
	kgw_array(io, (void **)&m->results, &m->n_results, sizeof(*m->results), KGW_STR_MIN + 2, false,
		  kgw_delete_result_io, ver);
}

static void kgw_odelete_topic_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_odelete_topic *t = e;
	kgw_str(io, &t->name);
	kgw_array(io, (void **)&t->parts, &t->n_parts, sizeof(*t->parts), 4, false, kgw_i32_elem, ver);
}

static void kgw_odelete_req_io(struct kgw_io *io, struct kgw_odelete_req *m, int16_t ver)
{
	kgw_str(io, &m->group_id);
	kgw_array(io, (void **)&m->topics, &m->n_topics, sizeof(*m->topics), KGW_STR_MIN + KGW_ARRAY_MIN, false,
		  kgw_odelete_topic_io, ver);
}

static void kgw_odelete_resp_io(struct kgw_io *io, struct kgw_odelete_resp *m, int16_t ver)
{
	kgw_i16(io, &m->error, true, 0);
	kgw_i32(io, &m->throttle_ms, true, 0);
	kgw_array(io, (void **)&m->topics, &m->n_topics, sizeof(*m->topics), KGW_STR_MIN + KGW_ARRAY_MIN, false,
		  kgw_topic_errors_io, ver);
}

/* Records carry their version; ver is unused and the version field is read first. */
static void kgw_key_io(struct kgw_io *io, struct kgw_key *m, int16_t ver)
{
	(void)ver;
	kgw_i16(io, &m->version, true, 0);
	if (!kgw_ok(io))
		return;
	if (m->version < 0 || m->version > 2) {
		kgw_fail(io, ERR_VERSION);
		return;
	}
	bool offset = m->version <= 1;
	kgw_str(io, &m->group);
	kgw_field_str(io, &m->topic, offset, false, false, false);
	kgw_i32(io, &m->partition, offset, -1);
}

static void kgw_offset_value_io(struct kgw_io *io, struct kgw_offset_value *m, int16_t ver)
{
	(void)ver;
	kgw_i16(io, &m->version, true, 0);
	if (!kgw_ok(io))
		return;
	if (m->version < 0 || m->version > 3) {
		kgw_fail(io, ERR_VERSION);
		return;
	}
	kgw_i64(io, &m->offset, true, 0);
	kgw_i32(io, &m->leader_epoch, m->version >= 3, -1);
	kgw_str(io, &m->metadata);
	kgw_i64(io, &m->commit_timestamp, true, 0);
	kgw_i64(io, &m->expire_timestamp, m->version == 1, -1);
}

static void kgw_group_member_io(struct kgw_io *io, void *e, int16_t ver)
{
	struct kgw_group_member *p = e;
	kgw_str(io, &p->member_id);
	kgw_nstr(io, &p->group_instance_id, ver >= 3);
	kgw_str(io, &p->client_id);
	kgw_str(io, &p->client_host);
	kgw_i32(io, &p->rebalance_timeout_ms, ver >= 1, -1);
	kgw_i32(io, &p->session_timeout_ms, true, 0);
	if (!io->w && ver < 1)
		p->rebalance_timeout_ms = p->session_timeout_ms;
	kgw_bytes(io, &p->subscription);
	kgw_bytes(io, &p->assignment);
}

static void kgw_group_value_io(struct kgw_io *io, struct kgw_group_value *m, int16_t ver)
{
	(void)ver;
	kgw_i16(io, &m->version, true, 0);
	if (!kgw_ok(io))
		return;
	if (m->version < 0 || m->version > 3) {
		kgw_fail(io, ERR_VERSION);
		return;
	}
	kgw_str(io, &m->protocol_type);
	kgw_i32(io, &m->generation, true, 0);
	kgw_nstr(io, &m->protocol, true);
	kgw_nstr(io, &m->leader, true);
	kgw_i64(io, &m->current_state_timestamp, m->version >= 2, -1);
	kgw_array(io, (void **)&m->members, &m->n_members, sizeof(*m->members),
		  3 * KGW_STR_MIN + 4 + 2 * KGW_BYTES_MIN, false, kgw_group_member_io, m->version);
}

static void kgw_subscription_io(struct kgw_io *io, struct kgw_subscription *m, int16_t ver)
{
	(void)ver;
	kgw_i16(io, &m->version, true, 0);
	if (!kgw_ok(io))
		return;
	if (m->version < 0) {
		kgw_fail(io, ERR_VERSION);
		return;
	}
	kgw_array(io, (void **)&m->topics, &m->n_topics, sizeof(*m->topics), KGW_STR_MIN, false, kgw_str_elem, 0);
	if (io->w) {
		struct kgw_str none = { NULL, -1 };
		kgw_field_str(io, &none, true, true, true, true); /* user data */
	} else {
		io->r.pos = io->r.len; /* later fields are not read */
	}
}

/* ---- the public functions ---- */

int16_t kgw_max_version(int16_t api)
{
	switch (api) {
	case KGW_API_OFFSET_COMMIT:
		return 8;
	case KGW_API_OFFSET_FETCH:
		return 7;
	case KGW_API_FIND_COORDINATOR:
		return 2;
	case KGW_API_JOIN_GROUP:
		return 5;
	case KGW_API_HEARTBEAT:
	case KGW_API_LEAVE_GROUP:
	case KGW_API_SYNC_GROUP:
		return 3;
	case KGW_API_DESCRIBE_GROUPS:
		return 4;
	case KGW_API_LIST_GROUPS:
		return 2;
	case KGW_API_DELETE_GROUPS:
		return 1;
	case KGW_API_OFFSET_DELETE:
		return 0;
	default:
		return -1;
	}
}

bool kgw_flexible(int16_t api, int16_t ver)
{
	switch (api) {
	case KGW_API_OFFSET_COMMIT:
		return ver >= 8;
	case KGW_API_OFFSET_FETCH:
		return ver >= 6;
	default:
		return false;
	}
}

static int kgw_decode_end(struct kgw_io *io, const char *what, size_t len, char *eb, size_t el)
{
	int rc = io->err ? io->err : io->r.err;
	if (!rc && io->r.pos != io->r.len)
		return err_set(eb, el, ERR_CORRUPT, "%s: %zu trailing bytes after byte %zu", what,
			       io->r.len - io->r.pos, io->r.pos);
	if (rc == ERR_VERSION)
		return err_set(eb, el, rc, "%s: unknown record version", what);
	if (rc)
		return kwire_fail(eb, el, rc, what, io->r.pos, len);
	return 0;
}

/* max: the highest version (-1: the message carries its own, ver ignored). */
#define KGW_DEFINE(M, what, max)                                                                         \
	int kgw_##M##_decode(const uint8_t *p, size_t len, int16_t ver, struct kgw_##M *out,             \
			     struct kgw_arena *a, char *eb, size_t el)                                   \
	{                                                                                                \
		memset(out, 0, sizeof(*out));                                                            \
		if ((max) >= 0 && (ver < 0 || ver > (max)))                                              \
			return err_set(eb, el, ERR_VERSION, "%s: version %d not implemented (0-%d)", what, \
				       ver, (max));                                                      \
		struct kgw_io io = { .w = NULL, .r = rbuf_make(p, len), .a = a, .err = 0, .flex = false };              \
		kgw_##M##_io(&io, out, ver);                                                             \
		return kgw_decode_end(&io, what, len, eb, el);                                           \
	}                                                                                                \
	int kgw_##M##_encode(struct wbuf *w, int16_t ver, const struct kgw_##M *in)                      \
	{                                                                                                \
		if ((max) >= 0 && (ver < 0 || ver > (max)))                                              \
			return ERR_VERSION;                                                              \
		struct kgw_##M copy = *in; /* the walk only reads it when encoding */                    \
		struct kgw_io io = { .w = w, .r = rbuf_make(NULL, 0), .a = NULL, .err = 0, .flex = false };             \
		kgw_##M##_io(&io, &copy, ver);                                                           \
		return io.err ? io.err : w->err;                                                         \
	}

KGW_DEFINE(find_req, "FindCoordinator request", 2)
KGW_DEFINE(find_resp, "FindCoordinator response", 2)
KGW_DEFINE(join_req, "JoinGroup request", 5)
KGW_DEFINE(join_resp, "JoinGroup response", 5)
KGW_DEFINE(sync_req, "SyncGroup request", 3)
KGW_DEFINE(sync_resp, "SyncGroup response", 3)
KGW_DEFINE(heartbeat_req, "Heartbeat request", 3)
KGW_DEFINE(heartbeat_resp, "Heartbeat response", 3)
KGW_DEFINE(leave_req, "LeaveGroup request", 3)
KGW_DEFINE(leave_resp, "LeaveGroup response", 3)
KGW_DEFINE(commit_req, "OffsetCommit request", 8)
KGW_DEFINE(commit_resp, "OffsetCommit response", 8)
KGW_DEFINE(ofetch_req, "OffsetFetch request", 7)
KGW_DEFINE(ofetch_resp, "OffsetFetch response", 7)
KGW_DEFINE(list_resp, "ListGroups response", 2)
KGW_DEFINE(describe_req, "DescribeGroups request", 4)
KGW_DEFINE(describe_resp, "DescribeGroups response", 4)
KGW_DEFINE(delete_req, "DeleteGroups request", 1)
KGW_DEFINE(delete_resp, "DeleteGroups response", 1)
KGW_DEFINE(odelete_req, "OffsetDelete request", 0)
KGW_DEFINE(odelete_resp, "OffsetDelete response", 0)
KGW_DEFINE(key, "__consumer_offsets key", -1)
KGW_DEFINE(offset_value, "offset commit value", -1)
KGW_DEFINE(group_value, "group metadata value", -1)
KGW_DEFINE(subscription, "consumer subscription", -1)
