/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tc NodePort/external load balancing, IPv6: parsing, the connection table
 * (svcp_ct6), the address rewrite and the ingress/egress paths. Only packets
 * whose fixed header is followed directly by TCP or UDP are translated; any
 * extension header (fragments included) passes through untouched, as does
 * everything else tc does not serve. IPv6 has no header checksum: only the
 * L4 checksum covers the addresses, through the pseudo-header.
 */
#ifndef SVCP_NODEPORT6_H
#define SVCP_NODEPORT6_H

#include <linux/ipv6.h>
#include "svcp_nodeport.h"

#define SVCP_IP6_SADDR_OFF (ETH_HLEN + offsetof(struct ipv6hdr, saddr))
#define SVCP_IP6_DADDR_OFF (ETH_HLEN + offsetof(struct ipv6hdr, daddr))

/* What tc needs of an IPv6 TCP/UDP packet; addresses as four __be32 words, as the maps hold them. */
struct svcp_pkt6 {
	__be32 saddr[4];
	__be32 daddr[4];
	struct svcp_l4 l4;
};

/* 0: a packet tc may translate; < 0: anything else (not IPv6, extension headers, other protocols). */
static __always_inline int svcp_parse6(struct __sk_buff *skb, struct svcp_pkt6 *pkt)
{
	struct ipv6hdr ip6;

	if (skb->protocol != bpf_htons(ETH_P_IPV6))
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
		return -1;
	if (ip6.version != 6)
		return -1;
	if (svcp_parse_l4(skb, ip6.nexthdr, ETH_HLEN + sizeof(ip6), &pkt->l4) < 0)
		return -1;
	__builtin_memcpy(pkt->saddr, &ip6.saddr, sizeof(pkt->saddr));
	__builtin_memcpy(pkt->daddr, &ip6.daddr, sizeof(pkt->daddr));
	return 0;
}

