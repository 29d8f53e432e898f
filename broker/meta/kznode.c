/*
 * kznode — Kafka 2.x's znode JSON, encoded and decoded in one place (see kznode.h). Decoding
 * goes through common/json (bounded, strict RFC 8259) and then checks each member's type and
 * range here; encoding builds the text in a growable buffer with a hard maximum.
 */
#include "kznode.h"

#include "err.h"
#include "json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No document we write comes near this; a bigger one is a bug or an absurd topic. */
#define KZ_MAX_OUT (64u << 20)

/* ---- writing ---- */

struct kz_out {
	char *p;
	size_t len, cap;
	int err;
};

static void kz_putf(struct kz_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void kz_putf(struct kz_out *o, const char *fmt, ...)
{
	while (!o->err) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->err = ERR_INVAL;
			return;
		}
		if (o->p && o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		size_t ncap = (o->cap ? o->cap * 2 : 256) + (size_t)n;
		if (ncap > KZ_MAX_OUT) {
			o->err = ERR_TOOBIG;
			return;
		}
		char *np = realloc(o->p, ncap);
		if (!np) {
			o->err = ERR_NOMEM;
			return;
		}
		o->p = np;
		o->cap = ncap;
	}
}

/* s as a JSON string: quotes, backslashes and control characters escaped. */
static void kz_putstr(struct kz_out *o, const char *s)
{
	kz_putf(o, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c && !o->err; c++) {
		if (*c == '"' || *c == '\\')
			kz_putf(o, "\\%c", *c);
		else if (*c < 0x20)
			kz_putf(o, "\\u%04x", *c);
		else
			kz_putf(o, "%c", *c);
	}
	kz_putf(o, "\"");
}

static void kz_putids(struct kz_out *o, const int32_t *ids, size_t n)
{
	kz_putf(o, "[");
	for (size_t i = 0; i < n; i++)
		kz_putf(o, "%s%" PRId32, i ? "," : "", ids[i]);
	kz_putf(o, "]");
}

/* Hands the text to the caller, or frees it and returns the error. */
static int kz_finish(struct kz_out *o, char **out)
{
	*out = NULL;
	if (!o->err && !o->p)
		kz_putf(o, "%s", "");
	if (o->err) {
		free(o->p);
		return o->err == ERR_TOOBIG ? ERR_NOMEM : o->err;
	}
	*out = o->p;
	return 0;
}

/* ---- reading ---- */

/* Parses buf into *doc and checks its root is an object. */
static int kz_parse(const char *what, const char *buf, size_t len, struct json_doc **doc, char *eb, size_t el)
{
	char jeb[160];
	*doc = NULL;
	int rc = json_parse(buf ? buf : "", buf ? len : 0, doc, jeb, sizeof(jeb));
	if (rc)
		return err_set(eb, el, rc == ERR_NOMEM ? ERR_NOMEM : ERR_CORRUPT, "%s: %s", what, jeb);
	if (json_type(json_root(*doc)) != JSON_OBJECT) {
		json_free(*doc);
		*doc = NULL;
		return err_set(eb, el, ERR_CORRUPT, "%s: not a JSON object", what);
	}
	return 0;
}

/* The integer member key of obj in [min, max]. */
static int kz_int(const char *what, const struct json_value *obj, const char *key, int64_t min, int64_t max,
		  int32_t *out, char *eb, size_t el)
{
	const struct json_value *v = json_get(obj, key);
	int64_t x;
	if (!v)
		return err_set(eb, el, ERR_CORRUPT, "%s: no \"%s\"", what, key);
	if (!json_int64(v, &x) || x < min || x > max)
		return err_set(eb, el, ERR_CORRUPT, "%s: \"%s\" is not an integer in [%" PRId64 ", %" PRId64 "]", what,
			       key, min, max);
	*out = (int32_t)x;
	return 0;
}

