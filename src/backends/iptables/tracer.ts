// A pure packet tracer over a Ruleset: follows the first packet of a
// connection through nat PREROUTING/OUTPUT, the filter table and nat
// POSTROUTING, branching on `statistic` so the result is a distribution.
import type { Protocol } from '../../model/types.js';
import { addressIn, cidrContains, formatHostPort, ipFamily, isPort } from './tracer-address.js';
import { TracerError, type Chain, type ConntrackState, type Match, type Rule, type Ruleset, type TableName } from './tracer-model.js';

export { TracerError } from './tracer-model.js';

export interface TracePacket {
  readonly src: string;
  readonly dst: string;
  readonly protocol: Protocol;
  readonly dport: number;
  /** 'outside': arrives on an external interface (nat PREROUTING); 'node': sent by a local process (nat OUTPUT). */
  readonly from: 'outside' | 'node';
  /** Which `recent` sets (session affinity) already hold this source; default none. */
  readonly recent?: Readonly<Record<string, boolean>>;
}

export interface TraceEnv {
  /** What `addrtype LOCAL` matches and what is delivered locally: addresses or CIDRs (node IPs, 127.0.0.0/8, ::1). */
  readonly localAddresses: readonly string[];
}

export type TraceVerdict = 'DNAT' | 'ACCEPT' | 'DROP' | 'REJECT';

export interface TraceOutcome {
  readonly probability: number;
  readonly verdict: TraceVerdict;
  /** ip:port (or [ip6]:port) after DNAT; only for verdict 'DNAT'. */
  readonly destination?: string;
  readonly masqueraded: boolean;
  /** `table:CHAIN` in the order entered (of the first path reaching this outcome), for debugging. */
  readonly chains: readonly string[];
}

export interface TraceResult {
  readonly outcomes: readonly TraceOutcome[];
}

/** One possible path of the packet so far. */
interface Branch {
  readonly probability: number;
  readonly dst: string;
  readonly dport: number;
  readonly mark: number;
  readonly dnat: boolean;
  readonly masqueraded: boolean;
  readonly chains: readonly string[];
}

type Terminal = 'ACCEPT' | 'DROP' | 'REJECT' | 'DNAT' | 'MASQUERADE';

/** How a walk of a chain ended: a terminal verdict, or undefined when it returned / fell off the end. */
interface End {
  readonly branch: Branch;
  readonly verdict: Terminal | undefined;
}

interface Walk {
  readonly ruleset: Ruleset;
  readonly packet: TracePacket;
  readonly env: TraceEnv;
  readonly table: TableName;
  readonly ctstates: readonly ConntrackState[];
}

export function tracePacket(ruleset: Ruleset, packet: TracePacket, env: TraceEnv): TraceResult {
  checkPacket(ruleset, packet);
  // Local delivery would also pass nat INPUT; svcplane writes nothing there, so refuse rather than skip it.
  if ((ruleset.tables.nat.get('INPUT')?.rules.length ?? 0) > 0) throw new TracerError('rules in nat INPUT are not traced');
  const start: Branch = { probability: 1, dst: packet.dst, dport: packet.dport, mark: 0, dnat: false, masqueraded: false, chains: [] };
  const outcomes: TraceOutcome[] = [];
  const natHook = packet.from === 'outside' ? 'PREROUTING' : 'OUTPUT';
  for (const nat of runHook(ruleset, packet, env, 'nat', natHook, start)) {
    if (nat.verdict === 'MASQUERADE') throw new TracerError(`MASQUERADE reached from nat ${natHook}`);
    if (nat.verdict === 'DROP') {
      outcomes.push(outcome(nat.branch, 'DROP'));
      continue;
    }
    const isLocal = addressIn(env.localAddresses, nat.branch.dst);
    const filterHook = packet.from === 'node' ? 'OUTPUT' : isLocal ? 'INPUT' : 'FORWARD';
    for (const filter of runHook(ruleset, packet, env, 'filter', filterHook, nat.branch)) {
      if (filter.verdict === 'DROP' || filter.verdict === 'REJECT') {
        outcomes.push(outcome(filter.branch, filter.verdict));
        continue;
      }
      // Packets delivered locally from outside never see POSTROUTING.
      if (filterHook === 'INPUT') {
        outcomes.push(delivered(filter.branch));
        continue;
      }
      outcomes.push(...postRouting(ruleset, packet, env, filter.branch));
    }
  }
  return { outcomes: merge(outcomes) };
}