static __always_inline bool svcp_addr6_equal(const __be32 *a, const __be32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/*
 * Rewrites the destination (DNAT) or the source (reverse SNAT) address and
 * port. The L4 checksum is patched one 32-bit word of the address at a time
 * (bpf_l4_csum_replace takes at most 4 bytes), each through the pseudo-header.
 */
static __always_inline int svcp_nat6(struct __sk_buff *skb, const struct svcp_pkt6 *pkt, bool dst,
				     const __be32 *new_addr, __be16 new_port)
{
	const __be32 *old_addr = dst ? pkt->daddr : pkt->saddr;
	__u32 addr_off = dst ? SVCP_IP6_DADDR_OFF : SVCP_IP6_SADDR_OFF;
	__u64 flags = svcp_l4_csum_flags(&pkt->l4) | BPF_F_PSEUDO_HDR | sizeof(__be32);
	__be32 addr[4] = { new_addr[0], new_addr[1], new_addr[2], new_addr[3] };

	if (!svcp_addr6_equal(old_addr, addr)) {
#pragma unroll
		for (int i = 0; i < 4; i++) {
			if (old_addr[i] != addr[i] &&
			    bpf_l4_csum_replace(skb, pkt->l4.csum_off, old_addr[i], addr[i], flags) < 0)
				return -1;
		}
		if (bpf_skb_store_bytes(skb, addr_off, addr, sizeof(addr), 0) < 0)
			return -1;
	}
	return svcp_nat_port(skb, &pkt->l4, dst, new_port);
}

/* loadBalancerSourceRanges: is the client inside one of the frontend's ranges? */
static __always_inline bool svcp_source6_allowed(__u32 rev_nat_index, const __be32 *saddr)
{
	struct lb6_src_range_key key = {
		/* Full length: the index must match exactly, then the longest range wins. */
		.lpm_prefixlen = 32 + 128,
		.rev_nat_index = bpf_htonl(rev_nat_index),
	};

	__builtin_memcpy(key.address, saddr, sizeof(key.address));
	return bpf_map_lookup_elem(&svcp_lb6_srcr, &key) != NULL;
}

/* The affinity client id of an IPv6 client: its address folded to 64 bits (see svcplane_lb.h). */
static __always_inline __u64 svcp_client6_id(const __be32 *a)
{
	return (((__u64)a[1] << 32) | a[0]) ^ (((__u64)a[3] << 32) | a[2]);
}

static __always_inline void svcp_ct6_key(struct ct6_key *key, const struct svcp_pkt6 *pkt, __u8 dir)
{
	__builtin_memcpy(key->saddr, pkt->saddr, sizeof(key->saddr));
	__builtin_memcpy(key->daddr, pkt->daddr, sizeof(key->daddr));
	key->sport = pkt->l4.sport;
	key->dport = pkt->l4.dport;
	key->proto = pkt->l4.proto;
	key->dir = dir;
}

/* Records a new connection both ways: client -> frontend and backend -> client. */
static __always_inline void svcp_ct6_create(const struct svcp_pkt6 *pkt, const struct lb6_backend *be,
					    __u32 backend_id, __u32 rev_nat_index)
{
	struct ct6_key key = {};
	struct ct6_val val = {
		.port = be->port,
		.backend_id = backend_id,
		.rev_nat_index = rev_nat_index,
	};

	__builtin_memcpy(val.address, be->address, sizeof(val.address));
	svcp_ct6_key(&key, pkt, 0);
	bpf_map_update_elem(&svcp_ct6, &key, &val, BPF_ANY);

	__builtin_memcpy(key.saddr, be->address, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, pkt->saddr, sizeof(key.daddr));
	key.sport = be->port;
	key.dport = pkt->l4.sport;
	key.dir = 1;
	__builtin_memcpy(val.address, pkt->daddr, sizeof(val.address));
	val.port = pkt->l4.dport;
	bpf_map_update_elem(&svcp_ct6, &key, &val, BPF_ANY);
}

static __always_inline int svcp_tc6_ingress(struct __sk_buff *skb)
{
	struct lb6_key key = { .scope = LB_LOOKUP_SCOPE_EXT };
	struct ct6_key ct_key = {};
	struct svcp_client client;
	struct lb4_service *svc;
	struct lb6_backend *be;
	enum svcp_pick pick;
	void *picked = NULL;
	struct svcp_pkt6 pkt;
	struct ct6_val *ct;
	__u32 backend_id = 0;
	__u32 hash;

	if (svcp_parse6(skb, &pkt) < 0)
		return TC_ACT_OK;
	__builtin_memcpy(key.address, pkt.daddr, sizeof(key.address));
	key.dport = pkt.l4.dport;
	key.proto = pkt.l4.proto;
	svc = bpf_map_lookup_elem(&svcp_lb6_svc, &key);
	if (!svcp_tc_serves(svc))
		return TC_ACT_OK;
	if ((svc->flags & SVC_FLAG_SOURCE_RANGES) && !svcp_source6_allowed(svc->rev_nat_index, pkt.saddr))
		return TC_ACT_SHOT;
	/* No endpoints (or none local with externalTrafficPolicy Local): drop, as kube-proxy does. */
	if (svc->count == 0)
		return TC_ACT_SHOT;

	svcp_ct6_key(&ct_key, &pkt, 0);
	ct = bpf_map_lookup_elem(&svcp_ct6, &ct_key);
	client.id = svcp_client6_id(pkt.saddr);
	client.netns_cookie = 0;
	/* As IPv4: only what every node sees alike goes into Maglev's hash. */
	hash = svcp_hash3(svcp_hash3(pkt.saddr[0], pkt.saddr[1], pkt.saddr[2]) ^ pkt.saddr[3],
			  ((__u32)pkt.l4.sport << 16) | pkt.l4.dport, pkt.l4.proto);
	pick = svcp_tc_pick(&svcp_lb6_svc, &svcp_lb6_be, &key, &key.backend_slot, svc, &pkt.l4, &client, hash,
			     ct ? ct->backend_id : 0, &picked, &backend_id);
	if (pick == SVCP_PICK_PASS)
		return TC_ACT_OK;
	be = picked;
	if (pick == SVCP_PICK_DROP || !be)
		return TC_ACT_SHOT;
	if (pick == SVCP_PICK_NEW)
		svcp_ct6_create(&pkt, be, backend_id, svc->rev_nat_index);
	svcp_tc_mark(skb, be->flags);
	return svcp_nat6(skb, &pkt, true, be->address, be->port) < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

/* A reply from a backend: it must come from the frontend the client talked to. */
static __always_inline int svcp_tc6_egress(struct __sk_buff *skb)
{
	struct ct6_key ct_key = {};
	struct svcp_pkt6 pkt;
	struct ct6_val *ct;

	if (svcp_parse6(skb, &pkt) < 0)
		return TC_ACT_OK;
	svcp_ct6_key(&ct_key, &pkt, 1);
	ct = bpf_map_lookup_elem(&svcp_ct6, &ct_key);
	if (!ct)
		return TC_ACT_OK;
	return svcp_nat6(skb, &pkt, false, ct->address, ct->port) < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

#endif /* SVCP_NODEPORT6_H */
