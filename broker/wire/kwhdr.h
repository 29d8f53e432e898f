/*
 * kwhdr — the frame around every Kafka request and response: the request header (v1: api key,
 * version, correlation id, client id; v2, the flexible versions' (KIP-482), adds tagged fields),
 * the response header's tagged fields (v1), and the ApiVersions response body (v0-2), written
 * from the ranges the dispatch table (api/kapi) serves. Pure functions, any thread.
 */
#ifndef SAMSA_KWHDR_H
#define SAMSA_KWHDR_H

#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

/* Longest client id read (Kafka's STRING: int16 length). */
#define KWHDR_MAX_CLIENT_ID 32767

struct kwhdr {
	int16_t key, ver;
	int32_t corr;
	const uint8_t *client_id; /* in the frame; NULL for a null client id */
	int32_t client_id_len;	  /* -1 for null */
};

/* Reads request header v1 from r into h; r is left at what follows the client id. Returns 0
 * or r's error (a short frame, a client id longer than its bytes). */
int kwhdr_read(struct rbuf *r, struct kwhdr *h);
/* Request header v2's tagged fields, after kwhdr_read, when the caller's table says that
 * (key, ver) is flexible: skipped (no request header tag is defined). Returns 0 or r's error. */
int kwhdr_tags_read(struct rbuf *r);
/* Response header v1 (a flexible version's answer): its empty tagged fields. */
void kwhdr_resp_tags(struct wbuf *w);

/* The ApiVersions response body of version ver (0-2) with error err, listing n APIs whose
 * ranges at(i, ...) gives (i < n, in the order to list them). */
void kwhdr_versions_encode(struct wbuf *w, int16_t ver, int16_t err, size_t n,
			   void (*at)(size_t i, int16_t *key, int16_t *min, int16_t *max));

#endif
