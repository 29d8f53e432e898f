/*
 * kapi_config — DescribeConfigs, AlterConfigs, IncrementalAlterConfigs (see kapi_config.h).
 */
#include "kapi_config.h"

#include "buf.h"
#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kapi_acl.h"
#include "kb_broker.h"
#include "kb_cluster.h"
#include "kout.h"
#include "kwire.h"
#include "kwait.h"
#include "log.h"
#include "kapi_admin.h"
#include "kb_dynconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- AlterConfigs, IncrementalAlterConfigs ---- */

enum { KB_OP_SET = 0, KB_OP_DELETE = 1, KB_OP_APPEND = 2, KB_OP_SUBTRACT = 3 };

/* One resource of an AlterConfigs / IncrementalAlterConfigs request, decoded. */
struct alter_res {
	uint8_t type;
	char name[KB_TOPIC_MAX + 2];
	bool bad_name;
	int32_t n;
	struct kb_tconf *conf; /* n entries; value NULL = null on the wire */
	int8_t *ops;	       /* incremental: per entry */
	bool bad_entry;	       /* a name or value that did not fit, or an unknown operation */
};

static void alter_res_clear(struct alter_res *a)
{
	for (int32_t i = 0; a->conf && i < a->n; i++) {
		free(a->conf[i].name);
		free(a->conf[i].value);
	}
	free(a->conf);
	free(a->ops);
	memset(a, 0, sizeof(*a));
}

/* Decodes one resource; 0, or ERR_PROTO / ERR_NOMEM. */
static int alter_res_read(struct rbuf *r, bool incremental, struct alter_res *a)
{
	memset(a, 0, sizeof(*a));
	rbuf_u8(r, &a->type);
	a->bad_name = kwire_str_read(r, a->name, sizeof(a->name), NULL) != 0;
	int32_t n = kwire_count_read(r, incremental ? 5 : 4);
	if (r->err || n < 0)
		return ERR_PROTO;
	a->conf = calloc((size_t)(n ? n : 1), sizeof(*a->conf));
	a->ops = calloc((size_t)(n ? n : 1), sizeof(*a->ops));
	if (!a->conf || !a->ops)
		return ERR_NOMEM;
	for (int32_t i = 0; i < n; i++) {
		const uint8_t *kp, *vp;
		int32_t kl, vl;
		rbuf_bytes_i16(r, KB_MAX_STR, &kp, &kl);
		if (incremental)
			rbuf_u8(r, (uint8_t *)&a->ops[i]);
		rbuf_bytes_i16(r, KB_MAX_STR, &vp, &vl);
		if (r->err)
			return ERR_PROTO;
		a->n = i + 1;
		if (kl <= 0 || memchr(kp, '\0', (size_t)kl) || (vl > 0 && memchr(vp, '\0', (size_t)vl)) ||
		    a->ops[i] < KB_OP_SET || a->ops[i] > KB_OP_SUBTRACT) {
			a->bad_entry = true;
			continue;
		}
		a->conf[i].name = strndup((const char *)kp, (size_t)kl);
		a->conf[i].value = vl >= 0 ? strndup((const char *)vp, (size_t)vl) : NULL;
		if (!a->conf[i].name || (vl >= 0 && !a->conf[i].value))
			return ERR_NOMEM;
	}
	return 0;
}

/* Kafka's list configs (APPEND/SUBTRACT) among the ones samsa knows: cleanup.policy only. */
static bool alter_is_list(const char *key)
{
	return !strcmp(key, "cleanup.policy");
}

/* The new complete set of an entity: AlterConfigs replaces it with the given entries (null
 * values dropped); IncrementalAlterConfigs edits the current one. On an error returns it with
 * the message in why; on success *out (caller frees) holds *nout entries. */