/* An array of at most max broker ids (each 0 .. INT32_MAX) into ids; the count in *n. */
static int kz_ids(const char *what, const char *name, const struct json_value *arr, int32_t *ids, size_t max,
		  size_t *n, char *eb, size_t el)
{
	*n = 0;
	if (json_type(arr) != JSON_ARRAY)
		return err_set(eb, el, ERR_CORRUPT, "%s: %s is not an array of broker ids", what, name);
	if (json_len(arr) > max)
		return err_set(eb, el, ERR_CORRUPT, "%s: %s holds %zu broker ids, over %zu", what, name, json_len(arr),
			       max);
	for (size_t i = 0; i < json_len(arr); i++) {
		int64_t x;
		if (!json_int64(json_at(arr, i), &x) || x < 0 || x > INT32_MAX)
			return err_set(eb, el, ERR_CORRUPT, "%s: %s: element %zu is not a broker id", what, name, i);
		ids[(*n)++] = (int32_t)x;
	}
	return 0;
}

/* A string member without NUL bytes, or NULL with an error. */
static const char *kz_str(const char *what, const struct json_value *obj, const char *key, size_t *len, char *eb,
			  size_t el)
{
	size_t n = 0;
	const char *s = json_string(json_get(obj, key), &n);
	if (!s) {
		err_set(eb, el, ERR_CORRUPT, "%s: no string \"%s\"", what, key);
		return NULL;
	}
	if (strlen(s) != n) {
		err_set(eb, el, ERR_CORRUPT, "%s: \"%s\" holds a NUL", what, key);
		return NULL;
	}
	*len = n;
	return s;
}

/* ---- /brokers/topics/<t> ---- */

const int32_t *kznode_assignment_replicas(const struct kznode_assignment *a, int32_t p, int32_t *n)
{
	*n = (int32_t)(a->off[p + 1] - a->off[p]);
	return a->ids + a->off[p];
}

void kznode_assignment_free(struct kznode_assignment *a)
{
	if (!a)
		return;
	free(a->off);
	free(a->ids);
	memset(a, 0, sizeof(*a));
}

