/*
 * kgroup_load — loading and unloading a __consumer_offsets partition (part of kgroup, see
 * kgroup.c): its groups dropped when the partition is loaded anew or unloaded (their parked
 * requests answered NOT_COORDINATOR), the records read back in log order (offset commits and
 * their tombstones, each group's last metadata record), and the groups rebuilt from them at
 * the load's end (Kafka's GroupMetadataManager.loadGroupsAndOffsets).
 * Everything runs on the broker's loop thread; time comes from the callers.
 */
#include "kgroup_int.h"

#include "err.h"
#include "kerr.h"
#include "kgplace.h"
#include "kgstate.h"

#include <stdlib.h>
#include <string.h>

/* ---- loading and unloading ---- */

/* Drops every group of partition p (answering their parked requests NOT_COORDINATOR) and marks
 * the appends under way for p as answered NOT_COORDINATOR when they complete. */
static void kg_drop_partition(struct kgroups *gs, int32_t p, int64_t now)
{
	for (struct kg_op *op = gs->op_head; op; op = op->next)
		if (op->partition == p)
			op->gone = true;
	for (size_t b = 0; b < gs->nb; b++) {
		struct kg_group **pp = &gs->buckets[b];
		while (*pp) {
			struct kg_group *g = *pp;
			if (g->partition != p) {
				pp = &g->hnext;
				continue;
			}
			*pp = g->hnext;
			gs->ng--;
			if (!g->loading)
				kg_set_state(gs, g, KGSTATE_DEAD, "its offsets partition was unloaded", now);
			kg_group_free(gs, g, KE_NOT_COORDINATOR, true);
		}
	}
}

void kgroups_load_begin(struct kgroups *gs, int32_t p)
{
	if (!kg_p_ok(gs, p))
		return;
	kg_drop_partition(gs, p, 0);
	gs->pstate[p] = KG_P_LOADING;
	kg_log(gs, "offsets partition %d: loading", p);
}

int kgroups_load_record(struct kgroups *gs, int32_t p, const uint8_t *key, size_t klen, const uint8_t *value,
			size_t vlen, char *eb, size_t el)
{
	if (!kg_p_ok(gs, p) || gs->pstate[p] != KG_P_LOADING)
		return err_set(eb, el, ERR_INVAL, "offsets partition %d is not loading", p);
	struct kgw_arena a = { 0 };
	struct kgw_key k;
	int rc = kgw_key_decode(key, klen, 0, &k, &a, eb, el);
	if (rc)
		goto out;
	if (kgplace_partition(k.group.p, (size_t)k.group.len, gs->conf.offsets_partitions) != p) {
		rc = err_set(eb, el, ERR_CORRUPT, "group %.*s does not belong to offsets partition %d", (int)k.group.len,
			     (const char *)k.group.p, p);
		goto out;
	}
	struct kgw_offset_value ov;
	struct kgw_group_value gv;
	if (value) {
		if (k.version <= 1)
			rc = kgw_offset_value_decode(value, vlen, 0, &ov, &a, eb, el);
		else
			rc = kgw_group_value_decode(value, vlen, 0, &gv, &a, eb, el);
		if (rc)
			goto out;
	}
	struct kg_group *g = kg_find(gs, k.group);
	if (!g) {
		if (!value) /* a tombstone of what is not there */
			goto out;
		g = kg_group_add(gs, k.group, p, 0);
		if (!g) {
			rc = err_set(eb, el, ERR_NOMEM, "no memory for group");
			goto out;
		}
		g->loading = true;
	}
	if (!g->loading) { /* cannot happen: the partition's groups were dropped at load_begin */
		rc = err_set(eb, el, ERR_EXISTS, "group already loaded");
		goto out;
	}
	if (k.version <= 1) {
		int32_t i = kg_offset_idx(g, k.topic, k.partition);
		if (!value) {
			if (i >= 0)
				kg_offset_del(g, i);
			goto out;
		}
		struct kg_offset o;
		if (kg_offset_from(&o, &k, &ov) || kg_offset_put(g, &o)) {
			kg_offset_clear(&o);
			rc = err_set(eb, el, ERR_NOMEM, "no memory for an offset");
		}
		goto out;
	}
	free(g->meta_raw);
	g->meta_raw = NULL;
	g->meta_len = 0;
	if (value) {
		g->meta_raw = malloc(vlen ? vlen : 1);
		if (!g->meta_raw) {
			rc = err_set(eb, el, ERR_NOMEM, "no memory for group metadata");
			goto out;
		}
		memcpy(g->meta_raw, value, vlen);
		g->meta_len = vlen;
	}
out:
	kgw_arena_free(&a);
	return rc;
}