static int16_t alter_new_set(const struct alter_res *a, bool incremental, const struct kb_tconf *cur, int32_t ncur,
			     struct kb_tconf **out, int32_t *nout, char *why, size_t wn)
{
	struct kb_tconf *v = calloc((size_t)(ncur + a->n + 1), sizeof(*v));
	int32_t n = 0;
	if (!v)
		return KE_UNKNOWN_SERVER_ERROR;
	if (incremental)
		for (int32_t i = 0; i < ncur; i++) {
			v[n].name = strdup(cur[i].name);
			v[n++].value = strdup(cur[i].value);
		}
	for (int32_t i = 0; i < a->n; i++) {
		const char *k = a->conf[i].name, *val = a->conf[i].value;
		int32_t at = -1;
		for (int32_t j = 0; j < n; j++)
			if (!strcmp(v[j].name, k))
				at = j;
		for (int32_t j = 0; j < i; j++)
			if (!strcmp(a->conf[j].name, k)) {
				kb_dynconf_free(v, n);
				snprintf(why, wn, "Error due to duplicate config keys");
				return KE_INVALID_REQUEST;
			}
		int8_t op = incremental ? a->ops[i] : KB_OP_SET;
		if (op == KB_OP_DELETE) {
			if (at >= 0) {
				free(v[at].name);
				free(v[at].value);
				v[at] = v[--n];
			}
			continue;
		}
		if (!val) {
			if (incremental) {
				kb_dynconf_free(v, n);
				snprintf(why, wn, "Null value not supported for : %s", k);
				return KE_INVALID_REQUEST;
			}
			continue; /* AlterConfigs: a null value is no entry */
		}
		if ((op == KB_OP_APPEND || op == KB_OP_SUBTRACT) && !alter_is_list(k)) {
			kb_dynconf_free(v, n);
			snprintf(why, wn, "Config value append is not allowed for config key: %s", k);
			return KE_INVALID_REQUEST;
		}
		/* the lists samsa has hold one value: APPEND of it or SUBTRACT of another keeps it */
		if (op == KB_OP_SUBTRACT) {
			if (at >= 0 && !strcmp(v[at].value, val)) {
				free(v[at].name);
				free(v[at].value);
				v[at] = v[--n];
			}
			continue;
		}
		char *dv = strdup(val);
		if (at >= 0) {
			free(v[at].value);
			v[at].value = dv;
		} else {
			v[n].name = strdup(k);
			v[n++].value = dv;
		}
	}
	*out = v;
	*nout = n;
	return KE_NONE;
}

/* Validates resource a and, unless validate_only, starts its write (result slot i of w). */
static void alter_resource(struct broker *b, struct kwait *w, int32_t i, const struct alter_res *a, bool incremental,
			   bool validate_only)
{
	char why[512], bid[16];
	snprintf(bid, sizeof(bid), "%d", b->cfg->broker_id);
	struct kb_topic *t = NULL;
	if (a->bad_name || a->bad_entry) {
		kwait_set(w, i, KE_INVALID_REQUEST, "Invalid config name, value or operation");
		return;
	}
	if (a->type == KB_RES_TOPIC) {
		t = kb_topic_find(b, a->name);
		if (!t || t->deleting) {
			kwait_set(w, i, KE_UNKNOWN_TOPIC_OR_PARTITION, "Topic %s does not exist", a->name);
			return;
		}
	} else if (a->type == KB_RES_BROKER) {
		if (a->name[0] && strcmp(a->name, bid)) {
			kwait_set(w, i, KE_INVALID_REQUEST, "Unexpected broker id, expected %s or empty string, but received %s",
				   bid, a->name);
			return;
		}
	} else {
		kwait_set(w, i, KE_INVALID_REQUEST, "Unsupported resource type %d", a->type);
		return;
	}
	const struct kb_tconf *cur = t ? t->conf : a->name[0] ? b->dyn_mine : b->dyn_default;
	int32_t ncur = t ? t->nconf : a->name[0] ? b->ndyn_mine : b->ndyn_default;
	struct kb_tconf *nv = NULL;
	int32_t nn = 0;
	int16_t e = alter_new_set(a, incremental, cur, ncur, &nv, &nn, why, sizeof(why));
	if (e) {
		kwait_set(w, i, e, "%s", why);
		return;
	}
	if (a->type == KB_RES_TOPIC) {
		struct kb_topic tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.name = t->name;
		tmp.conf = nv;
		tmp.nconf = nn;
		e = (int16_t)kb_topic_apply_conf(b, &tmp, why, sizeof(why));
	} else {
		e = (int16_t)kb_dynconf_broker_validate(nv, nn, why, sizeof(why));
	}
	if (e) {
		kwait_set(w, i, e, "%s", why);
	} else if (!validate_only) {
		void *ctx;
		kb_admin_cb cb = kwait_slot(w, i, &ctx);
		if (cb)
			kb_cluster_alter_configs(b, a->type, a->name, nv, nn, cb, ctx);
	}
	kb_dynconf_free(nv, nn);
}

