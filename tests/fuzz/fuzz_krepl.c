/*
 * Fuzz harness: the replication core (broker/replica/krepl) under arbitrary inputs from peers
 * and the controller. The input is a program: each step's first byte picks an operation
 * (LeaderAndIsr, a follower's fetch, a fetch answer with arbitrary batches, an
 * OffsetForLeaderEpoch answer, an ISR write result, a tick, a produce, an epoch query) and the
 * next bytes its fields. Whatever peers send, the core must refuse it with an error or take it
 * without breaking an invariant (its KREPL_CHECKs abort the process), and after every step:
 * the log end mirrored from its actions equals its own, appends are contiguous, the HW lies in
 * [log start, log end] and never goes back on a leader within an epoch, and the epoch cache is
 * ordered and starts nothing past the log end.
 */
#include "err.h"
#include "kepoch.h"
#include "krepl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                        \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "fuzz_krepl: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                            \
		}                                                                           \
	} while (0)

struct fz {
	const uint8_t *p;
	size_t left;
};

static uint8_t fz_u8(struct fz *f)
{
	if (!f->left)
		return 0;
	f->left--;
	return *f->p++;
}

static int32_t fz_small(struct fz *f) /* -1 .. 14 */
{
	return (int32_t)(fz_u8(f) % 16) - 1;
}

