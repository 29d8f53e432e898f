/*
 * ksauth — SASL authentication of the broker's client connections (see ksauth.h).
 *
 * The state machine of one connection (ksauth_set_state checks every edge and logs it):
 *
 *   HANDSHAKE --SaslHandshake, mechanism enabled--> TOKEN --PLAIN right--------------> DONE
 *       |                                             |  \--SCRAM client-first--> LOOKUP
 *       |                                             |                              |
 *       +--unsupported mechanism--> FAILED <--wrong---+      FAILED <--no user--------+
 *                                     ^                                              |
 *                                     +----wrong proof---- SCRAM_FINAL <--creds read-+
 *                                                              |
 *                                                              +--right proof--> DONE
 *
 *   HANDSHAKE    nothing chosen; ApiVersions and SaslHandshake are served, anything else closes.
 *   TOKEN        mech chosen (raw: tokens without Kafka headers, after SaslHandshake v0);
 *                the first token of the mechanism is awaited.
 *   LOOKUP       SCRAM: /config/users/<user> is being read (lookup set); pending holds the
 *                response slot of the client-first token, answered when the read completes.
 *                A frame now is a protocol violation and closes the connection.
 *   SCRAM_FINAL  server-first sent (cred, nonce and auth_head set); client-final is awaited.
 *   DONE         authenticated: c->principal set, the frame bound and the timer lifted;
 *                every frame goes to kapi.
 *   FAILED       the failure is answered (or cannot be) and the connection closes after it.
 * Leaving LOOKUP answers pending either way; a connection closed during it orphans the read.
 */
#include "ksauth.h"

#include "err.h"
#include "jaas.h"
#include "kapi.h"
#include "kb_broker.h"
#include "kb_config.h"
#include "kb_zk.h"
#include "kconn.h"
#include "kout.h"
#include "ksasl.h"
#include "kznode.h"
#include "log.h"
#include "net.h"

#include <event2/buffer.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const KSAUTH_MOD = "sasl";

#define KSAUTH_MAX_FRAME (KSASL_MAX_TOKEN + 1024) /* a token and its request header */
#define KSAUTH_SCRAM_MIN_ITERATIONS 4096	  /* Kafka's ScramMechanism.minIterations */
#define KSAUTH_FAILED_PLAIN "Authentication failed: Invalid username or password"
#define KSAUTH_FAILED_SCRAM "Authentication failed during authentication due to invalid credentials with SASL mechanism %s"

struct ksauth_user {
	char *name, *pass;
};

struct ksauth_listener {
	unsigned mechs; /* 1 << enum ksasl_mech */
	struct ksauth_user *users;
	int nusers;
};

struct ksauth_conf {
	struct ksauth_listener l[KB_MAX_LISTENERS];
	int n;
};

enum ksauth_state { KSAUTH_HANDSHAKE, KSAUTH_TOKEN, KSAUTH_LOOKUP, KSAUTH_SCRAM_FINAL, KSAUTH_DONE, KSAUTH_FAILED, KSAUTH_NSTATES };

static const char *const ksauth_state_names[KSAUTH_NSTATES] = { "HANDSHAKE", "TOKEN", "LOOKUP",
								 "SCRAM_FINAL", "DONE", "FAILED" };

/* legal[from] = the states it may move to */
static const unsigned ksauth_legal[KSAUTH_NSTATES] = {
	[KSAUTH_HANDSHAKE] = 1u << KSAUTH_TOKEN | 1u << KSAUTH_FAILED,
	[KSAUTH_TOKEN] = 1u << KSAUTH_DONE | 1u << KSAUTH_LOOKUP | 1u << KSAUTH_FAILED,
	[KSAUTH_LOOKUP] = 1u << KSAUTH_SCRAM_FINAL | 1u << KSAUTH_FAILED,
	[KSAUTH_SCRAM_FINAL] = 1u << KSAUTH_DONE | 1u << KSAUTH_FAILED,
	[KSAUTH_DONE] = 0,
	[KSAUTH_FAILED] = 0,
};

struct ksauth_lookup;