static int admin_alter_configs(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first)
{
	struct rbuf *r = &q->r;
	bool incremental = q->key == API_INCREMENTAL_ALTER_CONFIGS;
	int32_t nr;
	int brc = kapi_admin_begin(q, w, first, 7, &nr);
	if (brc)
		return brc;
	struct alter_res *res = calloc((size_t)(nr ? nr : 1), sizeof(*res));
	if (!res)
		return ERR_NOMEM;
	int rc = 0;
	for (int32_t i = 0; i < nr && !rc; i++)
		rc = alter_res_read(r, incremental, &res[i]);
	bool validate_only = false;
	if (!rc) {
		rbuf_bool(r, &validate_only);
		if (r->err)
			rc = ERR_PROTO;
	}
	if (!rc && first) {
		w->deadline_ms = kb_now_ms() + 30000; /* the coordinator's answer; no timeout field */
		for (int32_t i = 0; i < nr; i++) {
			/* Kafka: ALTER_CONFIGS on the topic, or on the cluster for a broker */
			if (res[i].type == KB_RES_TOPIC && !res[i].bad_name &&
			    !kapi_acl_ok(b, q, KACL_RT_TOPIC, res[i].name, KACL_OP_ALTER_CONFIGS))
				kwait_set(w, i, KE_TOPIC_AUTHORIZATION_FAILED, "Authorization failed.");
			else if (res[i].type == KB_RES_BROKER &&
				 !kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_ALTER_CONFIGS))
				kwait_set(w, i, KE_CLUSTER_AUTHORIZATION_FAILED, "Authorization failed.");
			else
				alter_resource(b, w, i, &res[i], incremental, validate_only);
		}
	} else if (!rc) {
		struct wbuf *wb = &o->w;
		wbuf_i32(wb, 0); /* throttle_time_ms */
		wbuf_i32(wb, nr);
		for (int32_t i = 0; i < nr; i++) {
			wbuf_i16(wb, w->errs[i]);
			wbuf_str_i16(wb, w->errs[i] ? w->msgs[i] : NULL);
			wbuf_u8(wb, res[i].type);
			wbuf_str_i16(wb, res[i].name);
		}
	}
	for (int32_t i = 0; i < nr; i++)
		alter_res_clear(&res[i]);
	free(res);
	if (rc)
		return rc;
	return first ? 1 : 0;
}

/* ---- DescribeConfigs ---- */

static const char *const kb_topic_config_names[] = {
	"cleanup.policy",     "compression.type",    "max.message.bytes", "message.timestamp.type",
	"min.insync.replicas", "retention.bytes",    "retention.ms",	  "segment.bytes",
	"segment.ms",	       "flush.messages",     "flush.ms",	  "segment.index.bytes",
	"index.interval.bytes",
};

