/*
 * Fuzz harness: the controller channel's codec (broker/controller/kctl_msg). The input is a byte
 * stream of frames (length prefix included), decoded frame by frame as the channel reads them;
 * each input is also tried as one frame without its prefix. Any input must decode or give one
 * of the documented errors with a reason, never crash, leak or exceed its budget; what decodes
 * must be within the caps, encode again to a frame that decodes to the same message, and that
 * second encoding must equal the first re-encoding (the codec is a fixed point after one trip).
 */
#include "buf.h"
#include "err.h"
#include "kctl_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                           \
	do {                                                                                   \
		if (!(c)) {                                                                    \
			fprintf(stderr, "fuzz_kctl_msg: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                               \
		}                                                                              \
	} while (0)

static int fuzz_same_ints(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static int fuzz_same(const struct kctl_msg *a, const struct kctl_msg *b)
{
	if (a->type != b->type || a->version != b->version || a->correlation_id != b->correlation_id ||
	    a->n_parts != b->n_parts || a->n_leaders != b->n_leaders || a->n_brokers != b->n_brokers ||
	    a->n_stops != b->n_stops || a->n_errors != b->n_errors || a->delete_partitions != b->delete_partitions)
		return 0;
	if (kctl_type_is_request((int)a->type)) {
		if (a->controller_id != b->controller_id || a->controller_epoch != b->controller_epoch ||
		    a->broker_epoch != b->broker_epoch)
			return 0;
	} else if (a->error_code != b->error_code) {
		return 0;
	}
	if (a->type == KCTL_HEARTBEAT_RESP &&
	    (a->broker_id != b->broker_id || a->broker_epoch != b->broker_epoch ||
	     a->controller_epoch != b->controller_epoch))
		return 0;
	for (size_t i = 0; i < a->n_parts; i++) {
		const struct kctl_part *x = &a->parts[i], *y = &b->parts[i];
		if (strcmp(x->topic, y->topic) || x->partition != y->partition ||
		    x->controller_epoch != y->controller_epoch || x->leader != y->leader ||
		    x->leader_epoch != y->leader_epoch || x->zk_version != y->zk_version || x->is_new != y->is_new ||
		    !fuzz_same_ints(x->isr, x->n_isr, y->isr, y->n_isr) ||
		    !fuzz_same_ints(x->replicas, x->n_replicas, y->replicas, y->n_replicas) ||
		    !fuzz_same_ints(x->offline, x->n_offline, y->offline, y->n_offline))
			return 0;
	}
	for (size_t i = 0; i < a->n_leaders; i++)
		if (a->leaders[i].id != b->leaders[i].id || strcmp(a->leaders[i].host, b->leaders[i].host) ||
		    a->leaders[i].port != b->leaders[i].port)
			return 0;
	for (size_t i = 0; i < a->n_brokers; i++)
		if (a->brokers[i].id != b->brokers[i].id || strcmp(a->brokers[i].host, b->brokers[i].host) ||
		    strcmp(a->brokers[i].rack, b->brokers[i].rack) || a->brokers[i].port != b->brokers[i].port ||
		    a->brokers[i].control_port != b->brokers[i].control_port)
			return 0;
	for (size_t i = 0; i < a->n_stops; i++)
		if (strcmp(a->stops[i].topic, b->stops[i].topic) || a->stops[i].partition != b->stops[i].partition)
			return 0;
	for (size_t i = 0; i < a->n_errors; i++)
		if (strcmp(a->errors[i].topic, b->errors[i].topic) || a->errors[i].partition != b->errors[i].partition ||
		    a->errors[i].error_code != b->errors[i].error_code)
			return 0;
	return 1;
}

/* What decoded: within the caps, and a fixed point of encode/decode. */
static void fuzz_check(const struct kctl_msg *m)
{
	struct wbuf w1, w2;
	struct kctl_msg d;
	size_t used = 0;
	char eb[256];

	FUZZ_NEED(m->type >= 1 && m->type <= KCTL_TYPE_MAX && m->version != 0);
	FUZZ_NEED(m->n_parts <= KCTL_MAX_PARTITIONS && m->n_stops <= KCTL_MAX_PARTITIONS &&
		  m->n_errors <= KCTL_MAX_PARTITIONS && m->n_brokers <= KCTL_MAX_BROKERS &&
		  m->n_leaders <= KCTL_MAX_BROKERS);
	for (size_t i = 0; i < m->n_parts; i++)
		FUZZ_NEED(m->parts[i].n_isr <= KCTL_MAX_REPLICAS && m->parts[i].topic[0] &&
			  strlen(m->parts[i].topic) <= KCTL_MAX_NAME && m->parts[i].partition >= 0);

	wbuf_init(&w1, (size_t)KCTL_MAX_FRAME + 64);
	wbuf_init(&w2, (size_t)KCTL_MAX_FRAME + 64);
	FUZZ_NEED(kctl_msg_encode(m, &w1) == 0);
	FUZZ_NEED(kctl_msg_decode_frame(w1.p, w1.len, &used, &d, eb, sizeof(eb)) == 0);
	FUZZ_NEED(used == w1.len);
	FUZZ_NEED(fuzz_same(m, &d));
	FUZZ_NEED(kctl_msg_encode(&d, &w2) == 0);
	FUZZ_NEED(w1.len == w2.len && memcmp(w1.p, w2.p, w1.len) == 0);
	kctl_msg_clear(&d);
	wbuf_free(&w1);
	wbuf_free(&w2);
}

static void fuzz_result(int rc, const char *eb, struct kctl_msg *m)
{
	if (rc == 0) {
		fuzz_check(m);
		kctl_msg_clear(m);
		return;
	}
	FUZZ_NEED(rc == ERR_CORRUPT || rc == ERR_PROTO || rc == ERR_TOOBIG || rc == ERR_NOMEM);
	FUZZ_NEED(eb[0] != 0);
	FUZZ_NEED(m->priv == NULL && m->type == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kctl_msg m;
	char eb[256];
	size_t at = 0, used;

	/* as a stream of frames */
	for (;;) {
		eb[0] = 0;
		int rc = kctl_msg_decode_frame(data + at, size - at, &used, &m, eb, sizeof(eb));
		if (rc == ERR_AGAIN) {
			FUZZ_NEED(used == 0 && m.priv == NULL);
			break;
		}
		fuzz_result(rc, eb, &m);
		if (rc)
			break;
		FUZZ_NEED(used >= 5 && used <= size - at);
		at += used;
	}
	/* as one frame without its length */
	eb[0] = 0;
	fuzz_result(kctl_msg_decode(data, size, &m, eb, sizeof(eb)), eb, &m);
	return 0;
}
