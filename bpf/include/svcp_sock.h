/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket load balancing (cgroup sock_addr hooks): translate the frontend to a
 * backend once, at connect()/sendmsg(), instead of NATing every packet, and
 * translate back where the application reads the peer (recvmsg, getpeername).
 * IPv4 and IPv6 share the lookup and selection; each family has its own keys
 * and reverse map. An IPv6 socket talking to an IPv4-mapped address
 * (::ffff:a.b.c.d, dual-stack) goes through the IPv4 maps, as in Cilium.
 */
#ifndef SVCP_SOCK_H
#define SVCP_SOCK_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/errno.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
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
static __always_inline struct lb4_service *svcp_sock_lookup_service(void *svc_map, void *key, __u8 *key_scope)
{
	struct lb4_service *svc = bpf_map_lookup_elem(svc_map, key);

	if (svc && (svc->flags & SVC_FLAG_TWO_SCOPES)) {
		*key_scope = LB_LOOKUP_SCOPE_INT;
		svc = bpf_map_lookup_elem(svc_map, key);
	}
	return svc;
}

/* Selection as a socket sees it: the client is its network namespace (a pod), the hash its socket. */
static __always_inline void *svcp_sock_select(struct bpf_sock_addr *ctx, void *svc_map, void *be_map, void *key,
					      __u16 *key_slot, const struct lb4_service *svc, __be16 dport,
					      __u64 cookie, __u32 *backend_id)
{
	struct svcp_client client = { .id = bpf_get_netns_cookie(ctx), .netns_cookie = 1 };

	return svcp_select_backend(svc_map, be_map, key, key_slot, svc, &client,
				   svcp_hash3((__u32)cookie, (__u32)(cookie >> 32), dport), backend_id);
}

/* No endpoints: refuse now, as kube-proxy's REJECT rules do, instead of timing out. */
static __always_inline int svcp_sock_refuse(void)
{
	bpf_set_retval(-ECONNREFUSED);
	return SVCP_SYS_REJECT;
}

/* IPv4 frontend -> backend, on the address and port given (from user_ip4 or a mapped user_ip6). */
static __always_inline int svcp_sock4_fwd(struct bpf_sock_addr *ctx, __be32 *address, __be16 *port)
{
	struct lb4_key key = { .address = *address, .dport = *port, .proto = (__u8)ctx->protocol, .scope = LB_LOOKUP_SCOPE_EXT };
	struct sock4_rev_key rev_key = {};
	struct sock4_rev_val rev_val = {};
	struct lb4_service *svc;
	struct lb4_backend *be;
	__u32 backend_id = 0;
	__u64 cookie;

	svc = svcp_sock_lookup_service(&svcp_lb4_svc, &key, &key.scope);
	if (!svc)
		return SVCP_SYS_PROCEED;
	if (svc->count == 0)
		return svcp_sock_refuse();
	cookie = bpf_get_socket_cookie(ctx);
	be = svcp_sock_select(ctx, &svcp_lb4_svc, &svcp_lb4_be, &key, &key.backend_slot, svc, key.dport, cookie, &backend_id);
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
	*address = be->address;
	*port = be->port;
	return SVCP_SYS_PROCEED;
}

/* IPv4 backend -> the frontend the application asked for; false: not ours (or stale). */
static __always_inline bool svcp_sock4_rev(struct bpf_sock_addr *ctx, __be32 *address, __be16 *port)
{
	struct sock4_rev_key key = { .cookie = bpf_get_socket_cookie(ctx), .address = *address, .port = *port };
	struct lb4_reverse_nat *rnat;
	struct sock4_rev_val *val;
	__u32 rev_nat_index;

	val = bpf_map_lookup_elem(&svcp_sk4_rev, &key);
	if (!val)
		return false;
	/* A frontend deleted (or its index reused) since connect: show the real peer. */
	rev_nat_index = val->rev_nat_index;
	rnat = bpf_map_lookup_elem(&svcp_lb4_rnat, &rev_nat_index);
	if (!rnat || rnat->address != val->address || rnat->port != val->port) {
		bpf_map_delete_elem(&svcp_sk4_rev, &key);
		return false;
	}
	*address = val->address;
	*port = val->port;
	return true;
}

/* connect4 and sendmsg4. */
static __always_inline int svcp_sock4_xlate_fwd(struct bpf_sock_addr *ctx)
{
	__be32 address = ctx->user_ip4;
	__be16 port = svcp_ctx_port(ctx);
	int ret = svcp_sock4_fwd(ctx, &address, &port);

	if (address != ctx->user_ip4 || port != svcp_ctx_port(ctx)) {
		ctx->user_ip4 = address;
		ctx->user_port = (__u32)port;
	}
	return ret;
}

/* recvmsg4 and getpeername4. */
static __always_inline int svcp_sock4_xlate_rev(struct bpf_sock_addr *ctx)
{
	__be32 address = ctx->user_ip4;
	__be16 port = svcp_ctx_port(ctx);

	if (svcp_sock4_rev(ctx, &address, &port)) {
		ctx->user_ip4 = address;
		ctx->user_port = (__u32)port;
	}
	return SVCP_SYS_PROCEED;
}

