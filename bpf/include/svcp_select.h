/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service lookup and backend selection, shared by the socket programs and tc:
 * session affinity first, then Maglev or a random slot, like Cilium's lb.h.
 */
#ifndef SVCP_SELECT_H
#define SVCP_SELECT_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "svcplane_lb.h"
#include "svcp_maps.h"

#define SVCP_NSEC_PER_SEC 1000000000ULL

/* Who asks, for session affinity: a netns cookie (socket LB) or a client IPv4 (tc). */
struct svcp_client {
	__u64 id;
	__u8 netns_cookie;
};

/* murmur3's finalizer: cheap, no loops, and spreads every input bit. */
static __always_inline __u32 svcp_mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 svcp_hash3(__u32 a, __u32 b, __u32 c)
{
	return svcp_mix32(svcp_mix32(svcp_mix32(a) ^ b) ^ c);
}

/*
 * The selection code serves both families: it takes the family's frontend and
 * backend maps (svcp_lb4_svc/svcp_lb4_be or svcp_lb6_svc/svcp_lb6_be), the
 * frontend's key and a pointer to that key's backend_slot field, and returns
 * the family's backend record as an opaque pointer. Everything inlines, so the
 * map arguments are constants by the time the verifier sees them.
 */

/* The backend in one slot of a frontend; `key` is the frontend (slot 0) and is restored. */
static __always_inline void *
svcp_backend_in_slot(void *svc_map, void *be_map, void *key, __u16 *key_slot, __u16 slot, __u32 *backend_id)
{
	struct lb4_service *entry;

	*key_slot = slot;
	entry = bpf_map_lookup_elem(svc_map, key);
	*key_slot = 0;
	if (!entry || !entry->backend_id)
		return NULL;
	*backend_id = entry->backend_id;
	return bpf_map_lookup_elem(be_map, backend_id);
}

/* The backend this client used last, unless the affinity expired or the backend is gone. */
static __always_inline void *
svcp_backend_from_affinity(void *be_map, const struct lb4_affinity_key *key,
			   const struct lb4_service *svc, __u64 now, __u32 *backend_id)
{
	struct lb_affinity_val *val = bpf_map_lookup_elem(&svcp_lb4_aff, key);

	if (!val)
		return NULL;
	if (now - val->last_used > (__u64)svc->affinity_timeout * SVCP_NSEC_PER_SEC)
		return NULL;
	*backend_id = val->backend_id;
	return bpf_map_lookup_elem(be_map, backend_id);
}

/* Maglev: the agent computed the table; the data path only indexes it. */
static __always_inline void *
svcp_backend_maglev(void *be_map, const struct lb4_service *svc, __u32 hash, __u32 *backend_id)
{
	__u32 rev_nat_index = svc->rev_nat_index;
	__u32 *lut = bpf_map_lookup_elem(&svcp_lb4_mglv, &rev_nat_index);
	__u32 idx;

	if (!lut)
		return NULL;
	idx = hash % LB_MAGLEV_LUT_SIZE;
	/* The verifier does not learn a bound from '%'; keep clang from dropping the check. */
	barrier_var(idx);
	if (idx >= LB_MAGLEV_LUT_SIZE)
		return NULL;
	*backend_id = lut[idx];
	return bpf_map_lookup_elem(be_map, backend_id);
}

/*
 * Picks a backend for a new connection to the frontend `key` (slot 0 entry
 * `svc`, count > 0): a struct lb4_backend or lb6_backend, as be_map holds.
 * NULL only while the agent is between map updates. Affinity and Maglev are
 * keyed by rev_nat_index, one id space for both families, so they share maps.
 */
static __always_inline void *
svcp_select_backend(void *svc_map, void *be_map, void *key, __u16 *key_slot, const struct lb4_service *svc,
		    const struct svcp_client *client, __u32 hash, __u32 *backend_id)
{
	struct lb4_affinity_key aff_key = {};
	void *be = NULL;
	bool affinity = svc->flags & SVC_FLAG_AFFINITY;
	__u64 now = 0;

	if (affinity) {
		aff_key.client_id = client->id;
		aff_key.rev_nat_index = svc->rev_nat_index;
		aff_key.netns_cookie = client->netns_cookie;
		now = bpf_ktime_get_ns();
		be = svcp_backend_from_affinity(be_map, &aff_key, svc, now, backend_id);
	}
	if (!be && (svc->flags & SVC_FLAG_MAGLEV))
		be = svcp_backend_maglev(be_map, svc, hash, backend_id);
	/* Also the fallback when a Maglev table is missing or names a removed backend. */
	if (!be)
		be = svcp_backend_in_slot(svc_map, be_map, key, key_slot, bpf_get_prandom_u32() % svc->count + 1, backend_id);
	if (be && affinity) {
		struct lb_affinity_val val = { .last_used = now, .backend_id = *backend_id };

		bpf_map_update_elem(&svcp_lb4_aff, &aff_key, &val, BPF_ANY);
	}
	return be;
}

#endif /* SVCP_SELECT_H */
