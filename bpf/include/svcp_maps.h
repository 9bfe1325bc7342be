/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps of svcplane_lb.bpf.o, laid out by svcplane_lb.h. Every map is pinned
 * by name so that an agent restart (or a second object) finds the same maps
 * and established connections keep their backends.
 */
#ifndef SVCP_MAPS_H
#define SVCP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "svcplane_lb.h"

/* Frontends: slot 0 is the service, slots 1..count its backends. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb4_key);
	__type(value, struct lb4_service);
	__uint(max_entries, SVCP_LB4_SVC_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb4_svc SEC(".maps");

/* Backends by stable id, so a backend in many services is stored once. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb4_backend);
	__uint(max_entries, SVCP_LB4_BE_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb4_be SEC(".maps");

/* rev_nat_index -> frontend: lets the reverse paths check a frontend still exists. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb4_reverse_nat);
	__uint(max_entries, SVCP_LB4_RNAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb4_rnat SEC(".maps");

/* ClientIP session affinity; LRU so that forgotten clients age out by themselves. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb4_affinity_key);
	__type(value, struct lb_affinity_val);
	__uint(max_entries, SVCP_LB4_AFF_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb4_aff SEC(".maps");

/* loadBalancerSourceRanges: (rev_nat_index, client CIDR) -> 1. LPM tries must not preallocate. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lb4_src_range_key);
	__type(value, __u8);
	__uint(max_entries, SVCP_LB4_SRCR_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb4_srcr SEC(".maps");

/* Maglev lookup tables, one per rev_nat_index; not preallocated (64 KiB each). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32[LB_MAGLEV_LUT_SIZE]);
	__uint(max_entries, SVCP_LB4_MGLV_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb4_mglv SEC(".maps");

/* tc's connection table: a forward and a reply entry per NodePort/external connection. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct4_key);
	__type(value, struct ct4_val);
	__uint(max_entries, SVCP_CT4_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_ct4 SEC(".maps");

/* Socket LB reverse translation: (socket, backend) -> the frontend the application used. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sock4_rev_key);
	__type(value, struct sock4_rev_val);
	__uint(max_entries, SVCP_SK4_REV_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_sk4_rev SEC(".maps");

/* IPv6 frontends; the value is lb4_service as for IPv4 (it holds no address). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb6_key);
	__type(value, struct lb4_service);
	__uint(max_entries, SVCP_LB6_SVC_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb6_svc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb6_backend);
	__uint(max_entries, SVCP_LB6_BE_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb6_be SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb6_reverse_nat);
	__uint(max_entries, SVCP_LB6_RNAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb6_rnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sock6_rev_key);
	__type(value, struct sock6_rev_val);
	__uint(max_entries, SVCP_SK6_REV_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_sk6_rev SEC(".maps");

/* IPv6 loadBalancerSourceRanges, as svcp_lb4_srcr. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lb6_src_range_key);
	__type(value, __u8);
	__uint(max_entries, SVCP_LB6_SRCR_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_lb6_srcr SEC(".maps");

/* tc's IPv6 connection table, as svcp_ct4. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct6_key);
	__type(value, struct ct6_val);
	__uint(max_entries, SVCP_CT6_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcp_ct6 SEC(".maps");

#endif /* SVCP_MAPS_H */
