/*
 * kb_ens — the coordinator ensemble's servers and their roles (see kb_ens.h).
 *
 * Each server's state, as the page shows it:
 *
 *   UNKNOWN --answered--> UP <--answered-- DOWN
 *      |                   |                 ^
 *      +---no answer-------+---no answer-----+
 *
 *   UNKNOWN  not asked yet (only before the first answer or failure)
 *   UP       its last srvr reply said it serves; mode holds its role
 *   DOWN     its last probe was refused, timed out, was cut, or it said it does not serve;
 *            error says which
 * Every change is logged "old -> new" and recorded as an event. A probe is one bufferevent that
 * lives from kb_ens_poll to its result; a server with a probe in flight is not asked again.
 */
#include "kb_ens.h"

#include "err.h"
#include "jsonw.h"
#include "kb_events.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char *const KE_MOD = "ensemble";

enum kb_ens_state { KB_ENS_UNKNOWN, KB_ENS_UP, KB_ENS_DOWN };
static const char *const kb_ens_state_names[] = { "unknown", "up", "down" };

struct kb_ens_server {
	struct kb_ens *e;
	char host[256];
	int port;
	enum kb_ens_state state;
	struct kb_ens_srvr info; /* from the last answer */
	char error[128];	 /* why it is down */
	int64_t since_ms;	 /* wall clock of the last state change */
	int64_t checked_ms;	 /* of the last result */
	struct bufferevent *probe; /* in flight, NULL otherwise */
};

struct kb_ens {
	struct event_base *base;
	struct evdns_base *dns; /* names that are not addresses; NULL: only addresses are asked */
	struct kb_events *ev;
	char connect[512];
	int n;
	struct kb_ens_server servers[KB_ENS_MAX_SERVERS];
};

static int64_t kb_ens_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the srvr reply ---- */

/* The value after "key: " on the line starting at p (len bytes), or NULL. */
static const char *kb_ens_field(const char *line, size_t len, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);
	if (len < kl + 1 || memcmp(line, key, kl) != 0 || line[kl] != ':')
		return NULL;
	size_t i = kl + 1;
	while (i < len && line[i] == ' ')
		i++;
	*vlen = len - i;
	return line + i;
}

static int64_t kb_ens_number(const char *v, size_t n, int base)
{
	char tmp[32];
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	char *end;
	unsigned long long x = strtoull(tmp, &end, base);
	if (*end || x > INT64_MAX || tmp[0] == '-')
		return -1;
	return (int64_t)x;
}

static void kb_ens_copy(char *dst, size_t size, const char *v, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < size; i++)
		if (v[i] >= 0x20 && v[i] < 0x7f)
			dst[k++] = v[i];
	dst[k] = '\0';
}

