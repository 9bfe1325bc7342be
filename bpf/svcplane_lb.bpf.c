// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplane's eBPF service load balancer:
 *  - cgroup sock_addr programs translate service frontends to backends at
 *    connect()/sendmsg() time for every process of the node (socket LB), and
 *    back at recvmsg()/getpeername(), for IPv4 and IPv6;
 *  - tc programs on the external interfaces DNAT NodePort/external-IP/LB traffic
 *    coming from outside and un-NAT its replies, for IPv4 and IPv6.
 * Maps and their layout: include/svcplane_lb.h, include/svcp_maps.h.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "svcplane_lb.h"
#include "svcp_maps.h"
#include "svcp_select.h"
#include "svcp_sock.h"
#include "svcp_nodeport4.h"
#include "svcp_nodeport6.h"

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

/* Traffic from outside to NodePorts, external IPs and LB IPs: DNAT to a backend. */
SEC("tc")
int svcp_tc_ingress(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return svcp_tc6_ingress(skb);
	return svcp_tc4_ingress(skb);
}

/* Replies of the connections ingress translated: back to the frontend's address. */
SEC("tc")
int svcp_tc_egress(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return svcp_tc6_egress(skb);
	return svcp_tc4_egress(skb);
}
