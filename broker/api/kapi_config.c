/*
 * kapi_config — DescribeConfigs, AlterConfigs, IncrementalAlterConfigs (see kapi_config.h).
 *
 * The requests are decoded by kwconfig and the responses encoded by it; nothing here reads
 * request bytes. DescribeConfigs is answered at once; the two config writes are decoded once, on
 * arrival, into a struct their kwait keeps (w->priv) until answered: the first pass validates
 * every resource and starts its write, the later passes read only the decoded request and the
 * results the writes filled in.
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
#include "kwconfig.h"
#include "kwire.h"
#include "kwait.h"
#include "log.h"
#include "kapi_admin.h"
#include "kb_dynconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- AlterConfigs, IncrementalAlterConfigs ---- */

enum { KB_OP_SET = KWCONFIG_OP_SET, KB_OP_DELETE = KWCONFIG_OP_DELETE, KB_OP_APPEND = KWCONFIG_OP_APPEND,
       KB_OP_SUBTRACT = KWCONFIG_OP_SUBTRACT };

/* Kafka's list configs (APPEND/SUBTRACT) among the ones samsa knows: cleanup.policy only. */
static bool alter_is_list(const char *key)
{
	return !strcmp(key, "cleanup.policy");
}

/* The new complete set of an entity: AlterConfigs replaces it with the given entries (null
 * values dropped); IncrementalAlterConfigs edits the current one (cur, as the entity's znode
 * holds it). On an error returns it with the message in why; on success *out (caller frees)
 * holds *nout entries. */
static int16_t alter_new_set(const struct kwconfig_ac_rreq *a, bool incremental, const struct kb_tconf *cur, int32_t ncur,
			     struct kb_tconf **out, int32_t *nout, char *why, size_t wn)
{
	struct kb_tconf *v = calloc((size_t)(ncur + a->n + 1), sizeof(*v));
	int32_t n = 0;
	if (!v) {
		snprintf(why, wn, "out of memory");
		return KE_UNKNOWN_SERVER_ERROR;
	}
	if (incremental)
		for (int32_t i = 0; i < ncur; i++) {
			v[n].name = strdup(cur[i].name);
			v[n++].value = strdup(cur[i].value);
			if (!v[n - 1].name || !v[n - 1].value) {
				kb_dynconf_free(v, n);
				snprintf(why, wn, "out of memory");
				return KE_UNKNOWN_SERVER_ERROR;
			}
		}
	for (int32_t i = 0; i < a->n; i++) {
		const char *k = a->entries[i].name, *val = a->entries[i].value;
		int32_t at = -1;
		for (int32_t j = 0; j < n; j++)
			if (!strcmp(v[j].name, k))
				at = j;
		for (int32_t j = 0; j < i; j++)
			if (!strcmp(a->entries[j].name, k)) {
				kb_dynconf_free(v, n);
				snprintf(why, wn, "Error due to duplicate config keys");
				return KE_INVALID_REQUEST;
			}
		int8_t op = incremental ? a->entries[i].op : KB_OP_SET;
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
		if (!dv || (at < 0 && !(v[n].name = strdup(k)))) {
			free(dv);
			kb_dynconf_free(v, n);
			snprintf(why, wn, "out of memory");
			return KE_UNKNOWN_SERVER_ERROR;
		}
		if (at >= 0) {
			free(v[at].value);
			v[at].value = dv;
		} else {
			v[n++].value = dv;
		}
	}
	*out = v;
	*nout = n;
	return KE_NONE;
}

/* The new set of resource a made from cur (see alter_new_set), validated: KE_NONE with *out
 * (caller frees) of *nout pairs, or a Kafka error with the reason in why. A topic must still
 * exist (and not be being deleted). */