int kb_ens_parse_srvr(const char *p, size_t n, struct kb_ens_srvr *out)
{
	static const char not_serving[] = "This ZooKeeper instance is not currently serving requests";
	memset(out, 0, sizeof(*out));
	out->zxid = out->node_count = out->connections = out->outstanding = -1;
	bool mode = false;
	size_t pos = 0;
	while (pos < n) {
		const char *line = p + pos;
		const char *nl = memchr(line, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - line) : n - pos;
		pos += len + (nl ? 1 : 0);
		if (len && line[len - 1] == '\r')
			len--;
		const char *v;
		size_t vl;
		if (len >= sizeof(not_serving) - 1 && !memcmp(line, not_serving, sizeof(not_serving) - 1)) {
			out->serving = false;
			snprintf(out->mode, sizeof(out->mode), "not serving");
			return 0;
		} else if ((v = kb_ens_field(line, len, "Mode", &vl))) {
			kb_ens_copy(out->mode, sizeof(out->mode), v, vl);
			mode = out->mode[0] != '\0';
		} else if ((v = kb_ens_field(line, len, "Zookeeper version", &vl))) {
			const char *comma = memchr(v, ',', vl);
			kb_ens_copy(out->version, sizeof(out->version), v, comma ? (size_t)(comma - v) : vl);
		} else if ((v = kb_ens_field(line, len, "Zxid", &vl))) {
			if (vl > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
				out->zxid = kb_ens_number(v + 2, vl - 2, 16);
		} else if ((v = kb_ens_field(line, len, "Node count", &vl))) {
			out->node_count = kb_ens_number(v, vl, 10);
		} else if ((v = kb_ens_field(line, len, "Connections", &vl))) {
			out->connections = kb_ens_number(v, vl, 10);
		} else if ((v = kb_ens_field(line, len, "Outstanding", &vl))) {
			out->outstanding = kb_ens_number(v, vl, 10);
		}
	}
	if (!mode)
		return ERR_CORRUPT;
	out->serving = true;
	return 0;
}

/* ---- server state ---- */

static void kb_ens_set_state(struct kb_ens_server *s, enum kb_ens_state to, const char *why)
{
	enum kb_ens_state from = s->state;
	/* legal: out of UNKNOWN to either, and between UP and DOWN; never back to UNKNOWN */
	assert(to != KB_ENS_UNKNOWN);
	if (from == to)
		return;
	s->state = to;
	s->since_ms = kb_ens_wall_ms();
	log_info(KE_MOD, "coordinator %s:%d: %s -> %s (%s)", s->host, s->port, kb_ens_state_names[from],
		 kb_ens_state_names[to], why);
	if (to == KB_ENS_UP)
		kb_events_add(s->e->ev, KB_EV_COORD_UP, NULL, -1, -1, "coordinator %s:%d is up (%s)", s->host, s->port,
			      s->info.mode);
	else
		kb_events_add(s->e->ev, KB_EV_COORD_DOWN, NULL, -1, -1, "coordinator %s:%d is down (%s)", s->host,
			      s->port, why);
}

/* The probe's result: reply (n bytes) on an answer, NULL with why on a failure. */
static void kb_ens_result(struct kb_ens_server *s, const char *reply, size_t n, const char *why)
{
	s->checked_ms = kb_ens_wall_ms();
	if (!reply) {
		snprintf(s->error, sizeof(s->error), "%s", why);
		kb_ens_set_state(s, KB_ENS_DOWN, why);
		return;
	}
	struct kb_ens_srvr info;
	if (kb_ens_parse_srvr(reply, n, &info)) {
		snprintf(s->error, sizeof(s->error), "not a srvr reply (is 4lw.commands.whitelist missing srvr?)");
		kb_ens_set_state(s, KB_ENS_DOWN, s->error);
		return;
	}
	char old_mode[sizeof(info.mode)];
	snprintf(old_mode, sizeof(old_mode), "%s", s->info.mode);
	bool was_up = s->state == KB_ENS_UP;
	s->info = info;
	if (!info.serving) {
		snprintf(s->error, sizeof(s->error), "not serving requests (no quorum)");
		kb_ens_set_state(s, KB_ENS_DOWN, s->error);
		return;
	}
	s->error[0] = '\0';
	kb_ens_set_state(s, KB_ENS_UP, "answered");
	if (was_up && strcmp(old_mode, info.mode) != 0)
		kb_events_add(s->e->ev, KB_EV_COORD_ROLE, NULL, -1, -1, "coordinator %s:%d: %s -> %s", s->host, s->port,
			      old_mode, info.mode);
}

/* Ends the probe (bufferevent_free from the bufferevent's own callback is safe: libevent
 * defers the free until the callback returns). */
static void kb_ens_probe_end(struct kb_ens_server *s)
{
	if (s->probe)
		bufferevent_free(s->probe);
	s->probe = NULL;
}

static void kb_ens_probe_read(struct bufferevent *bev, void *arg)
{
	struct kb_ens_server *s = arg;
	if (evbuffer_get_length(bufferevent_get_input(bev)) > KB_ENS_REPLY_MAX) {
		kb_ens_probe_end(s);
		kb_ens_result(s, NULL, 0, "reply too long for srvr");
	}
}

static void kb_ens_probe_event(struct bufferevent *bev, short what, void *arg)
{
	struct kb_ens_server *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_write(bev, "srvr", 4);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		struct evbuffer *in = bufferevent_get_input(bev);
		size_t n = evbuffer_get_length(in);
		char buf[KB_ENS_REPLY_MAX + 1];
		if (n > KB_ENS_REPLY_MAX)
			n = KB_ENS_REPLY_MAX;
		evbuffer_remove(in, buf, n);
		kb_ens_probe_end(s);
		kb_ens_result(s, buf, n, NULL);
		return;
	}
	char why[128];
	if (what & BEV_EVENT_TIMEOUT) {
		snprintf(why, sizeof(why), "no answer in %d ms", KB_ENS_TIMEOUT_MS);
	} else {
		int dns_err = bufferevent_socket_get_dns_error(bev);
		int e = EVUTIL_SOCKET_ERROR();
		snprintf(why, sizeof(why), "%s", dns_err ? evutil_gai_strerror(dns_err)
					       : e ? evutil_socket_error_to_string(e) : "connection closed");
	}
	kb_ens_probe_end(s);
	kb_ens_result(s, NULL, 0, why);
}

