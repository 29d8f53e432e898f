/*
 * kctl_msg — frames of proto/controller.proto <-> struct kctl_msg (see kctl_msg.h for the wire
 * format and the caps). This file owns the conversion both ways, the checks that make the two
 * directions agree (kctl_msg_check), and the memory budget under which protobuf-c unpacks a body:
 * protobuf-c records every field it scans and allocates once per sub-message, so without a
 * budget a 16 MiB body of empty sub-messages would cost gigabytes. The budget allocator refuses
 * an allocation past KCTL_BUDGET(len) live bytes, which makes the unpack fail cleanly.
 */
#include "kctl_msg.h"

#include "buf.h"
#include "controller.pb-c.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* Live bytes protobuf-c may hold while unpacking a body of len bytes (at most 256 MiB for the
 * largest frame): room for what our encoder produces (about 10x for typical partition states,
 * 18x for the smallest honest one: topic "t", partition 0, replicas and ISR [0]), refusing bodies
 * of empty or tiny fields whose in-memory form is 30 or more times their size. */
#define KCTL_BUDGET(len) (((size_t)64 << 10) + 32 * (size_t)(len))

/* A decoded message's storage (kctl_msg.priv). */
struct kctl_store {
	ProtobufCAllocator alloc; /* the budget allocator; pb was unpacked with it */
	size_t used;		  /* live bytes, headers included */
	size_t budget;
	ProtobufCMessage *pb;
	void *arrays; /* the converted arrays, one allocation */
};

/* Each budgeted block starts with its size, so that free can give it back. */
struct kctl_blk {
	size_t size;
	max_align_t align[];
};

static void *kctl_budget_alloc(void *data, size_t size)
{
	struct kctl_store *s = data;
	size_t total = sizeof(struct kctl_blk) + size;
	if (size > s->budget || s->used + total > s->budget)
		return NULL;
	struct kctl_blk *b = malloc(total);
	if (!b)
		return NULL;
	b->size = total;
	s->used += total;
	return b->align;
}

static void kctl_budget_free(void *data, void *p)
{
	struct kctl_store *s = data;
	if (!p)
		return;
	struct kctl_blk *b = (struct kctl_blk *)((char *)p - offsetof(struct kctl_blk, align));
	s->used -= b->size;
	free(b);
}

static const char *const kctl_type_names[KCTL_TYPE_MAX + 1] = {
	[KCTL_LEADER_AND_ISR] = "LeaderAndIsr",
	[KCTL_LEADER_AND_ISR_RESP] = "LeaderAndIsrResponse",
	[KCTL_UPDATE_METADATA] = "UpdateMetadata",
	[KCTL_UPDATE_METADATA_RESP] = "UpdateMetadataResponse",
	[KCTL_STOP_REPLICA] = "StopReplica",
	[KCTL_STOP_REPLICA_RESP] = "StopReplicaResponse",
	[KCTL_HEARTBEAT] = "Heartbeat",
	[KCTL_HEARTBEAT_RESP] = "HeartbeatResponse",
};

const char *kctl_type_name(int type)
{
	if (type < 1 || type > KCTL_TYPE_MAX)
		return "unknown";
	return kctl_type_names[type];
}

/* ---- the checks both directions share ---------------------------------------------------- */

static bool kctl_name_ok(const char *s, bool nonempty)
{
	if (!s)
		return !nonempty;
	size_t n = strnlen(s, KCTL_MAX_NAME + 1);
	return n <= KCTL_MAX_NAME && (n > 0 || !nonempty);
}