/* Builds a loaded group from its last metadata record (Kafka's GroupMetadata.loadGroup and
 * onGroupLoaded: members get new session deadlines). */
static int kg_group_restore(struct kgroups *gs, struct kg_group *g, int64_t now)
{
	struct kgw_arena a = { 0 };
	struct kgw_group_value v;
	char eb[256];
	int rc = kgw_group_value_decode(g->meta_raw, g->meta_len, 0, &v, &a, eb, sizeof(eb));
	if (rc)
		goto out;
	rc = ERR_NOMEM;
	g->generation = v.generation;
	if (v.protocol_type.len > 0 && kg_s_set(&g->protocol_type, v.protocol_type))
		goto out;
	g->state_ts = v.current_state_timestamp;
	bool members = v.n_members > 0 && v.protocol.len > 0;
	if (v.n_members > 0 && !members)
		kg_log(gs, "group %s: metadata with members but no protocol; loaded Empty", kg_c(g->id));
	for (int32_t i = 0; members && i < v.n_members; i++) {
		const struct kgw_group_member *gm = &v.members[i];
		if (kg_member_find(g, gm->member_id) || (gm->group_instance_id.len >= 0 && kg_static_find(g, gm->group_instance_id)))
			continue; /* a duplicate: the first wins */
		if (kg_grow((void **)&g->members, &g->cap_members, g->n_members + 1, sizeof(*g->members)))
			goto out;
		struct kg_member *m = calloc(1, sizeof(*m));
		if (!m)
			goto out;
		m->id.len = m->instance.len = m->client_id.len = m->client_host.len = m->assign.len = -1;
		g->members[g->n_members++] = m;
		m->protos = calloc(1, sizeof(*m->protos));
		if (!m->protos)
			goto out;
		m->protos[0].name.len = m->protos[0].meta.len = -1;
		m->n_protos = 1;
		if (kg_s_set(&m->id, gm->member_id) || kg_s_set(&m->instance, gm->group_instance_id) ||
		    kg_s_set(&m->client_id, gm->client_id) || kg_s_set(&m->client_host, gm->client_host) ||
		    kg_s_set(&m->assign, gm->assignment) || kg_s_set(&m->protos[0].name, v.protocol) ||
		    kg_s_set(&m->protos[0].meta, gm->subscription))
			goto out;
		m->session_ms = gm->session_timeout_ms;
		m->rebalance_ms = gm->rebalance_timeout_ms;
		m->last_hb = now;
	}
	if (g->n_members) {
		if (kg_s_set(&g->protocol, v.protocol))
			goto out;
		if (v.leader.len >= 0 && kg_member_find(g, v.leader))
			rc = kg_s_set(&g->leader, v.leader);
		else
			rc = kg_s_cstr(&g->leader, g->members[0]->id.p);
		if (rc)
			goto out;
		g->state = KGSTATE_STABLE; /* loaded as Kafka loads it, not a transition */
	}
	rc = 0;
out:
	kgw_arena_free(&a);
	return rc;
}

void kgroups_load_end(struct kgroups *gs, int32_t p, int64_t now)
{
	if (!kg_p_ok(gs, p) || gs->pstate[p] != KG_P_LOADING)
		return;
	int32_t n = 0;
	for (size_t b = 0; b < gs->nb; b++) {
		struct kg_group **pp = &gs->buckets[b];
		while (*pp) {
			struct kg_group *g = *pp;
			if (g->partition != p || !g->loading) {
				pp = &g->hnext;
				continue;
			}
			g->loading = false;
			g->state_ts = now;
			int rc = 0;
			if (g->meta_raw) {
				rc = kg_group_restore(gs, g, now);
				free(g->meta_raw);
				g->meta_raw = NULL;
			}
			if (rc || (!g->meta_len && !g->n_offs && !g->n_txoffs)) {
				if (rc)
					kg_log(gs, "group %s: cannot restore its metadata: %s", kg_c(g->id), err_str(rc));
				*pp = g->hnext;
				gs->ng--;
				kg_group_free(gs, g, KE_NOT_COORDINATOR, true);
				continue;
			}
			kg_log(gs, "group %s: loaded (%s, generation %d, %d members, %d offsets)", kg_c(g->id),
			       kgstate_name(g->state), g->generation, g->n_members, g->n_offs);
			n++;
			pp = &g->hnext;
		}
	}
	gs->pstate[p] = KG_P_OWNED;
	kg_log(gs, "offsets partition %d: loaded %d groups", p, n);
}

void kgroups_unload(struct kgroups *gs, int32_t p)
{
	if (!kg_p_ok(gs, p))
		return;
	kg_drop_partition(gs, p, 0);
	gs->pstate[p] = KG_P_NONE;
	kg_log(gs, "offsets partition %d: unloaded", p);
}