static void topic_default(struct broker *b, const char *name, char *out, size_t n)
{
	const struct klog_opts *d = &b->default_opts;
	const struct kb_config *c = b->cfg;
	if (!strcmp(name, "cleanup.policy"))
		snprintf(out, n, "delete");
	else if (!strcmp(name, "compression.type"))
		snprintf(out, n, "producer");
	else if (!strcmp(name, "max.message.bytes"))
		snprintf(out, n, "%d", c->message_max_bytes);
	else if (!strcmp(name, "message.timestamp.type"))
		snprintf(out, n, "%s", c->log_message_timestamp_type);
	else if (!strcmp(name, "min.insync.replicas"))
		snprintf(out, n, "%d", c->min_insync_replicas);
	else if (!strcmp(name, "retention.bytes"))
		snprintf(out, n, "%lld", (long long)d->retention_bytes);
	else if (!strcmp(name, "retention.ms"))
		snprintf(out, n, "%lld", (long long)d->retention_ms);
	else if (!strcmp(name, "segment.bytes"))
		snprintf(out, n, "%lld", (long long)d->segment_bytes);
	else if (!strcmp(name, "segment.ms"))
		snprintf(out, n, "%lld", (long long)d->roll_ms);
	else if (!strcmp(name, "flush.messages"))
		snprintf(out, n, "%lld", (long long)d->flush_messages);
	else if (!strcmp(name, "flush.ms"))
		snprintf(out, n, "%lld", (long long)d->flush_ms);
	else if (!strcmp(name, "segment.index.bytes"))
		snprintf(out, n, "%d", d->max_index_bytes);
	else if (!strcmp(name, "index.interval.bytes"))
		snprintf(out, n, "%d", d->index_interval_bytes);
	else
		out[0] = '\0';
}

/* One DescribeConfigs entry: its own source, and with synonyms the chain of where its value
 * comes from (the broker-level synonym's dynamic and static values). */
struct dc_syn {
	const char *name;
	const char *value;
	int source;
};

static void describe_entry(struct wbuf *w, int16_t ver, bool synonyms, const char *name, const char *value,
			   bool read_only, int source, const struct dc_syn *syn, int nsyn)
{
	wbuf_str_i16(w, name);
	wbuf_str_i16(w, value);
	wbuf_bool(w, read_only);
	if (ver == 0)
		wbuf_bool(w, source == KB_SRC_DEFAULT);
	else
		wbuf_u8(w, (uint8_t)source);
	wbuf_bool(w, false); /* is_sensitive */
	if (ver >= 1) {
		wbuf_i32(w, synonyms ? nsyn : 0);
		for (int i = 0; synonyms && i < nsyn; i++) {
			wbuf_str_i16(w, syn[i].name);
			wbuf_str_i16(w, syn[i].value);
			wbuf_u8(w, (uint8_t)syn[i].source);
		}
	}
}

static bool describe_wanted(const char *name, char (*keys)[256], int32_t nk)
{
	if (nk <= 0)
		return true;
	for (int32_t j = 0; j < nk; j++)
		if (!strcmp(keys[j], name))
			return true;
	return false;
}

/* The broker-level synonyms of a key that may be dynamic: this broker's, <default>'s, then the
 * static value. Returns how many went into syn (at most 3). */
static int broker_synonyms(struct broker *b, const char *key, char vals[3][64], struct dc_syn *syn)
{
	int n = 0;
	for (int32_t i = 0; i < b->ndyn_mine; i++)
		if (!strcmp(b->dyn_mine[i].name, key))
			syn[n++] = (struct dc_syn){ key, b->dyn_mine[i].value, KB_SRC_DYNAMIC_BROKER };
	for (int32_t i = 0; i < b->ndyn_default; i++)
		if (!strcmp(b->dyn_default[i].name, key))
			syn[n++] = (struct dc_syn){ key, b->dyn_default[i].value, KB_SRC_DYNAMIC_DEFAULT_BROKER };
	/* the static value: as if nothing dynamic were set */
	struct broker st = *b;
	st.ndyn_mine = st.ndyn_default = 0;
	int src = kb_dynconf_broker_value(&st, key, vals[n], sizeof(vals[n]));
	if (vals[n][0])
		syn[n] = (struct dc_syn){ key, vals[n], src }, n++;
	return n;
}