/* 0 if m is within every cap and rule of kctl_msg.h, else -1 with the reason in eb. */
static int kctl_msg_check(const struct kctl_msg *m, char *eb, size_t el)
{
	if (m->type < 1 || m->type > KCTL_TYPE_MAX)
		return err_set(eb, el, -1, "message type %d unknown", (int)m->type);
	if (m->version == 0)
		return err_set(eb, el, -1, "%s without a version", kctl_type_name(m->type));
	if (m->n_parts > KCTL_MAX_PARTITIONS || m->n_stops > KCTL_MAX_PARTITIONS ||
	    m->n_errors > KCTL_MAX_PARTITIONS || m->n_leaders > KCTL_MAX_BROKERS || m->n_brokers > KCTL_MAX_BROKERS)
		return err_set(eb, el, -1, "%s: a count over its cap", kctl_type_name(m->type));
	for (size_t i = 0; i < m->n_parts; i++) {
		const struct kctl_part *p = &m->parts[i];
		if (!kctl_name_ok(p->topic, true) || p->partition < 0)
			return err_set(eb, el, -1, "%s: partition state %zu: bad topic or partition",
				       kctl_type_name(m->type), i);
		if (p->n_isr > KCTL_MAX_REPLICAS || p->n_replicas > KCTL_MAX_REPLICAS ||
		    p->n_offline > KCTL_MAX_REPLICAS)
			return err_set(eb, el, -1, "%s: partition %s-%d: more than %u replicas",
				       kctl_type_name(m->type), p->topic, p->partition, KCTL_MAX_REPLICAS);
	}
	for (size_t i = 0; i < m->n_leaders; i++)
		if (!kctl_name_ok(m->leaders[i].host, false))
			return err_set(eb, el, -1, "%s: live leader %zu: host too long", kctl_type_name(m->type), i);
	for (size_t i = 0; i < m->n_brokers; i++)
		if (!kctl_name_ok(m->brokers[i].host, false) || !kctl_name_ok(m->brokers[i].rack, false))
			return err_set(eb, el, -1, "%s: live broker %zu: host or rack too long",
				       kctl_type_name(m->type), i);
	for (size_t i = 0; i < m->n_stops; i++)
		if (!kctl_name_ok(m->stops[i].topic, true) || m->stops[i].partition < 0)
			return err_set(eb, el, -1, "%s: partition %zu: bad topic or partition", kctl_type_name(m->type), i);
	for (size_t i = 0; i < m->n_errors; i++)
		if (!kctl_name_ok(m->errors[i].topic, true) || m->errors[i].partition < 0)
			return err_set(eb, el, -1, "%s: partition error %zu: bad topic or partition",
				       kctl_type_name(m->type), i);
	return 0;
}

/* ---- encoding ------------------------------------------------------------------------------ */

/* The protobuf structures of one message being encoded; every array is freed after the pack. */
struct kctl_enc {
	Samsa__Controller__RequestHeader rq;
	Samsa__Controller__ResponseHeader rs;
	Samsa__Controller__PartitionState *ps;
	Samsa__Controller__PartitionState **psp;
	Samsa__Controller__Endpoint *ep;
	Samsa__Controller__Endpoint **epp;
	Samsa__Controller__LiveBroker *lb;
	Samsa__Controller__LiveBroker **lbp;
	Samsa__Controller__StopReplicaPartition *sp;
	Samsa__Controller__StopReplicaPartition **spp;
	Samsa__Controller__PartitionError *pe;
	Samsa__Controller__PartitionError **pep;
};

static void kctl_enc_free(struct kctl_enc *e)
{
	free(e->ps);
	free(e->psp);
	free(e->ep);
	free(e->epp);
	free(e->lb);
	free(e->lbp);
	free(e->sp);
	free(e->spp);
	free(e->pe);
	free(e->pep);
}

/* protobuf-c wants non-const char * for strings it only reads when packing. */
static char *kctl_str(const char *s)
{
	return s ? (char *)(uintptr_t)s : (char *)"";
}

static int32_t *kctl_ints(const int32_t *p)
{
	return (int32_t *)(uintptr_t)p;
}

/* Allocates n structs and n pointers to them (nothing for n == 0). */
static int kctl_enc_arrays(size_t n, size_t size, void **arr, void ***ptrs)
{
	if (!n)
		return 0;
	*arr = calloc(n, size);
	*ptrs = calloc(n, sizeof(void *));
	if (!*arr || !*ptrs)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		(*ptrs)[i] = (char *)*arr + i * size;
	return 0;
}

