/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tc NodePort/external load balancing on the node's external interfaces, the
 * part both families share: the L4 header (ports, TCP flags, checksum), the
 * port rewrite, and picking a packet's backend. svcp_nodeport4.h and
 * svcp_nodeport6.h add each family's parsing, connection table and address
 * rewrite. TCP and UDP only (SCTP's CRC32c cannot be patched incrementally).
 */
#ifndef SVCP_NODEPORT_H
#define SVCP_NODEPORT_H

#include <stddef.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "svcplane_lb.h"
#include "svcp_maps.h"
#include "svcp_select.h"

#define SVCP_TCP_FLAGS_OFF 13
#define SVCP_TCP_FLAG_SYN  0x02
#define SVCP_TCP_FLAG_ACK  0x10

/* Frontends reachable from outside; plain cluster IPs are not. */
#define SVC_FLAGS_EXTERNAL (SVC_FLAG_NODEPORT | SVC_FLAG_EXTERNAL_IP | SVC_FLAG_LOADBALANCER)

/* What tc needs of a TCP/UDP header, whatever the family. */
struct svcp_l4 {
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u32 l4_off;   /* from the start of the Ethernet header */
	__u32 csum_off; /* the L4 checksum, from the start of the Ethernet header */
};

/*
 * Reads the L4 header at l4_off with bpf_skb_load_bytes, which also works on
 * non-linear skbs and keeps the verifier out of packet-pointer arithmetic.
 * 0: TCP or UDP; < 0: anything else.
 */
static __always_inline int svcp_parse_l4(struct __sk_buff *skb, __u8 proto, __u32 l4_off, struct svcp_l4 *l4)
{
	struct {
		__be16 sport;
		__be16 dport;
	} ports;

	l4->l4_off = l4_off;
	switch (proto) {
	case IPPROTO_TCP:
		l4->csum_off = l4_off + offsetof(struct tcphdr, check);
		if (bpf_skb_load_bytes(skb, l4_off + SVCP_TCP_FLAGS_OFF, &l4->tcp_flags, 1) < 0)
			return -1;
		break;
	case IPPROTO_UDP:
		l4->csum_off = l4_off + offsetof(struct udphdr, check);
		l4->tcp_flags = 0;
		break;
	default:
		return -1;
	}
	if (bpf_skb_load_bytes(skb, l4_off, &ports, sizeof(ports)) < 0)
		return -1;
	l4->sport = ports.sport;
	l4->dport = ports.dport;
	l4->proto = proto;
	return 0;
}

/* Checksum flags for the L4 header: a UDP checksum of 0 means "none" and must stay 0. */
static __always_inline __u64 svcp_l4_csum_flags(const struct svcp_l4 *l4)
{
	return l4->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

/* Rewrites the destination (DNAT) or source (reverse) port and patches the L4 checksum. */
static __always_inline int svcp_nat_port(struct __sk_buff *skb, const struct svcp_l4 *l4, bool dst, __be16 new_port)
{
	__be16 old_port = dst ? l4->dport : l4->sport;
	__u32 port_off = l4->l4_off + (dst ? offsetof(struct udphdr, dest) : offsetof(struct udphdr, source));

	if (old_port == new_port)
		return 0;
	if (bpf_l4_csum_replace(skb, l4->csum_off, old_port, new_port, svcp_l4_csum_flags(l4) | sizeof(new_port)) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0) < 0 ? -1 : 0;
}

/* Only a SYN opens a TCP connection: a stray segment (e.g. a reply to the node's
 * own masqueraded traffic that happens to hit a NodePort number) is left alone. */
static __always_inline bool svcp_opens_connection(const struct svcp_l4 *l4)
{
	if (l4->proto != IPPROTO_TCP)
		return true;
	return (l4->tcp_flags & (SVCP_TCP_FLAG_SYN | SVCP_TCP_FLAG_ACK)) == SVCP_TCP_FLAG_SYN;
}

/* Whether the frontend's slot 0 is one tc serves at all (otherwise the packet is not ours). */
static __always_inline bool svcp_tc_serves(const struct lb4_service *svc)
{
	return svc && (svc->flags & SVC_FLAGS_EXTERNAL);
}

/* What svcp_tc_pick found. */
enum svcp_pick {
	SVCP_PICK_CONNECTION, /* the connection's backend */
	SVCP_PICK_NEW,        /* a new connection: record it */
	SVCP_PICK_PASS,       /* not a connection of ours: leave the packet alone */
	SVCP_PICK_DROP,       /* no backend to be had */
};

/*
 * The backend of a packet to the frontend `key` (slot 0 `svc`, admitted): the
 * backend of its connection (ct_backend_id; 0 when there is none, as no backend
 * has id 0) while that backend exists, else a new pick if the packet opens a
 * connection. *be is the family's backend record, as be_map holds.
 */
static __always_inline enum svcp_pick
svcp_tc_pick(void *svc_map, void *be_map, void *key, __u16 *key_slot, const struct lb4_service *svc,
	     const struct svcp_l4 *l4, const struct svcp_client *client, __u32 hash, __u32 ct_backend_id,
	     void **be, __u32 *backend_id)
{
	if (ct_backend_id) {
		*backend_id = ct_backend_id;
		*be = bpf_map_lookup_elem(be_map, backend_id);
		if (*be)
			return SVCP_PICK_CONNECTION;
	}
	if (!svcp_opens_connection(l4))
		return SVCP_PICK_PASS;
	*be = svcp_select_backend(svc_map, be_map, key, key_slot, svc, client, hash, backend_id);
	return *be ? SVCP_PICK_NEW : SVCP_PICK_DROP;
}

/* A backend elsewhere answers through this node only if the client is masqueraded. */
static __always_inline void svcp_tc_mark(struct __sk_buff *skb, __u8 backend_flags)
{
	if (!(backend_flags & BE_FLAG_LOCAL))
		skb->mark |= SVCP_MARK_MASQ;
}

#endif /* SVCP_NODEPORT_H */