/* "host:port", "[v6]:port" into buf, as evutil_parse_sockaddr_port reads it. */
static void kb_ens_hostport(char *buf, size_t n, const char *host, int port)
{
	if (strchr(host, ':'))
		snprintf(buf, n, "[%s]:%d", host, port);
	else
		snprintf(buf, n, "%s:%d", host, port);
}

static void kb_ens_ask(struct kb_ens_server *s)
{
	struct kb_ens *e = s->e;
	struct bufferevent *bev = bufferevent_socket_new(e->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return; /* out of memory: asked again next round */
	bufferevent_setcb(bev, kb_ens_probe_read, NULL, kb_ens_probe_event, s);
	struct timeval tv = { KB_ENS_TIMEOUT_MS / 1000, (KB_ENS_TIMEOUT_MS % 1000) * 1000 };
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	s->probe = bev;
	/* an address is connected to at once; a name only through evdns (never the blocking
	 * resolver on the loop thread) */
	struct sockaddr_storage ss;
	int sl = (int)sizeof(ss);
	char hp[300];
	const char *h = !strcmp(s->host, "localhost") ? "127.0.0.1" : s->host;
	kb_ens_hostport(hp, sizeof(hp), h, s->port);
	int rc;
	if (evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &sl) == 0)
		rc = bufferevent_socket_connect(bev, (struct sockaddr *)&ss, sl);
	else if (e->dns)
		rc = bufferevent_socket_connect_hostname(bev, e->dns, AF_UNSPEC, s->host, s->port);
	else
		rc = -1;
	if (rc < 0 && s->probe) { /* a failure may have been reported through the event callback */
		kb_ens_probe_end(s);
		kb_ens_result(s, NULL, 0, e->dns ? "cannot connect" : "cannot resolve (no resolver)");
	}
}

void kb_ens_poll(struct kb_ens *e)
{
	for (int i = 0; e && i < e->n; i++)
		if (!e->servers[i].probe)
			kb_ens_ask(&e->servers[i]);
}