static void fz_state(struct fz *f, struct krepl_state *st)
{
	memset(st, 0, sizeof(*st));
	uint8_t mask = fz_u8(f);
	static const int32_t ids[] = { 1, 2, 3, 7 };
	st->n_replicas = 0;
	for (int i = 0; i < 4; i++)
		if (mask & (1u << i) || i == 0)
			st->replicas[st->n_replicas++] = ids[i];
	for (int i = 0; i < 4; i++)
		if (mask & (1u << (i + 4)))
			st->isr[st->n_isr++] = ids[i];
	st->leader = (int32_t)(fz_u8(f) % 5) - 1; /* -1, 0..3 */
	st->leader_epoch = fz_small(f);
	st->zk_version = fz_small(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	int64_t log_end = fz_u8(&f) % 32;
	struct kepoch_entry e[2] = { { 0, 0 }, { 2, log_end / 2 } };
	struct krepl_opts o = { .broker_id = 1, .lag_time_max_ms = 10, .min_insync = 1 + fz_u8(&f) % 3,
				.log_end = log_end, .high_watermark = fz_u8(&f) % 40, .epochs = e,
				.n_epochs = log_end ? 2 : 0 };
	char err[128];
	struct krepl *k = krepl_new(&o, err, sizeof(err));
	FUZZ_NEED(k != NULL);
	int64_t now = 0, mirror = log_end;
	int32_t hw_epoch = -2;
	int64_t hw_seen = -1;
	uint64_t token = 0;
	while (f.left) {
		uint8_t op = fz_u8(&f) % 8;
		switch (op) {
		case 0: {
			struct krepl_state st;
			fz_state(&f, &st);
			(void)krepl_become(k, &st, now);
			break;
		}
		case 1: {
			struct krepl_fetch_req rq = { .replica_id = (int32_t)(fz_u8(&f) % 5) - 1,
						      .current_leader_epoch = fz_small(&f),
						      .fetch_offset = (int64_t)fz_u8(&f) - 8,
						      .last_fetched_epoch = fz_small(&f) };
			if (fz_u8(&f) & 1) {
				rq.current_leader_epoch = krepl_leader_epoch(k);
				rq.fetch_offset = krepl_log_end(k) - fz_u8(&f) % 4;
			}
			struct krepl_fetch_plan p;
			krepl_fetch(k, &rq, now, &p);
			if (!p.error && !p.diverging)
				FUZZ_NEED(p.from == rq.fetch_offset && p.to >= p.from && p.to <= krepl_log_end(k));
			break;
		}
		case 2: {
			struct krepl_batch b[4];
			size_t nb = fz_u8(&f) % 5;
			int64_t next = krepl_log_end(k);
			for (size_t i = 0; i < nb; i++) {
				uint8_t skew = fz_u8(&f);
				b[i].base_offset = next + (skew & 0x80 ? (int64_t)(skew & 3) - 1 : 0);
				b[i].last_offset = b[i].base_offset + (int64_t)(fz_u8(&f) % 4) - (skew & 0x40 ? 1 : 0);
				b[i].epoch = fz_small(&f);
				next = b[i].last_offset + 1;
			}
			struct krepl_fetch_resp rs = {
				.error = fz_u8(&f) % 4 == 0 ? KREPL_OFFSET_OUT_OF_RANGE : KREPL_OK,
				.leader_epoch = fz_u8(&f) & 1 ? krepl_leader_epoch(k) : fz_small(&f),
				.fetch_offset = krepl_log_end(k),
				.high_watermark = (int64_t)fz_u8(&f) - 4,
				.log_start = fz_u8(&f) % 48,
				.diverging = fz_u8(&f) % 4 == 0,
				.diverging_epoch = fz_small(&f),
				.diverging_end_offset = (int64_t)fz_u8(&f) - 4,
				.batches = b,
				.n_batches = nb,
			};
			(void)krepl_fetch_response(k, &rs, now);
			break;
		}
		case 3: {
			struct krepl_epoch_req rq;
			struct krepl_epoch_resp rs = { .error = KREPL_OK };
			if (krepl_epoch_request(k, &rq) && fz_u8(&f) & 1) {
				rs.current_leader_epoch = rq.current_leader_epoch;
				rs.requested_epoch = rq.leader_epoch;
			} else {
				rs.current_leader_epoch = fz_small(&f);
				rs.requested_epoch = fz_small(&f);
			}
			rs.leader_epoch = fz_small(&f);
			rs.end_offset = (int64_t)fz_u8(&f) - 4;
			(void)krepl_epoch_response(k, &rs, now);
			break;
		}
		case 4:
			krepl_isr_result(k, fz_u8(&f) & 1 ? krepl_leader_epoch(k) : fz_small(&f), fz_u8(&f) & 1,
					 fz_small(&f), now);
			break;
		case 5:
			now += fz_u8(&f);
			krepl_tick(k, now);
			break;
		case 6: {
			int64_t base;
			int32_t ep;
			uint8_t b = fz_u8(&f);
			if (krepl_log_end(k) < 100000 &&
			    krepl_append(k, 1 + b % 3, b & 4 ? -1 : 1, ++token, now + fz_u8(&f), now, &base, &ep) ==
				    KREPL_OK) {
				FUZZ_NEED(base == mirror && ep == krepl_leader_epoch(k));
				mirror += 1 + b % 3;
			}
			break;
		}
		default: {
			int32_t ep;
			int64_t end;
			if (krepl_offset_for_epoch(k, fz_small(&f), fz_small(&f), &ep, &end) == KREPL_OK && end >= 0)
				FUZZ_NEED(end <= krepl_log_end(k));
			break;
		}
		}
		/* carry out the actions, mirroring the log end */
		size_t n;
		const struct krepl_action *a = krepl_actions(k, &n);
		for (size_t i = 0; i < n; i++) {
			if (a[i].type == KREPL_ACT_TRUNCATE) {
				FUZZ_NEED(a[i].offset < mirror);
				mirror = a[i].offset;
			} else if (a[i].type == KREPL_ACT_RESET) {
				mirror = a[i].offset;
			} else if (a[i].type == KREPL_ACT_APPEND) {
				FUZZ_NEED(a[i].offset == mirror && a[i].last_offset >= a[i].offset);
				mirror = a[i].last_offset + 1;
			}
		}
		krepl_actions_clear(k);
		FUZZ_NEED(mirror == krepl_log_end(k));
		int64_t hw = krepl_high_watermark(k);
		FUZZ_NEED(hw >= 0 && hw <= krepl_log_end(k));
		if (krepl_role(k) == KREPL_LEADER) {
			if (hw_epoch == krepl_leader_epoch(k))
				FUZZ_NEED(hw >= hw_seen);
			hw_epoch = krepl_leader_epoch(k);
			hw_seen = hw;
		} else {
			hw_epoch = -2;
		}
		size_t ne;
		const struct kepoch_entry *ce = kepoch_entries(krepl_epochs(k), &ne);
		for (size_t i = 0; i < ne; i++) {
			FUZZ_NEED(ce[i].start_offset <= krepl_log_end(k));
			FUZZ_NEED(i == 0 || (ce[i].epoch > ce[i - 1].epoch && ce[i].start_offset >= ce[i - 1].start_offset));
		}
	}
	krepl_free(k);
	return 0;
}
