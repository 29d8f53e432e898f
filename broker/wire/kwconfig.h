/*
 * kwconfig — the broker's side of the three config APIs, both ways: DescribeConfigs (API 32,
 * v0-2), AlterConfigs (API 33, v0-1) and IncrementalAlterConfigs (API 44, v0), the versions the
 * broker serves (all non-flexible). DescribeConfigs v1 adds include_synonyms to the request and
 * to each entry its config_source (v0: is_default) and synonyms; v2 is v1's. AlterConfigs v1 is
 * v0's; IncrementalAlterConfigs adds an operation per entry (SET, DELETE, APPEND, SUBTRACT).
 * Schemas: apache/kafka clients/src/main/resources/common/message/
 * {DescribeConfigs,AlterConfigs,IncrementalAlterConfigs}{Request,Response}.json.
 *
 * The decoders distrust their input: every count is capped at KWIRE_MAX_ITEMS and checked
 * against the bytes left before anything is allocated, every string at KWIRE_MAX_STR. The
 * decoded request owns copies of its strings (it outlives the frame: a waiting request keeps
 * it in its kwait); a name or value holding a NUL, an empty or null config name or an unknown
 * operation is kept flagged (bad_name, bad_entry) for the broker to refuse that resource only.
 * Pure functions, any thread.
 */
#ifndef SAMSA_KWCONFIG_H
#define SAMSA_KWCONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWCONFIG_API_DESCRIBE 32
#define KWCONFIG_API_ALTER 33
#define KWCONFIG_API_INCREMENTAL 44
#define KWCONFIG_DESCRIBE_MAX_VERSION 2
#define KWCONFIG_ALTER_MAX_VERSION 1
#define KWCONFIG_INCREMENTAL_MAX_VERSION 0

/* IncrementalAlterConfigs' operations (AlterConfigOp.OpType). */
enum { KWCONFIG_OP_SET = 0, KWCONFIG_OP_DELETE = 1, KWCONFIG_OP_APPEND = 2, KWCONFIG_OP_SUBTRACT = 3 };
/* DescribeConfigs v1+'s config_source; v0's is_default is source == KWCONFIG_SRC_DEFAULT. */
#define KWCONFIG_SRC_DEFAULT 5
/* Synonyms an encoded entry may carry. */
#define KWCONFIG_MAX_SYN 4

/* ---- DescribeConfigs ---- */

struct kwconfig_dc_rreq {
	uint8_t type;
	char *name;     /* never NULL ("" for a null name) */
	bool bad_name;  /* it held a NUL (name is cut there) */
	int32_t nkeys;  /* -1: null (every config) */
	char **keys;    /* nkeys entries (a key holding a NUL is cut there) */
};
struct kwconfig_dc_req {
	int32_t n;
	struct kwconfig_dc_rreq *res;
	bool synonyms; /* v1+ */
};
/* Decodes the body at version ver (0..KWCONFIG_DESCRIBE_MAX_VERSION): 0, ERR_PROTO or
 * ERR_NOMEM; on an error *out is freed and empty. */
int kwconfig_dc_req_decode(struct rbuf *r, int16_t ver, struct kwconfig_dc_req *out);
/* Appends the request body (the client side, tests); w's sticky error. */
int kwconfig_dc_req_encode(struct wbuf *w, int16_t ver, const struct kwconfig_dc_req *q);
void kwconfig_dc_req_free(struct kwconfig_dc_req *q);

struct kwconfig_syn {
	char *name, *value; /* value NULL: null */
	int8_t source;
};
struct kwconfig_entry_out {
	char *name, *value; /* value NULL: null */
	bool read_only;
	int8_t source; /* v0: is_default = source == KWCONFIG_SRC_DEFAULT */
	bool sensitive;
	int32_t nsyn; /* v1+, at most KWCONFIG_MAX_SYN */
	struct kwconfig_syn syn[KWCONFIG_MAX_SYN];
};
struct kwconfig_dc_rresp {
	int16_t error;
	char *message; /* NULL: null */
	uint8_t type;
	char *name;
	int32_t n;
	struct kwconfig_entry_out *entries;
};
struct kwconfig_dc_resp {
	int32_t throttle_ms;
	int32_t n;
	struct kwconfig_dc_rresp *res;
};
/* Appends the response body at version ver; w's sticky error. */
int kwconfig_dc_resp_encode(struct wbuf *w, int16_t ver, const struct kwconfig_dc_resp *p);
/* Decodes a response body (the client side, tests): 0, ERR_PROTO or ERR_NOMEM; v0's is_default
 * reads as source KWCONFIG_SRC_DEFAULT, else 0. */
int kwconfig_dc_resp_decode(struct rbuf *r, int16_t ver, struct kwconfig_dc_resp *out);
/* Frees what a response owns (strings, entries, results); also for one the broker built with
 * malloc'd strings. */
void kwconfig_dc_resp_free(struct kwconfig_dc_resp *p);

/* ---- AlterConfigs, IncrementalAlterConfigs ---- */

struct kwconfig_entry_in {
	char *name;  /* NULL when the entry is bad */
	char *value; /* NULL: null */
	int8_t op;   /* IncrementalAlterConfigs; KWCONFIG_OP_SET for AlterConfigs */
};
struct kwconfig_ac_rreq {
	uint8_t type;
	char *name;    /* never NULL */
	bool bad_name; /* it held a NUL */
	bool bad_entry; /* an entry with a null, empty or NUL-holding name, a NUL-holding value, or
			 * an unknown operation */
	int32_t n;
	struct kwconfig_entry_in *entries;
};
struct kwconfig_ac_req {
	int32_t n;
	struct kwconfig_ac_rreq *res;
	bool validate_only;
};
/* Decodes an AlterConfigs (incremental false, ver 0..1) or IncrementalAlterConfigs (true, ver
 * 0) body: 0, ERR_PROTO or ERR_NOMEM; on an error *out is freed and empty. */
int kwconfig_ac_req_decode(struct rbuf *r, bool incremental, int16_t ver, struct kwconfig_ac_req *out);
/* Appends the request body (the client side, tests); w's sticky error. */
int kwconfig_ac_req_encode(struct wbuf *w, bool incremental, int16_t ver, const struct kwconfig_ac_req *q);
void kwconfig_ac_req_free(struct kwconfig_ac_req *q);

struct kwconfig_ac_rresp {
	int16_t error;
	const char *message; /* NULL: null */
	uint8_t type;
	const char *name;
};
struct kwconfig_ac_resp {
	int32_t throttle_ms;
	int32_t n;
	struct kwconfig_ac_rresp *res;
};
/* Appends the response body (the same in both APIs and every version); w's sticky error. */
int kwconfig_ac_resp_encode(struct wbuf *w, const struct kwconfig_ac_resp *p);
/* Decodes a response body (the client side, tests) into copies of its strings: 0, ERR_PROTO or
 * ERR_NOMEM (then *out is freed and empty). */
int kwconfig_ac_resp_decode(struct rbuf *r, struct kwconfig_ac_resp *out);
/* Frees a decoded response (its strings and results). */
void kwconfig_ac_resp_free(struct kwconfig_ac_resp *p);

#endif