static int kctl_enc_parts(struct kctl_enc *e, const struct kctl_msg *m)
{
	if (kctl_enc_arrays(m->n_parts, sizeof(*e->ps), (void **)&e->ps, (void ***)&e->psp))
		return ERR_NOMEM;
	for (size_t i = 0; i < m->n_parts; i++) {
		const struct kctl_part *p = &m->parts[i];
		Samsa__Controller__PartitionState *s = &e->ps[i];
		samsa__controller__partition_state__init(s);
		s->topic = kctl_str(p->topic);
		s->partition = p->partition;
		s->controller_epoch = p->controller_epoch;
		s->leader = p->leader;
		s->leader_epoch = p->leader_epoch;
		s->n_isr = p->n_isr;
		s->isr = kctl_ints(p->isr);
		s->zk_version = p->zk_version;
		s->n_replicas = p->n_replicas;
		s->replicas = kctl_ints(p->replicas);
		s->is_new = p->is_new;
		s->n_offline_replicas = p->n_offline;
		s->offline_replicas = kctl_ints(p->offline);
	}
	return 0;
}

static int kctl_enc_errors(struct kctl_enc *e, const struct kctl_msg *m)
{
	if (kctl_enc_arrays(m->n_errors, sizeof(*e->pe), (void **)&e->pe, (void ***)&e->pep))
		return ERR_NOMEM;
	for (size_t i = 0; i < m->n_errors; i++) {
		samsa__controller__partition_error__init(&e->pe[i]);
		e->pe[i].topic = kctl_str(m->errors[i].topic);
		e->pe[i].partition = m->errors[i].partition;
		e->pe[i].error_code = m->errors[i].error_code;
	}
	return 0;
}

/* Fills the protobuf message of m's type into *u (a union big enough for any) and returns it. */
union kctl_any {
	Samsa__Controller__LeaderAndIsr lai;
	Samsa__Controller__LeaderAndIsrResponse lair;
	Samsa__Controller__UpdateMetadata um;
	Samsa__Controller__UpdateMetadataResponse umr;
	Samsa__Controller__StopReplica sr;
	Samsa__Controller__StopReplicaResponse srr;
	Samsa__Controller__Heartbeat hb;
	Samsa__Controller__HeartbeatResponse hbr;
};

