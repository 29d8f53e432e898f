/*
 * Fuzz harness: ksauth, the SASL state machine of a broker connection, under arbitrary frame
 * sequences. A broker with one SASL_PLAINTEXT listener offering PLAIN (users alice and bob) and
 * SCRAM-SHA-256 (no coordinator: a SCRAM login fails once its first message is read) gets the
 * input as up to 8 frames on a new connection over a bufferevent pair. The input is a list of
 * chunks [selector, length, bytes...]: selector % 5 picks a raw frame (the bytes as they are, as
 * after SaslHandshake v0), SaslHandshake, SaslAuthenticate, ApiVersions or Metadata (the bytes
 * as the body after a request header; selector / 5 the version). Any outcome but a crash, a
 * leak or a hang is fine; a connection still open must be authenticated as alice or bob or not
 * at all. Seeds: tests/fuzz/make_corpus_ksauth.py.
 */
#include "err.h"
#include "kapi.h"
#include "kb_broker.h"
#include "kb_config.h"
#include "kconn.h"
#include "ksauth.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct broker fz_b;
static struct kb_config fz_cfg;
static struct kb_kv fz_kv[1];

static void fz_setup(void)
{
	log_set_level(LOG_FATAL);
	fz_cfg.socket_request_max_bytes = 1 << 20;
	fz_cfg.sasl_auth_timeout_ms = 10000;
	fz_cfg.sasl_enabled_mechanisms = (char *)"PLAIN,SCRAM-SHA-256";
	fz_cfg.n_listeners = 1;
	snprintf(fz_cfg.listener[0].name, sizeof(fz_cfg.listener[0].name), "SASL_PLAINTEXT");
	fz_cfg.listener[0].security = KB_SEC_SASL_PLAINTEXT;
	fz_kv[0].key = (char *)"listener.name.sasl_plaintext.plain.sasl.jaas.config";
	fz_kv[0].value = (char *)"org.apache.kafka.common.security.plain.PlainLoginModule required "
				 "user_alice=\"alice-secret\" user_bob=\"b\";";
	fz_cfg.lname = fz_kv;
	fz_cfg.n_lname = 1;
	fz_b.cfg = &fz_cfg;
	fz_b.base = event_base_new();
	LIST_INIT(&fz_b.topics);
	LIST_INIT(&fz_b.conns);
	LIST_INIT(&fz_b.waits);
	LIST_INIT(&fz_b.flush_waits);
	LIST_INIT(&fz_b.prod_waits);
	char eb[256];
	if (ksauth_conf_new(&fz_cfg, &fz_b.sasl, eb, sizeof(eb)) || !fz_b.sasl)
		abort();
}

static void fz_pump(void)
{
	for (int i = 0; i < 3; i++)
		event_base_loop(fz_b.base, EVLOOP_NONBLOCK);
}

static void fz_frame(struct bufferevent *peer, const uint8_t *hdr, size_t hn, const uint8_t *p, size_t n)
{
	size_t len = hn + n;
	uint8_t l[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	bufferevent_write(peer, l, 4);
	if (hn)
		bufferevent_write(peer, hdr, hn);
	if (n)
		bufferevent_write(peer, p, n);
	fz_pump();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int16_t keys[5] = { -1, API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE, API_API_VERSIONS, API_METADATA };
	if (!fz_b.base)
		fz_setup();
	struct bufferevent *pair[2];
	if (bufferevent_pair_new(fz_b.base, 0, pair))
		abort();
	if (kconn_accept_bev(&fz_b, pair[0], 0))
		abort();
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	size_t pos = 0;
	for (int k = 0; k < 8 && pos + 2 <= size; k++) {
		uint8_t sel = data[pos];
		size_t n = data[pos + 1];
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		int16_t key = keys[sel % 5];
		int16_t ver = (int16_t)((sel / 5) % 4);
		uint8_t hdr[10] = { (uint8_t)(key >> 8), (uint8_t)key, 0, (uint8_t)ver, 0, 0, 0, (uint8_t)k, 0, 0 };
		fz_frame(pair[1], hdr, key < 0 ? 0 : sizeof(hdr), data + pos, n);
		pos += n;
		struct evbuffer *in = bufferevent_get_input(pair[1]);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	struct kconn *c = LIST_FIRST(&fz_b.conns);
	if (c && ksauth_done(c->auth) && strcmp(c->principal, "User:alice") && strcmp(c->principal, "User:bob"))
		abort();
	kconn_close_all(&fz_b);
	fz_pump();
	bufferevent_free(pair[1]);
	return 0;
}