struct ksauth {
	struct kconn *c;
	enum ksauth_state st;
	enum ksasl_mech mech;
	bool raw;	       /* SaslHandshake v0: raw tokens, answered without headers */
	int frames;	       /* frames seen before authentication */
	struct net_timer *timer;
	char user[KSASL_NAME_BUF];
	/* LOOKUP */
	struct ksauth_lookup *lookup;
	struct kresp *pending;
	int16_t pending_ver;
	int32_t pending_corr;
	/* SCRAM */
	char gs2[KSASL_NAME_BUF + 8];
	char nonce[2 * KSASL_NONCE_BUF]; /* client's + ours */
	char *auth_head;		 /* client-first-bare "," server-first (malloc'd) */
	struct ksasl_scram_cred cred;
};

/* A coordinator read in flight; a is NULL once the connection is gone. */
struct ksauth_lookup {
	struct ksauth *a;
};

static const char *ksauth_peer(const struct ksauth *a)
{
	return net_conn_peer(a->c->nc);
}

static void ksauth_set_state(struct ksauth *a, enum ksauth_state st, const char *why)
{
	if (!(ksauth_legal[a->st] & (1u << st))) {
		log_fatal(KSAUTH_MOD, "%s: illegal SASL state change %s -> %s (%s)", ksauth_peer(a),
			  ksauth_state_names[a->st], ksauth_state_names[st], why);
		abort();
	}
	log_debug(KSAUTH_MOD, "%s: %s -> %s (%s)", ksauth_peer(a), ksauth_state_names[a->st], ksauth_state_names[st],
		  why);
	a->st = st;
}

/* ---- configuration ---- */

static void ksauth_conf_user(const char *key, const char *value, void *arg)
{
	struct ksauth_listener *sl = arg;
	if (strncmp(key, "user_", 5) || !key[5] || sl->nusers >= KSASL_MAX_USERS || sl->nusers < 0)
		return;
	struct ksauth_user *n = realloc(sl->users, sizeof(*n) * (size_t)(sl->nusers + 1));
	if (!n) {
		sl->nusers = -1; /* out of memory: reported by the caller */
		return;
	}
	sl->users = n;
	n[sl->nusers].name = strdup(key + 5);
	n[sl->nusers].pass = strdup(value);
	if (!n[sl->nusers].name || !n[sl->nusers].pass) {
		free(n[sl->nusers].name);
		free(n[sl->nusers].pass);
		sl->nusers = -1;
		return;
	}
	sl->nusers++;
}

