/*
 * kb_dynconf — dynamic topic and broker configs (see kb_dynconf.h): the dynamic broker keys,
 * their validation and effect on the log defaults, synonyms, Kafka's config JSON.
 */
#include "kb_dynconf.h"

#include "err.h"
#include "kznode.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const DC_MOD = "config";

/* Kafka's DynamicLogConfig keys that change the log's behaviour live here. */
const char *const kb_dynconf_broker_keys[] = {
	"log.retention.ms",	       "log.retention.bytes",	     "log.segment.bytes", "log.roll.ms",
	"log.flush.interval.messages", "log.flush.interval.ms", "log.index.interval.bytes", NULL,
};

static const char *const dc_synonyms[][2] = {
	{ "retention.ms", "log.retention.ms" },
	{ "retention.bytes", "log.retention.bytes" },
	{ "segment.bytes", "log.segment.bytes" },
	{ "segment.ms", "log.roll.ms" },
	{ "flush.messages", "log.flush.interval.messages" },
	{ "flush.ms", "log.flush.interval.ms" },
	{ "index.interval.bytes", "log.index.interval.bytes" },
	{ "segment.index.bytes", "log.index.size.max.bytes" },
	{ "max.message.bytes", "message.max.bytes" },
	{ "message.timestamp.type", "log.message.timestamp.type" },
	{ "min.insync.replicas", "min.insync.replicas" },
	{ "cleanup.policy", "log.cleanup.policy" },
	{ "compression.type", "compression.type" },
};

const char *kb_dynconf_synonym(const char *topic_key)
{
	for (size_t i = 0; i < sizeof(dc_synonyms) / sizeof(dc_synonyms[0]); i++)
		if (!strcmp(dc_synonyms[i][0], topic_key))
			return dc_synonyms[i][1];
	return NULL;
}

static bool dc_is_dynamic(const char *key)
{
	for (size_t i = 0; kb_dynconf_broker_keys[i]; i++)
		if (!strcmp(kb_dynconf_broker_keys[i], key))
			return true;
	return false;
}