function postRouting(ruleset: Ruleset, packet: TracePacket, env: TraceEnv, branch: Branch): TraceOutcome[] {
  const outcomes: TraceOutcome[] = [];
  for (const post of runHook(ruleset, packet, env, 'nat', 'POSTROUTING', branch)) {
    if (post.verdict === 'DNAT') throw new TracerError('DNAT reached from nat POSTROUTING');
    if (post.verdict === 'DROP') {
      outcomes.push(outcome(post.branch, 'DROP'));
      continue;
    }
    const after = post.verdict === 'MASQUERADE' ? { ...post.branch, masqueraded: true } : post.branch;
    // A local process talking to a local address: the packet loops back through filter INPUT.
    if (packet.from === 'node' && addressIn(env.localAddresses, after.dst)) {
      for (const input of runHook(ruleset, packet, env, 'filter', 'INPUT', after)) {
        outcomes.push(input.verdict === 'DROP' || input.verdict === 'REJECT' ? outcome(input.branch, input.verdict) : delivered(input.branch));
      }
      continue;
    }
    outcomes.push(delivered(after));
  }
  return outcomes;
}

function delivered(branch: Branch): TraceOutcome {
  return outcome(branch, branch.dnat ? 'DNAT' : 'ACCEPT');
}

function outcome(branch: Branch, verdict: TraceVerdict): TraceOutcome {
  return {
    probability: branch.probability,
    verdict,
    ...(verdict === 'DNAT' ? { destination: formatHostPort(branch.dst, branch.dport) } : {}),
    masqueraded: verdict === 'DROP' || verdict === 'REJECT' ? false : branch.masqueraded,
    chains: branch.chains,
  };
}

/** Walks a built-in chain, applying its policy to packets that fall off its end. */
function runHook(ruleset: Ruleset, packet: TracePacket, env: TraceEnv, table: TableName, hook: string, branch: Branch): End[] {
  const ctstates: ConntrackState[] = branch.dnat ? ['NEW', 'DNAT'] : ['NEW'];
  const walk: Walk = { ruleset, packet, env, table, ctstates };
  const chain = getChain(walk, hook);
  return runChain(walk, chain, branch, []).map((end) => (end.verdict !== undefined ? end : { ...end, verdict: chain.policy }));
}

function getChain(walk: Walk, name: string): Chain {
  const chain = walk.ruleset.tables[walk.table].get(name);
  if (!chain) throw new TracerError(`no chain ${name} in table ${walk.table}`);
  return chain;
}

function runChain(walk: Walk, chain: Chain, branch: Branch, stack: readonly string[]): End[] {
  if (stack.includes(chain.name)) throw new TracerError(`jump loop: ${[...stack, chain.name].join(' -> ')}`);
  const entered = { ...branch, chains: [...branch.chains, `${walk.table}:${chain.name}`] };
  return runRules(walk, chain, 0, entered, [...stack, chain.name]);
}

function runRules(walk: Walk, chain: Chain, start: number, branch: Branch, stack: readonly string[]): End[] {
  for (let i = start; i < chain.rules.length; i++) {
    const p = matchProbability(walk, chain.rules[i] as Rule, branch);
    if (p === 0) continue;
    if (p === 1) return applyTarget(walk, chain, i, branch, stack);
    // The matching share first, so that outcomes list in rule order.
    return [...applyTarget(walk, chain, i, scale(branch, p), stack), ...runRules(walk, chain, i + 1, scale(branch, 1 - p), stack)];
  }
  return [{ branch, verdict: undefined }];
}