static int ksauth_conf_listener(const struct kb_config *cfg, int i, struct ksauth_listener *sl, char *eb, size_t el)
{
	const struct kb_listener *l = &cfg->listener[i];
	const char *list = kb_config_listener_prop(cfg, i, "sasl.enabled.mechanisms");
	const char *key = list ? "listener.name.<listener>.sasl.enabled.mechanisms" : "sasl.enabled.mechanisms";
	if (!list)
		list = cfg->sasl_enabled_mechanisms ? cfg->sasl_enabled_mechanisms : "";
	char others[256] = "";
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		const char *a = p, *e = p + n;
		while (a < e && (*a == ' ' || *a == '\t'))
			a++;
		while (e > a && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		enum ksasl_mech m;
		if (e > a && ksasl_mech_parse(a, (size_t)(e - a), &m) == 0)
			sl->mechs |= 1u << m;
		else if (e > a)
			snprintf(others + strlen(others), sizeof(others) - strlen(others), "%s%.*s", others[0] ? ", " : "",
				 (int)(e - a), a);
		p = p[n] ? p + n + 1 : p + n;
	}
	if (!sl->mechs)
		return err_set(eb, el, ERR_CONFIG,
			       "%s: listener '%s' is %s but %s='%s' enables no mechanism samsa offers: it offers PLAIN, "
			       "SCRAM-SHA-256 and SCRAM-SHA-512 (GSSAPI, Kafka's default, and OAUTHBEARER are not "
			       "supported); set sasl.enabled.mechanisms",
			       cfg->source ? cfg->source : "config", l->name, kb_security_name(l->security), key, list);
	if (others[0])
		log_warn(KSAUTH_MOD, "listener %s: SASL mechanisms %s are not supported and are not offered", l->name, others);
	if (sl->mechs & (1u << KSASL_PLAIN)) {
		const char *jaas = kb_config_listener_prop(cfg, i, "plain.sasl.jaas.config");
		if (!jaas)
			return err_set(eb, el, ERR_CONFIG,
				       "%s: listener '%s' enables PLAIN but listener.name.%s.plain.sasl.jaas.config is not set "
				       "(org.apache.kafka.common.security.plain.PlainLoginModule required user_<name>=\"<password>\" ...;)",
				       cfg->source ? cfg->source : "config", l->name, l->name);
		char module[256], why[256];
		if (jaas_entry_parse(jaas, strlen(jaas), module, sizeof(module), ksauth_conf_user, sl, why, sizeof(why)))
			return err_set(eb, el, ERR_CONFIG, "%s: listener.name.%s.plain.sasl.jaas.config: %s",
				       cfg->source ? cfg->source : "config", l->name, why);
		if (sl->nusers < 0)
			return ERR_NOMEM;
		size_t ml = strlen(module), sl_ = strlen("PlainLoginModule");
		if (ml < sl_ || strcmp(module + ml - sl_, "PlainLoginModule"))
			return err_set(eb, el, ERR_CONFIG,
				       "%s: listener.name.%s.plain.sasl.jaas.config names %s; PLAIN needs "
				       "org.apache.kafka.common.security.plain.PlainLoginModule",
				       cfg->source ? cfg->source : "config", l->name, module);
		if (sl->nusers == 0)
			log_warn(KSAUTH_MOD, "listener %s: PLAIN has no user_<name> entries: every PLAIN login fails", l->name);
	}
	char names[128] = "";
	for (int m = 0; m < KSASL_NMECH; m++)
		if (sl->mechs & (1u << m))
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? "," : "",
				 ksasl_mech_name((enum ksasl_mech)m));
	log_info(KSAUTH_MOD, "listener %s (%s): SASL mechanisms %s, %d PLAIN user(s)", l->name,
		 kb_security_name(l->security), names, sl->nusers);
	return 0;
}

int ksauth_conf_new(const struct kb_config *cfg, struct ksauth_conf **out, char *eb, size_t el)
{
	*out = NULL;
	bool any = false;
	for (int i = 0; i < cfg->n_listeners; i++)
		any |= cfg->listener[i].security == KB_SEC_SASL_PLAINTEXT || cfg->listener[i].security == KB_SEC_SASL_SSL;
	if (!any)
		return 0;
	struct ksauth_conf *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return ERR_NOMEM;
	sc->n = cfg->n_listeners;
	for (int i = 0; i < cfg->n_listeners; i++) {
		if (cfg->listener[i].security != KB_SEC_SASL_PLAINTEXT && cfg->listener[i].security != KB_SEC_SASL_SSL)
			continue;
		int rc = ksauth_conf_listener(cfg, i, &sc->l[i], eb, el);
		if (rc) {
			ksauth_conf_free(sc);
			return rc == ERR_NOMEM ? err_set(eb, el, rc, "out of memory") : rc;
		}
	}
	*out = sc;
	return 0;
}

void ksauth_conf_free(struct ksauth_conf *sc)
{
	if (!sc)
		return;
	for (int i = 0; i < sc->n; i++) {
		for (int k = 0; k < sc->l[i].nusers; k++) {
			free(sc->l[i].users[k].name);
			OPENSSL_cleanse(sc->l[i].users[k].pass, strlen(sc->l[i].users[k].pass));
			free(sc->l[i].users[k].pass);
		}
		free(sc->l[i].users);
	}
	free(sc);
}

static const struct ksauth_listener *ksauth_listener_of(const struct ksauth *a)
{
	const struct broker *b = a->c->b;
	int i = a->c->listener;
	return b->sasl && i >= 0 && i < b->sasl->n ? &b->sasl->l[i] : NULL;
}

/* ---- the connection's exchange ---- */

