/*
 * klog_bench — the broker's produce path on one partition without the network: each "request"
 * is a buffer of batches of records (default 1 batch of 1000 records of 100 bytes) that goes
 * through kbatch_validate and klog_append, as the Produce handler does. Prints records/s and
 * MB/s for append and for reading everything back by offset. Figures only, no assertions.
 *   klog_bench [dir] [requests] [records per batch] [value bytes] [flush_messages]
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "klog.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_validate(const uint8_t *b, size_t n, void *arg)
{
	char eb[256];
	(void)arg;
	return kbatch_validate(b, n, NULL, eb, sizeof(eb));
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp/samsa-klog-bench-0";
	int requests = argc > 2 ? atoi(argv[2]) : 2000;
	int nrec = argc > 3 ? atoi(argv[3]) : 1000;
	int vsize = argc > 4 ? atoi(argv[4]) : 100;
	struct klog_opts o;
	struct klog *l;
	char eb[512];

	klog_opts_default(&o);
	if (argc > 5)
		o.flush_messages = atoll(argv[5]);
	log_set_level(LOG_WARN);
	struct kbatch_rec *recs = calloc((size_t)nrec, sizeof(*recs));
	char *val = malloc((size_t)vsize);
	memset(val, 'x', (size_t)vsize);
	for (int i = 0; i < nrec; i++)
		recs[i] = (struct kbatch_rec){ NULL, -1, val, vsize, 0, NULL, 0 };
	struct wbuf w;
	wbuf_init(&w, 1u << 30);
	size_t len = kbatch_build(&w, 0, 1700000000000LL, recs, nrec);
	if (!len || klog_open(dir, &o, 0, &l, eb, sizeof(eb))) {
		fprintf(stderr, "klog_bench: %s\n", eb);
		return 1;
	}
	double t0 = bench_now();
	for (int i = 0; i < requests; i++) {
		int64_t first;
		if (kbatch_foreach(w.p, len, bench_validate, NULL, eb, sizeof(eb)) ||
		    klog_append(l, w.p, len, 0, false, 1700000000000LL + i, &first, eb, sizeof(eb))) {
			fprintf(stderr, "klog_bench: append %d: %s\n", i, eb);
			return 1;
		}
	}
	double t1 = bench_now();
	double recs_total = (double)requests * nrec;
	printf("append: %d requests of %d x %d-byte records: %.0f records/s, %.1f MB/s (%d segments)\n",
	       requests, nrec, vsize, recs_total / (t1 - t0), (double)len * requests / (t1 - t0) / 1e6,
	       klog_segment_count(l));
	int64_t off = klog_start_offset(l), end = klog_end_offset(l);
	size_t bytes = 0;
	while (off < end) {
		struct klog_slice s;
		if (klog_read(l, off, 1 << 20, end, &s, eb, sizeof(eb)) || !s.len) {
			fprintf(stderr, "klog_bench: read at %lld: %s\n", (long long)off, eb);
			return 1;
		}
		uint8_t hdr[KBATCH_HDR_SIZE];
		struct kbatch_hdr h;
		/* the last batch of the slice tells where the next read starts: find it by walking */
		int64_t pos = s.pos;
		while (pos < s.pos + (int64_t)s.len) {
			if (pread(s.fd, hdr, sizeof(hdr), pos) != (ssize_t)sizeof(hdr) ||
			    kbatch_parse_hdr(hdr, sizeof(hdr), &h))
				return 1;
			pos += KBATCH_LOG_OVERHEAD + h.batch_length;
		}
		off = h.base_offset + h.last_offset_delta + 1;
		bytes += s.len;
		close(s.fd);
	}
	double t2 = bench_now();
	printf("read (locate + dup, no copy): %.1f MB/s of slices\n", (double)bytes / (t2 - t1) / 1e6);
	klog_remove(l, eb, sizeof(eb));
	wbuf_free(&w);
	free(recs);
	free(val);
	return 0;
}
