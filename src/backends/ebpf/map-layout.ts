// Every struct of bpf/include/svcplane_lb.h, declared once: each field's C type, offset and
// the record property that holds it. map-struct-codec.ts encodes and decodes from these
// declarations alone, and map-layout.test.ts checks sizes, offsets and types against the
// compiled object's BTF, so a field moved or retyped in C fails a test instead of corrupting maps.
import { AS_BOOLEAN, AS_DIRECTION, AS_PROTOCOL, AS_SCOPE, field, pad, struct, type StructLayout } from './map-fields.js';

export type { StructLayout } from './map-fields.js';

export const LB4_KEY = struct('lb4_key', 12, {
  address: field('ipv4', 0, 'address'),
  dport: field('be16', 4, 'port'),
  backend_slot: field('u16', 6, 'slot'),
  proto: field('u8', 8, 'proto', AS_PROTOCOL),
  scope: field('u8', 9, 'scope', AS_SCOPE),
  pad: pad('u8', 10, 2),
});

export const LB4_SERVICE = struct('lb4_service', 16, {
  backend_id: field('u32', 0, 'backendId'),
  count: field('u16', 4, 'count'),
  flags: field('u16', 6, 'flags'),
  rev_nat_index: field('u32', 8, 'revNatIndex'),
  affinity_timeout: field('u32', 12, 'affinityTimeout'),
});

export const LB4_BACKEND = struct('lb4_backend', 8, {
  address: field('ipv4', 0, 'address'),
  port: field('be16', 4, 'port'),
  proto: field('u8', 6, 'proto', AS_PROTOCOL),
  flags: field('u8', 7, 'flags'),
});

export const LB4_REVERSE_NAT = struct('lb4_reverse_nat', 8, {
  address: field('ipv4', 0, 'address'),
  port: field('be16', 4, 'port'),
  pad: pad('u16', 6),
});

export const LB4_AFFINITY_KEY = struct('lb4_affinity_key', 16, {
  client_id: field('u64', 0, 'clientId'),
  rev_nat_index: field('u32', 8, 'revNatIndex'),
  netns_cookie: field('u8', 12, 'netnsCookie', AS_BOOLEAN),
  pad: pad('u8', 13, 3),
});

export const LB_AFFINITY_VAL = struct('lb_affinity_val', 16, {
  last_used: field('u64', 0, 'lastUsed'),
  backend_id: field('u32', 8, 'backendId'),
  pad: pad('u32', 12),
});

// LPM trie keys: encoded by hand (map-special-codecs.ts); rev_nat_index is a __u32 the
// agent stores big-endian so that the trie matches it first, bit for bit.
export const LB4_SRC_RANGE_KEY = struct('lb4_src_range_key', 12, {
  lpm_prefixlen: field('u32', 0, 'prefixLength'),
  rev_nat_index: field('u32', 4, 'revNatIndex'),
  address: field('ipv4', 8, 'address'),
});

export const LB6_SRC_RANGE_KEY = struct('lb6_src_range_key', 24, {
  lpm_prefixlen: field('u32', 0, 'prefixLength'),
  rev_nat_index: field('u32', 4, 'revNatIndex'),
  address: field('ipv6', 8, 'address'),
});

export const CT4_KEY = struct('ct4_key', 16, {
  saddr: field('ipv4', 0, 'saddr'),
  daddr: field('ipv4', 4, 'daddr'),
  sport: field('be16', 8, 'sport'),
  dport: field('be16', 10, 'dport'),
  proto: field('u8', 12, 'proto', AS_PROTOCOL),
  dir: field('u8', 13, 'dir', AS_DIRECTION),
  pad: pad('u8', 14, 2),
});

export const CT4_VAL = struct('ct4_val', 16, {
  address: field('ipv4', 0, 'address'),
  port: field('be16', 4, 'port'),
  pad: pad('u16', 6),
  backend_id: field('u32', 8, 'backendId'),
  rev_nat_index: field('u32', 12, 'revNatIndex'),
});

export const SOCK4_REV_KEY = struct('sock4_rev_key', 16, {
  cookie: field('u64', 0, 'cookie'),
  address: field('ipv4', 8, 'address'),
  port: field('be16', 12, 'port'),
  pad: pad('u16', 14),
});

export const SOCK4_REV_VAL = struct('sock4_rev_val', 12, {
  address: field('ipv4', 0, 'address'),
  port: field('be16', 4, 'port'),
  pad: pad('u16', 6),
  rev_nat_index: field('u32', 8, 'revNatIndex'),
});

export const LB6_KEY = struct('lb6_key', 24, {
  address: field('ipv6', 0, 'address'),
  dport: field('be16', 16, 'port'),
  backend_slot: field('u16', 18, 'slot'),
  proto: field('u8', 20, 'proto', AS_PROTOCOL),
  scope: field('u8', 21, 'scope', AS_SCOPE),
  pad: pad('u8', 22, 2),
});

export const LB6_BACKEND = struct('lb6_backend', 20, {
  address: field('ipv6', 0, 'address'),
  port: field('be16', 16, 'port'),
  proto: field('u8', 18, 'proto', AS_PROTOCOL),
  flags: field('u8', 19, 'flags'),
});

export const LB6_REVERSE_NAT = struct('lb6_reverse_nat', 20, {
  address: field('ipv6', 0, 'address'),
  port: field('be16', 16, 'port'),
  pad: pad('u16', 18),
});

export const SOCK6_REV_KEY = struct('sock6_rev_key', 32, {
  cookie: field('u64', 0, 'cookie'),
  address: field('ipv6', 8, 'address'),
  port: field('be16', 24, 'port'),
  pad: pad('u16', 26, 3),
});

export const SOCK6_REV_VAL = struct('sock6_rev_val', 24, {
  address: field('ipv6', 0, 'address'),
  port: field('be16', 16, 'port'),
  pad: pad('u16', 18),
  rev_nat_index: field('u32', 20, 'revNatIndex'),
});

export const CT6_KEY = struct('ct6_key', 40, {
  saddr: field('ipv6', 0, 'saddr'),
  daddr: field('ipv6', 16, 'daddr'),
  sport: field('be16', 32, 'sport'),
  dport: field('be16', 34, 'dport'),
  proto: field('u8', 36, 'proto', AS_PROTOCOL),
  dir: field('u8', 37, 'dir', AS_DIRECTION),
  pad: pad('u8', 38, 2),
});

export const CT6_VAL = struct('ct6_val', 28, {
  address: field('ipv6', 0, 'address'),
  port: field('be16', 16, 'port'),
  pad: pad('u16', 18),
  backend_id: field('u32', 20, 'backendId'),
  rev_nat_index: field('u32', 24, 'revNatIndex'),
});

export const STRUCT_LAYOUTS: readonly StructLayout[] = [
  LB4_KEY, LB4_SERVICE, LB4_BACKEND, LB4_REVERSE_NAT, LB4_AFFINITY_KEY, LB_AFFINITY_VAL, LB4_SRC_RANGE_KEY, CT4_KEY, CT4_VAL,
  SOCK4_REV_KEY, SOCK4_REV_VAL, LB6_KEY, LB6_BACKEND, LB6_REVERSE_NAT, SOCK6_REV_KEY, SOCK6_REV_VAL, LB6_SRC_RANGE_KEY, CT6_KEY, CT6_VAL,
];
