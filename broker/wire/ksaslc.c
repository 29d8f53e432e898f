/*
 * ksaslc — the client's side of a SASL authentication (see ksaslc.h). Steps:
 *   HANDSHAKE  SaslHandshake v1 sent; its answer must enable our mechanism
 *   TOKEN      SaslAuthenticate v1 sent with PLAIN's token (its answer ends it) or SCRAM's
 *              client-first-message (its answer carries the server-first-message)
 *   FINAL      SCRAM only: the client-final-message sent; the answer's server-final-message
 *              must carry the ServerSignature our password predicts
 *   DONE / FAILED
 */
#include "ksaslc.h"

#include "buf.h"
#include "err.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define KSASLC_API_HANDSHAKE 17
#define KSASLC_API_AUTHENTICATE 36

/* A request frame: length, header v1 (api key, version 1, correlation id, client id), body. */
static size_t ksaslc_begin(struct ksaslc *s, struct wbuf *w, int16_t api)
{
	size_t at = w->len;
	wbuf_i32(w, 0);
	wbuf_i16(w, api);
	wbuf_i16(w, 1);
	s->corr = s->corr == INT32_MAX ? 0 : s->corr + 1;
	wbuf_i32(w, s->corr);
	wbuf_str_i16(w, s->client_id);
	return at;
}

static int ksaslc_end(struct wbuf *w, size_t at)
{
	wbuf_put_i32_at(w, at, (int32_t)(w->len - at - 4));
	return w->err ? ERR_NOMEM : 0;
}

static int ksaslc_token(struct ksaslc *s, struct wbuf *w, const void *tok, size_t len)
{
	size_t at = ksaslc_begin(s, w, KSASLC_API_AUTHENTICATE);
	ksasl_auth_req_encode(w, 1, tok, len);
	return ksaslc_end(w, at);
}

int ksaslc_start(struct ksaslc *s, enum ksasl_mech mech, const char *user, const char *pass, const char *client_id,
		 int32_t corr, struct wbuf *w)
{
	memset(s, 0, sizeof(*s));
	if (strlen(user) >= sizeof(s->user) || strlen(pass) >= sizeof(s->pass) || mech >= KSASL_NMECH)
		return ERR_INVAL;
	s->mech = mech;
	s->corr = corr;
	snprintf(s->user, sizeof(s->user), "%s", user);
	snprintf(s->pass, sizeof(s->pass), "%s", pass);
	snprintf(s->client_id, sizeof(s->client_id), "%s", client_id);
	s->step = KSASLC_HANDSHAKE;
	size_t at = ksaslc_begin(s, w, KSASLC_API_HANDSHAKE);
	ksasl_handshake_req_encode(w, ksasl_mech_name(mech));
	return ksaslc_end(w, at);
}

static int ksaslc_fail(struct ksaslc *s, char *eb, size_t el, const char *why, const char *detail)
{
	s->step = KSASLC_FAILED;
	return err_set(eb, el, ERR_PROTO, "%s%s%s", why, detail && *detail ? ": " : "", detail ? detail : "");
}

int ksaslc_answer(struct ksaslc *s, const uint8_t *p, size_t n, struct wbuf *w, char *eb, size_t el)
{
	struct rbuf r = rbuf_make(p, n);
	int32_t corr;
	char msg[256];
	if (s->step != KSASLC_HANDSHAKE && s->step != KSASLC_TOKEN && s->step != KSASLC_FINAL)
		return ksaslc_fail(s, eb, el, "an answer after the authentication ended", NULL);
	if (rbuf_i32(&r, &corr) || corr != s->corr)
		return ksaslc_fail(s, eb, el, "an answer with another correlation id", NULL);
	if (s->step == KSASLC_HANDSHAKE) {
		int16_t err;
		bool has;
		char offered[128];
		if (ksasl_handshake_resp_decode(&r, ksasl_mech_name(s->mech), &err, &has, offered, sizeof(offered)))
			return ksaslc_fail(s, eb, el, "a malformed SaslHandshake answer", NULL);
		if (err || !has) {
			snprintf(msg, sizeof(msg), "%s is not enabled there (it offers %s)", ksasl_mech_name(s->mech),
				 offered[0] ? offered : "nothing");
			return ksaslc_fail(s, eb, el, "SaslHandshake refused", msg);
		}
		s->step = KSASLC_TOKEN;
		if (s->mech == KSASL_PLAIN) {
			/* authzid (empty) NUL user NUL password (RFC 4616) */
			char tok[2 * KSASL_NAME_BUF + 2];
			size_t ul = strlen(s->user), pl = strlen(s->pass);
			tok[0] = '\0';
			memcpy(tok + 1, s->user, ul + 1);
			memcpy(tok + 2 + ul, s->pass, pl);
			int rc = ksaslc_token(s, w, tok, 2 + ul + pl);
			OPENSSL_cleanse(tok, sizeof(tok));
			return rc ? rc : 1;
		}
		char first[sizeof(s->scram.first_bare) + 4];
		int fl = ksasl_scram_client_first(&s->scram, s->mech, s->user, s->pass, first, sizeof(first));
		if (fl < 0)
			return ksaslc_fail(s, eb, el, "cannot start SCRAM", "a name or password too long");
		int rc = ksaslc_token(s, w, first, (size_t)fl);
		return rc ? rc : 1;
	}
	int16_t err;
	const uint8_t *tok;
	size_t tl;
	if (ksasl_auth_resp_decode(&r, 1, &err, msg, sizeof(msg), &tok, &tl))
		return ksaslc_fail(s, eb, el, "a malformed SaslAuthenticate answer", NULL);
	if (err) {
		char code[32];
		snprintf(code, sizeof(code), "error %d", err);
		return ksaslc_fail(s, eb, el, "authentication failed", msg[0] ? msg : code);
	}
	if (s->mech == KSASL_PLAIN || s->step == KSASLC_FINAL) {
		if (s->mech != KSASL_PLAIN && ksasl_scram_client_check(&s->scram, tok, tl))
			return ksaslc_fail(s, eb, el, "the server's SCRAM signature is wrong", "it does not know our password");
		s->step = KSASLC_DONE;
		ksaslc_clear(s);
		return 0;
	}
	char final[1024];
	int fl = ksasl_scram_client_final(&s->scram, tok, tl, final, sizeof(final));
	if (fl < 0)
		return ksaslc_fail(s, eb, el, "a malformed or unacceptable SCRAM server-first-message", NULL);
	s->step = KSASLC_FINAL;
	int rc = ksaslc_token(s, w, final, (size_t)fl);
	return rc ? rc : 1;
}

void ksaslc_clear(struct ksaslc *s)
{
	OPENSSL_cleanse(s->pass, sizeof(s->pass));
	OPENSSL_cleanse(s->scram.pass, sizeof(s->scram.pass));
}