static int kctl_enc_build(struct kctl_enc *e, const struct kctl_msg *m, union kctl_any *u, ProtobufCMessage **out)
{
	samsa__controller__request_header__init(&e->rq);
	e->rq.version = m->version;
	e->rq.correlation_id = m->correlation_id;
	e->rq.controller_id = m->controller_id;
	e->rq.controller_epoch = m->controller_epoch;
	e->rq.broker_epoch = m->broker_epoch;
	samsa__controller__response_header__init(&e->rs);
	e->rs.version = m->version;
	e->rs.correlation_id = m->correlation_id;
	e->rs.error_code = m->error_code;

	switch (m->type) {
	case KCTL_LEADER_AND_ISR:
		samsa__controller__leader_and_isr__init(&u->lai);
		u->lai.header = &e->rq;
		if (kctl_enc_parts(e, m) ||
		    kctl_enc_arrays(m->n_leaders, sizeof(*e->ep), (void **)&e->ep, (void ***)&e->epp))
			return ERR_NOMEM;
		for (size_t i = 0; i < m->n_leaders; i++) {
			samsa__controller__endpoint__init(&e->ep[i]);
			e->ep[i].id = m->leaders[i].id;
			e->ep[i].host = kctl_str(m->leaders[i].host);
			e->ep[i].port = m->leaders[i].port;
		}
		u->lai.n_partitions = m->n_parts;
		u->lai.partitions = e->psp;
		u->lai.n_live_leaders = m->n_leaders;
		u->lai.live_leaders = e->epp;
		*out = &u->lai.base;
		return 0;
	case KCTL_LEADER_AND_ISR_RESP:
		samsa__controller__leader_and_isr_response__init(&u->lair);
		u->lair.header = &e->rs;
		if (kctl_enc_errors(e, m))
			return ERR_NOMEM;
		u->lair.n_partitions = m->n_errors;
		u->lair.partitions = e->pep;
		*out = &u->lair.base;
		return 0;
	case KCTL_UPDATE_METADATA:
		samsa__controller__update_metadata__init(&u->um);
		u->um.header = &e->rq;
		if (kctl_enc_parts(e, m) ||
		    kctl_enc_arrays(m->n_brokers, sizeof(*e->lb), (void **)&e->lb, (void ***)&e->lbp))
			return ERR_NOMEM;
		for (size_t i = 0; i < m->n_brokers; i++) {
			samsa__controller__live_broker__init(&e->lb[i]);
			e->lb[i].id = m->brokers[i].id;
			e->lb[i].host = kctl_str(m->brokers[i].host);
			e->lb[i].port = m->brokers[i].port;
			e->lb[i].rack = kctl_str(m->brokers[i].rack);
			e->lb[i].control_port = m->brokers[i].control_port;
		}
		u->um.n_live_brokers = m->n_brokers;
		u->um.live_brokers = e->lbp;
		u->um.n_partitions = m->n_parts;
		u->um.partitions = e->psp;
		*out = &u->um.base;
		return 0;
	case KCTL_UPDATE_METADATA_RESP:
		samsa__controller__update_metadata_response__init(&u->umr);
		u->umr.header = &e->rs;
		*out = &u->umr.base;
		return 0;
	case KCTL_STOP_REPLICA:
		samsa__controller__stop_replica__init(&u->sr);
		u->sr.header = &e->rq;
		if (kctl_enc_arrays(m->n_stops, sizeof(*e->sp), (void **)&e->sp, (void ***)&e->spp))
			return ERR_NOMEM;
		for (size_t i = 0; i < m->n_stops; i++) {
			samsa__controller__stop_replica_partition__init(&e->sp[i]);
			e->sp[i].topic = kctl_str(m->stops[i].topic);
			e->sp[i].partition = m->stops[i].partition;
		}
		u->sr.delete_partitions = m->delete_partitions;
		u->sr.n_partitions = m->n_stops;
		u->sr.partitions = e->spp;
		*out = &u->sr.base;
		return 0;
	case KCTL_STOP_REPLICA_RESP:
		samsa__controller__stop_replica_response__init(&u->srr);
		u->srr.header = &e->rs;
		if (kctl_enc_errors(e, m))
			return ERR_NOMEM;
		u->srr.n_partitions = m->n_errors;
		u->srr.partitions = e->pep;
		*out = &u->srr.base;
		return 0;
	case KCTL_HEARTBEAT:
		samsa__controller__heartbeat__init(&u->hb);
		u->hb.header = &e->rq;
		*out = &u->hb.base;
		return 0;
	case KCTL_HEARTBEAT_RESP:
		samsa__controller__heartbeat_response__init(&u->hbr);
		u->hbr.header = &e->rs;
		u->hbr.broker_id = m->broker_id;
		u->hbr.broker_epoch = m->broker_epoch;
		u->hbr.controller_epoch = m->controller_epoch;
		*out = &u->hbr.base;
		return 0;
	}
	return ERR_INVAL;
}

int kctl_msg_encode(const struct kctl_msg *m, struct wbuf *out)
{
	struct kctl_enc e;
	union kctl_any u;
	ProtobufCMessage *pb = NULL;
	int rc;

	if (out->err)
		return out->err;
	if (kctl_msg_check(m, NULL, 0))
		return ERR_INVAL;
	memset(&e, 0, sizeof(e));
	rc = kctl_enc_build(&e, m, &u, &pb);
	if (rc)
		goto out;
	size_t body = protobuf_c_message_get_packed_size(pb);
	if (body + 1 > KCTL_MAX_FRAME) {
		rc = ERR_TOOBIG;
		goto out;
	}
	uint8_t *dst = wbuf_reserve(out, 5 + body);
	if (!dst) {
		rc = out->err ? out->err : ERR_NOMEM;
		goto out;
	}
	be32_put(dst, (uint32_t)(body + 1));
	dst[4] = (uint8_t)m->type;
	if (protobuf_c_message_pack(pb, dst + 5) != body) {
		rc = ERR_INVAL; /* cannot happen: the size was computed from the same message */
		goto out;
	}
	out->len += 5 + body;
out:
	kctl_enc_free(&e);
	return rc;
}

