// A pure packet tracer over a Ruleset: follows the first packet of a
// connection through nat PREROUTING/OUTPUT, the filter table and nat
// POSTROUTING, branching on `statistic` so the result is a distribution.
// The path through the hooks, the packet and the outcomes are the trace core's
// (common/trace.ts), shared with the nftables tracer.
import type { IptablesTable } from '../../kernel/iptables.js';
import { addressIn, cidrContains } from '../common/address.js';
import {
  packetProblem, scaleBranch, traceHooks, type HookEnd, type TraceBranch, type TraceEnv, type TraceHook, type TracePacket, type TraceResult,
} from '../common/trace.js';
import { TracerError, type Chain, type ConntrackState, type Match, type Rule, type Ruleset } from './tracer-model.js';

export { TracerError } from './tracer-model.js';

type Terminal = 'ACCEPT' | 'DROP' | 'REJECT' | 'DNAT' | 'MASQUERADE';

/** How a walk of a chain ended: a terminal verdict, or undefined when it returned / fell off the end. */
interface End {
  readonly branch: TraceBranch;
  readonly verdict: Terminal | undefined;
}

interface Walk {
  readonly ruleset: Ruleset;
  readonly packet: TracePacket;
  readonly env: TraceEnv;
  readonly table: IptablesTable;
  readonly ctstates: readonly ConntrackState[];
}

export function tracePacket(ruleset: Ruleset, packet: TracePacket, env: TraceEnv): TraceResult {
  const problem = packetProblem(packet, ruleset.family, `an ${ruleset.family} ruleset`);
  if (problem !== undefined) throw new TracerError(problem);
  // Local delivery would also pass nat INPUT; svcplane writes nothing there, so refuse rather than skip it.
  if ((ruleset.tables.nat.get('INPUT')?.rules.length ?? 0) > 0) throw new TracerError('rules in nat INPUT are not traced');
  return traceHooks(packet, env, (hook, branch) => runHook(ruleset, packet, env, hook, branch));
}

/** The iptables chains of a hook: nat before filter in output, one table elsewhere (nothing is written to nat INPUT). */
function runHook(ruleset: Ruleset, packet: TracePacket, env: TraceEnv, hook: TraceHook, branch: TraceBranch): HookEnd[] {
  switch (hook) {
    case 'prerouting':
      return nat(runBuiltin(ruleset, packet, env, 'nat', 'PREROUTING', branch), 'PREROUTING');
    case 'output':
      return nat(runBuiltin(ruleset, packet, env, 'nat', 'OUTPUT', branch), 'OUTPUT').flatMap((end) =>
        end.kind === 'accept' ? filter(runBuiltin(ruleset, packet, env, 'filter', 'OUTPUT', end.branch)) : [end],
      );
    case 'input':
      return filter(runBuiltin(ruleset, packet, env, 'filter', 'INPUT', branch));
    case 'forward':
      return filter(runBuiltin(ruleset, packet, env, 'filter', 'FORWARD', branch));
    case 'postrouting':
      return runBuiltin(ruleset, packet, env, 'nat', 'POSTROUTING', branch).map((end) => {
        if (end.verdict === 'DNAT') throw new TracerError('DNAT reached from nat POSTROUTING');
        if (end.verdict === 'MASQUERADE') return { branch: { ...end.branch, masqueraded: true }, kind: 'accept' };
        return hookEnd(end);
      });
  }
}

function nat(ends: readonly End[], hook: string): HookEnd[] {
  return ends.map((end) => {
    if (end.verdict === 'MASQUERADE') throw new TracerError(`MASQUERADE reached from nat ${hook}`);
    return hookEnd(end);
  });
}

function filter(ends: readonly End[]): HookEnd[] {
  return ends.map(hookEnd);
}

function hookEnd(end: End): HookEnd {
  if (end.verdict === 'DROP') return { branch: end.branch, kind: 'drop' };
  if (end.verdict === 'REJECT') return { branch: end.branch, kind: 'reject' };
  return { branch: end.branch, kind: 'accept' };
}

