// The core both packet tracers share (iptables over a parsed ruleset, nftables over its
// typed objects): one packet, one outcome, one path through the netfilter hooks, one merge.
// A tracer only says what its own rules do to a branch at a hook, so the equivalence test
// hands both tracers the same packet and compares their outcomes as they come.
import type { IPFamily, Protocol } from '../../model/types.js';
import { addressIn, formatHostPort, ipFamily, isPort } from './address.js';

export interface TracePacket {
  readonly src: string;
  readonly dst: string;
  readonly protocol: Protocol;
  readonly dport: number;
  /** 'outside' (an external interface) and 'pod' (a pod's interface) enter through prerouting; 'local-process' through output. */
  readonly from: 'outside' | 'pod' | 'local-process';
  /** Affinity sets (iptables `recent` lists, nftables dynamic sets) that already hold the source address; default none. */
  readonly affinity?: readonly string[];
}

export interface TraceEnv {
  /** What `addrtype LOCAL` / `fib ... type local` match and what is delivered locally: addresses or CIDRs (node IPs, 127.0.0.0/8, ::1). */
  readonly localAddresses: readonly string[];
  /**
   * ipsets the rules match (`-m set`), each member as `ipset list` prints it (`10.96.0.1,tcp:80`,
   * `10.244.1.5,tcp:8080,10.244.1.5`); a set not given is empty.
   */
  readonly ipsets?: ReadonlyMap<string, readonly string[]>;
}

export type TraceVerdict = 'DNAT' | 'ACCEPT' | 'DROP' | 'REJECT';

export interface TraceOutcome {
  readonly probability: number;
  readonly verdict: TraceVerdict;
  /** ip:port (or [ip6]:port) after DNAT; only for verdict 'DNAT'. */
  readonly destination?: string;
  readonly masqueraded: boolean;
  /** Chains entered (of the first path reaching this outcome), for debugging. */
  readonly chains: readonly string[];
  /** Affinity sets the packet's source was recorded in. */
  readonly affinityUpdates: readonly string[];
  /** The packet mark when it left (IPVS mode: its companion rules mark for masquerading before IPVS forwards). */
  readonly mark?: number;
}

export interface TraceResult {
  readonly outcomes: readonly TraceOutcome[];
}

/** One possible path of the packet so far. */
export interface TraceBranch {
  readonly probability: number;
  readonly dst: string;
  readonly dport: number;
  readonly mark: number;
  readonly dnat: boolean;
  readonly masqueraded: boolean;
  readonly chains: readonly string[];
  readonly affinityUpdates: readonly string[];
}

export type TraceHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

/** How a branch leaves a hook: on to the next hook ('accept'), or ended there. */
export interface HookEnd {
  readonly branch: TraceBranch;
  readonly kind: 'accept' | 'drop' | 'reject';
}

/** What one tracer's rules do at a hook to a branch. */
export type RunHook = (hook: TraceHook, branch: TraceBranch) => readonly HookEnd[];

export function scaleBranch(branch: TraceBranch, factor: number): TraceBranch {
  return { ...branch, probability: branch.probability * factor };
}

/**
 * Follows the first packet of a connection through the hooks: from outside, prerouting then
 * input (local destination) or forward and postrouting; from a local process, output and
 * postrouting, then input when it loops back to a local address.
 */
export function traceHooks(packet: TracePacket, env: TraceEnv, runHook: RunHook): TraceResult {
  const start: TraceBranch = { probability: 1, dst: packet.dst, dport: packet.dport, mark: 0, dnat: false, masqueraded: false, chains: [], affinityUpdates: [] };
  const outcomes: TraceOutcome[] = [];
  const local = (b: TraceBranch): boolean => addressIn(env.localAddresses, b.dst);
  const pass = (hook: TraceHook, branch: TraceBranch, next: (b: TraceBranch) => void): void => {
    for (const end of runHook(hook, branch)) {
      if (end.kind === 'accept') next(end.branch);
      else outcomes.push(outcome(end.branch, end.kind === 'drop' ? 'DROP' : 'REJECT'));
    }
  };
  const delivered = (b: TraceBranch): void => {
    outcomes.push(outcome(b, b.dnat ? 'DNAT' : 'ACCEPT'));
  };
  if (packet.from === 'local-process') {
    pass('output', start, (b) => pass('postrouting', b, (after) => (local(after) ? pass('input', after, delivered) : delivered(after))));
  } else {
    // Packets delivered locally from outside never see postrouting.
    pass('prerouting', start, (b) => (local(b) ? pass('input', b, delivered) : pass('forward', b, (f) => pass('postrouting', f, delivered))));
  }
  return { outcomes: mergeOutcomes(outcomes) };
}