static int32_t describe_topic(struct broker *b, struct kb_topic *t, struct wbuf *w, int16_t ver, bool synonyms,
			      char (*keys)[256], int32_t nk)
{
	int32_t cnt = 0;
	size_t nnames = sizeof(kb_topic_config_names) / sizeof(kb_topic_config_names[0]);
	for (size_t k = 0; k < nnames; k++) {
		const char *cn = kb_topic_config_names[k];
		if (!describe_wanted(cn, keys, nk))
			continue;
		char def[64], vals[3][64];
		topic_default(b, cn, def, sizeof(def));
		const char *val = def;
		int source = KB_SRC_DEFAULT;
		struct dc_syn syn[4];
		int nsyn = 0;
		for (int32_t j = 0; t && j < t->nconf; j++)
			if (!strcmp(t->conf[j].name, cn)) {
				val = t->conf[j].value;
				source = KB_SRC_TOPIC;
				syn[nsyn++] = (struct dc_syn){ cn, val, KB_SRC_TOPIC };
			}
		const char *bk = kb_dynconf_synonym(cn);
		if (bk && kb_dynconf_broker_value(b, bk, vals[0], sizeof(vals[0])) && vals[0][0]) {
			int nb = broker_synonyms(b, bk, vals, syn + nsyn);
			if (source != KB_SRC_TOPIC && nb > 0)
				source = syn[nsyn].source; /* where the broker's value comes from */
			nsyn += nb;
		} else if (source != KB_SRC_TOPIC) {
			syn[nsyn++] = (struct dc_syn){ cn, val, KB_SRC_DEFAULT };
		}
		describe_entry(w, ver, synonyms, cn, val, false, source, syn, nsyn);
		cnt++;
	}
	return cnt;
}

static int32_t describe_broker(struct broker *b, struct wbuf *w, int16_t ver, bool synonyms, char (*keys)[256],
			       int32_t nk)
{
	int32_t cnt = 0;
	for (size_t k = 0; kb_dynconf_broker_keys[k]; k++) {
		const char *key = kb_dynconf_broker_keys[k];
		if (!describe_wanted(key, keys, nk))
			continue;
		char val[64], vals[3][64];
		struct dc_syn syn[3];
		int source = kb_dynconf_broker_value(b, key, val, sizeof(val));
		int nsyn = broker_synonyms(b, key, vals, syn);
		describe_entry(w, ver, synonyms, key, val, false, source, syn, nsyn);
		cnt++;
	}
	/* a few static ones, read-only here */
	const struct kb_config *c = b->cfg;
	char v[7][64];
	const char *names[7] = { "broker.id", "num.partitions", "default.replication.factor", "message.max.bytes",
				 "min.insync.replicas", "log.message.timestamp.type", "zookeeper.connect" };
	snprintf(v[0], sizeof(v[0]), "%d", c->broker_id);
	snprintf(v[1], sizeof(v[1]), "%d", c->num_partitions);
	snprintf(v[2], sizeof(v[2]), "%d", c->default_replication_factor);
	snprintf(v[3], sizeof(v[3]), "%d", c->message_max_bytes);
	snprintf(v[4], sizeof(v[4]), "%d", c->min_insync_replicas);
	snprintf(v[5], sizeof(v[5]), "%s", c->log_message_timestamp_type ? c->log_message_timestamp_type : "");
	const char *zc = c->zookeeper_connect ? c->zookeeper_connect : "";
	for (int k = 0; k < 7; k++) {
		if (!describe_wanted(names[k], keys, nk))
			continue;
		const char *val = k == 6 ? zc : v[k];
		struct dc_syn syn = { names[k], val, KB_SRC_STATIC_BROKER };
		describe_entry(w, ver, synonyms, names[k], val, true, KB_SRC_STATIC_BROKER, &syn, 1);
		cnt++;
	}
	return cnt;
}

