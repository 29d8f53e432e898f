/*
 * kgroup_txn — the group coordinator's transactional offsets (TxnOffsetCommit, KIP-98; part of
 * kgroup, see kgroup.c): offsets committed inside a producer's transaction, stored as that
 * producer's transactional batch and pending per producer and epoch until its marker (live or
 * read back while loading) commits them, as plain offset records too, or drops them; an
 * older epoch's are a fenced zombie's and are dropped. TxnOffsetCommit v3's consumer (KIP-447:
 * generation, member id, instance id) is checked against the group first, so that a zombie
 * consumer's offsets are refused too.
 * Everything runs on the broker's loop thread; time comes from the callers.
 */
#include "kgroup_int.h"

#include "err.h"
#include "kerr.h"
#include "kgplace.h"

#include <stdlib.h>

/* ---- transactional offsets (TxnOffsetCommit, KIP-98) ---- */

/* Producer pid's transactional offset o (its strings moved into the group) is pending in g:
 * it replaces the producer's earlier one of the same partition; what an older epoch of pid
 * left is dropped (that transaction was aborted by the fencing). 0 or ERR_NOMEM (o kept). */
int kg_txoff_put(struct kg_group *g, int64_t pid, int16_t epoch, struct kg_offset *o)
{
	int32_t kept = 0;
	for (int32_t k = 0; k < g->n_txoffs; k++) {
		struct kg_txoff *x = &g->txoffs[k];
		if (x->pid == pid && x->epoch < epoch)
			kg_offset_clear(&x->o);
		else
			g->txoffs[kept++] = *x;
	}
	g->n_txoffs = kept;
	struct kg_txoff *x = NULL;
	for (int32_t k = 0; k < g->n_txoffs && !x; k++)
		if (g->txoffs[k].pid == pid && g->txoffs[k].o.part == o->part && kg_ss_eq(g->txoffs[k].o.topic, o->topic))
			x = &g->txoffs[k];
	if (x) {
		kg_offset_clear(&x->o);
	} else {
		if (kg_grow((void **)&g->txoffs, &g->cap_txoffs, g->n_txoffs + 1, sizeof(*g->txoffs)))
			return ERR_NOMEM;
		x = &g->txoffs[g->n_txoffs++];
	}
	x->pid = pid;
	x->epoch = epoch;
	x->o = *o;
	o->topic.p = o->meta.p = NULL;
	o->topic.len = o->meta.len = -1;
	return 0;
}

/* KIP-447's check of the consumer a transactional commit names against g (NULL: a group not
 * yet known, as the Empty group of generation 0 Kafka would add for it), as Kafka's
 * GroupCoordinator.validateOffsetCommit with isTransactional: KE_NONE or the refusal. */
static int16_t kg_txn_member_check(const struct kg_group *g, const struct kgroup_txn_member *who)
{
	if (!who)
		return KE_NONE;
	bool bound = who->generation >= 0 || who->member_id.len > 0 || who->instance.len >= 0;
	bool empty = !g || g->state == KGSTATE_EMPTY;
	if (!bound || (who->generation < 0 && empty)) /* a producer bound to no generation */
		return KE_NONE;
	/* validateCurrentMember: an instance id the group does not hold is an unknown member (an
	 * instance held by another member id is fenced: kg_member_check) */
	if (g && who->instance.len >= 0 && !kg_static_find(g, who->instance))
		return KE_UNKNOWN_MEMBER_ID;
	struct kg_member *m;
	return kg_member_check(g, who->member_id, who->instance, who->generation, &m);
}

int16_t kgroups_txn_offsets(struct kgroups *gs, const struct kgw_str group, int64_t pid, int16_t epoch,
			    const struct kgroup_txn_member *who, const struct kgroup_txoff *offs, int32_t n, int16_t *errs,
			    kgroup_done_fn done, void *done_arg, bool *waiting, int64_t now)
{
	*waiting = false;
	int16_t err = kg_status(gs, group, true);
	if (err)
		return err;
	struct kg_group *g = kg_find(gs, group);
	/* KIP-447: a zombie consumer's offsets (its generation gone) are refused */
	if ((err = kg_txn_member_check(g, who))) {
		kg_log(gs, "group %.*s: transactional offsets of producer %lld refused (%s): member '%.*s' generation %d, "
			   "group generation %d",
		       (int)group.len, (const char *)group.p, (long long)pid,
		       err == KE_FENCED_INSTANCE_ID  ? "FENCED_INSTANCE_ID"
		       : err == KE_ILLEGAL_GENERATION ? "ILLEGAL_GENERATION"
						       : "UNKNOWN_MEMBER_ID",
		       who->member_id.len > 0 ? (int)who->member_id.len : 0,
		       who->member_id.len > 0 ? (const char *)who->member_id.p : "", who->generation,
		       g ? g->generation : 0);
		return err;
	}
	if (!g && !(g = kg_group_add(gs, group, kg_partition_of(gs, group), now)))
		return KE_COORDINATOR_NOT_AVAILABLE;
	/* the producer's epoch: an older one than held is a zombie's (a newer one drops what an
	 * older epoch left, once its batch is stored: kg_txoff_put) */
	for (int32_t k = 0; k < g->n_txoffs; k++) {
		struct kg_txoff *x = &g->txoffs[k];
		if (x->pid == pid && x->epoch > epoch)
			return KE_INVALID_PRODUCER_EPOCH;
	}
	struct kg_op *op = kg_op_new(KG_OP_TXN, g);
	if (!op || !(op->offs = calloc(n > 0 ? (size_t)n : 1, sizeof(*op->offs)))) {
		kg_op_free(op);
		return KE_COORDINATOR_NOT_AVAILABLE;
	}
	op->pid = pid;
	op->pepoch = epoch;
	op->done = done;
	op->done_arg = done_arg;
	for (int32_t i = 0; i < n; i++) {
		const struct kgroup_txoff *t = &offs[i];
		if (errs[i] != KE_NONE)
			continue;
		if (t->metadata.len > gs->conf.offset_metadata_max_bytes) {
			errs[i] = KE_OFFSET_METADATA_TOO_LARGE;
			continue;
		}
		struct kg_offset *o = &op->offs[op->n_offs++];
		o->topic.len = o->meta.len = -1;
		o->part = t->part;
		o->offset = t->offset;
		o->epoch = t->leader_epoch;
		o->commit_ts = now;
		o->expire_ts = -1;
		if (kg_s_set(&o->topic, t->topic) ||
		    kg_s_set(&o->meta, t->metadata.len >= 0 ? t->metadata : kgw_s(""))) {
			kg_op_free(op);
			return KE_COORDINATOR_NOT_AVAILABLE;
		}
	}
	if (!op->n_offs) {
		kg_op_free(op);
		return KE_NONE;
	}
	/* Kafka's storeOffsets with a producer id: one transactional batch of the producer; the
	 * offsets are pending once it is replicated, until the producer's marker */
	struct kg_recs rs = { 0 };
	for (int32_t i = 0; i < op->n_offs; i++)
		kg_recs_offset(&rs, g, &op->offs[i]);
	*waiting = true;
	kg_append_recs(gs, op, &rs, now);
	return KE_NONE;
}

