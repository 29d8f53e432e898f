/*
 * ksaslc — the client's side of a SASL authentication on a Kafka connection (KIP-152), for the
 * broker's own connections to other brokers when the inter-broker listener is SASL_PLAINTEXT or
 * SASL_SSL (the followers' fetchers, the controlled shutdown's request): SaslHandshake v1 with
 * the mechanism, then SaslAuthenticate v1 with PLAIN's one token or SCRAM's two messages, the
 * server's final signature checked (a leader that does not know our password is refused too).
 * It owns the exchange's state and encodes the request frames; the bytes of the answers are
 * decoded by ksasl. No I/O: the caller sends what lands in its wbuf and hands back each answer
 * frame. Any thread; fuzzed by tests/fuzz/fuzz_ksasl.c.
 */
#ifndef SAMSA_KSASLC_H
#define SAMSA_KSASLC_H

#include "ksasl.h"

#include <stddef.h>
#include <stdint.h>

struct wbuf;

enum ksaslc_step { KSASLC_HANDSHAKE, KSASLC_TOKEN, KSASLC_FINAL, KSASLC_DONE, KSASLC_FAILED };

struct ksaslc {
	enum ksasl_mech mech;
	enum ksaslc_step step; /* the answer awaited */
	int32_t corr;	       /* of the request in flight */
	char user[KSASL_NAME_BUF], pass[KSASL_NAME_BUF];
	char client_id[64];
	struct ksasl_scram_client scram;
};

/* Starts an exchange as user / pass under mech: appends the SaslHandshake frame (length
 * included) to w, with correlation ids from corr on. 0, or ERR_INVAL (a name or password too
 * long). s holds the password until ksaslc_clear. */
int ksaslc_start(struct ksaslc *s, enum ksasl_mech mech, const char *user, const char *pass, const char *client_id,
		 int32_t corr, struct wbuf *w);
/* One answer frame p[0..n) (without its length): 1 when the next request was appended to w (send
 * it), 0 when authenticated (s->step KSASLC_DONE), or ERR_PROTO with the reason in eb (the
 * server's refusal with its error message, a mechanism it does not enable, a malformed or
 * unexpected answer, a wrong server signature); s->step is KSASLC_FAILED then. */
int ksaslc_answer(struct ksaslc *s, const uint8_t *p, size_t n, struct wbuf *w, char *eb, size_t el);
/* Forgets the password. */
void ksaslc_clear(struct ksaslc *s);

#endif
