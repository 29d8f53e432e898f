/*
 * kckpt — Kafka's checkpoint text files, the only code that reads or writes them:
 *   leader-epoch-checkpoint (one per partition directory):      0 \n N \n (epoch startOffset \n)*N
 *   replication-offset-checkpoint, recovery-point-offset-checkpoint, log-start-offset-checkpoint
 *   (one per log directory):                                     0 \n N \n (topic partition offset \n)*N
 * The first line is the format version (only 0 exists), the second the number of entries.
 *
 * Writing is crash-safe: the whole file goes to <path>.tmp, is fsynced, renamed over <path>, and
 * the directory is fsynced, so a crash leaves either the old or the new file. Reading is strict,
 * since the files come from a disk: a bad version, a count that disagrees with the lines, a field
 * that is not a plain decimal in range, a stray space, CR or NUL, a topic name Kafka would refuse,
 * a duplicate partition, or epochs out of order is ERR_CORRUPT with "<name>:<line>: <reason>" in
 * the error buffer. A missing file is ERR_NOTFOUND (the caller starts empty, as Kafka does); an
 * empty file reads as no entries (Kafka's reader does the same). The last line may lack its
 * newline. Blocking file I/O: call it where the loop may block (start-up, or the flush paths that
 * already fsync) or from a worker thread; it keeps no state.
 */
#ifndef SAMSA_KCKPT_H
#define SAMSA_KCKPT_H

#include "kepoch.h"

#include <stddef.h>
#include <stdint.h>

#define KCKPT_MAX_BYTES (64u << 20) /* a larger file is refused before it is read */
#define KCKPT_MAX_ENTRIES 1000000   /* the count line's cap */
#define KCKPT_TOPIC_MAX 249	    /* Kafka's topic name limit */

struct kckpt_offset {
	char topic[KCKPT_TOPIC_MAX + 1];
	int32_t partition;
	int64_t offset;
};

/* Parses a leader-epoch-checkpoint held in text[0..len); name is used in messages only. On 0,
 * *out (malloc'd, the caller frees; NULL when *n is 0) gets the entries in file order, which
 * satisfy kepoch_load's rules. On failure *out is NULL, *n 0, and err says where. */
int kckpt_epochs_parse(const char *name, const char *text, size_t len, struct kepoch_entry **out, size_t *n,
		       char *err, size_t errlen);
/* Same for replication-offset-checkpoint and friends. */
int kckpt_offsets_parse(const char *name, const char *text, size_t len, struct kckpt_offset **out, size_t *n,
			char *err, size_t errlen);

/* Read and parse path: the parse results, or ERR_NOTFOUND, ERR_IO, ERR_TOOBIG (over
 * KCKPT_MAX_BYTES). Outputs as for the parsers. */
int kckpt_epochs_read(const char *path, struct kepoch_entry **out, size_t *n, char *err, size_t errlen);
int kckpt_offsets_read(const char *path, struct kckpt_offset **out, size_t *n, char *err, size_t errlen);

/* Writes the entries (the caller's, unchanged) to path crash-safely (see the top comment). 0, or
 * ERR_INVAL (an entry the reader would refuse: nothing is written), ERR_IO (the old file is
 * untouched; the temporary file is removed). */
int kckpt_epochs_write(const char *path, const struct kepoch_entry *e, size_t n, char *err, size_t errlen);
int kckpt_offsets_write(const char *path, const struct kckpt_offset *o, size_t n, char *err, size_t errlen);

#endif