static void ksauth_timeout(void *arg)
{
	struct ksauth *a = arg;
	if (a->st == KSAUTH_DONE || net_conn_closing(a->c->nc))
		return;
	log_warn(KSAUTH_MOD, "closing %s: not authenticated within %d ms (SASL state %s%s%s)", ksauth_peer(a),
		 a->c->b->cfg->sasl_auth_timeout_ms, ksauth_state_names[a->st], a->user[0] ? ", user " : "", a->user);
	net_conn_close(a->c->nc, ERR_CLOSED);
}

int ksauth_start(struct kconn *c)
{
	struct ksauth *a = calloc(1, sizeof(*a));
	if (!a)
		return ERR_NOMEM;
	a->c = c;
	a->st = KSAUTH_HANDSHAKE;
	a->timer = net_timer_new(c->b->base, (uint64_t)c->b->cfg->sasl_auth_timeout_ms, false, ksauth_timeout, a);
	if (!a->timer) {
		free(a);
		return ERR_NOMEM;
	}
	net_conn_set_max_frame(c->nc, KSAUTH_MAX_FRAME);
	c->auth = a;
	return 0;
}

void ksauth_free(struct ksauth *a)
{
	if (!a)
		return;
	if (a->lookup)
		a->lookup->a = NULL; /* the completion frees it */
	net_timer_free(a->timer);
	free(a->auth_head);
	OPENSSL_cleanse(&a->cred, sizeof(a->cred));
	free(a);
}

bool ksauth_done(const struct ksauth *a)
{
	return a && a->st == KSAUTH_DONE;
}

/* Fills slot with a token answer: raw (a length and the token) or a SaslAuthenticate response of
 * version ver to corr. Then flushes, and after a failure closes the connection once it left. */
static void ksauth_answer(struct ksauth *a, struct kresp *slot, int16_t ver, int32_t corr, int16_t err,
			  const char *msg, const uint8_t *tok, size_t len)
{
	struct kconn *c = a->c;
	if (a->raw) {
		if (err) { /* the v0 exchange has no way to say it: Kafka closes the connection */
			slot->done = true;
			kconn_flush(c);
			net_conn_close(c->nc, ERR_PROTO);
			return;
		}
		slot->buf = evbuffer_new();
		uint8_t hdr[4];
		be32_put(hdr, (uint32_t)len);
		if (!slot->buf || evbuffer_add(slot->buf, hdr, 4) || (len && evbuffer_add(slot->buf, tok, len))) {
			net_conn_close(c->nc, ERR_NOMEM);
			return;
		}
		slot->done = true;
		kconn_flush(c);
		return;
	}
	struct kout o;
	kout_init(&o, corr);
	ksasl_auth_resp_encode(&o.w, ver, err, msg, tok, len, 0);
	if (kout_finish(&o, slot)) {
		net_conn_close(c->nc, ERR_NOMEM);
		return;
	}
	kconn_flush(c);
	if (err)
		net_conn_close_after_flush(c->nc);
}

static void ksauth_fail(struct ksauth *a, struct kresp *slot, int16_t ver, int32_t corr, const char *why)
{
	char msg[256];
	if (a->mech == KSASL_PLAIN)
		snprintf(msg, sizeof(msg), "%s", KSAUTH_FAILED_PLAIN);
	else
		snprintf(msg, sizeof(msg), KSAUTH_FAILED_SCRAM, ksasl_mech_name(a->mech));
	log_warn(KSAUTH_MOD, "authentication of user '%s' from %s with %s failed: %s; closing", a->user, ksauth_peer(a),
		 ksasl_mech_name(a->mech), why);
	ksauth_set_state(a, KSAUTH_FAILED, why);
	ksauth_answer(a, slot, ver, corr, KE_SASL_AUTHENTICATION_FAILED, msg, NULL, 0);
}

static void ksauth_succeed(struct ksauth *a, struct kresp *slot, int16_t ver, int32_t corr, const uint8_t *tok,
			   size_t len)
{
	struct kconn *c = a->c;
	ksauth_set_state(a, KSAUTH_DONE, "authenticated");
	snprintf(c->principal, sizeof(c->principal), "User:%s", a->user);
	net_conn_set_max_frame(c->nc, (size_t)c->b->cfg->socket_request_max_bytes);
	net_timer_free(a->timer);
	a->timer = NULL;
	free(a->auth_head);
	a->auth_head = NULL;
	OPENSSL_cleanse(&a->cred, sizeof(a->cred));
	log_info(KSAUTH_MOD, "%s authenticated as %s with %s on listener %s", ksauth_peer(a), c->principal,
		 ksasl_mech_name(a->mech), c->b->cfg->listener[c->listener].name);
	ksauth_answer(a, slot, ver, corr, KE_NONE, NULL, tok, len);
}