int kznode_assignment_decode(const char *buf, size_t len, struct kznode_assignment *out, char *eb, size_t el)
{
	static const char what[] = "topic assignment";
	struct json_doc *doc = NULL;
	int32_t *idx = NULL; /* partition id -> member index in "partitions" */
	memset(out, 0, sizeof(*out));
	int rc = kz_parse(what, buf, len, &doc, eb, el);
	if (rc)
		return rc;
	const struct json_value *parts = json_get(json_root(doc), "partitions");
	if (json_type(parts) != JSON_OBJECT) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s: no \"partitions\" object", what);
		goto out;
	}
	size_t n = json_len(parts), total = 0;
	if (n > KZNODE_MAX_PARTITIONS) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s: %zu partitions, over %d", what, n, KZNODE_MAX_PARTITIONS);
		goto out;
	}
	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx) {
		rc = err_set(eb, el, ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = -1;
	/* partitions are numbered 0 .. n-1; the object's keys may come in any order */
	for (size_t i = 0; i < n; i++) {
		const char *key = json_key_at(parts, i);
		char *end = NULL;
		long p = -1;
		if (key[0] >= '0' && key[0] <= '9' && (key[0] != '0' || key[1] == '\0'))
			p = strtol(key, &end, 10);
		if (p < 0 || *end || (size_t)p >= n) {
			rc = err_set(eb, el, ERR_CORRUPT, "%s: \"%.32s\" is not a partition in 0 .. %zu", what, key,
				     n ? n - 1 : 0);
			goto out;
		}
		if (idx[p] >= 0) {
			rc = err_set(eb, el, ERR_CORRUPT, "%s: partition %ld is listed twice", what, p);
			goto out;
		}
		idx[p] = (int32_t)i;
		const struct json_value *r = json_at(parts, i);
		if (json_type(r) != JSON_ARRAY || json_len(r) > KZNODE_MAX_REPLICAS) {
			rc = err_set(eb, el, ERR_CORRUPT, "%s: the replicas of partition %ld are not an array of at most %d",
				     what, p, KZNODE_MAX_REPLICAS);
			goto out;
		}
		total += json_len(r);
	}
	out->off = malloc((n + 1) * sizeof(*out->off));
	out->ids = malloc((total ? total : 1) * sizeof(*out->ids));
	if (!out->off || !out->ids) {
		rc = err_set(eb, el, ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	size_t w = 0;
	for (size_t p = 0; p < n; p++) {
		char name[48];
		size_t got;
		snprintf(name, sizeof(name), "partition %zu", p);
		out->off[p] = (uint32_t)w;
		rc = kz_ids(what, name, json_at(parts, (size_t)idx[p]), out->ids + w, total - w, &got, eb, el);
		if (rc)
			goto out;
		w += got;
	}
	out->off[n] = (uint32_t)w;
	out->n_parts = (int32_t)n;
out:
	if (rc)
		kznode_assignment_free(out);
	free(idx);
	json_free(doc);
	return rc;
}

int kznode_assignment_encode(int32_t n_parts, int32_t rf, const int32_t *ids, char **out)
{
	struct kz_out o = { 0 };
	*out = NULL;
	if (n_parts < 0 || rf < 1)
		return ERR_INVAL;
	kz_putf(&o, "{\"version\":2,\"partitions\":{");
	for (int32_t p = 0; p < n_parts && !o.err; p++) {
		kz_putf(&o, "%s\"%" PRId32 "\":", p ? "," : "", p);
		kz_putids(&o, ids + (size_t)p * (size_t)rf, (size_t)rf);
	}
	kz_putf(&o, "},\"adding_replicas\":{},\"removing_replicas\":{}}");
	return kz_finish(&o, out);
}

/* ---- /brokers/topics/<t>/partitions/<p>/state ---- */

int kznode_state_decode(const char *buf, size_t len, struct kznode_state *out, char *eb, size_t el)
{
	static const char what[] = "partition state";
	struct json_doc *doc = NULL;
	size_t n = 0;
	memset(out, 0, sizeof(*out));
	int rc = kz_parse(what, buf, len, &doc, eb, el);
	const struct json_value *root = json_root(doc);
	if (!rc)
		rc = kz_int(what, root, "leader", -1, INT32_MAX, &out->leader, eb, el);
	if (!rc)
		rc = kz_int(what, root, "leader_epoch", 0, INT32_MAX, &out->leader_epoch, eb, el);
	if (!rc)
		rc = kz_int(what, root, "controller_epoch", 0, INT32_MAX, &out->controller_epoch, eb, el);
	if (!rc)
		rc = kz_ids(what, "\"isr\"", json_get(root, "isr"), out->isr, KZNODE_MAX_REPLICAS, &n, eb, el);
	out->n_isr = (uint32_t)n;
	if (rc)
		memset(out, 0, sizeof(*out));
	json_free(doc);
	return rc;
}

int kznode_state_encode(const struct kznode_state *st, char **out)
{
	struct kz_out o = { 0 };
	*out = NULL;
	if (st->n_isr > KZNODE_MAX_REPLICAS)
		return ERR_INVAL;
	kz_putf(&o, "{\"controller_epoch\":%" PRId32 ",\"leader\":%" PRId32 ",\"version\":1,\"leader_epoch\":%" PRId32
		    ",\"isr\":",
		st->controller_epoch, st->leader, st->leader_epoch);
	kz_putids(&o, st->isr, st->n_isr);
	kz_putf(&o, "}");
	return kz_finish(&o, out);
}

/* ---- /brokers/ids/<id> ---- */

/* "NAME://host:port" (host may be "[v6]") into host and *port; false if it is not one. */
static bool kz_endpoint(const char *ep, char *name, char *host, int32_t *port)
{
	const char *hp = strstr(ep, "://");
	if (!hp || hp == ep || (size_t)(hp - ep) > KZNODE_MAX_LISTENER)
		return false;
	memcpy(name, ep, (size_t)(hp - ep));
	name[hp - ep] = '\0';
	hp += 3;
	const char *colon = strrchr(hp, ':');
	if (!colon)
		return false;
	size_t hl = (size_t)(colon - hp);
	if (hl > 1 && hp[0] == '[' && colon[-1] == ']') {
		hp++;
		hl -= 2;
	}
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (hl == 0 || hl > KZNODE_MAX_HOST || colon[1] < '0' || colon[1] > '9' || *end || p < 1 || p > 65535)
		return false;
	memcpy(host, hp, hl);
	host[hl] = '\0';
	*port = (int32_t)p;
	return true;
}

int kznode_broker_decode(const char *buf, size_t len, struct kznode_broker *out, char *eb, size_t el)
{
	static const char what[] = "broker registration";
	struct json_doc *doc = NULL;
	memset(out, 0, sizeof(*out));
	out->control_port = -1;
	int rc = kz_parse(what, buf, len, &doc, eb, el);
	if (rc)
		return rc;
	const struct json_value *root = json_root(doc);
	const struct json_value *eps = json_get(root, "endpoints");
	if (eps && json_type(eps) != JSON_ARRAY) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s: \"endpoints\" is not an array", what);
		goto out;
	}
	for (size_t i = 0; i < json_len(eps); i++) {
		const char *ep = json_string(json_at(eps, i), NULL);
		struct kznode_endpoint e;
		if (!ep || !kz_endpoint(ep, e.name, e.host, &e.port)) {
			rc = err_set(eb, el, ERR_CORRUPT, "%s: endpoint %zu is not \"NAME://host:port\"", what, i);
			goto out;
		}
		if (i == 0) {
			memcpy(out->host, e.host, sizeof(out->host));
			out->port = e.port;
		}
		if (!strcmp(e.name, "CONTROL_PLANE")) {
			if (out->control_port < 0)
				out->control_port = e.port;
		} else if (out->n_endpoints < KZNODE_MAX_ENDPOINTS && !kznode_broker_endpoint(out, e.name)) {
			out->endpoints[out->n_endpoints++] = e;
		}
	}
	if (json_len(eps) == 0) { /* version 1: the top-level host and port */
		size_t hl;
		const char *h = kz_str(what, root, "host", &hl, eb, el);
		if (!h) {
			rc = ERR_CORRUPT;
			goto out;
		}
		if (hl == 0 || hl > KZNODE_MAX_HOST) {
			rc = err_set(eb, el, ERR_CORRUPT, "%s: \"host\" is empty or longer than %d", what, KZNODE_MAX_HOST);
			goto out;
		}
		memcpy(out->host, h, hl + 1);
		if ((rc = kz_int(what, root, "port", 1, 65535, &out->port, eb, el)))
			goto out;
	}
	const struct json_value *rack = json_get(root, "rack");
	if (rack && json_type(rack) != JSON_NULL) {
		size_t rl;
		const char *r = kz_str(what, root, "rack", &rl, eb, el);
		if (!r || rl > KZNODE_MAX_HOST) {
			rc = err_set(eb, el, ERR_CORRUPT, "%s: \"rack\" is not a string of at most %d bytes", what,
				     KZNODE_MAX_HOST);
			goto out;
		}
		memcpy(out->rack, r, rl + 1);
		out->has_rack = true;
	}
out:
	if (rc) {
		memset(out, 0, sizeof(*out));
		out->control_port = -1;
	}
	json_free(doc);
	return rc;
}

const struct kznode_endpoint *kznode_broker_endpoint(const struct kznode_broker *b, const char *name)
{
	for (int i = 0; i < b->n_endpoints; i++)
		if (!strcmp(b->endpoints[i].name, name))
			return &b->endpoints[i];
	return NULL;
}

/* "NAME://host:port", IPv6 hosts in brackets. */
static void kz_put_endpoint(struct kz_out *o, const char *name, const char *host, int32_t port)
{
	char ep[KZNODE_MAX_HOST + 300];
	snprintf(ep, sizeof(ep), strchr(host, ':') ? "%s://[%s]:%" PRId32 : "%s://%s:%" PRId32, name, host, port);
	kz_putstr(o, ep);
}

int kznode_broker_encode(const struct kznode_broker_reg *r, char **out)
{
	struct kz_out o = { 0 };
	*out = NULL;
	const struct kznode_reg_endpoint *plain = NULL;
	kz_putf(&o, "{\"features\":{},\"listener_security_protocol_map\":{");
	for (int i = 0; i < r->n_endpoints; i++) {
		kz_putstr(&o, r->endpoints[i].name);
		kz_putf(&o, ":");
		kz_putstr(&o, r->endpoints[i].security);
		kz_putf(&o, ",");
		if (!plain && !strcmp(r->endpoints[i].security, "PLAINTEXT"))
			plain = &r->endpoints[i];
	}
	kz_putf(&o, "\"CONTROL_PLANE\":\"PLAINTEXT\"},\"endpoints\":[");
	for (int i = 0; i < r->n_endpoints; i++) {
		kz_put_endpoint(&o, r->endpoints[i].name, r->endpoints[i].host, r->endpoints[i].port);
		kz_putf(&o, ",");
	}
	kz_put_endpoint(&o, "CONTROL_PLANE", r->control_host, r->control_port);
	kz_putf(&o, "],\"jmx_port\":-1,\"port\":%" PRId32 ",\"host\":", plain ? plain->port : -1);
	if (plain)
		kz_putstr(&o, plain->host);
	else
		kz_putf(&o, "null");
	kz_putf(&o, ",\"version\":5,\"timestamp\":\"%" PRId64 "\"}", r->timestamp_ms);
	return kz_finish(&o, out);
}

/* ---- /controller, /controller_epoch ---- */

int kznode_controller_decode(const char *buf, size_t len, int32_t *broker_id, char *eb, size_t el)
{
	struct json_doc *doc = NULL;
	*broker_id = -1;
	int rc = kz_parse("/controller", buf, len, &doc, eb, el);
	if (!rc)
		rc = kz_int("/controller", json_root(doc), "brokerid", 0, INT32_MAX, broker_id, eb, el);
	if (rc)
		*broker_id = -1;
	json_free(doc);
	return rc;
}

int kznode_controller_encode(int32_t broker_id, int64_t timestamp_ms, char **out)
{
	struct kz_out o = { 0 };
	kz_putf(&o, "{\"version\":1,\"brokerid\":%" PRId32 ",\"timestamp\":\"%" PRId64 "\"}", broker_id, timestamp_ms);
	return kz_finish(&o, out);
}

int kznode_epoch_decode(const char *buf, size_t len, int32_t *epoch, char *eb, size_t el)
{
	int64_t v = 0;
	*epoch = 0;
	if (!buf || len == 0 || len > 10)
		return err_set(eb, el, ERR_CORRUPT, "/controller_epoch: not a decimal epoch (%zu bytes)", buf ? len : 0);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return err_set(eb, el, ERR_CORRUPT, "/controller_epoch: byte %zu is not a digit", i);
		v = v * 10 + (buf[i] - '0');
	}
	if (v >= INT32_MAX)
		return err_set(eb, el, ERR_CORRUPT, "/controller_epoch: %" PRId64 " is past the last epoch", v);
	*epoch = (int32_t)v;
	return 0;
}