/* Producer pid's marker (epoch, commit or abort) resolves its pending offsets in g: on commit
 * those of that epoch become committed (added to rs when not NULL); those of older epochs (a
 * zombie's) are dropped either way. Returns how many were committed. */
static int32_t kg_txn_resolve(struct kg_group *g, int64_t pid, int16_t epoch, bool commit, struct kg_recs *rs)
{
	int32_t kept = 0, n = 0;
	for (int32_t i = 0; i < g->n_txoffs; i++) {
		struct kg_txoff *x = &g->txoffs[i];
		if (x->pid != pid || x->epoch > epoch) { /* another producer's, or a later epoch's */
			g->txoffs[kept++] = *x;
			continue;
		}
		if (commit && x->epoch == epoch) {
			if (rs)
				kg_recs_offset(rs, g, &x->o);
			if (kg_offset_put(g, &x->o) == 0)
				n++;
		}
		kg_offset_clear(&x->o);
	}
	g->n_txoffs = kept;
	return n;
}

int kgroups_load_txn_record(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, const uint8_t *key,
			    size_t klen, const uint8_t *value, size_t vlen, char *eb, size_t el)
{
	if (!kg_p_ok(gs, p) || gs->pstate[p] != KG_P_LOADING)
		return err_set(eb, el, ERR_INVAL, "offsets partition %d is not loading", p);
	struct kgw_arena a = { 0 };
	struct kgw_key k;
	struct kgw_offset_value ov;
	int rc = kgw_key_decode(key, klen, 0, &k, &a, eb, el);
	if (!rc && (k.version > 1 || !value)) { /* not an offset commit: as any record */
		kgw_arena_free(&a);
		return kgroups_load_record(gs, p, key, klen, value, vlen, eb, el);
	}
	if (rc || (rc = kgw_offset_value_decode(value, vlen, 0, &ov, &a, eb, el)))
		goto out;
	if (kgplace_partition(k.group.p, (size_t)k.group.len, gs->conf.offsets_partitions) != p) {
		rc = err_set(eb, el, ERR_CORRUPT, "group %.*s does not belong to offsets partition %d", (int)k.group.len,
			     (const char *)k.group.p, p);
		goto out;
	}
	struct kg_group *g = kg_find(gs, k.group);
	if (!g) {
		if (!(g = kg_group_add(gs, k.group, p, 0))) {
			rc = err_set(eb, el, ERR_NOMEM, "no memory for group");
			goto out;
		}
		g->loading = true;
	}
	struct kg_offset o;
	if (kg_offset_from(&o, &k, &ov) || kg_txoff_put(g, pid, epoch, &o)) {
		kg_offset_clear(&o);
		rc = err_set(eb, el, ERR_NOMEM, "no memory for an offset");
	}
out:
	kgw_arena_free(&a);
	return rc;
}

void kgroups_load_marker(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, bool commit)
{
	if (!kg_p_ok(gs, p) || gs->pstate[p] != KG_P_LOADING)
		return;
	for (size_t b = 0; b < gs->nb; b++)
		for (struct kg_group *g = gs->buckets[b]; g; g = g->hnext)
			if (g->partition == p && g->loading && g->n_txoffs)
				kg_txn_resolve(g, pid, epoch, commit, NULL);
}

void kgroups_txn_end(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, bool commit, int64_t now)
{
	if (!kg_p_ok(gs, p))
		return;
	for (size_t b = 0; b < gs->nb; b++)
		for (struct kg_group *g = gs->buckets[b]; g; g = g->hnext) {
			if (g->partition != p || !g->n_txoffs)
				continue;
			struct kg_recs rs = { 0 };
			int32_t n = kg_txn_resolve(g, pid, epoch, commit, &rs);
			if (!n) {
				kg_recs_free(&rs);
				continue;
			}
			/* visible now (the marker is written); stored as plain offset records too, so
			 * that a reload finds them even once the log cleaner has removed the marker */
			kg_log(gs, "group %s: %d offset(s) of producer %lld committed with its transaction", kg_c(g->id), n,
			       (long long)pid);
			struct kg_op *op = kg_op_new(KG_OP_TOMBS, g);
			if (!op) {
				kg_recs_free(&rs);
				continue;
			}
			kg_append_recs(gs, op, &rs, now);
		}
}
