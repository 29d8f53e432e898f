/*
 * kepoch — the leader-epoch cache (see kepoch.h). A sorted array; every change keeps the
 * invariants of the header, which kepoch_load checks on entries coming from a file.
 */
#include "kepoch.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

struct kepoch {
	struct kepoch_entry *e;
	size_t n, cap;
};

struct kepoch *kepoch_new(void)
{
	return calloc(1, sizeof(struct kepoch));
}

void kepoch_free(struct kepoch *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

static int kepoch_reserve(struct kepoch *c, size_t n)
{
	if (n > KEPOCH_MAX_ENTRIES)
		return ERR_TOOBIG;
	if (n <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap * 2 : 8;
	while (cap < n)
		cap *= 2;
	struct kepoch_entry *e = realloc(c->e, cap * sizeof(*e));
	if (!e)
		return ERR_NOMEM;
	c->e = e;
	c->cap = cap;
	return 0;
}

int kepoch_load(struct kepoch *c, const struct kepoch_entry *e, size_t n)
{
	c->n = 0;
	int rc = kepoch_reserve(c, n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (e[i].epoch < 0 || e[i].start_offset < 0)
			return ERR_CORRUPT;
		if (i && (e[i].epoch <= e[i - 1].epoch || e[i].start_offset < e[i - 1].start_offset))
			return ERR_CORRUPT;
	}
	if (n)
		memcpy(c->e, e, n * sizeof(*e));
	c->n = n;
	return 0;
}

int kepoch_assign(struct kepoch *c, int32_t epoch, int64_t start_offset)
{
	if (epoch < 0 || start_offset < 0)
		return ERR_RANGE;
	if (c->n) {
		const struct kepoch_entry *last = &c->e[c->n - 1];
		if (epoch == last->epoch)
			return 0;
		if (epoch < last->epoch || start_offset < last->start_offset)
			return ERR_RANGE;
	}
	int rc = kepoch_reserve(c, c->n + 1);
	if (rc)
		return rc;
	c->e[c->n].epoch = epoch;
	c->e[c->n].start_offset = start_offset;
	c->n++;
	return 0;
}

int kepoch_truncate_end(struct kepoch *c, int64_t end_offset)
{
	size_t n = c->n;
	while (c->n && c->e[c->n - 1].start_offset >= end_offset)
		c->n--;
	return c->n != n;
}

int kepoch_truncate_start(struct kepoch *c, int64_t start_offset)
{
	/* keep the last entry starting at or below start_offset (it covers it) and all after */
	size_t keep = 0;
	while (keep + 1 < c->n && c->e[keep + 1].start_offset <= start_offset)
		keep++;
	int changed = keep > 0;
	if (keep) {
		memmove(c->e, c->e + keep, (c->n - keep) * sizeof(*c->e));
		c->n -= keep;
	}
	if (c->n && c->e[0].start_offset < start_offset) {
		c->e[0].start_offset = start_offset;
		changed = 1;
	}
	return changed;
}

int32_t kepoch_latest(const struct kepoch *c)
{
	return c->n ? c->e[c->n - 1].epoch : KEPOCH_UNDEFINED;
}

int64_t kepoch_start_of(const struct kepoch *c, int32_t epoch)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].epoch == epoch)
			return c->e[i].start_offset;
	return KEPOCH_UNDEFINED;
}

void kepoch_end_offset_for(const struct kepoch *c, int32_t requested, int64_t log_end, int32_t *epoch,
			   int64_t *end_offset)
{
	*epoch = KEPOCH_UNDEFINED;
	*end_offset = KEPOCH_UNDEFINED;
	if (requested == KEPOCH_UNDEFINED || !c->n || requested > c->e[c->n - 1].epoch)
		return;
	if (requested == c->e[c->n - 1].epoch) {
		*epoch = requested;
		*end_offset = log_end;
		return;
	}
	/* the first entry with an epoch above requested exists (requested < the latest) */
	size_t i = 0;
	while (c->e[i].epoch <= requested)
		i++;
	*epoch = i ? c->e[i - 1].epoch : requested;
	*end_offset = c->e[i].start_offset;
}

const struct kepoch_entry *kepoch_entries(const struct kepoch *c, size_t *n)
{
	*n = c->n;
	return c->e;
}