int kznode_epoch_encode(int32_t epoch, char **out)
{
	struct kz_out o = { 0 };
	kz_putf(&o, "%" PRId32, epoch);
	return kz_finish(&o, out);
}

/* ---- /cluster/id ---- */

int kznode_cluster_id_decode(const char *buf, size_t len, char *id, char *eb, size_t el)
{
	struct json_doc *doc = NULL;
	size_t n = 0;
	id[0] = '\0';
	int rc = kz_parse("/cluster/id", buf, len, &doc, eb, el);
	const char *s = rc ? NULL : kz_str("/cluster/id", json_root(doc), "id", &n, eb, el);
	if (!rc && !s)
		rc = ERR_CORRUPT;
	else if (!rc && (n == 0 || n > KZNODE_MAX_ID))
		rc = err_set(eb, el, ERR_CORRUPT, "/cluster/id: the id is empty or longer than %d bytes", KZNODE_MAX_ID);
	else if (!rc)
		memcpy(id, s, n + 1);
	json_free(doc);
	return rc;
}

int kznode_cluster_id_encode(const char *id, char **out)
{
	struct kz_out o = { 0 };
	kz_putf(&o, "{\"version\":\"1\",\"id\":");
	kz_putstr(&o, id);
	kz_putf(&o, "}");
	return kz_finish(&o, out);
}