/** Applies rule `index`'s target to a branch it matched; non-terminal targets continue with the next rule. */
function applyTarget(walk: Walk, chain: Chain, index: number, branch: Branch, stack: readonly string[]): End[] {
  const target = (chain.rules[index] as Rule).target;
  switch (target.kind) {
    case 'MARK': {
      const mark = (target.op === 'or' ? branch.mark | target.value : branch.mark ^ target.value) >>> 0;
      return runRules(walk, chain, index + 1, { ...branch, mark }, stack);
    }
    case 'RETURN':
      return [{ branch, verdict: undefined }];
    case 'DNAT':
      return [{ branch: { ...branch, dst: target.ip, dport: target.port, dnat: true }, verdict: 'DNAT' }];
    case 'ACCEPT':
    case 'DROP':
    case 'REJECT':
    case 'MASQUERADE':
      return [{ branch, verdict: target.kind }];
    case 'jump':
      return runChain(walk, getChain(walk, target.chain), branch, stack).flatMap((end) =>
        end.verdict !== undefined ? [end] : runRules(walk, chain, index + 1, end.branch, stack),
      );
  }
}

function scale(branch: Branch, factor: number): Branch {
  return { ...branch, probability: branch.probability * factor };
}

/** 0 or 1 for deterministic matches; the product of `statistic` probabilities otherwise (they have no side effects, so order is irrelevant). */
function matchProbability(walk: Walk, rule: Rule, branch: Branch): number {
  let probability = 1;
  for (const match of rule.matches) {
    if (match.kind === 'statistic') probability *= match.probability;
    else if (!matches(walk, match, branch)) return 0;
  }
  return probability;
}

function matches(walk: Walk, match: Exclude<Match, { kind: 'statistic' }>, branch: Branch): boolean {
  const { packet, env } = walk;
  switch (match.kind) {
    case 'source':
      return cidrContains(match.cidr, packet.src) !== match.negated;
    case 'destination':
      return cidrContains(match.cidr, branch.dst) !== match.negated;
    case 'protocol':
      return (match.protocol === packet.protocol.toLowerCase()) !== match.negated;
    case 'dport':
      return branch.dport === match.port;
    case 'addrtype':
      return addressIn(env.localAddresses, match.direction === 'src' ? packet.src : branch.dst) !== match.negated;
    case 'recent':
      // --set always matches (it records the source); --rcheck asks whether the source is recorded.
      return match.mode === 'set' || packet.recent?.[match.name] === true;
    case 'mark':
      return ((branch.mark & match.mask) >>> 0 === match.value) !== match.negated;
    case 'ctstate':
      return match.states.some((s) => walk.ctstates.includes(s)) !== match.negated;
  }
}

function checkPacket(ruleset: Ruleset, packet: TracePacket): void {
  const srcFamily = ipFamily(packet.src);
  const dstFamily = ipFamily(packet.dst);
  if (!srcFamily || !dstFamily) throw new TracerError(`invalid packet addresses ${packet.src} -> ${packet.dst}`);
  if (srcFamily !== dstFamily) throw new TracerError(`packet mixes address families: ${packet.src} -> ${packet.dst}`);
  if (ruleset.family !== undefined && srcFamily !== ruleset.family) {
    throw new TracerError(`${srcFamily} packet traced through an ${ruleset.family} ruleset`);
  }
  if (!isPort(packet.dport)) throw new TracerError(`invalid destination port ${packet.dport}`);
}

/** Merges outcomes that differ only in their path, keeping the first path. */
function merge(outcomes: readonly TraceOutcome[]): TraceOutcome[] {
  const merged = new Map<string, TraceOutcome>();
  for (const o of outcomes) {
    const key = `${o.verdict}|${o.destination ?? ''}|${o.masqueraded}`;
    const seen = merged.get(key);
    merged.set(key, seen ? { ...seen, probability: seen.probability + o.probability } : o);
  }
  return [...merged.values()];
}