/* ---- decoding ------------------------------------------------------------------------------ */

static const ProtobufCMessageDescriptor *const kctl_descs[KCTL_TYPE_MAX + 1] = {
	[KCTL_LEADER_AND_ISR] = &samsa__controller__leader_and_isr__descriptor,
	[KCTL_LEADER_AND_ISR_RESP] = &samsa__controller__leader_and_isr_response__descriptor,
	[KCTL_UPDATE_METADATA] = &samsa__controller__update_metadata__descriptor,
	[KCTL_UPDATE_METADATA_RESP] = &samsa__controller__update_metadata_response__descriptor,
	[KCTL_STOP_REPLICA] = &samsa__controller__stop_replica__descriptor,
	[KCTL_STOP_REPLICA_RESP] = &samsa__controller__stop_replica_response__descriptor,
	[KCTL_HEARTBEAT] = &samsa__controller__heartbeat__descriptor,
	[KCTL_HEARTBEAT_RESP] = &samsa__controller__heartbeat_response__descriptor,
};

static void kctl_store_free(struct kctl_store *s)
{
	if (!s)
		return;
	if (s->pb)
		protobuf_c_message_free_unpacked(s->pb, &s->alloc);
	free(s->arrays);
	free(s);
}

static void kctl_dec_rq(struct kctl_msg *m, const Samsa__Controller__RequestHeader *h)
{
	m->version = h->version;
	m->correlation_id = h->correlation_id;
	m->controller_id = h->controller_id;
	m->controller_epoch = h->controller_epoch;
	m->broker_epoch = h->broker_epoch;
}

static void kctl_dec_rs(struct kctl_msg *m, const Samsa__Controller__ResponseHeader *h)
{
	m->version = h->version;
	m->correlation_id = h->correlation_id;
	m->error_code = h->error_code;
}

/* The converted arrays of one message in one allocation: counts already capped. */
static int kctl_dec_alloc(struct kctl_store *s, size_t n_parts, size_t n_ep, size_t n_lb, size_t n_tp,
			  size_t n_err, struct kctl_part **parts, struct kctl_endpoint **ep, struct kctl_broker **lb,
			  struct kctl_tp **tp, struct kctl_part_err **pe)
{
	size_t a = n_parts * sizeof(**parts), b = n_ep * sizeof(**ep), c = n_lb * sizeof(**lb);
	size_t d = n_tp * sizeof(**tp), f = n_err * sizeof(**pe);
	char *p = calloc(1, a + b + c + d + f + 1);
	if (!p)
		return ERR_NOMEM;
	s->arrays = p;
	*parts = (struct kctl_part *)p;
	*ep = (struct kctl_endpoint *)(p + a);
	*lb = (struct kctl_broker *)(p + a + b);
	*tp = (struct kctl_tp *)(p + a + b + c);
	*pe = (struct kctl_part_err *)(p + a + b + c + d);
	return 0;
}

static void kctl_dec_parts(struct kctl_part *out, Samsa__Controller__PartitionState *const *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const Samsa__Controller__PartitionState *s = in[i];
		out[i].topic = s->topic;
		out[i].partition = s->partition;
		out[i].controller_epoch = s->controller_epoch;
		out[i].leader = s->leader;
		out[i].leader_epoch = s->leader_epoch;
		out[i].zk_version = s->zk_version;
		out[i].isr = s->isr;
		out[i].n_isr = s->n_isr;
		out[i].replicas = s->replicas;
		out[i].n_replicas = s->n_replicas;
		out[i].offline = s->offline_replicas;
		out[i].n_offline = s->n_offline_replicas;
		out[i].is_new = s->is_new;
	}
}

static void kctl_dec_errors(struct kctl_part_err *out, Samsa__Controller__PartitionError *const *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[i].topic = in[i]->topic;
		out[i].partition = in[i]->partition;
		out[i].error_code = in[i]->error_code;
	}
}

