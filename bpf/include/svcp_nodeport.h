/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tc NodePort/external load balancing on the node's external interfaces:
 * packet parsing, the connection table and the NAT rewrites.
 * IPv4 only, TCP and UDP only (SCTP's CRC32c cannot be patched incrementally).
 */
#ifndef SVCP_NODEPORT_H
#define SVCP_NODEPORT_H

#include <stddef.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "svcplane_lb.h"
#include "svcp_maps.h"
#include "svcp_select.h"

/* Not in the UAPI headers (net/ip.h). */
#define SVCP_IP_MF     0x2000
#define SVCP_IP_OFFSET 0x1fff

#define SVCP_TCP_FLAGS_OFF 13
#define SVCP_TCP_FLAG_SYN  0x02
#define SVCP_TCP_FLAG_ACK  0x10

#define SVCP_IP_CSUM_OFF  (ETH_HLEN + offsetof(struct iphdr, check))
#define SVCP_IP_SADDR_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define SVCP_IP_DADDR_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))

/* Frontends reachable from outside; plain cluster IPs are not. */
#define SVC_FLAGS_EXTERNAL (SVC_FLAG_NODEPORT | SVC_FLAG_EXTERNAL_IP | SVC_FLAG_LOADBALANCER)

/* What tc needs of an IPv4 TCP/UDP packet. */
struct svcp_pkt4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u32 l4_off;   /* from the start of the Ethernet header */
	__u32 csum_off; /* the L4 checksum, from the start of the Ethernet header */
};

/*
 * Reads the headers with bpf_skb_load_bytes, which also works on non-linear
 * skbs and keeps the verifier out of packet-pointer arithmetic. 0: a packet
 * tc may translate; < 0: anything else (not IPv4, other protocols, fragments).
 */
static __always_inline int svcp_parse4(struct __sk_buff *skb, struct svcp_pkt4 *pkt)
{
	struct iphdr ip;
	struct {
		__be16 sport;
		__be16 dport;
	} ports;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return -1;
	if (ip.version != 4 || ip.ihl < 5)
		return -1;
	/* Non-first fragments carry no ports; NAT of fragmented datagrams is not supported. */
	if (ip.frag_off & bpf_htons(SVCP_IP_MF | SVCP_IP_OFFSET))
		return -1;

	pkt->l4_off = ETH_HLEN + ip.ihl * 4;
	switch (ip.protocol) {
	case IPPROTO_TCP:
		pkt->csum_off = pkt->l4_off + offsetof(struct tcphdr, check);
		if (bpf_skb_load_bytes(skb, pkt->l4_off + SVCP_TCP_FLAGS_OFF, &pkt->tcp_flags, 1) < 0)
			return -1;
		break;
	case IPPROTO_UDP:
		pkt->csum_off = pkt->l4_off + offsetof(struct udphdr, check);
		pkt->tcp_flags = 0;
		break;
	default:
		return -1;
	}
	if (bpf_skb_load_bytes(skb, pkt->l4_off, &ports, sizeof(ports)) < 0)
		return -1;

	pkt->saddr = ip.saddr;
	pkt->daddr = ip.daddr;
	pkt->sport = ports.sport;
	pkt->dport = ports.dport;
	pkt->proto = ip.protocol;
	return 0;
}

/*
 * Rewrites the destination (DNAT) or the source (reverse SNAT) address and
 * port, patching the IPv4 header checksum and the L4 checksum, which covers
 * the addresses through the pseudo-header. A UDP checksum of 0 means "none"
 * and must stay 0 (BPF_F_MARK_MANGLED_0).
 */
static __always_inline int svcp_nat4(struct __sk_buff *skb, const struct svcp_pkt4 *pkt, bool dst,
				     __be32 new_addr, __be16 new_port)
{
	__be32 old_addr = dst ? pkt->daddr : pkt->saddr;
	__be16 old_port = dst ? pkt->dport : pkt->sport;
	__u32 addr_off = dst ? SVCP_IP_DADDR_OFF : SVCP_IP_SADDR_OFF;
	__u32 port_off = pkt->l4_off + (dst ? offsetof(struct udphdr, dest) : offsetof(struct udphdr, source));
	__u64 l4_flags = pkt->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (old_addr != new_addr) {
		if (bpf_l4_csum_replace(skb, pkt->csum_off, old_addr, new_addr,
					l4_flags | BPF_F_PSEUDO_HDR | sizeof(new_addr)) < 0)
			return -1;
		if (bpf_l3_csum_replace(skb, SVCP_IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr)) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, addr_off, &new_addr, sizeof(new_addr), 0) < 0)
			return -1;
	}
	if (old_port != new_port) {
		if (bpf_l4_csum_replace(skb, pkt->csum_off, old_port, new_port, l4_flags | sizeof(new_port)) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0) < 0)
			return -1;
	}
	return 0;
}

/* loadBalancerSourceRanges: is the client inside one of the frontend's ranges? */
static __always_inline bool svcp_source_allowed(__u32 rev_nat_index, __be32 saddr)
{
	struct lb4_src_range_key key = {
		/* Full length: the index must match exactly, then the longest range wins. */
		.lpm_prefixlen = 32 + 32,
		.rev_nat_index = bpf_htonl(rev_nat_index),
		.address = saddr,
	};

	return bpf_map_lookup_elem(&svcp_lb4_srcr, &key) != NULL;
}

/* Records a new connection both ways: client -> frontend and backend -> client. */
static __always_inline void svcp_ct4_create(const struct svcp_pkt4 *pkt, const struct lb4_backend *be,
					    __u32 backend_id, __u32 rev_nat_index)
{
	struct ct4_key key = {
		.saddr = pkt->saddr,
		.daddr = pkt->daddr,
		.sport = pkt->sport,
		.dport = pkt->dport,
		.proto = pkt->proto,
		.dir = 0,
	};
	struct ct4_val val = {
		.address = be->address,
		.port = be->port,
		.backend_id = backend_id,
		.rev_nat_index = rev_nat_index,
	};

	bpf_map_update_elem(&svcp_ct4, &key, &val, BPF_ANY);

	key.saddr = be->address;
	key.daddr = pkt->saddr;
	key.sport = be->port;
	key.dport = pkt->sport;
	key.dir = 1;
	val.address = pkt->daddr;
	val.port = pkt->dport;
	bpf_map_update_elem(&svcp_ct4, &key, &val, BPF_ANY);
}

/* Only a SYN opens a TCP connection: a stray segment (e.g. a reply to the node's
 * own masqueraded traffic that happens to hit a NodePort number) is left alone. */
static __always_inline bool svcp_opens_connection(const struct svcp_pkt4 *pkt)
{
	if (pkt->proto != IPPROTO_TCP)
		return true;
	return (pkt->tcp_flags & (SVCP_TCP_FLAG_SYN | SVCP_TCP_FLAG_ACK)) == SVCP_TCP_FLAG_SYN;
}

#endif /* SVCP_NODEPORT_H */