/* ---- /config/<type>/<entity> ---- */

void kznode_config_free(struct kznode_conf *c, int32_t n)
{
	for (int32_t i = 0; c && i < n; i++) {
		free(c[i].name);
		free(c[i].value);
	}
	free(c);
}

int kznode_config_decode(const char *buf, size_t len, struct kznode_conf **out, int32_t *n, char *eb, size_t el)
{
	static const char what[] = "entity config";
	struct json_doc *doc = NULL;
	struct kznode_conf *v = NULL;
	int32_t k = 0;
	*out = NULL;
	*n = 0;
	int rc = kz_parse(what, buf, len, &doc, eb, el);
	if (rc)
		return rc;
	const struct json_value *c = json_get(json_root(doc), "config");
	size_t cnt = json_type(c) == JSON_OBJECT ? json_len(c) : 0;
	if (cnt > KZNODE_MAX_CONFIGS) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s: %zu pairs, over %d", what, cnt, KZNODE_MAX_CONFIGS);
		goto out;
	}
	if (!(v = calloc(cnt ? cnt : 1, sizeof(*v)))) {
		rc = err_set(eb, el, ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	for (size_t i = 0; i < cnt; i++) {
		const char *val = json_string(json_at(c, i), NULL);
		if (!val)
			continue;
		v[k].name = strdup(json_key_at(c, i));
		v[k].value = strdup(val);
		k++;
		if (!v[k - 1].name || !v[k - 1].value) {
			rc = err_set(eb, el, ERR_NOMEM, "%s: out of memory", what);
			goto out;
		}
	}
out:
	if (rc) {
		kznode_config_free(v, k);
	} else {
		*out = v;
		*n = k;
	}
	json_free(doc);
	return rc;
}

int kznode_config_encode(const struct kznode_conf *c, int32_t n, char **out)
{
	struct kz_out o = { 0 };
	kz_putf(&o, "{\"version\":1,\"config\":{");
	for (int32_t i = 0; i < n; i++) {
		kz_putf(&o, "%s", i ? "," : "");
		kz_putstr(&o, c[i].name);
		kz_putf(&o, ":");
		kz_putstr(&o, c[i].value);
	}
	kz_putf(&o, "}}");
	return kz_finish(&o, out);
}

/* ---- notifications ---- */

int kznode_isr_change_encode(const char *topic, int32_t partition, char **out)
{
	struct kz_out o = { 0 };
	kz_putf(&o, "{\"version\":1,\"partitions\":[{\"topic\":");
	kz_putstr(&o, topic);
	kz_putf(&o, ",\"partition\":%" PRId32 "}]}", partition);
	return kz_finish(&o, out);
}

int kznode_config_change_decode(const char *buf, size_t len, char *path, size_t n, char *eb, size_t el)
{
	static const char what[] = "config change notification";
	struct json_doc *doc = NULL;
	size_t pl = 0;
	if (n)
		path[0] = '\0';
	int rc = kz_parse(what, buf, len, &doc, eb, el);
	const char *s = rc ? NULL : kz_str(what, json_root(doc), "entity_path", &pl, eb, el);
	if (!rc && !s)
		rc = ERR_CORRUPT;
	else if (!rc && pl >= n)
		rc = err_set(eb, el, ERR_TOOBIG, "%s: \"entity_path\" is longer than %zu bytes", what, n ? n - 1 : 0);
	else if (!rc)
		memcpy(path, s, pl + 1);
	json_free(doc);
	return rc;
}

int kznode_config_change_encode(const char *entity_path, char **out)
{
	struct kz_out o = { 0 };
	kz_putf(&o, "{\"version\":2,\"entity_path\":");
	kz_putstr(&o, entity_path);
	kz_putf(&o, "}");
	return kz_finish(&o, out);
}

/* ---- /latest_producer_id_block ---- */

/* A member holding a decimal int64 as a string (Kafka writes them so) or as a number. */
static int kz_long_or_string(const char *what, const struct json_value *obj, const char *key, int64_t *out,
			     char *eb, size_t el)
{
	const struct json_value *v = json_get(obj, key);
	if (!v)
		return err_set(eb, el, ERR_CORRUPT, "%s: no \"%s\"", what, key);
	if (json_int64(v, out))
		return 0;
	size_t n = 0;
	const char *s = json_string(v, &n);
	int64_t x = 0;
	bool neg = s && n > 0 && s[0] == '-';
	if (!s || n == 0 || n > 20 || (neg && n == 1))
		return err_set(eb, el, ERR_CORRUPT, "%s: \"%s\" is not a decimal integer", what, key);
	for (size_t i = neg ? 1 : 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (INT64_MAX - (s[i] - '0')) / 10)
			return err_set(eb, el, ERR_CORRUPT, "%s: \"%s\" is not a decimal integer", what, key);
		x = x * 10 + (s[i] - '0');
	}
	*out = neg ? -x : x;
	return 0;
}