/* Converts s->pb (of type t) into m; counts are checked against the caps before allocation. */
static int kctl_dec_convert(struct kctl_store *s, enum kctl_type t, struct kctl_msg *m, char *eb, size_t el)
{
	struct kctl_part *parts;
	struct kctl_endpoint *ep;
	struct kctl_broker *lb;
	struct kctl_tp *tp;
	struct kctl_part_err *pe;
	size_t np = 0, ne = 0, nl = 0, nt = 0, nr = 0;
	const Samsa__Controller__RequestHeader *rq = NULL;
	const Samsa__Controller__ResponseHeader *rs = NULL;

	switch (t) {
	case KCTL_LEADER_AND_ISR: {
		const Samsa__Controller__LeaderAndIsr *x = (const void *)s->pb;
		rq = x->header;
		np = x->n_partitions;
		ne = x->n_live_leaders;
		break;
	}
	case KCTL_LEADER_AND_ISR_RESP: {
		const Samsa__Controller__LeaderAndIsrResponse *x = (const void *)s->pb;
		rs = x->header;
		nr = x->n_partitions;
		break;
	}
	case KCTL_UPDATE_METADATA: {
		const Samsa__Controller__UpdateMetadata *x = (const void *)s->pb;
		rq = x->header;
		np = x->n_partitions;
		nl = x->n_live_brokers;
		break;
	}
	case KCTL_UPDATE_METADATA_RESP:
		rs = ((const Samsa__Controller__UpdateMetadataResponse *)(const void *)s->pb)->header;
		break;
	case KCTL_STOP_REPLICA: {
		const Samsa__Controller__StopReplica *x = (const void *)s->pb;
		rq = x->header;
		nt = x->n_partitions;
		break;
	}
	case KCTL_STOP_REPLICA_RESP: {
		const Samsa__Controller__StopReplicaResponse *x = (const void *)s->pb;
		rs = x->header;
		nr = x->n_partitions;
		break;
	}
	case KCTL_HEARTBEAT:
		rq = ((const Samsa__Controller__Heartbeat *)(const void *)s->pb)->header;
		break;
	case KCTL_HEARTBEAT_RESP:
		rs = ((const Samsa__Controller__HeartbeatResponse *)(const void *)s->pb)->header;
		break;
	}
	if (!rq && !rs)
		return err_set(eb, el, ERR_CORRUPT, "%s without a header", kctl_type_name(t));
	if (np > KCTL_MAX_PARTITIONS || nt > KCTL_MAX_PARTITIONS || nr > KCTL_MAX_PARTITIONS ||
	    ne > KCTL_MAX_BROKERS || nl > KCTL_MAX_BROKERS)
		return err_set(eb, el, ERR_CORRUPT, "%s: a count over its cap", kctl_type_name(t));
	if (kctl_dec_alloc(s, np, ne, nl, nt, nr, &parts, &ep, &lb, &tp, &pe))
		return err_set(eb, el, ERR_NOMEM, "out of memory");

	m->type = t;
	if (rq)
		kctl_dec_rq(m, rq);
	else
		kctl_dec_rs(m, rs);
	switch (t) {
	case KCTL_LEADER_AND_ISR: {
		const Samsa__Controller__LeaderAndIsr *x = (const void *)s->pb;
		kctl_dec_parts(parts, x->partitions, np);
		for (size_t i = 0; i < ne; i++) {
			ep[i].id = x->live_leaders[i]->id;
			ep[i].host = x->live_leaders[i]->host;
			ep[i].port = x->live_leaders[i]->port;
		}
		m->parts = parts;
		m->n_parts = np;
		m->leaders = ep;
		m->n_leaders = ne;
		break;
	}
	case KCTL_UPDATE_METADATA: {
		const Samsa__Controller__UpdateMetadata *x = (const void *)s->pb;
		kctl_dec_parts(parts, x->partitions, np);
		for (size_t i = 0; i < nl; i++) {
			lb[i].id = x->live_brokers[i]->id;
			lb[i].host = x->live_brokers[i]->host;
			lb[i].port = x->live_brokers[i]->port;
			lb[i].rack = x->live_brokers[i]->rack;
			lb[i].control_port = x->live_brokers[i]->control_port;
		}
		m->parts = parts;
		m->n_parts = np;
		m->brokers = lb;
		m->n_brokers = nl;
		break;
	}
	case KCTL_STOP_REPLICA: {
		const Samsa__Controller__StopReplica *x = (const void *)s->pb;
		for (size_t i = 0; i < nt; i++) {
			tp[i].topic = x->partitions[i]->topic;
			tp[i].partition = x->partitions[i]->partition;
		}
		m->delete_partitions = x->delete_partitions;
		m->stops = tp;
		m->n_stops = nt;
		break;
	}
	case KCTL_LEADER_AND_ISR_RESP:
		kctl_dec_errors(pe, ((const Samsa__Controller__LeaderAndIsrResponse *)(const void *)s->pb)->partitions, nr);
		m->errors = pe;
		m->n_errors = nr;
		break;
	case KCTL_STOP_REPLICA_RESP:
		kctl_dec_errors(pe, ((const Samsa__Controller__StopReplicaResponse *)(const void *)s->pb)->partitions, nr);
		m->errors = pe;
		m->n_errors = nr;
		break;
	case KCTL_HEARTBEAT_RESP: {
		const Samsa__Controller__HeartbeatResponse *x = (const void *)s->pb;
		m->broker_id = x->broker_id;
		m->broker_epoch = x->broker_epoch;
		m->controller_epoch = x->controller_epoch;
		break;
	}
	case KCTL_UPDATE_METADATA_RESP:
	case KCTL_HEARTBEAT:
		break;
	}
	return 0;
}

