/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tc NodePort/external load balancing, IPv4: parsing, the connection table
 * (svcp_ct4), the address rewrite and the ingress/egress paths.
 */
#ifndef SVCP_NODEPORT4_H
#define SVCP_NODEPORT4_H

#include <linux/ip.h>
#include "svcp_nodeport.h"

/* Not in the UAPI headers (net/ip.h). */
#define SVCP_IP_MF     0x2000
#define SVCP_IP_OFFSET 0x1fff

#define SVCP_IP_CSUM_OFF  (ETH_HLEN + offsetof(struct iphdr, check))
#define SVCP_IP_SADDR_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define SVCP_IP_DADDR_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))

/* What tc needs of an IPv4 TCP/UDP packet. */
struct svcp_pkt4 {
	__be32 saddr;
	__be32 daddr;
	struct svcp_l4 l4;
};

/* 0: a packet tc may translate; < 0: anything else (not IPv4, other protocols, fragments). */
static __always_inline int svcp_parse4(struct __sk_buff *skb, struct svcp_pkt4 *pkt)
{
	struct iphdr ip;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return -1;
	if (ip.version != 4 || ip.ihl < 5)
		return -1;
	/* Non-first fragments carry no ports; NAT of fragmented datagrams is not supported. */
	if (ip.frag_off & bpf_htons(SVCP_IP_MF | SVCP_IP_OFFSET))
		return -1;
	if (svcp_parse_l4(skb, ip.protocol, ETH_HLEN + ip.ihl * 4, &pkt->l4) < 0)
		return -1;
	pkt->saddr = ip.saddr;
	pkt->daddr = ip.daddr;
	return 0;
}

/*
 * Rewrites the destination (DNAT) or the source (reverse SNAT) address and
 * port, patching the IPv4 header checksum and the L4 checksum, which covers
 * the addresses through the pseudo-header.
 */
static __always_inline int svcp_nat4(struct __sk_buff *skb, const struct svcp_pkt4 *pkt, bool dst,
				     __be32 new_addr, __be16 new_port)
{
	__be32 old_addr = dst ? pkt->daddr : pkt->saddr;
	__u32 addr_off = dst ? SVCP_IP_DADDR_OFF : SVCP_IP_SADDR_OFF;

	if (old_addr != new_addr) {
		if (bpf_l4_csum_replace(skb, pkt->l4.csum_off, old_addr, new_addr,
					svcp_l4_csum_flags(&pkt->l4) | BPF_F_PSEUDO_HDR | sizeof(new_addr)) < 0)
			return -1;
		if (bpf_l3_csum_replace(skb, SVCP_IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr)) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, addr_off, &new_addr, sizeof(new_addr), 0) < 0)
			return -1;
	}
	return svcp_nat_port(skb, &pkt->l4, dst, new_port);
}

/* loadBalancerSourceRanges: is the client inside one of the frontend's ranges? */
static __always_inline bool svcp_source4_allowed(__u32 rev_nat_index, __be32 saddr)
{
	struct lb4_src_range_key key = {
		/* Full length: the index must match exactly, then the longest range wins. */
		.lpm_prefixlen = 32 + 32,
		.rev_nat_index = bpf_htonl(rev_nat_index),
		.address = saddr,
	};

	return bpf_map_lookup_elem(&svcp_lb4_srcr, &key) != NULL;
}

static __always_inline void svcp_ct4_key(struct ct4_key *key, const struct svcp_pkt4 *pkt, __u8 dir)
{
	key->saddr = pkt->saddr;
	key->daddr = pkt->daddr;
	key->sport = pkt->l4.sport;
	key->dport = pkt->l4.dport;
	key->proto = pkt->l4.proto;
	key->dir = dir;
}

/* Records a new connection both ways: client -> frontend and backend -> client. */
static __always_inline void svcp_ct4_create(const struct svcp_pkt4 *pkt, const struct lb4_backend *be,
					    __u32 backend_id, __u32 rev_nat_index)
{
	struct ct4_key key = {};
	struct ct4_val val = {
		.address = be->address,
		.port = be->port,
		.backend_id = backend_id,
		.rev_nat_index = rev_nat_index,
	};

	svcp_ct4_key(&key, pkt, 0);
	bpf_map_update_elem(&svcp_ct4, &key, &val, BPF_ANY);

	key.saddr = be->address;
	key.daddr = pkt->saddr;
	key.sport = be->port;
	key.dport = pkt->l4.sport;
	key.dir = 1;
	val.address = pkt->daddr;
	val.port = pkt->l4.dport;
	bpf_map_update_elem(&svcp_ct4, &key, &val, BPF_ANY);
}

static __always_inline int svcp_tc4_ingress(struct __sk_buff *skb)
{
	struct lb4_key key = { .scope = LB_LOOKUP_SCOPE_EXT };
	struct ct4_key ct_key = {};
	struct svcp_client client;
	struct lb4_service *svc;
	struct lb4_backend *be;
	enum svcp_pick pick;
	void *picked = NULL;
	struct svcp_pkt4 pkt;
	struct ct4_val *ct;
	__u32 backend_id = 0;

	if (svcp_parse4(skb, &pkt) < 0)
		return TC_ACT_OK;
	key.address = pkt.daddr;
	key.dport = pkt.l4.dport;
	key.proto = pkt.l4.proto;
	svc = bpf_map_lookup_elem(&svcp_lb4_svc, &key);
	if (!svcp_tc_serves(svc))
		return TC_ACT_OK;
	if ((svc->flags & SVC_FLAG_SOURCE_RANGES) && !svcp_source4_allowed(svc->rev_nat_index, pkt.saddr))
		return TC_ACT_SHOT;
	/* No endpoints (or none local with externalTrafficPolicy Local): drop, as kube-proxy does. */
	if (svc->count == 0)
		return TC_ACT_SHOT;

	svcp_ct4_key(&ct_key, &pkt, 0);
	ct = bpf_map_lookup_elem(&svcp_ct4, &ct_key);
	client.id = pkt.saddr;
	client.netns_cookie = 0;
	/* Hash what every node sees alike, so Maglev picks the same backend anywhere. */
	pick = svcp_tc_pick(&svcp_lb4_svc, &svcp_lb4_be, &key, &key.backend_slot, svc, &pkt.l4, &client,
			     svcp_hash3(pkt.saddr, ((__u32)pkt.l4.sport << 16) | pkt.l4.dport, pkt.l4.proto),
			     ct ? ct->backend_id : 0, &picked, &backend_id);
	if (pick == SVCP_PICK_PASS)
		return TC_ACT_OK;
	be = picked;
	if (pick == SVCP_PICK_DROP || !be)
		return TC_ACT_SHOT;
	if (pick == SVCP_PICK_NEW)
		svcp_ct4_create(&pkt, be, backend_id, svc->rev_nat_index);
	svcp_tc_mark(skb, be->flags);
	return svcp_nat4(skb, &pkt, true, be->address, be->port) < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

/* A reply from a backend: it must come from the frontend the client talked to. */
static __always_inline int svcp_tc4_egress(struct __sk_buff *skb)
{
	struct ct4_key ct_key = {};
	struct svcp_pkt4 pkt;
	struct ct4_val *ct;

	if (svcp_parse4(skb, &pkt) < 0)
		return TC_ACT_OK;
	svcp_ct4_key(&ct_key, &pkt, 1);
	ct = bpf_map_lookup_elem(&svcp_ct4, &ct_key);
	if (!ct)
		return TC_ACT_OK;
	return svcp_nat4(skb, &pkt, false, ct->address, ct->port) < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

#endif /* SVCP_NODEPORT4_H */