struct kb_ens *kb_ens_new(struct event_base *base, const char *connect, struct kb_events *ev, char *eb, size_t el)
{
	struct kb_ens *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(eb, el, "out of memory");
		return NULL;
	}
	e->base = base;
	e->ev = ev;
	snprintf(e->connect, sizeof(e->connect), "%s", connect ? connect : "");
	const char *p = connect ? connect : "";
	const char *end = strchr(p, '/');
	if (!end)
		end = p + strlen(p);
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		const char *colon = NULL;
		for (const char *q = p; q < stop; q++)
			if (*q == ':')
				colon = q;
		if (stop > p) {
			if (e->n >= KB_ENS_MAX_SERVERS || !colon || colon == p || (size_t)(colon - p) >= sizeof(e->servers[0].host)) {
				snprintf(eb, el, "zookeeper.connect: cannot read \"%.*s\" as host:port (at most %d servers)",
					 (int)(stop - p), p, KB_ENS_MAX_SERVERS);
				free(e);
				return NULL;
			}
			struct kb_ens_server *s = &e->servers[e->n];
			char port[8];
			size_t hl = (size_t)(colon - p), pl = (size_t)(stop - colon - 1);
			const char *hs = p;
			if (hl >= 2 && hs[0] == '[' && hs[hl - 1] == ']') { /* [::1]:2181 */
				hs++;
				hl -= 2;
			}
			memcpy(s->host, hs, hl);
			s->host[hl] = '\0';
			if (pl == 0 || pl >= sizeof(port)) {
				snprintf(eb, el, "zookeeper.connect: bad port in \"%.*s\"", (int)(stop - p), p);
				free(e);
				return NULL;
			}
			memcpy(port, colon + 1, pl);
			port[pl] = '\0';
			char *pe;
			long v = strtol(port, &pe, 10);
			if (*pe || v <= 0 || v > 65535) {
				snprintf(eb, el, "zookeeper.connect: bad port in \"%.*s\"", (int)(stop - p), p);
				free(e);
				return NULL;
			}
			s->port = (int)v;
			s->e = e;
			s->state = KB_ENS_UNKNOWN;
			e->n++;
		}
		p = comma ? comma + 1 : end;
	}
	/* a resolver only for names (evdns, with /etc/hosts; it keeps the loop alive only while
	 * it has requests) */
	for (int i = 0; i < e->n && !e->dns; i++) {
		struct sockaddr_storage ss;
		int sl = (int)sizeof(ss);
		char hp[300];
		kb_ens_hostport(hp, sizeof(hp), e->servers[i].host, 1);
		if (strcmp(e->servers[i].host, "localhost") && evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &sl))
			e->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	}
	return e;
}

void kb_ens_free(struct kb_ens *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->n; i++)
		kb_ens_probe_end(&e->servers[i]);
	if (e->dns)
		evdns_base_free(e->dns, 0);
	free(e);
}

void kb_ens_json(const struct kb_ens *e, struct jsonw *w)
{
	jsonw_obj_begin(w);
	jsonw_key(w, "connect");
	jsonw_str(w, e ? e->connect : "");
	jsonw_key(w, "servers");
	jsonw_arr_begin(w);
	for (int i = 0; e && i < e->n; i++) {
		const struct kb_ens_server *s = &e->servers[i];
		bool known = s->checked_ms > 0 && s->info.mode[0];
		jsonw_obj_begin(w);
		jsonw_key(w, "host");
		jsonw_str(w, s->host);
		jsonw_key(w, "port");
		jsonw_int(w, s->port);
		jsonw_key(w, "state");
		jsonw_str(w, kb_ens_state_names[s->state]);
		jsonw_key(w, "mode");
		if (s->state == KB_ENS_UP || (known && !s->info.serving))
			jsonw_str(w, s->info.mode);
		else
			jsonw_null(w);
		jsonw_key(w, "version");
		jsonw_str(w, s->state == KB_ENS_UP ? s->info.version : NULL);
		jsonw_key(w, "zxid");
		if (s->state == KB_ENS_UP && s->info.zxid >= 0) {
			char z[24];
			snprintf(z, sizeof(z), "0x%" PRIx64, (uint64_t)s->info.zxid);
			jsonw_str(w, z);
		} else {
			jsonw_null(w);
		}
		jsonw_key(w, "node_count");
		jsonw_int(w, s->state == KB_ENS_UP ? s->info.node_count : -1);
		jsonw_key(w, "connections");
		jsonw_int(w, s->state == KB_ENS_UP ? s->info.connections : -1);
		jsonw_key(w, "error");
		jsonw_str(w, s->state == KB_ENS_DOWN ? s->error : NULL);
		jsonw_key(w, "since_ms");
		jsonw_int(w, s->since_ms);
		jsonw_key(w, "checked_ms");
		jsonw_int(w, s->checked_ms);
		jsonw_obj_end(w);
	}
	jsonw_arr_end(w);
	jsonw_obj_end(w);
}