static int16_t alter_make(struct broker *b, const struct kwconfig_ac_rreq *a, bool incremental, const struct kb_tconf *cur,
			  int32_t ncur, struct kb_tconf **out, int32_t *nout, char *why, size_t wn)
{
	struct kb_topic *t = NULL;
	if (a->type == KB_RES_TOPIC) {
		t = kb_topic_find(b, a->name);
		if (!t || t->deleting) {
			snprintf(why, wn, "Topic %s does not exist", a->name);
			return KE_UNKNOWN_TOPIC_OR_PARTITION;
		}
	}
	struct kb_tconf *nv = NULL;
	int32_t nn = 0;
	int16_t e = alter_new_set(a, incremental, cur, ncur, &nv, &nn, why, wn);
	if (e)
		return e;
	if (t) {
		struct kb_topic tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.name = t->name;
		tmp.conf = nv;
		tmp.nconf = nn;
		e = (int16_t)kb_topic_apply_conf(b, &tmp, why, wn);
	} else {
		e = (int16_t)kb_dynconf_broker_validate(nv, nn, why, wn);
	}
	if (e) {
		kb_dynconf_free(nv, nn);
		return e;
	}
	*out = nv;
	*nout = nn;
	return KE_NONE;
}

/* kb_cluster_edit_configs' edit for an IncrementalAlterConfigs resource (arg: its decoded
 * request, which the waiting request keeps while its write is pending): the ops applied to the
 * set the entity's znode holds. */
static int16_t alter_edit(struct broker *b, void *arg, const struct kb_tconf *cur, int32_t ncur, struct kb_tconf **out,
			  int32_t *nout, char *why, size_t wn)
{
	return alter_make(b, arg, true, cur, ncur, out, nout, why, wn);
}

/* Validates resource a and, unless validate_only, starts its write (result slot i of w).
 * AlterConfigs replaces the whole set: it is validated here and written unconditionally.
 * IncrementalAlterConfigs edits the set the coordinator holds, not this broker's view of it
 * (which follows the change notifications, and may not have seen another broker's write yet):
 * kb_cluster reads the entity's znode, alter_edit makes and validates the new set, and the
 * write is conditional on the version read — validate_only reads it too. */
