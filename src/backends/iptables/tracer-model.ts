// The ruleset model the packet tracer walks: exactly the matches and targets
// svcplane's iptables planner emits, nothing more (see tracer-rule.ts).
import type { IptablesTable } from '../../kernel/iptables.js';
import type { IPFamily } from '../../model/types.js';
import { SvcplaneError } from '../../util/errors.js';
import type { Cidr } from '../common/address.js';

export type TracerProtocol = 'tcp' | 'udp' | 'sctp';
export type ConntrackState = 'INVALID' | 'NEW' | 'ESTABLISHED' | 'RELATED' | 'UNTRACKED' | 'SNAT' | 'DNAT';

export const CONNTRACK_STATES: readonly ConntrackState[] = ['INVALID', 'NEW', 'ESTABLISHED', 'RELATED', 'UNTRACKED', 'SNAT', 'DNAT'];

/** Built-in chains per table; their policy applies when a packet falls off their end. */
export const BUILTIN_CHAINS: Readonly<Record<IptablesTable, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

export type Match =
  | { readonly kind: 'source'; readonly cidr: Cidr; readonly negated: boolean }
  | { readonly kind: 'destination'; readonly cidr: Cidr; readonly negated: boolean }
  | { readonly kind: 'protocol'; readonly protocol: TracerProtocol; readonly negated: boolean }
  /** `-m tcp|udp|sctp --dport N`. */
  | { readonly kind: 'dport'; readonly port: number }
  /** `-m addrtype [!] --src-type|--dst-type LOCAL` (LOCAL is the only type supported). */
  | { readonly kind: 'addrtype'; readonly direction: 'src' | 'dst'; readonly negated: boolean }
  | { readonly kind: 'statistic'; readonly probability: number }
  | { readonly kind: 'recent'; readonly name: string; readonly mode: 'rcheck' | 'set'; readonly seconds: number | undefined; readonly reap: boolean }
  | { readonly kind: 'mark'; readonly value: number; readonly mask: number; readonly negated: boolean }
  | { readonly kind: 'ctstate'; readonly states: readonly ConntrackState[]; readonly negated: boolean }
  /** `-m set [!] --match-set NAME src|dst[,...]` (IPVS mode's KUBE-LOOP-BACK and KUBE-CLUSTER-IP). */
  | { readonly kind: 'set'; readonly name: string; readonly directions: readonly ('src' | 'dst')[]; readonly negated: boolean };

export type Target =
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN' }
  | { readonly kind: 'DNAT'; readonly ip: string; readonly port: number }
  | { readonly kind: 'MARK'; readonly op: 'or' | 'xor'; readonly value: number }
  | { readonly kind: 'MASQUERADE'; readonly randomFully: boolean };

export interface Rule {
  readonly matches: readonly Match[];
  readonly target: Target;
  readonly comment: string | undefined;
  /** Where the rule came from, for messages: `restore line 12` or `jump rule 3`. */
  readonly origin: string;
}

export interface Chain {
  readonly name: string;
  readonly builtin: boolean;
  readonly policy: 'ACCEPT' | 'DROP';
  readonly rules: readonly Rule[];
}

export interface Ruleset {
  /** The family of the addresses in the rules; undefined while no rule names an address. */
  readonly family: IPFamily | undefined;
  readonly tables: Readonly<Record<IptablesTable, ReadonlyMap<string, Chain>>>;
}

export class TracerParseError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPTABLES_TRACE_PARSE';
  constructor(
    readonly origin: string,
    readonly reason: string,
  ) {
    super(`${origin}: ${reason}`);
  }
}

export class TracerError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPTABLES_TRACE';
}
