/*
 * Fuzz harness: raft log recovery. The input is raft.log of an otherwise empty directory.
 * zk_raftlog_open must not crash. When it fails, the file must be untouched; when it opens,
 * raft.log must now be a prefix of the input (or, for an input shorter than the header, the
 * header) holding exactly the entries it reports, an append after them must work, and a
 * reopen must give the same entries plus the appended one.
 */
#include "err.h"
#include "log.h"
#include "raft.h"
#include "zk_raftlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *fuzz_read(const char *path, size_t *n)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st))
		abort();
	uint8_t *b = malloc((size_t)st.st_size + 1);
	*n = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	return b;
}

static void fuzz_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/samsa-fuzz-raftlog-XXXXXX";
	char path[128], eb[512];
	struct zk_raftlog *l = NULL;

	log_set_quiet_stderr(1);
	if (!mkdtemp(dir))
		return 0;
	snprintf(path, sizeof(path), "%s/raft.log", dir);
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size))
		abort();
	fclose(f);

	size_t n;
	uint8_t *b;
	if (zk_raftlog_open(dir, &l, eb, sizeof(eb)) == 0) {
		b = fuzz_read(path, &n);
		if (size < 16) {
			/* a torn header is recreated: ours again (magic and version as the input's
			 * prefix; the generation is the snapmeta's, whatever the torn bytes said) */
			if (n != 16 || memcmp(b, data, size < 8 ? size : 8))
				abort();
		} else if (n > size || memcmp(b, data, n)) {
			abort();
		}
		/* the file holds exactly the reported entries, in our framing */
		size_t ne;
		const struct raft_entry *es = zk_raftlog_entries(l, &ne);
		size_t off = 16;
		uint64_t last = zk_raftlog_last_index(l);
		if (zk_raftlog_snapshot(l)->index != 0 || last != ne)
			abort();
		for (size_t i = 0; i < ne; i++) {
			uint8_t hdr[25];
			if (es[i].index != i + 1 || (i && es[i].term < es[i - 1].term) ||
			    zk_raftlog_get(l, i + 1) != &es[i] || off + 25 + es[i].len > n)
				abort();
			fuzz_put64(hdr + 8, es[i].index);
			fuzz_put64(hdr + 16, es[i].term);
			hdr[24] = (uint8_t)es[i].type;
			if (memcmp(b + off + 8, hdr + 8, 17) || (es[i].len && memcmp(b + off + 25, es[i].data, es[i].len)))
				abort();
			off += 25 + es[i].len;
		}
		if (zk_raftlog_bytes(l) != off)
			abort();
		for (size_t i = off; i < n; i++) /* past the log: only zeros written ahead */
			if (b[i])
				abort();
		free(b);

		uint64_t term = ne ? es[ne - 1].term : 1;
		struct raft_entry e = { last + 1, term, RAFT_ENTRY_NORMAL, (uint8_t *)"x", 1 };
		if (zk_raftlog_append(l, 0, &e, 1, eb, sizeof(eb)) || zk_raftlog_sync(l, eb, sizeof(eb)))
			abort();
		zk_raftlog_close(l);
		if (zk_raftlog_open(dir, &l, eb, sizeof(eb)) || zk_raftlog_last_index(l) != last + 1 ||
		    zk_raftlog_get(l, last + 1)->len != 1)
			abort();
		zk_raftlog_close(l);
	} else {
		if (l)
			abort();
		b = fuzz_read(path, &n);
		if (n != size || (n && memcmp(b, data, n)))
			abort();
		free(b);
	}
	unlink(path);
	rmdir(dir);
	return 0;
}