int kznode_pid_block_decode(const char *buf, size_t len, struct kznode_pid_block *out, char *eb, size_t el)
{
	static const char what[] = "/latest_producer_id_block";
	memset(out, 0, sizeof(*out));
	out->broker = -1;
	if (!buf || len == 0)
		return err_set(eb, el, ERR_NOTFOUND, "%s: empty", what);
	struct json_doc *doc = NULL;
	int rc = kz_parse(what, buf, len, &doc, eb, el);
	struct kznode_pid_block b = { 0 };
	if (!rc)
		rc = kz_int(what, json_root(doc), "broker", 0, INT32_MAX, &b.broker, eb, el);
	if (!rc)
		rc = kz_long_or_string(what, json_root(doc), "block_start", &b.start, eb, el);
	if (!rc)
		rc = kz_long_or_string(what, json_root(doc), "block_end", &b.end, eb, el);
	if (!rc && (b.start < 0 || b.end < b.start))
		rc = err_set(eb, el, ERR_CORRUPT, "%s: block %" PRId64 "..%" PRId64 " is not a range of ids", what,
			     b.start, b.end);
	json_free(doc);
	if (!rc)
		*out = b;
	return rc;
}

int kznode_pid_block_encode(const struct kznode_pid_block *b, char **out)
{
	struct kz_out o = { 0 };
	kz_putf(&o, "{\"version\":1,\"broker\":%" PRId32 ",\"block_start\":\"%" PRId64 "\",\"block_end\":\"%" PRId64 "\"}",
		b->broker, b->start, b->end);
	return kz_finish(&o, out);
}

int kznode_pid_block_next(const struct kznode_pid_block *prev, int32_t broker, struct kznode_pid_block *out)
{
	int64_t start = prev ? prev->end + 1 : 0;
	if (prev && prev->end > INT64_MAX - KZNODE_PID_BLOCK_SIZE)
		return ERR_RANGE;
	out->broker = broker;
	out->start = start;
	out->end = start + KZNODE_PID_BLOCK_SIZE - 1;
	return 0;
}
