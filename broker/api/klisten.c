/*
 * klisten — the client listeners, plaintext and TLS (see kb_listen.h).
 */
#include "klisten.h"

#include "err.h"
#include "jaas.h"
#include "ksasl.h"
#include "kb_broker.h"
#include "kconn.h"
#include "ksauth.h"
#include "log.h"
#include "net.h"
#include "tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const KLISTEN_MOD = "listener";

/* The address part of a net_conn_peer string ("127.0.0.1:5000", "[::1]:5000"). */
static bool klisten_same_ip(const char *peer, const char *ip)
{
	size_t n = strlen(ip);
	if (peer[0] == '[')
		return !strncmp(peer + 1, ip, n) && peer[1 + n] == ']';
	return !strncmp(peer, ip, n) && peer[n] == ':';
}

/* max.connections.per.ip (and its overrides) and max.connections, as Kafka's acceptor checks
 * them: a connection over a limit is closed at once, logged. Returns false when refused. */
static bool klisten_admit(struct broker *b, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip, sizeof(ip));
	else if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip, sizeof(ip));
	int32_t limit = kb_config_ip_limit(b->cfg, ip);
	int64_t same = 0, all = 0;
	struct kconn *c;
	LIST_FOREACH(c, &b->conns, link) {
		if (!c->nc || net_conn_closing(c->nc))
			continue;
		all++;
		same += klisten_same_ip(net_conn_peer(c->nc), ip);
	}
	if (same >= limit) {
		log_info(KLISTEN_MOD, "Rejected connection from /%s, address already has the configured maximum of %d connections.",
			 ip, limit);
		return false;
	}
	if (all >= b->cfg->max_connections) {
		log_info(KLISTEN_MOD, "Rejected connection from /%s: the broker has max.connections=%d connections", ip,
			 b->cfg->max_connections);
		return false;
	}
	return true;
}

static void klisten_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	struct klisten_ep *le = arg;
	struct broker *b = le->b;
	(void)salen;
	if (!klisten_admit(b, sa)) {
		evutil_closesocket(fd);
		return;
	}
	struct ssl_st *ssl = NULL;
	if (le->l->security == KB_SEC_SSL || le->l->security == KB_SEC_SASL_SSL) {
		ssl = tls_ctx_ssl_fresh(b->tls, NULL, KLISTEN_MOD);
		if (!ssl) {
			evutil_closesocket(fd);
			return;
		}
	}
	kconn_accept(b, fd, le->index, ssl);
}

int klisten_start(struct broker *b, char *eb, size_t el)
{
	const struct kb_config *cfg = b->cfg;
	bool ssl = false;
	for (int i = 0; i < cfg->n_listeners; i++)
		ssl |= cfg->listener[i].security == KB_SEC_SSL || cfg->listener[i].security == KB_SEC_SASL_SSL;
	if (ssl) {
		struct tls_conf tc;
		kb_config_tls(cfg, &tc);
		char why[512];
		int rc = tls_ctx_new(&tc, true, &b->tls, why, sizeof(why));
		if (rc)
			return err_set(eb, el, rc, "SSL listener: %s", why);
	}
	int rc0 = ksauth_conf_new(cfg, &b->sasl, eb, el);
	if (rc0)
		return rc0;
	char self[256];
	if (gethostname(self, sizeof(self) - 1))
		snprintf(self, sizeof(self), "localhost");
	self[sizeof(self) - 1] = '\0';
	for (int i = 0; i < cfg->n_listeners; i++) {
		const struct kb_listener *l = &cfg->listener[i];
		struct klisten_ep *le = &b->listen[i];
		*le = (struct klisten_ep){ .b = b, .index = i, .l = l };
		int rc = net_listen(b->base, l->host[0] ? l->host : "0.0.0.0", l->port, 128, klisten_accept, le, &le->nl,
				    eb, el);
		if (rc)
			return rc;
		b->n_listen = i + 1;
		const struct kb_listener *adv = kb_config_advertised(cfg, i);
		le->adv_port = adv->port ? adv->port : net_listener_port(le->nl);
		if (adv->host[0] && strcmp(adv->host, "0.0.0.0") && strcmp(adv->host, "::"))
			snprintf(le->adv_host, sizeof(le->adv_host), "%s", adv->host);
		else
			snprintf(le->adv_host, sizeof(le->adv_host), "%s", self);
	}
	const struct klisten_ep *ib = &b->listen[cfg->inter_broker_listener];
	snprintf(b->adv_host, sizeof(b->adv_host), "%s", ib->adv_host);
	b->adv_port = ib->adv_port;
	return 0;
}

int klisten_inter_broker_tls(const struct broker *b, struct tls_ctx **out, bool *check_host, char *eb, size_t el)
{
	const struct kb_config *cfg = b->cfg;
	*out = NULL;
	*check_host = false;
	enum kb_security ibs = cfg->listener[cfg->inter_broker_listener].security;
	if (ibs != KB_SEC_SSL && ibs != KB_SEC_SASL_SSL)
		return 0;
	struct tls_conf tc;
	kb_config_tls(cfg, &tc);
	char why[512];
	int rc = tls_ctx_new(&tc, false, out, why, sizeof(why));
	if (rc)
		return err_set(eb, el, rc, "inter-broker TLS: %s", why);
	const char *eia = cfg->ssl_endpoint_identification_algorithm;
	*check_host = eia && *eia;
	return 0;
}