static void ksauth_plain(struct ksauth *a, struct kresp *slot, int16_t ver, int32_t corr, const uint8_t *tok,
			 size_t len)
{
	struct ksasl_plain pl;
	if (ksasl_plain_decode(tok, len, &pl)) {
		ksauth_fail(a, slot, ver, corr, "malformed PLAIN token");
		return;
	}
	snprintf(a->user, sizeof(a->user), "%s", pl.user);
	const struct ksauth_listener *sl = ksauth_listener_of(a);
	const struct ksauth_user *u = NULL;
	for (int i = 0; sl && i < sl->nusers && !u; i++)
		if (!strcmp(sl->users[i].name, pl.user))
			u = &sl->users[i];
	bool ok = u && strlen(u->pass) == strlen(pl.pass) && !CRYPTO_memcmp(u->pass, pl.pass, strlen(pl.pass));
	bool authz_ok = !pl.authzid[0] || !strcmp(pl.authzid, pl.user);
	OPENSSL_cleanse(&pl, sizeof(pl));
	if (!u)
		ksauth_fail(a, slot, ver, corr, "unknown user");
	else if (!ok)
		ksauth_fail(a, slot, ver, corr, "wrong password");
	else if (!authz_ok)
		ksauth_fail(a, slot, ver, corr, "an authorization id other than the user");
	else
		ksauth_succeed(a, slot, ver, corr, NULL, 0);
}

/* The rest of SCRAM's first step once the credentials are read (cred set) or could not be. */
static void ksauth_scram_first_answer(struct ksauth *a, const char *why)
{
	struct kresp *slot = a->pending;
	a->pending = NULL;
	if (why) {
		ksauth_fail(a, slot, a->pending_ver, a->pending_corr, why);
		return;
	}
	/* server-first-message = "r=" c-nonce s-nonce ",s=" salt ",i=" iterations */
	uint8_t rnd[18];
	char ours[32];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		ksauth_fail(a, slot, a->pending_ver, a->pending_corr, "no random bytes for the nonce");
		return;
	}
	ksasl_b64_encode(rnd, sizeof(rnd), ours); /* 24 characters, no ',' */
	strncat(a->nonce, ours, sizeof(a->nonce) - strlen(a->nonce) - 1);
	char salt[4 * ((KSASL_SALT_MAX + 2) / 3) + 1];
	ksasl_b64_encode(a->cred.salt, a->cred.salt_len, salt);
	char first[sizeof(a->nonce) + sizeof(salt) + 32];
	snprintf(first, sizeof(first), "r=%s,s=%s,i=%d", a->nonce, salt, a->cred.iterations);
	size_t hl = strlen(a->auth_head);
	char *head = realloc(a->auth_head, hl + 1 + strlen(first) + 1);
	if (!head) {
		net_conn_close(a->c->nc, ERR_NOMEM);
		return;
	}
	head[hl] = ',';
	memcpy(head + hl + 1, first, strlen(first) + 1);
	a->auth_head = head;
	ksauth_set_state(a, KSAUTH_SCRAM_FINAL, "credentials read");
	ksauth_answer(a, slot, a->pending_ver, a->pending_corr, KE_NONE, NULL, (const uint8_t *)first, strlen(first));
}

