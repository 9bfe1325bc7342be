/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket load balancing (cgroup sock_addr hooks): translate the frontend to a
 * backend once, at connect()/sendmsg(), instead of NATing every packet, and
 * translate back where the application reads the peer (recvmsg, getpeername).
 */
#ifndef SVCP_SOCK_H
#define SVCP_SOCK_H

#include <linux/bpf.h>
#include <linux/errno.h>
#include <bpf/bpf_helpers.h>
#include "svcplane_lb.h"
#include "svcp_maps.h"
#include "svcp_select.h"

/* sock_addr programs return 1 to let the syscall go on and 0 to fail it. */
#define SVCP_SYS_REJECT  0
#define SVCP_SYS_PROCEED 1

/* user_port is a __u32 holding the port, network order, in its low 16 bits. */
static __always_inline __be16 svcp_ctx_port(const struct bpf_sock_addr *ctx)
{
	return (__be16)ctx->user_port;
}

/* The slot 0 entry inside traffic uses: the INT scope when a service has two. */
static __always_inline struct lb4_service *svcp_sock_lookup_service(struct lb4_key *key)
{
	struct lb4_service *svc = bpf_map_lookup_elem(&svcp_lb4_svc, key);

	if (svc && (svc->flags & SVC_FLAG_TWO_SCOPES)) {
		key->scope = LB_LOOKUP_SCOPE_INT;
		svc = bpf_map_lookup_elem(&svcp_lb4_svc, key);
	}
	return svc;
}

/* connect4 and sendmsg4: frontend -> backend, remembering the way back. */
static __always_inline int svcp_sock4_xlate_fwd(struct bpf_sock_addr *ctx)
{
	struct lb4_key key = {
		.address = ctx->user_ip4,
		.dport = svcp_ctx_port(ctx),
		.proto = (__u8)ctx->protocol,
		.scope = LB_LOOKUP_SCOPE_EXT,
	};
	struct sock4_rev_key rev_key = {};
	struct sock4_rev_val rev_val = {};
	struct svcp_client client;
	struct lb4_service *svc;
	struct lb4_backend *be;
	__u32 backend_id = 0;
	__u64 cookie;

	svc = svcp_sock_lookup_service(&key);
	if (!svc)
		return SVCP_SYS_PROCEED;
	if (svc->count == 0) {
		/* No endpoints: refuse now, as kube-proxy's REJECT rules do, instead of timing out. */
		bpf_set_retval(-ECONNREFUSED);
		return SVCP_SYS_REJECT;
	}

	cookie = bpf_get_socket_cookie(ctx);
	/* All sockets of a network namespace (a pod) are one client for ClientIP affinity. */
	client.id = bpf_get_netns_cookie(ctx);
	client.netns_cookie = 1;
	be = svcp_select_backend(&key, svc, &client,
				 svcp_hash3((__u32)cookie, (__u32)(cookie >> 32), key.dport), &backend_id);
	if (!be)
		return SVCP_SYS_PROCEED;

	rev_key.cookie = cookie;
	rev_key.address = be->address;
	rev_key.port = be->port;
	rev_val.address = key.address;
	rev_val.port = key.dport;
	rev_val.rev_nat_index = svc->rev_nat_index;
	/* Failing to record only costs the reverse view (getpeername shows the backend). */
	bpf_map_update_elem(&svcp_sk4_rev, &rev_key, &rev_val, BPF_ANY);

	ctx->user_ip4 = be->address;
	ctx->user_port = (__u32)be->port;
	return SVCP_SYS_PROCEED;
}

/* recvmsg4 and getpeername4: backend -> the frontend the application asked for. */
static __always_inline int svcp_sock4_xlate_rev(struct bpf_sock_addr *ctx)
{
	struct sock4_rev_key key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.address = ctx->user_ip4,
		.port = svcp_ctx_port(ctx),
	};
	struct lb4_reverse_nat *rnat;
	struct sock4_rev_val *val;
	__u32 rev_nat_index;

	val = bpf_map_lookup_elem(&svcp_sk4_rev, &key);
	if (!val)
		return SVCP_SYS_PROCEED;
	/* A frontend deleted (or its index reused) since connect: show the real peer. */
	rev_nat_index = val->rev_nat_index;
	rnat = bpf_map_lookup_elem(&svcp_lb4_rnat, &rev_nat_index);
	if (!rnat || rnat->address != val->address || rnat->port != val->port) {
		bpf_map_delete_elem(&svcp_sk4_rev, &key);
		return SVCP_SYS_PROCEED;
	}
	ctx->user_ip4 = val->address;
	ctx->user_port = (__u32)val->port;
	return SVCP_SYS_PROCEED;
}

#endif /* SVCP_SOCK_H */