int kctl_msg_decode(const uint8_t *f, size_t len, struct kctl_msg *m, char *eb, size_t el)
{
	struct kctl_store *s = NULL;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len == 0)
		return err_set(eb, el, ERR_CORRUPT, "empty frame (no message type)");
	if (len > KCTL_MAX_FRAME)
		return err_set(eb, el, ERR_TOOBIG, "frame of %zu bytes over the maximum of %u", len, KCTL_MAX_FRAME);
	if (f[0] < 1 || f[0] > KCTL_TYPE_MAX)
		return err_set(eb, el, ERR_PROTO, "unknown message type %u (known: 1..%d)", f[0], KCTL_TYPE_MAX);
	enum kctl_type t = (enum kctl_type)f[0];
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	s->alloc.alloc = kctl_budget_alloc;
	s->alloc.free = kctl_budget_free;
	s->alloc.allocator_data = s;
	s->budget = KCTL_BUDGET(len - 1);
	s->pb = protobuf_c_message_unpack(kctl_descs[t], &s->alloc, len - 1, f + 1);
	if (!s->pb) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s: malformed protobuf body of %zu bytes (or over its memory budget)",
			     kctl_type_name(t), len - 1);
		goto fail;
	}
	m->priv = s;
	rc = kctl_dec_convert(s, t, m, eb, el);
	if (rc)
		goto fail;
	char why[160];
	if (kctl_msg_check(m, why, sizeof(why))) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s", why);
		goto fail;
	}
	return 0;
fail:
	kctl_store_free(s);
	memset(m, 0, sizeof(*m));
	return rc;
}

int kctl_msg_decode_frame(const uint8_t *p, size_t len, size_t *used, struct kctl_msg *m, char *eb, size_t el)
{
	*used = 0;
	memset(m, 0, sizeof(*m));
	if (len < 4)
		return ERR_AGAIN;
	uint32_t n = be32_get(p);
	if (n == 0)
		return err_set(eb, el, ERR_CORRUPT, "frame length 0");
	if (n > KCTL_MAX_FRAME)
		return err_set(eb, el, ERR_TOOBIG, "frame length %u over the maximum of %u", n, KCTL_MAX_FRAME);
	if (len - 4 < n)
		return ERR_AGAIN;
	int rc = kctl_msg_decode(p + 4, n, m, eb, el);
	if (rc == 0)
		*used = 4 + (size_t)n;
	return rc;
}

void kctl_msg_clear(struct kctl_msg *m)
{
	if (!m)
		return;
	kctl_store_free(m->priv);
	memset(m, 0, sizeof(*m));
}