static void ksauth_lookup_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	(void)stat;
	struct ksauth_lookup *lk = (struct ksauth_lookup *)(uintptr_t)data;
	struct ksauth *a = lk->a;
	free(lk);
	if (!a)
		return; /* the connection went away */
	a->lookup = NULL;
	if (rc == ZNONODE) {
		ksauth_scram_first_answer(a, "unknown user (no /config/users entry)");
		return;
	}
	if (rc != ZOK) {
		log_warn(KSAUTH_MOD, "reading the SCRAM credentials of '%s' failed: %s", a->user, zerror(rc));
		ksauth_scram_first_answer(a, "the credentials could not be read from the coordinator");
		return;
	}
	struct kznode_conf *kv = NULL;
	int32_t n = 0;
	char eb[256];
	if (kznode_config_decode(value ? value : "", value && len > 0 ? (size_t)len : 0, &kv, &n, eb, sizeof(eb))) {
		log_warn(KSAUTH_MOD, "/config/users/%s: %s", a->user, eb);
		ksauth_scram_first_answer(a, "unreadable /config/users entry");
		return;
	}
	const char *cred = NULL;
	for (int32_t i = 0; i < n && !cred; i++)
		if (!strcmp(kv[i].name, ksasl_mech_name(a->mech)))
			cred = kv[i].value;
	const char *why = NULL;
	if (!cred)
		why = "no credential of this mechanism";
	else if (ksasl_scram_cred_decode(cred, strlen(cred), &a->cred))
		why = "unreadable credential";
	else if (a->cred.key_len != (a->mech == KSASL_SCRAM_SHA_512 ? 64u : 32u))
		why = "a credential of another hash";
	else if (a->cred.iterations < KSAUTH_SCRAM_MIN_ITERATIONS)
		why = "a credential with fewer than 4096 iterations";
	kznode_config_free(kv, n);
	ksauth_scram_first_answer(a, why);
}

static void ksauth_scram_first(struct ksauth *a, struct kresp *slot, int16_t ver, int32_t corr, const uint8_t *tok,
			       size_t len)
{
	struct ksasl_scram_first *f = malloc(sizeof(*f));
	if (!f) {
		net_conn_close(a->c->nc, ERR_NOMEM);
		return;
	}
	if (ksasl_scram_first_decode(tok, len, f)) {
		free(f);
		ksauth_fail(a, slot, ver, corr, "malformed SCRAM client-first message");
		return;
	}
	snprintf(a->user, sizeof(a->user), "%s", f->user);
	snprintf(a->gs2, sizeof(a->gs2), "%s", f->gs2);
	snprintf(a->nonce, sizeof(a->nonce), "%s", f->nonce);
	a->auth_head = strdup(f->bare);
	bool authz_ok = !f->authzid[0] || !strcmp(f->authzid, f->user);
	free(f);
	if (!a->auth_head) {
		net_conn_close(a->c->nc, ERR_NOMEM);
		return;
	}
	if (!authz_ok) {
		ksauth_fail(a, slot, ver, corr, "an authorization id other than the user");
		return;
	}
	a->pending = slot;
	a->pending_ver = ver;
	a->pending_corr = corr;
	ksauth_set_state(a, KSAUTH_LOOKUP, "SCRAM client-first");
	struct broker *b = a->c->b;
	char san[3 * KSASL_NAME_BUF], rel[3 * KSASL_NAME_BUF + 32], path[4 * KSASL_NAME_BUF];
	if (ksasl_sanitize(a->user, san, sizeof(san)) || !b->zk || !kb_zk_connected(b->zk)) {
		ksauth_scram_first_answer(a, "the coordinator is not reachable");
		return;
	}
	snprintf(rel, sizeof(rel), "/config/users/%s", san);
	struct ksauth_lookup *lk = malloc(sizeof(*lk));
	if (!lk) {
		ksauth_scram_first_answer(a, "out of memory");
		return;
	}
	lk->a = a;
	if (zoo_aget(kb_zk_handle(b->zk), kb_zk_path(b->zk, rel, path, sizeof(path)), 0, ksauth_lookup_done, lk) != ZOK) {
		free(lk);
		ksauth_scram_first_answer(a, "the coordinator is not reachable");
		return;
	}
	a->lookup = lk;
	kb_zk_pump(b->zk);
}

/* Kafka's ScramSaslServer takes a client-final nonce that ends with the server's (librdkafka 2.0
 * sends the client nonce again in front of it), not only one equal to it (RFC 5802 §5.1). */
static bool ksauth_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

