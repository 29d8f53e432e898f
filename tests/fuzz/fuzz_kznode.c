/*
 * Fuzz harness: Kafka's znode JSON (broker/meta/kznode), what a broker and kafka-topics read
 * from whatever the coordinator holds. Byte 0 picks the decoder (mod 4: 0 topic assignment,
 * 1 partition state, 2 broker registration, 3 all the others on the same bytes: /controller,
 * /controller_epoch, /cluster/id, an entity config, the config change notification,
 * /latest_producer_id_block), the rest
 * is the znode's data. Any input must decode or give an error with a message and an empty
 * output, never crash or leak; what decodes must keep the decoder's promises (partitions
 * 0..n-1, ids >= 0, ports in range), and where an encoder exists, encoding it and decoding that
 * again must give the same values.
 */
#include "err.h"
#include "kznode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                         \
	do {                                                                                 \
		if (!(c)) {                                                                  \
			fprintf(stderr, "fuzz_kznode: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                             \
		}                                                                            \
	} while (0)

static void fuzz_assignment(const char *text, size_t len)
{
	struct kznode_assignment a, b;
	char eb[256] = "";
	int rc = kznode_assignment_decode(text, len, &a, eb, sizeof(eb));
	if (rc) {
		FUZZ_NEED((rc == ERR_CORRUPT || rc == ERR_NOMEM) && a.ids == NULL && a.n_parts == 0 && eb[0]);
		return;
	}
	/* re-encoded when every partition has the same count (the encoder's shape) */
	int32_t rf = -1;
	bool same = true;
	for (int32_t p = 0; p < a.n_parts; p++) {
		int32_t n;
		const int32_t *r = kznode_assignment_replicas(&a, p, &n);
		FUZZ_NEED(n >= 0 && n <= KZNODE_MAX_REPLICAS);
		for (int32_t i = 0; i < n; i++)
			FUZZ_NEED(r[i] >= 0);
		same &= rf < 0 || rf == n;
		rf = n;
	}
	if (same && rf > 0) {
		char *js = NULL;
		FUZZ_NEED(kznode_assignment_encode(a.n_parts, rf, a.ids, &js) == 0);
		FUZZ_NEED(kznode_assignment_decode(js, strlen(js), &b, eb, sizeof(eb)) == 0);
		FUZZ_NEED(b.n_parts == a.n_parts);
		FUZZ_NEED(!memcmp(b.ids, a.ids, (size_t)a.n_parts * (size_t)rf * sizeof(int32_t)));
		kznode_assignment_free(&b);
		free(js);
	}
	kznode_assignment_free(&a);
}

static void fuzz_state(const char *text, size_t len)
{
	struct kznode_state st, st2;
	char eb[256] = "", *js = NULL;
	int rc = kznode_state_decode(text, len, &st, eb, sizeof(eb));
	if (rc) {
		FUZZ_NEED(rc == ERR_CORRUPT || rc == ERR_NOMEM);
		FUZZ_NEED(st.n_isr == 0 && eb[0]);
		return;
	}
	FUZZ_NEED(st.leader >= -1 && st.leader_epoch >= 0 && st.controller_epoch >= 0);
	FUZZ_NEED(st.n_isr <= KZNODE_MAX_REPLICAS);
	FUZZ_NEED(kznode_state_encode(&st, &js) == 0);
	FUZZ_NEED(kznode_state_decode(js, strlen(js), &st2, eb, sizeof(eb)) == 0);
	FUZZ_NEED(st2.leader == st.leader && st2.leader_epoch == st.leader_epoch &&
		  st2.controller_epoch == st.controller_epoch && st2.n_isr == st.n_isr);
	FUZZ_NEED(!memcmp(st2.isr, st.isr, st.n_isr * sizeof(int32_t)));
	free(js);
}

static void fuzz_broker(const char *text, size_t len)
{
	struct kznode_broker b;
	char eb[256] = "";
	int rc = kznode_broker_decode(text, len, &b, eb, sizeof(eb));
	if (rc) {
		FUZZ_NEED((rc == ERR_CORRUPT || rc == ERR_NOMEM) && eb[0] && b.port == 0);
		return;
	}
	FUZZ_NEED(b.port >= 1 && b.port <= 65535);
	FUZZ_NEED(b.control_port == -1 || (b.control_port >= 1 && b.control_port <= 65535));
	FUZZ_NEED(b.host[0] && strlen(b.host) <= KZNODE_MAX_HOST);
	FUZZ_NEED(strlen(b.rack) <= KZNODE_MAX_HOST);
	FUZZ_NEED(b.n_endpoints >= 0 && b.n_endpoints <= KZNODE_MAX_ENDPOINTS);
	for (int i = 0; i < b.n_endpoints; i++) {
		const struct kznode_endpoint *e = &b.endpoints[i];
		FUZZ_NEED(e->name[0] && strlen(e->name) <= KZNODE_MAX_LISTENER && strcmp(e->name, "CONTROL_PLANE"));
		FUZZ_NEED(e->host[0] && e->port >= 1 && e->port <= 65535);
		FUZZ_NEED(kznode_broker_endpoint(&b, e->name) == e); /* names are unique */
	}
	/* what a broker registers with that host reads back the same (IPv6 hosts in brackets) */
	struct kznode_reg_endpoint ep = { "PLAINTEXT", b.host, b.port, "PLAINTEXT" };
	struct kznode_broker_reg reg = { .n_endpoints = 1, .endpoints = &ep, .control_host = b.host,
					 .control_port = b.control_port > 0 ? b.control_port : 1, .timestamp_ms = 1 };
	struct kznode_broker b2;
	char *js = NULL;
	FUZZ_NEED(kznode_broker_encode(&reg, &js) == 0);
	FUZZ_NEED(kznode_broker_decode(js, strlen(js), &b2, eb, sizeof(eb)) == 0);
	FUZZ_NEED(!strcmp(b2.host, b.host) && b2.port == b.port && b2.control_port == reg.control_port);
	FUZZ_NEED(b2.n_endpoints == 1 && !strcmp(b2.endpoints[0].host, b.host));
	free(js);
}

static void fuzz_small(const char *text, size_t len)
{
	char eb[256] = "", id[KZNODE_MAX_ID + 1], path[128], *js = NULL;
	int32_t v, v2;
	if (kznode_controller_decode(text, len, &v, eb, sizeof(eb)) == 0) {
		FUZZ_NEED(v >= 0);
		FUZZ_NEED(kznode_controller_encode(v, 5, &js) == 0);
		FUZZ_NEED(kznode_controller_decode(js, strlen(js), &v2, eb, sizeof(eb)) == 0 && v2 == v);
		free(js);
	} else {
		FUZZ_NEED(v == -1 && eb[0]);
	}
	if (kznode_epoch_decode(text, len, &v, eb, sizeof(eb)) == 0) {
		FUZZ_NEED(v >= 0 && v < INT32_MAX);
		FUZZ_NEED(kznode_epoch_encode(v, &js) == 0);
		FUZZ_NEED(kznode_epoch_decode(js, strlen(js), &v2, eb, sizeof(eb)) == 0 && v2 == v);
		free(js);
	}
	if (kznode_cluster_id_decode(text, len, id, eb, sizeof(eb)) == 0) {
		FUZZ_NEED(id[0] && strlen(id) <= KZNODE_MAX_ID);
		char id2[KZNODE_MAX_ID + 1];
		FUZZ_NEED(kznode_cluster_id_encode(id, &js) == 0);
		FUZZ_NEED(kznode_cluster_id_decode(js, strlen(js), id2, eb, sizeof(eb)) == 0 && !strcmp(id, id2));
		free(js);
	}
	struct kznode_conf *c = NULL, *c2 = NULL;
	int32_t n = 0, n2 = 0;
	if (kznode_config_decode(text, len, &c, &n, eb, sizeof(eb)) == 0) {
		FUZZ_NEED(c != NULL && n >= 0 && n <= KZNODE_MAX_CONFIGS);
		FUZZ_NEED(kznode_config_encode(c, n, &js) == 0);
		FUZZ_NEED(kznode_config_decode(js, strlen(js), &c2, &n2, eb, sizeof(eb)) == 0 && n2 == n);
		for (int32_t i = 0; i < n; i++)
			FUZZ_NEED(!strcmp(c[i].name, c2[i].name) && !strcmp(c[i].value, c2[i].value));
		kznode_config_free(c, n);
		kznode_config_free(c2, n2);
		free(js);
	} else {
		FUZZ_NEED(c == NULL && n == 0 && eb[0]);
	}
	struct kznode_pid_block pb, pb2;
	int prc = kznode_pid_block_decode(text, len, &pb, eb, sizeof(eb));
	if (prc == 0) {
		FUZZ_NEED(pb.broker >= 0 && pb.start >= 0 && pb.end >= pb.start);
		FUZZ_NEED(kznode_pid_block_encode(&pb, &js) == 0);
		FUZZ_NEED(kznode_pid_block_decode(js, strlen(js), &pb2, eb, sizeof(eb)) == 0);
		FUZZ_NEED(pb2.broker == pb.broker && pb2.start == pb.start && pb2.end == pb.end);
		free(js);
		if (kznode_pid_block_next(&pb, 3, &pb2) == 0)
			FUZZ_NEED(pb2.start == pb.end + 1 && pb2.end == pb2.start + KZNODE_PID_BLOCK_SIZE - 1);
	} else {
		FUZZ_NEED((prc == ERR_CORRUPT || prc == ERR_NOTFOUND || prc == ERR_NOMEM) && pb.broker == -1 && eb[0]);
	}
	if (kznode_config_change_decode(text, len, path, sizeof(path), eb, sizeof(eb)) == 0) {
		char path2[128];
		FUZZ_NEED(strlen(path) < sizeof(path));
		FUZZ_NEED(kznode_config_change_encode(path, &js) == 0);
		FUZZ_NEED(kznode_config_change_decode(js, strlen(js), path2, sizeof(path2), eb, sizeof(eb)) == 0);
		FUZZ_NEED(!strcmp(path, path2));
		free(js);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 4) {
	case 0:
		fuzz_assignment(text, len);
		break;
	case 1:
		fuzz_state(text, len);
		break;
	case 2:
		fuzz_broker(text, len);
		break;
	default:
		fuzz_small(text, len);
		break;
	}
	return 0;
}