static int dc_parse_long(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!*v || *end || errno || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

/* Applies one dynamic broker key to o; -1 on a bad value (the range in *lo_out). */
static int dc_apply_one(struct klog_opts *o, const char *k, const char *v, int64_t *lo_out)
{
	int64_t x = 0;
	int64_t lo = 0, hi = INT64_MAX;
	int64_t *dst = NULL;
	int32_t *dst32 = NULL;
	if (!strcmp(k, "log.retention.ms")) {
		lo = -1;
		dst = &o->retention_ms;
	} else if (!strcmp(k, "log.retention.bytes")) {
		lo = -1;
		dst = &o->retention_bytes;
	} else if (!strcmp(k, "log.segment.bytes")) {
		lo = 14;
		hi = INT32_MAX;
		dst = &o->segment_bytes;
	} else if (!strcmp(k, "log.roll.ms")) {
		lo = 1;
		dst = &o->roll_ms;
	} else if (!strcmp(k, "log.flush.interval.messages")) {
		lo = 1;
		dst = &o->flush_messages;
	} else if (!strcmp(k, "log.flush.interval.ms")) {
		dst = &o->flush_ms;
	} else if (!strcmp(k, "log.index.interval.bytes")) {
		hi = INT32_MAX;
		dst32 = &o->index_interval_bytes;
	} else {
		return -2;
	}
	*lo_out = lo;
	if (dc_parse_long(v, lo, hi, &x))
		return -1;
	if (dst)
		*dst = x;
	else
		*dst32 = (int32_t)x;
	return 0;
}

int kb_dynconf_broker_validate(const struct kb_tconf *c, int32_t n, char *why, size_t wn)
{
	struct klog_opts scratch;
	klog_opts_default(&scratch);
	for (int32_t i = 0; i < n; i++) {
		int64_t lo = 0;
		if (!dc_is_dynamic(c[i].name)) {
			snprintf(why, wn, "Cannot update these configs dynamically: %s (samsa changes only %s)", c[i].name,
				 "log.retention.ms, log.retention.bytes, log.segment.bytes, log.roll.ms, "
				 "log.flush.interval.messages, log.flush.interval.ms, log.index.interval.bytes");
			return KE_INVALID_CONFIG;
		}
		if (dc_apply_one(&scratch, c[i].name, c[i].value, &lo)) {
			snprintf(why, wn, "Invalid value %s for configuration %s: Value must be at least %lld", c[i].value,
				 c[i].name, (long long)lo);
			return KE_INVALID_CONFIG;
		}
	}
	return KE_NONE;
}

static const char *dc_find(const struct kb_tconf *c, int32_t n, const char *key)
{
	for (int32_t i = 0; i < n; i++)
		if (!strcmp(c[i].name, key))
			return c[i].value;
	return NULL;
}

static void dc_static_value(const struct klog_opts *o, const char *key, char *out, size_t n)
{
	long long v = 0;
	if (!strcmp(key, "log.retention.ms"))
		v = o->retention_ms;
	else if (!strcmp(key, "log.retention.bytes"))
		v = o->retention_bytes;
	else if (!strcmp(key, "log.segment.bytes"))
		v = o->segment_bytes;
	else if (!strcmp(key, "log.roll.ms"))
		v = o->roll_ms;
	else if (!strcmp(key, "log.flush.interval.messages"))
		v = o->flush_messages;
	else if (!strcmp(key, "log.flush.interval.ms"))
		v = o->flush_ms;
	else if (!strcmp(key, "log.index.interval.bytes"))
		v = o->index_interval_bytes;
	else {
		out[0] = '\0';
		return;
	}
	snprintf(out, n, "%lld", v);
}

int kb_dynconf_broker_value(const struct broker *b, const char *key, char *out, size_t n)
{
	const char *v;
	if ((v = dc_find(b->dyn_mine, b->ndyn_mine, key))) {
		snprintf(out, n, "%s", v);
		return KB_SRC_DYNAMIC_BROKER;
	}
	if ((v = dc_find(b->dyn_default, b->ndyn_default, key))) {
		snprintf(out, n, "%s", v);
		return KB_SRC_DYNAMIC_DEFAULT_BROKER;
	}
	dc_static_value(&b->static_opts, key, out, n);
	struct klog_opts d;
	char dv[64];
	klog_opts_default(&d);
	dc_static_value(&d, key, dv, sizeof(dv));
	return strcmp(dv, out) ? KB_SRC_STATIC_BROKER : KB_SRC_DEFAULT;
}

/* ---- JSON: Kafka's ConfigEntityZNode, meta/kznode's ---- */

char *kb_dynconf_json(const struct kb_tconf *c, int32_t n)
{
	struct kznode_conf *kc = calloc(n > 0 ? (size_t)n : 1, sizeof(*kc));
	char *js = NULL;
	if (!kc)
		return NULL;
	for (int32_t i = 0; i < n; i++) { /* borrowed, not copied */
		kc[i].name = c[i].name;
		kc[i].value = c[i].value;
	}
	if (kznode_config_encode(kc, n, &js))
		js = NULL;
	free(kc);
	return js;
}

int kb_dynconf_parse(const char *text, size_t len, struct kb_tconf **out, int32_t *n)
{
	struct kznode_conf *kc = NULL;
	int32_t k = 0;
	char eb[160];
	*out = NULL;
	*n = 0;
	int rc = kznode_config_decode(text, len, &kc, &k, eb, sizeof(eb));
	if (rc)
		return rc == ERR_NOMEM ? ERR_NOMEM : ERR_CORRUPT;
	struct kb_tconf *v = calloc(k ? (size_t)k : 1, sizeof(*v));
	if (!v) {
		kznode_config_free(kc, k);
		return ERR_NOMEM;
	}
	for (int32_t i = 0; i < k; i++) { /* the strings change owner */
		v[i].name = kc[i].name;
		v[i].value = kc[i].value;
	}
	free(kc);
	*out = v;
	*n = k;
	return 0;
}

struct kb_tconf *kb_dynconf_dup(const struct kb_tconf *c, int32_t n)
{
	struct kb_tconf *v = calloc((size_t)(n > 0 ? n : 1), sizeof(*v));
	for (int32_t i = 0; v && i < n; i++) {
		v[i].name = strdup(c[i].name);
		v[i].value = strdup(c[i].value);
		if (!v[i].name || !v[i].value) {
			kb_dynconf_free(v, i + 1);
			return NULL;
		}
	}
	return v;
}

void kb_dynconf_free(struct kb_tconf *c, int32_t n)
{
	for (int32_t i = 0; c && i < n; i++) {
		free(c[i].name);
		free(c[i].value);
	}
	free(c);
}

/* ---- applying ---- */

/* The derived configs go to the topic's hosted replicas (log options, min.insync.replicas). */
static void dc_push_logs(struct broker *b, struct kb_topic *t)
{
	struct krm_conf c;
	kb_topic_krm_conf(t, &c);
	for (int32_t i = 0; i < t->nparts && b->rm; i++)
		krm_set_conf(b->rm, t->name, t->parts[i].id, &c);
}

static void dc_topic_derive(struct broker *b, struct kb_topic *t)
{
	char why[256];
	if (kb_topic_apply_conf(b, t, why, sizeof(why))) {
		log_warn(DC_MOD, "topic %s: %s; using the broker's defaults for it", t->name, why);
		kb_dynconf_free(t->conf, t->nconf);
		t->conf = NULL;
		t->nconf = 0;
		kb_topic_apply_conf(b, t, why, sizeof(why));
	}
	dc_push_logs(b, t);
}

void kb_dynconf_topic_set(struct broker *b, struct kb_topic *t, struct kb_tconf *c, int32_t n)
{
	kb_dynconf_free(t->conf, t->nconf);
	t->conf = c;
	t->nconf = c ? n : 0;
	dc_topic_derive(b, t);
}

void kb_dynconf_broker_set(struct broker *b, bool is_default, struct kb_tconf *c, int32_t n)
{
	char why[256];
	if (c && kb_dynconf_broker_validate(c, n, why, sizeof(why))) {
		log_warn(DC_MOD, "dynamic broker config %s ignored: %s", is_default ? "<default>" : "of this broker", why);
		kb_dynconf_free(c, n);
		c = NULL;
		n = 0;
	}
	if (is_default) {
		kb_dynconf_free(b->dyn_default, b->ndyn_default);
		b->dyn_default = c;
		b->ndyn_default = c ? n : 0;
	} else {
		kb_dynconf_free(b->dyn_mine, b->ndyn_mine);
		b->dyn_mine = c;
		b->ndyn_mine = c ? n : 0;
	}
	/* static, then <default>, then this broker's own */
	struct klog_opts o = b->static_opts;
	int64_t lo;
	for (int32_t i = 0; i < b->ndyn_default; i++)
		dc_apply_one(&o, b->dyn_default[i].name, b->dyn_default[i].value, &lo);
	for (int32_t i = 0; i < b->ndyn_mine; i++)
		dc_apply_one(&o, b->dyn_mine[i].name, b->dyn_mine[i].value, &lo);
	b->default_opts = o;
	log_info(DC_MOD, "dynamic broker configs: %d default, %d of broker %d; retention.ms %lld, retention.bytes %lld",
		 b->ndyn_default, b->ndyn_mine, b->cfg->broker_id, (long long)o.retention_ms,
		 (long long)o.retention_bytes);
	struct kb_topic *t;
	LIST_FOREACH(t, &b->topics, link)
		dc_topic_derive(b, t);
}

void kb_dynconf_release(struct broker *b)
{
	kb_dynconf_free(b->dyn_default, b->ndyn_default);
	kb_dynconf_free(b->dyn_mine, b->ndyn_mine);
	b->dyn_default = b->dyn_mine = NULL;
	b->ndyn_default = b->ndyn_mine = 0;
}