static void ksauth_scram_final(struct ksauth *a, struct kresp *slot, int16_t ver, int32_t corr, const uint8_t *tok,
			       size_t len)
{
	struct ksasl_scram_final *g = malloc(sizeof(*g));
	if (!g) {
		net_conn_close(a->c->nc, ERR_NOMEM);
		return;
	}
	const char *why = NULL;
	char cb[sizeof(a->gs2) * 2];
	ksasl_b64_encode((const uint8_t *)a->gs2, strlen(a->gs2), cb);
	uint8_t sig[KSASL_KEY_MAX];
	char *auth = NULL;
	if (ksasl_scram_final_decode(tok, len, g)) {
		why = "malformed SCRAM client-final message";
	} else if (strcmp(g->cbind, cb)) {
		why = "channel binding differs from the client-first message";
	} else if (!ksauth_ends_with(g->nonce, a->nonce)) {
		why = "nonce differs from the server's";
	} else {
		size_t al = strlen(a->auth_head) + 1 + strlen(g->without_proof) + 1;
		auth = malloc(al);
		if (!auth) {
			free(g);
			net_conn_close(a->c->nc, ERR_NOMEM);
			return;
		}
		snprintf(auth, al, "%s,%s", a->auth_head, g->without_proof);
		if (ksasl_scram_verify(a->mech, &a->cred, auth, g->proof, g->proof_len, sig))
			why = "wrong password";
	}
	free(auth);
	free(g);
	if (why) {
		ksauth_fail(a, slot, ver, corr, why);
		return;
	}
	/* server-final-message = "v=" base64(ServerSignature) */
	char fin[4 + 4 * ((KSASL_KEY_MAX + 2) / 3) + 1] = "v=";
	ksasl_b64_encode(sig, a->cred.key_len, fin + 2);
	ksauth_succeed(a, slot, ver, corr, (const uint8_t *)fin, strlen(fin));
}

/* One token of the mechanism's exchange, answered into slot. */
static void ksauth_token(struct ksauth *a, struct kresp *slot, int16_t ver, int32_t corr, const uint8_t *tok,
			 size_t len)
{
	if (a->st == KSAUTH_SCRAM_FINAL)
		ksauth_scram_final(a, slot, ver, corr, tok, len);
	else if (a->mech == KSASL_PLAIN)
		ksauth_plain(a, slot, ver, corr, tok, len);
	else
		ksauth_scram_first(a, slot, ver, corr, tok, len);
}

static void ksauth_enabled(const struct ksauth_listener *sl, const char **names, int *n)
{
	*n = 0;
	for (int m = 0; m < KSASL_NMECH; m++)
		if (sl && (sl->mechs & (1u << m)))
			names[(*n)++] = ksasl_mech_name((enum ksasl_mech)m);
}

static int ksauth_handshake(struct ksauth *a, struct kreq *q)
{
	struct kconn *c = a->c;
	char mech[KSASL_MECH_BUF];
	if (q->ver < 0 || q->ver > 1 || ksasl_handshake_req_decode(&q->r, mech)) {
		log_warn(KSAUTH_MOD, "closing %s: malformed SaslHandshake v%d", ksauth_peer(a), q->ver);
		return ERR_PROTO;
	}
	const struct ksauth_listener *sl = ksauth_listener_of(a);
	const char *names[KSASL_NMECH];
	int n;
	ksauth_enabled(sl, names, &n);
	enum ksasl_mech m;
	bool ok = ksasl_mech_parse(mech, strlen(mech), &m) == 0 && sl && (sl->mechs & (1u << m));
	struct kresp *slot = kconn_resp_new(c);
	if (!slot)
		return ERR_NOMEM;
	slot->key = q->key;
	struct kout o;
	kout_init(&o, q->corr);
	ksasl_handshake_resp_encode(&o.w, ok ? KE_NONE : KE_UNSUPPORTED_SASL_MECHANISM, names, n);
	if (kout_finish(&o, slot))
		return ERR_NOMEM;
	if (!ok) {
		log_warn(KSAUTH_MOD, "closing %s: SASL mechanism '%s' is not enabled on listener %s", ksauth_peer(a), mech,
			 c->b->cfg->listener[c->listener].name);
		ksauth_set_state(a, KSAUTH_FAILED, "unsupported mechanism");
		kconn_flush(c);
		net_conn_close_after_flush(c->nc);
		return 0;
	}
	a->mech = m;
	a->raw = q->ver == 0;
	ksauth_set_state(a, KSAUTH_TOKEN, a->raw ? "SaslHandshake v0: raw tokens" : "SaslHandshake v1");
	kconn_flush(c);
	return 0;
}