/** Walks a built-in chain, applying its policy to packets that fall off its end. */
function runBuiltin(ruleset: Ruleset, packet: TracePacket, env: TraceEnv, table: IptablesTable, hook: string, branch: TraceBranch): End[] {
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

function runChain(walk: Walk, chain: Chain, branch: TraceBranch, stack: readonly string[]): End[] {
  if (stack.includes(chain.name)) throw new TracerError(`jump loop: ${[...stack, chain.name].join(' -> ')}`);
  const entered = { ...branch, chains: [...branch.chains, `${walk.table}:${chain.name}`] };
  return runRules(walk, chain, 0, entered, [...stack, chain.name]);
}

function runRules(walk: Walk, chain: Chain, start: number, branch: TraceBranch, stack: readonly string[]): End[] {
  for (let i = start; i < chain.rules.length; i++) {
    const rule = chain.rules[i] as Rule;
    const p = matchProbability(walk, rule, branch);
    if (p === 0) continue;
    const matched = recorded(rule, branch);
    if (p === 1) return applyTarget(walk, chain, i, matched, stack);
    // The matching share first, so that outcomes list in rule order.
    return [...applyTarget(walk, chain, i, scaleBranch(matched, p), stack), ...runRules(walk, chain, i + 1, scaleBranch(branch, 1 - p), stack)];
  }
  return [{ branch, verdict: undefined }];
}

/** `-m recent --set` records the source in its list whenever its rule matches (session affinity). */
function recorded(rule: Rule, branch: TraceBranch): TraceBranch {
  const sets = rule.matches.flatMap((m) => (m.kind === 'recent' && m.mode === 'set' ? [m.name] : []));
  return sets.length === 0 ? branch : { ...branch, affinityUpdates: [...branch.affinityUpdates, ...sets] };
}

/** Applies rule `index`'s target to a branch it matched; non-terminal targets continue with the next rule. */
function applyTarget(walk: Walk, chain: Chain, index: number, branch: TraceBranch, stack: readonly string[]): End[] {
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

/** 0 or 1 for deterministic matches; the product of `statistic` probabilities otherwise (they have no side effects, so order is irrelevant). */
function matchProbability(walk: Walk, rule: Rule, branch: TraceBranch): number {
  let probability = 1;
  for (const match of rule.matches) {
    if (match.kind === 'statistic') probability *= match.probability;
    else if (!matches(walk, match, branch)) return 0;
  }
  return probability;
}

function matches(walk: Walk, match: Exclude<Match, { kind: 'statistic' }>, branch: TraceBranch): boolean {
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
      return match.mode === 'set' || packet.affinity?.includes(match.name) === true;
    case 'mark':
      return ((branch.mark & match.mask) >>> 0 === match.value) !== match.negated;
    case 'ctstate':
      return match.states.some((s) => walk.ctstates.includes(s)) !== match.negated;
    case 'set':
      return (env.ipsets?.get(match.name)?.some((m) => memberMatches(m, match.directions, packet, branch)) === true) !== match.negated;
  }
}

const PORT_PART = /^(?:(tcp|udp|sctp):)?(\d+)$/;

/**
 * Whether a packet is a set's member, the member as `ipset list` prints it: each part read in
 * its direction by its shape, as the set's type would (hash:ip,port[,ip|net], bitmap:port):
 * `proto:port` or a bare port, an address, or a CIDR. A traced packet has no source port.
 */
function memberMatches(member: string, directions: readonly ('src' | 'dst')[], packet: TracePacket, branch: TraceBranch): boolean {
  const parts = member.split(',');
  if (parts.length !== directions.length) return false;
  return parts.every((part, i) => {
    const direction = directions[i];
    const port = PORT_PART.exec(part);
    if (port !== null) return direction === 'dst' && (port[1] === undefined || port[1] === packet.protocol.toLowerCase()) && Number(port[2]) === branch.dport;
    const address = direction === 'dst' ? branch.dst : packet.src;
    return part === address || ((part.includes('/') || part.includes(':')) && addressIn([part], address));
  });
}