static __always_inline void svcp_ip6_copy(__be32 *dst, const __be32 *src)
{
	dst[0] = src[0];
	dst[1] = src[1];
	dst[2] = src[2];
	dst[3] = src[3];
}

static __always_inline bool svcp_ip6_equal(const __be32 *a, const __be32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* ctx->user_ip6 word by word: the verifier allows 4-byte accesses of it. */
static __always_inline void svcp_ctx_ip6(const struct bpf_sock_addr *ctx, __be32 *address)
{
	address[0] = ctx->user_ip6[0];
	address[1] = ctx->user_ip6[1];
	address[2] = ctx->user_ip6[2];
	address[3] = ctx->user_ip6[3];
}

static __always_inline void svcp_ctx_set_ip6(struct bpf_sock_addr *ctx, const __be32 *address, __be16 port)
{
	ctx->user_ip6[0] = address[0];
	ctx->user_ip6[1] = address[1];
	ctx->user_ip6[2] = address[2];
	ctx->user_ip6[3] = address[3];
	ctx->user_port = (__u32)port;
}

/* ::ffff:a.b.c.d, what a dual-stack socket uses for an IPv4 peer. */
static __always_inline bool svcp_ip6_v4mapped(const __be32 *address)
{
	return address[0] == 0 && address[1] == 0 && address[2] == bpf_htonl(0x0000ffff);
}

/* connect6 and sendmsg6: frontend -> backend, remembering the way back. */
static __always_inline int svcp_sock6_xlate_fwd(struct bpf_sock_addr *ctx)
{
	struct lb6_key key = { .dport = svcp_ctx_port(ctx), .proto = (__u8)ctx->protocol, .scope = LB_LOOKUP_SCOPE_EXT };
	struct sock6_rev_key rev_key = {};
	struct sock6_rev_val rev_val = {};
	struct lb4_service *svc;
	struct lb6_backend *be;
	__u32 backend_id = 0;
	__u64 cookie;

	svcp_ctx_ip6(ctx, key.address);
	if (svcp_ip6_v4mapped(key.address)) {
		__be32 address = key.address[3];
		__be16 port = key.dport;
		int ret = svcp_sock4_fwd(ctx, &address, &port);

		if (address != key.address[3] || port != key.dport) {
			key.address[3] = address;
			svcp_ctx_set_ip6(ctx, key.address, port);
		}
		return ret;
	}

	svc = svcp_sock_lookup_service(&svcp_lb6_svc, &key, &key.scope);
	if (!svc)
		return SVCP_SYS_PROCEED;
	if (svc->count == 0)
		return svcp_sock_refuse();
	cookie = bpf_get_socket_cookie(ctx);
	be = svcp_sock_select(ctx, &svcp_lb6_svc, &svcp_lb6_be, &key, &key.backend_slot, svc, key.dport, cookie, &backend_id);
	if (!be)
		return SVCP_SYS_PROCEED;

	rev_key.cookie = cookie;
	svcp_ip6_copy(rev_key.address, be->address);
	rev_key.port = be->port;
	svcp_ip6_copy(rev_val.address, key.address);
	rev_val.port = key.dport;
	rev_val.rev_nat_index = svc->rev_nat_index;
	bpf_map_update_elem(&svcp_sk6_rev, &rev_key, &rev_val, BPF_ANY);
	svcp_ctx_set_ip6(ctx, be->address, be->port);
	return SVCP_SYS_PROCEED;
}

/* recvmsg6 and getpeername6: backend -> the frontend the application asked for. */
static __always_inline int svcp_sock6_xlate_rev(struct bpf_sock_addr *ctx)
{
	struct sock6_rev_key key = { .cookie = bpf_get_socket_cookie(ctx), .port = svcp_ctx_port(ctx) };
	struct lb6_reverse_nat *rnat;
	struct sock6_rev_val *val;
	__u32 rev_nat_index;

	svcp_ctx_ip6(ctx, key.address);
	if (svcp_ip6_v4mapped(key.address)) {
		__be32 address = key.address[3];
		__be16 port = key.port;

		if (svcp_sock4_rev(ctx, &address, &port)) {
			key.address[3] = address;
			svcp_ctx_set_ip6(ctx, key.address, port);
		}
		return SVCP_SYS_PROCEED;
	}

	val = bpf_map_lookup_elem(&svcp_sk6_rev, &key);
	if (!val)
		return SVCP_SYS_PROCEED;
	rev_nat_index = val->rev_nat_index;
	rnat = bpf_map_lookup_elem(&svcp_lb6_rnat, &rev_nat_index);
	if (!rnat || !svcp_ip6_equal(rnat->address, val->address) || rnat->port != val->port) {
		bpf_map_delete_elem(&svcp_sk6_rev, &key);
		return SVCP_SYS_PROCEED;
	}
	svcp_ctx_set_ip6(ctx, val->address, val->port);
	return SVCP_SYS_PROCEED;
}

#endif /* SVCP_SOCK_H */