int ksauth_frame(struct kconn *c, uint8_t *p, size_t len)
{
	struct ksauth *a = c->auth;
	if (a->st == KSAUTH_FAILED)
		return 0; /* closing after the answer */
	if (++a->frames > KSAUTH_MAX_FRAMES) {
		log_warn(KSAUTH_MOD, "closing %s: %d requests without authenticating", ksauth_peer(a), a->frames - 1);
		return ERR_PROTO;
	}
	if (a->st == KSAUTH_LOOKUP) {
		log_warn(KSAUTH_MOD, "closing %s: a request while its SASL credentials are being read", ksauth_peer(a));
		return ERR_PROTO;
	}
	if (a->raw && a->st != KSAUTH_HANDSHAKE) {
		if (len > KSASL_MAX_TOKEN) {
			log_warn(KSAUTH_MOD, "closing %s: a SASL token of %zu bytes", ksauth_peer(a), len);
			return ERR_PROTO;
		}
		struct kresp *slot = kconn_resp_new(c);
		if (!slot)
			return ERR_NOMEM;
		ksauth_token(a, slot, 0, 0, p, len);
		return 0;
	}
	struct kreq q;
	if (kapi_header_read(p, len, &q)) {
		log_warn(KSAUTH_MOD, "closing %s: malformed request header before SASL authentication", ksauth_peer(a));
		return ERR_PROTO;
	}
	if (a->st == KSAUTH_HANDSHAKE && q.key == API_API_VERSIONS)
		return 1;
	if (a->st == KSAUTH_HANDSHAKE && q.key == API_SASL_HANDSHAKE)
		return ksauth_handshake(a, &q);
	if (a->st != KSAUTH_HANDSHAKE && q.key == API_SASL_AUTHENTICATE) {
		const uint8_t *tok;
		size_t tl;
		if (q.ver < 0 || q.ver > 1 || ksasl_auth_req_decode(&q.r, q.ver, &tok, &tl)) {
			log_warn(KSAUTH_MOD, "closing %s: malformed or unsupported SaslAuthenticate v%d", ksauth_peer(a), q.ver);
			return ERR_PROTO;
		}
		struct kresp *slot = kconn_resp_new(c);
		if (!slot)
			return ERR_NOMEM;
		slot->key = q.key;
		ksauth_token(a, slot, q.ver, q.corr, tok, tl);
		return 0;
	}
	log_warn(KSAUTH_MOD, "closing %s: unexpected Kafka request of api_key %d (v%d) during SASL authentication (state %s)",
		 ksauth_peer(a), q.key, q.ver, ksauth_state_names[a->st]);
	return ERR_PROTO;
}

/* ---- outside an authentication ---- */

int ksauth_api_handshake(struct broker *b, struct kreq *q, struct kout *o)
{
	(void)b;
	char mech[KSASL_MECH_BUF];
	if (ksasl_handshake_req_decode(&q->r, mech))
		return ERR_PROTO;
	return ksasl_handshake_resp_encode(&o->w, KE_ILLEGAL_SASL_STATE, NULL, 0) ? ERR_NOMEM : 0;
}

int ksauth_api_authenticate(struct broker *b, struct kreq *q, struct kout *o)
{
	(void)b;
	const uint8_t *tok;
	size_t len;
	if (ksasl_auth_req_decode(&q->r, q->ver, &tok, &len))
		return ERR_PROTO;
	return ksasl_auth_resp_encode(&o->w, q->ver, KE_ILLEGAL_SASL_STATE,
				      "SaslAuthenticate request received outside a SASL authentication", NULL, 0, 0)
		       ? ERR_NOMEM
		       : 0;
}
