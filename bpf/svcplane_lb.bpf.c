// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplane's eBPF service load balancer:
 *  - cgroup sock_addr programs translate service frontends to backends at
 *    connect()/sendmsg() time for every process of the node (socket LB), and
 *    back at recvmsg()/getpeername(), for IPv4 and IPv6;
 *  - tc programs (IPv4 only) on the external interfaces DNAT NodePort/external-IP/LB
 *    traffic coming from outside and un-NAT its replies.
 * Maps and their layout: include/svcplane_lb.h, include/svcp_maps.h.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "svcplane_lb.h"
#include "svcp_maps.h"
#include "svcp_select.h"
#include "svcp_sock.h"
#include "svcp_nodeport.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup/connect4")
int svcp_connect4(struct bpf_sock_addr *ctx)
{
	return svcp_sock4_xlate_fwd(ctx);
}

/* Unconnected UDP: each datagram picks a backend (DNS-style request/reply). */
SEC("cgroup/sendmsg4")
int svcp_sendmsg4(struct bpf_sock_addr *ctx)
{
	return svcp_sock4_xlate_fwd(ctx);
}

/* Replies to unconnected UDP must appear to come from the frontend. */
SEC("cgroup/recvmsg4")
int svcp_recvmsg4(struct bpf_sock_addr *ctx)
{
	return svcp_sock4_xlate_rev(ctx);
}

SEC("cgroup/getpeername4")
int svcp_getpeername4(struct bpf_sock_addr *ctx)
{
	return svcp_sock4_xlate_rev(ctx);
}

SEC("cgroup/connect6")
int svcp_connect6(struct bpf_sock_addr *ctx)
{
	return svcp_sock6_xlate_fwd(ctx);
}

SEC("cgroup/sendmsg6")
int svcp_sendmsg6(struct bpf_sock_addr *ctx)
{
	return svcp_sock6_xlate_fwd(ctx);
}

SEC("cgroup/recvmsg6")
int svcp_recvmsg6(struct bpf_sock_addr *ctx)
{
	return svcp_sock6_xlate_rev(ctx);
}

SEC("cgroup/getpeername6")
int svcp_getpeername6(struct bpf_sock_addr *ctx)
{
	return svcp_sock6_xlate_rev(ctx);
}

SEC("tc")
int svcp_tc_ingress(struct __sk_buff *skb)
{
	struct lb4_key key = { .scope = LB_LOOKUP_SCOPE_EXT };
	struct lb4_backend *be = NULL;
	struct svcp_client client;
	struct lb4_service *svc;
	struct svcp_pkt4 pkt;
	struct ct4_key ct_key = {};
	struct ct4_val *ct;
	__u32 backend_id = 0;

	if (svcp_parse4(skb, &pkt) < 0)
		return TC_ACT_OK;

	key.address = pkt.daddr;
	key.dport = pkt.dport;
	key.proto = pkt.proto;
	svc = bpf_map_lookup_elem(&svcp_lb4_svc, &key);
	if (!svc || !(svc->flags & SVC_FLAGS_EXTERNAL))
		return TC_ACT_OK;
	if ((svc->flags & SVC_FLAG_SOURCE_RANGES) && !svcp_source_allowed(svc->rev_nat_index, pkt.saddr))
		return TC_ACT_SHOT;
	/* No endpoints (or none local with externalTrafficPolicy Local): drop, as kube-proxy does. */
	if (svc->count == 0)
		return TC_ACT_SHOT;

	ct_key.saddr = pkt.saddr;
	ct_key.daddr = pkt.daddr;
	ct_key.sport = pkt.sport;
	ct_key.dport = pkt.dport;
	ct_key.proto = pkt.proto;
	ct_key.dir = 0;
	ct = bpf_map_lookup_elem(&svcp_ct4, &ct_key);
	if (ct) {
		/* An established connection keeps its backend while that backend exists. */
		backend_id = ct->backend_id;
		be = bpf_map_lookup_elem(&svcp_lb4_be, &backend_id);
	}
	if (!be) {
		if (!svcp_opens_connection(&pkt))
			return TC_ACT_OK;
		client.id = pkt.saddr;
		client.netns_cookie = 0;
		/* Hash what every node sees alike, so Maglev picks the same backend anywhere. */
		be = svcp_select_backend(&svcp_lb4_svc, &svcp_lb4_be, &key, &key.backend_slot, svc, &client,
					 svcp_hash3(pkt.saddr, ((__u32)pkt.sport << 16) | pkt.dport, pkt.proto),
					 &backend_id);
		if (!be)
			return TC_ACT_SHOT;
		svcp_ct4_create(&pkt, be, backend_id, svc->rev_nat_index);
	}

	/* A backend elsewhere answers through this node only if the client is masqueraded. */
	if (!(be->flags & BE_FLAG_LOCAL))
		skb->mark |= SVCP_MARK_MASQ;
	if (svcp_nat4(skb, &pkt, true, be->address, be->port) < 0)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int svcp_tc_egress(struct __sk_buff *skb)
{
	struct ct4_key ct_key = {};
	struct svcp_pkt4 pkt;
	struct ct4_val *ct;

	if (svcp_parse4(skb, &pkt) < 0)
		return TC_ACT_OK;

	ct_key.saddr = pkt.saddr;
	ct_key.daddr = pkt.daddr;
	ct_key.sport = pkt.sport;
	ct_key.dport = pkt.dport;
	ct_key.proto = pkt.proto;
	ct_key.dir = 1;
	ct = bpf_map_lookup_elem(&svcp_ct4, &ct_key);
	if (!ct)
		return TC_ACT_OK;
	/* A reply from a backend: it must come from the frontend the client talked to. */
	if (svcp_nat4(skb, &pkt, false, ct->address, ct->port) < 0)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}
