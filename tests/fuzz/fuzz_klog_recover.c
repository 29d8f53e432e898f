/*
 * Fuzz harness: partition log recovery. The input becomes the files of a partition directory:
 *   byte 0: flags (bit 0: an .index follows, bit 1: two segments)
 *   [bit 0: u16 length + that many bytes of the active segment's .index]
 *   [bit 1: u16 length + that many bytes of an older segment 0, the active one is then 1000]
 *   the rest: the active segment's .log
 * klog_open must not crash; when it opens, the active .log must now be a prefix of the input
 * made of valid batches (as the log keeps them: the cleaner's thinned batches too), an append and
 * a read of it must work, and a reopen must change nothing.
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "klog.h"
#include "log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (n && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

static uint8_t *fuzz_read(const char *dir, const char *name, size_t *n)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st))
		abort();
	uint8_t *b = malloc((size_t)st.st_size + 1);
	*n = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	return b;
}

static size_t fuzz_take(const uint8_t **p, size_t *left, const uint8_t **out)
{
	if (*left < 2) {
		*out = *p;
		return 0;
	}
	size_t n = ((size_t)(*p)[0] << 8) | (*p)[1];
	*p += 2;
	*left -= 2;
	if (n > *left)
		n = *left;
	*out = *p;
	*p += n;
	*left -= n;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char root[] = "/tmp/samsa-fuzz-klog-XXXXXX";
	char dir[64];
	char eb[512];
	const uint8_t *p = data, *idx = NULL, *old = NULL;
	size_t left = size, nidx = 0, nold = 0;
	uint8_t flags = 0;
	const char *active = "00000000000000000000";
	struct klog *l = NULL;
	struct klog_opts o;

	log_set_quiet_stderr(1);
	if (left) {
		flags = p[0];
		p++;
		left--;
	}
	if (flags & 1)
		nidx = fuzz_take(&p, &left, &idx);
	if (flags & 2) {
		nold = fuzz_take(&p, &left, &old);
		active = "00000000000000001000";
	}
	if (!mkdtemp(root))
		return 0;
	snprintf(dir, sizeof(dir), "%s/t-0", root);
	mkdir(dir, 0755);
	char name[64];
	snprintf(name, sizeof(name), "%s.log", active);
	fuzz_write(dir, name, p, left);
	if (flags & 1) {
		snprintf(name, sizeof(name), "%s.index", (flags & 4) && (flags & 2) ? "00000000000000000000" : active);
		fuzz_write(dir, name, idx, nidx);
	}
	if (flags & 2)
		fuzz_write(dir, "00000000000000000000.log", old, nold);

	klog_opts_default(&o);
	o.test_no_fsync = true;
	o.index_interval_bytes = 64 + (flags >> 4) * 16;
	if (klog_open(dir, &o, 0, &l, eb, sizeof(eb)) == 0) {
		/* the active .log is a prefix of the input made of whole valid batches */
		size_t n;
		snprintf(name, sizeof(name), "%s.log", active);
		uint8_t *b = fuzz_read(dir, name, &n);
		if (n > left || (n && memcmp(b, p, n)))
			abort();
		for (size_t pos = 0; pos < n;) {
			if (n - pos < 12 || kbatch_size_of(b + pos) > n - pos ||
			    kbatch_validate_ex(b + pos, kbatch_size_of(b + pos), KBATCH_COMPACTED, NULL, eb, sizeof(eb)))
				abort();
			pos += kbatch_size_of(b + pos);
		}
		free(b);

		/* an append lands at the end offset and reads back */
		struct wbuf w;
		struct kbatch_rec rec = { "k", 1, "value", 5, 0, NULL, 0 };
		int64_t end = klog_end_offset(l), first = -1;
		wbuf_init(&w, 1 << 16);
		size_t bsz = kbatch_build(&w, 0, 5, &rec, 1);
		if (klog_append(l, w.p, bsz, 1, false, 10, &first, eb, sizeof(eb)) || first != end)
			abort();
		struct klog_slice s;
		if (klog_read(l, end, 1 << 20, end + 1, &s, eb, sizeof(eb)) || s.len != bsz)
			abort();
		uint8_t *back = malloc(bsz);
		if (pread(s.fd, back, bsz, s.pos) != (ssize_t)bsz || memcmp(back, w.p, bsz))
			abort();
		free(back);
		close(s.fd);
		wbuf_free(&w);
		/* reads in the recovered (validated) segment never fail; in an older segment, whose
		 * sane-looking index is trusted, a bad header is a clear error */
		int64_t abase = klog_segment_base(l, klog_segment_count(l) - 1);
		for (int64_t off = klog_start_offset(l); off <= end && off < klog_start_offset(l) + 64; off++) {
			int rc = klog_read(l, off, 100, end + 1, &s, eb, sizeof(eb));
			if (rc && (off >= abase || rc != ERR_CORRUPT))
				abort();
			if (s.fd >= 0)
				close(s.fd);
		}
		for (int i = 0; i <= 32; i++) {
			int64_t off = abase + (int64_t)((uint64_t)(end - abase) * (uint64_t)i / 32);
			if (klog_read(l, off, 1 << 20, end + 1, &s, eb, sizeof(eb)))
				abort();
			if (s.fd >= 0)
				close(s.fd);
		}
		klog_offset_for_time(l, 3, NULL);
		klog_close(l);
		if (klog_open(dir, &o, 0, &l, eb, sizeof(eb)) || klog_end_offset(l) != end + 1)
			abort();
		klog_remove(l, eb, sizeof(eb));
	} else {
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (e->d_name[0] != '.')
				unlink(path);
		}
		if (d)
			closedir(d);
		rmdir(dir);
	}
	rmdir(root);
	return 0;
}
