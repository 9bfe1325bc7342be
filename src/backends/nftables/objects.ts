// The typed nftables objects svcplane writes: a table's chains (with typed
// rules, so the packet tracer reads exactly what the renderer writes), its sets
// and verdict maps, and their elements. Deliberately only what svcplane uses.
import type { IPFamily } from '../../model/types.js';

export type NftFamily = 'ip' | 'ip6';
export const TABLE_NAME = 'svcplane';

export function nftFamily(family: IPFamily): NftFamily {
  return family === 'IPv6' ? 'ip6' : 'ip';
}

export type L4Protocol = 'tcp' | 'udp' | 'sctp';

/** One condition of a rule; all of a rule's matches must hold. */
export type Match =
  /** `ip saddr 10.0.0.1`, `ip daddr != 10.244.0.0/16` (an address or a CIDR). */
  | { readonly kind: 'addr'; readonly dir: 'saddr' | 'daddr'; readonly negated: boolean; readonly value: string }
  /** `ip saddr @affinity-...`, `ip daddr @nodeport-addresses`. */
  | { readonly kind: 'addr-set'; readonly dir: 'saddr' | 'daddr'; readonly set: string }
  /** `tcp dport 80`. */
  | { readonly kind: 'dport'; readonly protocol: L4Protocol; readonly port: number }
  /** `fib saddr type local` / `fib daddr type local`. */
  | { readonly kind: 'fib-local'; readonly dir: 'saddr' | 'daddr' }
  /** `ct state new`. */
  | { readonly kind: 'ct-state'; readonly state: 'new' | 'invalid' }
  /** `meta mark & M == 0`. */
  | { readonly kind: 'mark-clear'; readonly mask: number }
  /**
   * `numgen random mod N == 0`: true with probability 1/N (a fresh number per rule). Endpoint
   * choice is a cascade of these, as iptables mode's `statistic` rules: a numgen vmap would be
   * an anonymous map per service port, and the kernel binds each with a walk of the whole
   * transaction (measured quadratic: 217 s for a 10,000-service full sync).
   */
  | { readonly kind: 'numgen'; readonly mod: number }
  /** `ct status dnat`: the connection was DNATed. */
  | { readonly kind: 'ct-status-dnat' }
  /** `ip saddr . ip daddr @set`: the pair is in the set (hairpin: an endpoint reaching itself). */
  | { readonly kind: 'addr-pair-set'; readonly set: string };

/** What a verdict map element (or a rule) decides. */
export type Verdict =
  | { readonly kind: 'accept' | 'drop' | 'return' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string };

/** The statement that ends a rule. */
export type Action =
  | { readonly kind: 'verdict'; readonly verdict: Verdict }
  | { readonly kind: 'reject' }
  /** `ip daddr . meta l4proto . th dport vmap @m` (key 'addr-proto-port') or `meta l4proto . th dport vmap @m`. */
  | { readonly kind: 'vmap'; readonly key: 'addr-proto-port' | 'proto-port'; readonly map: string }
  /** `meta mark set meta mark or|xor M`. */
  | { readonly kind: 'mark'; readonly op: 'or' | 'xor'; readonly value: number }
  | { readonly kind: 'masquerade' }
  /** `meta l4proto P dnat to IP:PORT`. */
  | { readonly kind: 'dnat'; readonly protocol: L4Protocol; readonly ip: string; readonly port: number }
  /** `update @set { ip saddr }`: refreshes the source's entry (the set's own timeout applies). */
  | { readonly kind: 'update-saddr'; readonly set: string }
  /**
   * `meta l4proto P dnat to numgen random mod N map @m`: an even choice among the N endpoints of
   * an endpoint map (elements 0..N-1 -> address . port). Endpoints then change by element, and
   * the table has no chain per endpoint for the kernel to validate on every rule change.
   */
  | { readonly kind: 'dnat-map'; readonly protocol: L4Protocol; readonly mod: number; readonly map: string };

export interface NftRule {
  readonly match: readonly Match[];
  readonly action: Action;
  readonly comment?: string;
}

export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

export interface BaseChainSpec {
  readonly type: 'filter' | 'nat';
  readonly hook: Hook;
  readonly priority: number;
}

export interface NftChain {
  readonly name: string;
  /** Only base chains (attached to a netfilter hook) have one. */
  readonly base?: BaseChainSpec;
  readonly rules: readonly NftRule[];
}

/** A set, a verdict map (`map` 'verdict'), or an endpoint map (`map` 'endpoints'). */
export interface NftSet {
  readonly name: string;
  /** nft type expression: `ipv4_addr`, `ipv4_addr . inet_proto . inet_service` (`integer` for endpoint maps). */
  readonly type: string;
  readonly map?: 'verdict' | 'endpoints';
  /** Endpoint maps: the data type (`ipv4_addr . inet_service`) and the protocol their typeof names. */
  readonly data?: string;
  readonly protocol?: L4Protocol;
  readonly flags?: readonly ('interval' | 'dynamic' | 'timeout')[];
  /** Merge overlapping intervals (nodePortAddresses may overlap). */
  readonly autoMerge?: boolean;
  /** Seconds; only with the timeout flag. */
  readonly timeout?: number;
  readonly comment?: string;
}

/** An element of a set, a verdict map (verdict) or an endpoint map (data). Key parts are joined with ` . `. */
export interface NftElement {
  readonly set: string;
  readonly key: readonly (string | number)[];
  readonly verdict?: Verdict;
  /** Endpoint maps: address and port. */
  readonly data?: readonly [string, number];
  readonly comment?: string;
}

/** Everything svcplane wants in one family's table. */
export interface NftObjects {
  readonly family: NftFamily;
  readonly table: string;
  readonly chains: ReadonlyMap<string, NftChain>;
  readonly sets: ReadonlyMap<string, NftSet>;
  /** Per set or map: element key text (`elementKey`) -> element. */
  readonly elements: ReadonlyMap<string, ReadonlyMap<string, NftElement>>;
}

export function elementKey(key: readonly (string | number)[]): string {
  return key.join(' . ');
}

// kube-proxy's priorities: filtering sees pre-DNAT addresses (dstnat - 10), except the
// endpoint checks on locally generated traffic, which must see post-DNAT ones (dstnat + 10).
export const NF_IP_PRI_NAT_DST = -100;
export const NF_IP_PRI_NAT_SRC = 100;