struct klisten_login {
	char *user, *pass;
	size_t un, pn;
	bool has_user, has_pass;
};

static void klisten_login_opt(const char *key, const char *value, void *arg)
{
	struct klisten_login *lg = arg;
	if (!strcmp(key, "username")) {
		snprintf(lg->user, lg->un, "%s", value);
		lg->has_user = strlen(value) < lg->un;
	} else if (!strcmp(key, "password")) {
		snprintf(lg->pass, lg->pn, "%s", value);
		lg->has_pass = strlen(value) < lg->pn;
	}
}

int klisten_inter_broker_sasl(struct broker *b, char *eb, size_t el)
{
	const struct kb_config *cfg = b->cfg;
	int ib = cfg->inter_broker_listener;
	const struct kb_listener *l = &cfg->listener[ib];
	b->ib_sasl = false;
	if (l->security != KB_SEC_SASL_SSL && l->security != KB_SEC_SASL_PLAINTEXT)
		return 0;
	const char *mech = cfg->sasl_mechanism_inter_broker_protocol;
	enum ksasl_mech m;
	if (ksasl_mech_parse(mech, strlen(mech), &m))
		return err_set(eb, el, ERR_CONFIG, "sasl.mechanism.inter.broker.protocol '%s': PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
			       mech);
	/* Kafka's broker logs in from listener.name.<listener>.<mechanism, lower case>.sasl.jaas.config:
	 * its username and password options are the client side (the user_<name> ones the server's) */
	char suffix[KSASL_MECH_BUF + 20], lower[KSASL_MECH_BUF];
	size_t i = 0;
	for (; mech[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)mech[i]);
	lower[i] = '\0';
	snprintf(suffix, sizeof(suffix), "%s.sasl.jaas.config", lower);
	const char *jaas = kb_config_listener_prop(cfg, ib, suffix);
	if (!jaas)
		return err_set(eb, el, ERR_CONFIG,
			       "the inter-broker listener '%s' is %s but listener.name.%s.%s is not set (the broker's "
			       "own login: ... required username=\"<user>\" password=\"<password>\";)",
			       l->name, kb_security_name(l->security), l->name, suffix);
	char module[256], why[256];
	struct klisten_login lg = { .user = b->ib_sasl_user,
				    .pass = b->ib_sasl_pass,
				    .un = sizeof(b->ib_sasl_user),
				    .pn = sizeof(b->ib_sasl_pass) };
	if (jaas_entry_parse(jaas, strlen(jaas), module, sizeof(module), klisten_login_opt, &lg, why, sizeof(why)))
		return err_set(eb, el, ERR_CONFIG, "listener.name.%s.%s: %s", l->name, suffix, why);
	if (!lg.has_user || !lg.has_pass || !b->ib_sasl_user[0])
		return err_set(eb, el, ERR_CONFIG,
			       "listener.name.%s.%s: the broker's own login needs username=\"...\" and password=\"...\" "
			       "(each under %d bytes)",
			       l->name, suffix, KSASL_NAME_BUF);
	b->ib_sasl = true;
	b->ib_sasl_mech = m;
	log_info(KLISTEN_MOD, "inter-broker connections authenticate with SASL %s as %s (listener %s)", mech,
		 b->ib_sasl_user, l->name);
	return 0;
}

void klisten_stop(struct broker *b)
{
	for (int i = 0; i < b->n_listen; i++) {
		net_listener_free(b->listen[i].nl);
		b->listen[i].nl = NULL;
	}
	b->n_listen = 0;
	/* the TLS context outlives the listeners: connections' SSL objects hold a reference of
	 * their own, so freeing it here is safe */
	tls_ctx_free(b->tls);
	b->tls = NULL;
	ksauth_conf_free(b->sasl);
	b->sasl = NULL;
}

void klisten_describe(const struct broker *b, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < b->n_listen && used < n; i++) {
		const struct klisten_ep *le = &b->listen[i];
		int w = snprintf(buf + used, n - used, "%s%s://%s:%d [%s] (advertised %s:%d)", i ? ", " : "", le->l->name,
				 le->l->host[0] ? le->l->host : "0.0.0.0", net_listener_port(le->nl),
				 kb_security_name(le->l->security), le->adv_host, le->adv_port);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int klisten_node_endpoint(const struct broker *b, int listener, const struct kb_node *nd, const char **host,
			    int32_t *port)
{
	if (listener < 0 || listener >= b->cfg->n_listeners || listener == b->cfg->inter_broker_listener ||
	    nd->n_eps == 0) {
		*host = nd->host;
		*port = nd->port;
		return 1;
	}
	const char *name = b->cfg->listener[listener].name;
	for (int i = 0; i < nd->n_eps; i++)
		if (!strcmp(nd->eps[i].name, name)) {
			*host = nd->eps[i].host;
			*port = nd->eps[i].port;
			return 1;
		}
	return 0;
}
