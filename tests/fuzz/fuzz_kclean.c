/*
 * Fuzz harness: the log cleaner's reading of segment files and the recovery of its swap. The
 * input becomes a compacted partition directory:
 *   byte 0: flags (bit 0: segment 0 is also left as 00000000000000000000.log.swap, a swap a
 *           crash interrupted; bit 1: a stray .cleaned file; bits 4-7: min.compaction.lag
 *           choice)
 *   u16 length + that many bytes: the older segment 00000000000000000000.log
 *   the rest: the active segment 00000000000000001000.log
 * klog_open must not crash and leave no .swap or .cleaned file when it opens; then a cleaning
 * (plan, run, install) must either refuse with an error or succeed without moving the end
 * offset or touching the active segment, reads of the whole log must give valid batches as
 * the log keeps them, and a reopen must give the same end offset.
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "kclean.h"
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

static int fuzz_count(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	size_t sl = strlen(suffix);
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		n += len > sl && !strcmp(e->d_name + len - sl, suffix);
	}
	if (d)
		closedir(d);
	return n;
}

static void fuzz_rmdir(const char *dir)
{
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

/* Every batch from start to end reads back valid: the number of batches, or -1 (an older
 * segment is trusted by its headers until read, so a bad one may be found here). */
static int fuzz_read_all(struct klog *l, int64_t end)
{
	char eb[256];
	int64_t off = klog_start_offset(l);
	int n = 0;
	while (off < end && n < 100000) {
		struct klog_slice s;
		if (klog_read(l, off, 1 << 20, end, &s, eb, sizeof(eb)))
			return -1;
		if (s.len == 0)
			return -1;
		uint8_t *b = malloc(s.len);
		if (!b || pread(s.fd, b, s.len, s.pos) != (ssize_t)s.len)
			abort();
		close(s.fd);
		for (size_t pos = 0; pos < s.len;) {
			struct kbatch_hdr h;
			size_t bsz = kbatch_size_of(b + pos);
			if (s.len - pos < 12 || bsz > s.len - pos ||
			    kbatch_validate_ex(b + pos, bsz, KBATCH_COMPACTED, &h, eb, sizeof(eb)) ||
			    h.base_offset + h.last_offset_delta + 1 <= off) {
				free(b);
				return -1;
			}
			off = h.base_offset + h.last_offset_delta + 1;
			pos += bsz;
			n++;
		}
		free(b);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char root[] = "/tmp/samsa-fuzz-kclean-XXXXXX";
	char dir[64], eb[512];
	const uint8_t *p = data;
	size_t left = size;
	uint8_t flags = 0;
	struct klog *l = NULL;
	struct klog_opts o;

	log_set_quiet_stderr(1);
	if (left) {
		flags = p[0];
		p++;
		left--;
	}
	size_t nold = 0;
	if (left >= 2) {
		nold = ((size_t)p[0] << 8) | p[1];
		p += 2;
		left -= 2;
		if (nold > left)
			nold = left;
	}
	const uint8_t *old = p;
	p += nold;
	left -= nold;
	if (!mkdtemp(root))
		return 0;
	snprintf(dir, sizeof(dir), "%s/c-0", root);
	mkdir(dir, 0755);
	fuzz_write(dir, "00000000000000000000.log", old, nold);
	if (flags & 1)
		fuzz_write(dir, "00000000000000000000.log.swap", old, nold);
	if (flags & 2)
		fuzz_write(dir, "00000000000000000000.log.cleaned", p, left / 2);
	fuzz_write(dir, "00000000000000001000.log", p, left);

	klog_opts_default(&o);
	o.test_no_fsync = true;
	o.roll_ms = -1;
	o.retention_ms = -1;
	o.compact = true;
	o.no_delete = true;
	o.min_cleanable_ratio = 0;
	o.delete_retention_ms = (flags & 0x10) ? 0 : 1000;
	o.min_compaction_lag_ms = (flags & 0x20) ? 1000 : 0;
	if (klog_open(dir, &o, 0, &l, eb, sizeof(eb)) == 0) {
		if (fuzz_count(dir, ".swap") || fuzz_count(dir, ".cleaned"))
			abort();
		int64_t end = klog_end_offset(l);
		int before = fuzz_read_all(l, end);
		struct kclean_task *t = NULL;
		int rc = kclean_task_plan(l, -1, INT64_MAX, 1700000000000LL, 4096, &t, NULL, eb, sizeof(eb));
		if (!rc && t) {
			t->segment_bytes = (flags & 0x40) ? 1 << 20 : t->segment_bytes;
			if (kclean_task_run(t, NULL) == 0 && kclean_task_install(l, t, NULL, NULL, eb, sizeof(eb)) == 0) {
				if (klog_end_offset(l) != end)
					abort();
				int after = fuzz_read_all(l, end);
				if (before >= 0 && after < 0)
					abort(); /* the cleaner made a readable log unreadable */
			}
			kclean_task_free(t);
		}
		if (fuzz_count(dir, ".cleaned"))
			abort();
		klog_close(l);
		if (klog_open(dir, &o, 0, &l, eb, sizeof(eb)) || klog_end_offset(l) != end)
			abort();
		klog_close(l);
	}
	fuzz_rmdir(dir);
	rmdir(root);
	return 0;
}