static void alter_resource(struct broker *b, struct kwait *w, int32_t i, const struct kwconfig_ac_rreq *a, bool incremental,
			   bool validate_only)
{
	char why[512], bid[16];
	snprintf(bid, sizeof(bid), "%d", b->cfg->broker_id);
	if (a->bad_name || a->bad_entry) {
		kwait_set(w, i, KE_INVALID_REQUEST, "Invalid config name, value or operation");
		return;
	}
	if (a->type == KB_RES_TOPIC) {
		struct kb_topic *t = kb_topic_find(b, a->name);
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
	void *ctx;
	if (incremental) {
		kb_admin_cb cb = kwait_slot(w, i, &ctx);
		if (!cb)
			kwait_set(w, i, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		else
			kb_cluster_edit_configs(b, a->type, a->name, alter_edit, (void *)a, validate_only, cb, ctx);
		return;
	}
	struct kb_tconf *nv = NULL;
	int32_t nn = 0;
	int16_t e = alter_make(b, a, false, NULL, 0, &nv, &nn, why, sizeof(why));
	if (e) {
		kwait_set(w, i, e, "%s", why);
		return;
	}
	if (!validate_only) {
		kb_admin_cb cb = kwait_slot(w, i, &ctx);
		if (!cb)
			kwait_set(w, i, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		else
			kb_cluster_alter_configs(b, a->type, a->name, nv, nn, cb, ctx);
	}
	kb_dynconf_free(nv, nn);
}

static void alter_req_free(void *p)
{
	kwconfig_ac_req_free(p);
	free(p);
}

static int admin_alter_configs(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first)
{
	bool incremental = q->key == API_INCREMENTAL_ALTER_CONFIGS;
	struct kwconfig_ac_req *m = w->priv;
	if (first) {
		if (!(m = calloc(1, sizeof(*m))))
			return ERR_NOMEM;
		w->priv = m;
		w->priv_free = alter_req_free;
		int rc = kwconfig_ac_req_decode(&q->r, incremental, q->ver, m);
		if (rc)
			return rc;
		if (kwait_results(w, m->n))
			return ERR_NOMEM;
		w->deadline_ms = kb_now_ms() + 30000; /* the coordinator's answer; no timeout field */
		for (int32_t i = 0; i < m->n; i++) {
			const struct kwconfig_ac_rreq *x = &m->res[i];
			/* Kafka: ALTER_CONFIGS on the topic, or on the cluster for a broker */
			if (x->type == KB_RES_TOPIC && !x->bad_name &&
			    !kapi_acl_ok(b, q, KACL_RT_TOPIC, x->name, KACL_OP_ALTER_CONFIGS))
				kwait_set(w, i, KE_TOPIC_AUTHORIZATION_FAILED, "Authorization failed.");
			else if (x->type == KB_RES_BROKER && !kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_ALTER_CONFIGS))
				kwait_set(w, i, KE_CLUSTER_AUTHORIZATION_FAILED, "Authorization failed.");
			else
				alter_resource(b, w, i, x, incremental, m->validate_only);
		}
		return 1;
	}
	if (w->pending)
		return 1;
	struct kwconfig_ac_rresp *rr = calloc((size_t)(m->n ? m->n : 1), sizeof(*rr));
	if (!rr)
		return ERR_NOMEM;
	for (int32_t i = 0; i < m->n; i++) {
		rr[i].error = w->errs[i];
		rr[i].message = w->errs[i] ? w->msgs[i] : NULL;
		rr[i].type = m->res[i].type;
		rr[i].name = m->res[i].name;
	}
	struct kwconfig_ac_resp resp = { .throttle_ms = 0, .n = m->n, .res = rr };
	kwconfig_ac_resp_encode(&o->w, &resp);
	free(rr);
	return 0;
}

/* ---- DescribeConfigs ---- */

_Static_assert(KB_SRC_DEFAULT == KWCONFIG_SRC_DEFAULT, "DescribeConfigs v0's is_default");

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

/* Appends one entry to x (its strings copied); with synonyms the chain syn[nsyn]. 0 or
 * ERR_NOMEM. */
static int describe_entry(struct kwconfig_dc_rresp *x, size_t *cap, bool synonyms, const char *name,
			  const char *value, bool read_only, int source, const struct dc_syn *syn, int nsyn)
{
	if (kwire_grow((void **)&x->entries, cap, (size_t)x->n + 1, sizeof(*x->entries)))
		return ERR_NOMEM;
	struct kwconfig_entry_out *e = &x->entries[x->n++];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	e->value = value ? strdup(value) : NULL;
	e->read_only = read_only;
	e->source = (int8_t)source;
	int rc = !e->name || (value && !e->value) ? ERR_NOMEM : 0;
	for (int i = 0; synonyms && i < nsyn && i < KWCONFIG_MAX_SYN; i++) {
		e->nsyn = i + 1;
		e->syn[i].name = strdup(syn[i].name);
		e->syn[i].value = syn[i].value ? strdup(syn[i].value) : NULL;
		e->syn[i].source = (int8_t)syn[i].source;
		if (!e->syn[i].name || (syn[i].value && !e->syn[i].value))
			rc = ERR_NOMEM;
	}
	return rc;
}

static bool describe_wanted(const char *name, char **keys, int32_t nk)
{
	if (nk <= 0) /* null or empty: every config */
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

static int describe_topic(struct broker *b, struct kb_topic *t, struct kwconfig_dc_rresp *x, bool synonyms,
			  char **keys, int32_t nk)
{
	size_t cap = 0;
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
		if (describe_entry(x, &cap, synonyms, cn, val, false, source, syn, nsyn))
			return ERR_NOMEM;
	}
	return 0;
}

static int describe_broker(struct broker *b, struct kwconfig_dc_rresp *x, bool synonyms, char **keys, int32_t nk)
{
	size_t cap = 0;
	for (size_t k = 0; kb_dynconf_broker_keys[k]; k++) {
		const char *key = kb_dynconf_broker_keys[k];
		if (!describe_wanted(key, keys, nk))
			continue;
		char val[64], vals[3][64];
		struct dc_syn syn[3];
		int source = kb_dynconf_broker_value(b, key, val, sizeof(val));
		int nsyn = broker_synonyms(b, key, vals, syn);
		if (describe_entry(x, &cap, synonyms, key, val, false, source, syn, nsyn))
			return ERR_NOMEM;
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
		if (describe_entry(x, &cap, synonyms, names[k], val, true, KB_SRC_STATIC_BROKER, &syn, 1))
			return ERR_NOMEM;
	}
	return 0;
}

int kapi_config_describe(struct broker *b, struct kreq *q, struct kout *o)
{
	struct kwconfig_dc_req m;
	int rc = kwconfig_dc_req_decode(&q->r, q->ver, &m);
	if (rc)
		return rc;
	struct kwconfig_dc_resp resp = { .throttle_ms = 0, .n = m.n };
	if (!(resp.res = calloc((size_t)(m.n ? m.n : 1), sizeof(*resp.res)))) {
		kwconfig_dc_req_free(&m);
		return ERR_NOMEM;
	}
	char bid[16];
	snprintf(bid, sizeof(bid), "%d", b->cfg->broker_id);
	for (int32_t i = 0; i < m.n && !rc; i++) {
		const struct kwconfig_dc_rreq *x = &m.res[i];
		struct kwconfig_dc_rresp *y = &resp.res[i];
		uint8_t ty = x->type;
		const char *name = x->name;
		struct kb_topic *t = ty == KB_RES_TOPIC ? kb_topic_find(b, name) : NULL;
		int16_t err = KE_NONE;
		const char *msg = NULL;
		if (ty == KB_RES_TOPIC && !kapi_acl_ok(b, q, KACL_RT_TOPIC, name, KACL_OP_DESCRIBE_CONFIGS)) {
			err = KE_TOPIC_AUTHORIZATION_FAILED; /* Kafka: DESCRIBE_CONFIGS on the topic */
			msg = "Authorization failed.";
		} else if (ty == KB_RES_BROKER && !kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_DESCRIBE_CONFIGS)) {
			err = KE_CLUSTER_AUTHORIZATION_FAILED; /* and on the cluster for a broker */
			msg = "Authorization failed.";
		} else if (ty == KB_RES_TOPIC && (!t || x->bad_name)) {
			err = KE_UNKNOWN_TOPIC_OR_PARTITION;
			msg = "Topic does not exist";
		} else if (ty == KB_RES_BROKER && (x->bad_name || (name[0] && strcmp(name, bid)))) {
			err = KE_INVALID_REQUEST;
			msg = "Unexpected broker id";
		} else if (ty != KB_RES_TOPIC && ty != KB_RES_BROKER) {
			err = KE_INVALID_REQUEST;
			msg = "Unsupported resource type";
		}
		y->error = err;
		y->type = ty;
		if (!(y->name = strdup(name)) || (msg && !(y->message = strdup(msg)))) {
			rc = ERR_NOMEM;
		} else if (!err) {
			if (ty == KB_RES_TOPIC)
				rc = describe_topic(b, t, y, m.synonyms, x->keys, x->nkeys);
			else
				rc = describe_broker(b, y, m.synonyms, x->keys, x->nkeys);
		}
	}
	if (!rc)
		kwconfig_dc_resp_encode(&o->w, q->ver, &resp);
	kwconfig_dc_resp_free(&resp);
	kwconfig_dc_req_free(&m);
	return rc;
}

int kapi_config_alter(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	(void)final;
	return admin_alter_configs(b, q, o, w, first);
}
