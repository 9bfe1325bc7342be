/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svcplane's eBPF load-balancer maps: the one definition of every struct the
 * programs and the agent share. src/backends/ebpf/map-types.ts mirrors it and
 * a test checks both against the compiled object's BTF, so they cannot drift.
 *
 * Layout after Cilium's lb4_services/lb4_backends/lb4_reverse_nat: a frontend
 * (address, port, protocol, scope) has a service entry at slot 0 holding the
 * backend count, and one entry per backend slot 1..count holding a backend id.
 *
 * IPv6 (lb6_*, after Cilium's lb6_*): its own frontend, backend, reverse-NAT
 * and socket reverse maps, the same lb4_service as the frontend value, and
 * ONE id space per kind across both families: a backend id names a backend
 * in svcp_lb4_be or svcp_lb6_be, never both, and a rev_nat_index names a
 * frontend in svcp_lb4_rnat or svcp_lb6_rnat, never both. So the maps keyed
 * by rev_nat_index alone (affinity, Maglev) are shared by both families.
 */
#ifndef SVCPLANE_LB_H
#define SVCPLANE_LB_H

#include <linux/types.h>

/* Frontend lookup scopes. EXT: what traffic from outside (tc) uses; INT: what
 * traffic from inside the node uses when it differs (externalTrafficPolicy Local). */
#define LB_LOOKUP_SCOPE_EXT 0
#define LB_LOOKUP_SCOPE_INT 1

/* lb4_service.flags (slot 0 only). */
#define SVC_FLAG_CLUSTER_IP   (1 << 0)
#define SVC_FLAG_NODEPORT     (1 << 1)
#define SVC_FLAG_EXTERNAL_IP  (1 << 2)
#define SVC_FLAG_LOADBALANCER (1 << 3)
#define SVC_FLAG_TWO_SCOPES   (1 << 4) /* EXT holds local backends only; inside traffic looks up INT */
#define SVC_FLAG_SOURCE_RANGES (1 << 5) /* check svcp_lb4_srcr or svcp_lb6_srcr (loadBalancerSourceRanges) */
#define SVC_FLAG_AFFINITY     (1 << 6) /* ClientIP affinity, timeout in affinity_timeout */
#define SVC_FLAG_MAGLEV       (1 << 7) /* pick through svcp_lb4_mglv instead of at random */

/* lb4_backend.flags */
#define BE_FLAG_LOCAL       (1 << 0) /* runs on this node: no masquerade needed from tc */
#define BE_FLAG_TERMINATING (1 << 1) /* not written (a per-service condition on a shared record); older maps may hold it */

/* Maglev lookup table size: a prime well above 100 x the backends of a service. */
#define LB_MAGLEV_LUT_SIZE 16381

/* tc marks packets it DNATed to a backend on another node; svcplane's nftables table masquerades them. */
#define SVCP_MARK_MASQ 0x4000

/* 30,000 services x 10 endpoints: 330,000 frontend slots and 300,000 backends (preallocated: ~40 MB each). */
#define SVCP_LB4_SVC_MAX   524288
#define SVCP_LB4_BE_MAX    524288
#define SVCP_LB4_RNAT_MAX  65536
#define SVCP_LB4_AFF_MAX   65536
#define SVCP_LB4_SRCR_MAX  16384
#define SVCP_LB4_MGLV_MAX  16384
#define SVCP_CT4_MAX       262144
#define SVCP_SK4_REV_MAX   262144
#define SVCP_LB6_SVC_MAX   262144
#define SVCP_LB6_BE_MAX    262144
#define SVCP_LB6_RNAT_MAX  65536
#define SVCP_SK6_REV_MAX   262144
#define SVCP_LB6_SRCR_MAX  16384
#define SVCP_CT6_MAX       262144

struct lb4_key {               /* map svcp_lb4_svc (HASH) */
	__be32 address;            /* VIP, external or LB IP, or a node IP for NodePorts */
	__be16 dport;              /* network order */
	__u16 backend_slot;        /* 0: the service entry; 1..count: backend slots */
	__u8 proto;                /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	__u8 scope;                /* LB_LOOKUP_SCOPE_* */
	__u8 pad[2];
};                             /* 12 bytes */

struct lb4_service {
	__u32 backend_id;          /* slot > 0: the backend in this slot */
	__u16 count;               /* slot 0: number of backend slots (0: no endpoints, reject) */
	__u16 flags;               /* slot 0: SVC_FLAG_* */
	__u32 rev_nat_index;       /* slot 0: this frontend's id in svcp_lb4_rnat */
	__u32 affinity_timeout;    /* slot 0: seconds of ClientIP affinity */
};                             /* 16 bytes */

struct lb4_backend {           /* map svcp_lb4_be (HASH), key: __u32 backend id (stable, never 0) */
	__be32 address;
	__be16 port;               /* network order */
	__u8 proto;
	__u8 flags;                /* BE_FLAG_* */
};                             /* 8 bytes */

struct lb4_reverse_nat {       /* map svcp_lb4_rnat (HASH), key: __u32 rev_nat_index (never 0) */
	__be32 address;            /* the frontend replies must appear to come from */
	__be16 port;
	__u16 pad;
};                             /* 8 bytes */

/*
 * Affinity is shared by both families. tc's client_id for an IPv4 client is
 * its address; for an IPv6 client the address folded to 64 bits: the two
 * halves, each read as a host __u64, XORed. The fold is one-to-one within a
 * /64 (same upper half), so clients of one prefix never share an entry; two
 * clients of different prefixes may, which only makes them share a backend.
 * rev_nat_index names a frontend of one family, so the families never meet.
 */
struct lb4_affinity_key {      /* map svcp_lb4_aff (LRU_HASH) */
	__u64 client_id;           /* netns cookie (socket programs) or client address (tc, see above) */
	__u32 rev_nat_index;
	__u8 netns_cookie;         /* 1: client_id is a netns cookie */
	__u8 pad[3];
};                             /* 16 bytes */

struct lb_affinity_val {
	__u64 last_used;           /* bpf_ktime_get_ns() */
	__u32 backend_id;
	__u32 pad;
};                             /* 16 bytes */

struct lb4_src_range_key {     /* map svcp_lb4_srcr (LPM_TRIE, BPF_F_NO_PREALLOC), value __u8 */
	__u32 lpm_prefixlen;       /* 32 + the range's prefix length */
	__u32 rev_nat_index;       /* stored big-endian so the LPM match covers it first */
	__be32 address;
};                             /* 12 bytes */

/* map svcp_lb4_mglv (HASH, BPF_F_NO_PREALLOC): key __u32 rev_nat_index,
 * value: __u32 backend_ids[LB_MAGLEV_LUT_SIZE]. */

struct ct4_key {               /* map svcp_ct4 (LRU_HASH): tc NodePort/external connections */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir;                  /* 0: client -> frontend (forward); 1: backend -> client (reply) */
	__u8 pad[2];
};                             /* 16 bytes */

struct ct4_val {
	__be32 address;            /* forward: the backend; reply: the frontend */
	__be16 port;
	__u16 pad;
	__u32 backend_id;
	__u32 rev_nat_index;
};                             /* 16 bytes */

struct sock4_rev_key {         /* map svcp_sk4_rev (LRU_HASH): socket LB reverse translation */
	__u64 cookie;              /* bpf_get_socket_cookie() */
	__be32 address;            /* the backend connected to */
	__be16 port;
	__u16 pad;
};                             /* 16 bytes */

struct sock4_rev_val {
	__be32 address;            /* the frontend the application asked for */
	__be16 port;
	__u16 pad;
	__u32 rev_nat_index;
};                             /* 12 bytes */

/* IPv6: addresses are 16 bytes in network order, kept as four __be32 words
 * so that they copy word for word from and to bpf_sock_addr.user_ip6[]. */

struct lb6_key {               /* map svcp_lb6_svc (HASH), value: struct lb4_service */
	__be32 address[4];
	__be16 dport;
	__u16 backend_slot;
	__u8 proto;
	__u8 scope;
	__u8 pad[2];
};                             /* 24 bytes */

struct lb6_backend {           /* map svcp_lb6_be (HASH), key: __u32 backend id (one id space with lb4) */
	__be32 address[4];
	__be16 port;
	__u8 proto;
	__u8 flags;
};                             /* 20 bytes */

struct lb6_reverse_nat {       /* map svcp_lb6_rnat (HASH), key: __u32 rev_nat_index (one id space with lb4) */
	__be32 address[4];
	__be16 port;
	__u16 pad;
};                             /* 20 bytes */

struct sock6_rev_key {         /* map svcp_sk6_rev (LRU_HASH) */
	__u64 cookie;
	__be32 address[4];         /* the backend connected to */
	__be16 port;
	__u16 pad[3];              /* explicit: no implicit tail padding in a hash key */
};                             /* 32 bytes */

struct sock6_rev_val {
	__be32 address[4];         /* the frontend the application asked for */
	__be16 port;
	__u16 pad;
	__u32 rev_nat_index;
};                             /* 24 bytes */

struct lb6_src_range_key {     /* map svcp_lb6_srcr (LPM_TRIE, BPF_F_NO_PREALLOC), value __u8 */
	__u32 lpm_prefixlen;       /* 32 + the range's prefix length */
	__u32 rev_nat_index;       /* stored big-endian so the LPM match covers it first */
	__be32 address[4];
};                             /* 24 bytes */

struct ct6_key {               /* map svcp_ct6 (LRU_HASH): as ct4_key */
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir;                  /* 0: forward; 1: reply */
	__u8 pad[2];
};                             /* 40 bytes */

struct ct6_val {
	__be32 address[4];         /* forward: the backend; reply: the frontend */
	__be16 port;
	__u16 pad;
	__u32 backend_id;
	__u32 rev_nat_index;
};                             /* 28 bytes */

#endif /* SVCPLANE_LB_H */