function outcome(branch: TraceBranch, verdict: TraceVerdict): TraceOutcome {
  return {
    probability: branch.probability,
    verdict,
    ...(verdict === 'DNAT' ? { destination: formatHostPort(branch.dst, branch.dport) } : {}),
    masqueraded: verdict === 'DROP' || verdict === 'REJECT' ? false : branch.masqueraded,
    chains: branch.chains,
    affinityUpdates: branch.affinityUpdates,
    ...(branch.mark !== 0 ? { mark: branch.mark } : {}),
  };
}

/** Merges outcomes that differ only in their path, keeping the first path. */
export function mergeOutcomes(outcomes: readonly TraceOutcome[]): TraceOutcome[] {
  const merged = new Map<string, TraceOutcome>();
  for (const o of outcomes) {
    const key = `${o.verdict}|${o.destination ?? ''}|${o.masqueraded}`;
    const seen = merged.get(key);
    merged.set(key, seen ? { ...seen, probability: seen.probability + o.probability } : o);
  }
  return [...merged.values()];
}

/**
 * Why a packet cannot be traced through rules of `family` (undefined: not known yet), or
 * undefined when it can; `rules` names them for the message (`an IPv4 ruleset`).
 */
export function packetProblem(packet: TracePacket, family: IPFamily | undefined, rules: string): string | undefined {
  const src = ipFamily(packet.src);
  const dst = ipFamily(packet.dst);
  if (src === undefined || dst === undefined) return `invalid packet addresses ${packet.src} -> ${packet.dst}`;
  if (src !== dst) return `packet mixes address families: ${packet.src} -> ${packet.dst}`;
  if (family !== undefined && src !== family) return `${src} packet traced through ${rules}`;
  if (!isPort(packet.dport)) return `invalid destination port ${packet.dport}`;
  return undefined;
}

// What `svcplane trace` answers, one shape for every mode: the tracers above (iptables,
// nftables) and the small ones over IPVS virtual servers, eBPF map entries and userspace
// listeners all end in a TraceOutcome list; the report adds where it was traced and why.

/** Where a traced packet starts: a pod's interface, a process on the node, or another host. */
export type TraceFrom = 'pod' | 'node' | 'outside';

export interface TraceQuery {
  readonly from: TraceFrom;
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly protocol: Protocol;
}

export function queryPacket(q: TraceQuery): TracePacket {
  return { src: q.src, dst: q.dst, dport: q.dport, protocol: q.protocol, from: q.from === 'node' ? 'local-process' : q.from };
}

/** One outcome as reported: `path` is the chains, maps or objects the packet went through. */
export interface ReportOutcome {
  readonly verdict: TraceVerdict;
  readonly probability: number;
  readonly destination?: string;
  readonly masqueraded: boolean;
  readonly path: readonly string[];
}

export function reportOutcomes(result: TraceResult): ReportOutcome[] {
  return result.outcomes
    .map((o) => ({ verdict: o.verdict, probability: o.probability, ...(o.destination !== undefined ? { destination: o.destination } : {}), masqueraded: o.masqueraded, path: o.chains }))
    .sort((a, b) => b.probability - a.probability || (a.destination ?? '').localeCompare(b.destination ?? ''));
}

function outcomeText(o: ReportOutcome): string {
  return `${o.verdict}${o.destination !== undefined ? ` ${o.destination}` : ''} ${(o.probability * 100).toFixed(1)}%${o.masqueraded ? ' masqueraded' : ''}`;
}

/** Where two traces of one packet differ (plan against live): empty when they agree. Probabilities agree within 1e-6 (iptables-save rounds them). */
export function compareOutcomes(plan: readonly ReportOutcome[], live: readonly ReportOutcome[]): string[] {
  const key = (o: ReportOutcome): string => `${o.verdict}|${o.destination ?? ''}|${o.masqueraded}`;
  const liveByKey = new Map(live.map((o) => [key(o), o]));
  const planKeys = new Set(plan.map(key));
  const out: string[] = [];
  for (const p of plan) {
    const l = liveByKey.get(key(p));
    if (l === undefined) out.push(`plan: ${outcomeText(p)}; live: never`);
    else if (Math.abs(l.probability - p.probability) > 1e-6) out.push(`plan: ${outcomeText(p)}; live: ${outcomeText(l)}`);
  }
  for (const l of live) if (!planKeys.has(key(l))) out.push(`plan: never; live: ${outcomeText(l)}`);
  return out;
}