int kapi_config_describe(struct broker *b, struct kreq *q, struct kout *o)
{
	struct rbuf *r = &q->r;
	struct wbuf *w = &o->w;
	int32_t nr = kwire_count_read(r, 7);
	if (r->err || nr < 0)
		return ERR_PROTO;
	struct rbuf scan = *r;
	for (int32_t i = 0; i < nr && !scan.err; i++) {
		uint8_t ty;
		char nm[512];
		rbuf_u8(&scan, &ty);
		kwire_str_read(&scan, nm, sizeof(nm), NULL);
		int32_t nk = kwire_count_read(&scan, 2);
		for (int32_t k = 0; k < nk && !scan.err; k++)
			kwire_str_read(&scan, nm, sizeof(nm), NULL);
	}
	bool synonyms = false;
	if (q->ver >= 1)
		rbuf_bool(&scan, &synonyms);
	if (scan.err)
		return ERR_PROTO;
	wbuf_i32(w, 0);
	wbuf_i32(w, nr);
	for (int32_t i = 0; i < nr; i++) {
		uint8_t ty;
		char name[512];
		rbuf_u8(r, &ty);
		kwire_str_read(r, name, sizeof(name), NULL);
		int32_t nk = kwire_count_read(r, 2);
		char (*keys)[256] = nk > 0 ? calloc((size_t)nk, sizeof(*keys)) : NULL;
		for (int32_t k = 0; k < nk && !r->err; k++)
			kwire_str_read(r, keys ? keys[k] : name, keys ? sizeof(keys[k]) : sizeof(name), NULL);
		if (r->err) {
			free(keys);
			return ERR_PROTO;
		}
		struct kb_topic *t = ty == 2 ? kb_topic_find(b, name) : NULL;
		char bid[16];
		snprintf(bid, sizeof(bid), "%d", b->cfg->broker_id);
		int16_t err = KE_NONE;
		const char *msg = NULL;
		if (ty == 2 && !kapi_acl_ok(b, q, KACL_RT_TOPIC, name, KACL_OP_DESCRIBE_CONFIGS)) {
			err = KE_TOPIC_AUTHORIZATION_FAILED; /* Kafka: DESCRIBE_CONFIGS on the topic */
			msg = "Authorization failed.";
		} else if (ty == 4 && !kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_DESCRIBE_CONFIGS)) {
			err = KE_CLUSTER_AUTHORIZATION_FAILED; /* and on the cluster for a broker */
			msg = "Authorization failed.";
		} else if (ty == 2 && !t) {
			err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			msg = "Topic does not exist";
		} else if (ty == 4 && name[0] && strcmp(name, bid)) {
			err = KE_INVALID_REQUEST;
			msg = "Unexpected broker id";
		} else if (ty != 2 && ty != 4) {
			err = KE_INVALID_REQUEST;
			msg = "Unsupported resource type";
		}
		wbuf_i16(w, err);
		wbuf_str_i16(w, msg);
		wbuf_u8(w, ty);
		wbuf_str_i16(w, name);
		if (err) {
			wbuf_i32(w, 0);
			free(keys);
			continue;
		}
		size_t cnt_pos = w->len;
		int32_t cnt = 0;
		wbuf_i32(w, 0);
		if (ty == KB_RES_TOPIC)
			cnt = describe_topic(b, t, w, q->ver, synonyms, keys, nk);
		else
			cnt = describe_broker(b, w, q->ver, synonyms, keys, nk);
		wbuf_put_i32_at(w, cnt_pos, cnt);
		free(keys);
	}
	return 0;
}

int kapi_config_alter(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	(void)final;
	return admin_alter_configs(b, q, o, w, first);
}
