// A pure packet tracer over the typed nftables objects (like kube-proxy's
// nftables packet-flow tests): follows the first packet of a connection
// through the base chains of each hook in priority order, the verdict maps and
// numgen cascades, and reports where it ends, as a probability distribution.
// The path through the hooks, the packet and the outcomes are the trace core's
// (common/trace.ts), shared with the iptables tracer.
import { SvcplaneError } from '../../util/errors.js';
import { addressIn } from '../common/address.js';
import {
  packetProblem, scaleBranch, traceHooks, type HookEnd, type TraceBranch, type TraceEnv, type TracePacket, type TraceResult,
} from '../common/trace.js';
import type { Action, Hook, Match, NftChain, NftElement, NftObjects, NftRule, Verdict } from './objects.js';

export class NftTracerError extends SvcplaneError {
  override readonly code = 'SVCPLANE_NFT_TRACE';
}

/** How a chain walk ended: 'continue' when it returned or fell off its end. */
interface End {
  readonly branch: TraceBranch;
  readonly kind: 'continue' | 'accept' | 'drop' | 'reject';
}

interface Walk {
  readonly objects: NftObjects;
  readonly packet: TracePacket;
  readonly env: TraceEnv;
}

export function tracePacket(objects: NftObjects, packet: TracePacket, env: TraceEnv): TraceResult {
  const problem = packetProblem(packet, objects.family === 'ip6' ? 'IPv6' : 'IPv4', `an ${objects.family} table`);
  if (problem !== undefined) throw new NftTracerError(problem);
  const walk: Walk = { objects, packet, env };
  return traceHooks(packet, env, (hook, branch) => runHook(walk, hook, branch));
}

/** The hook's base chains in priority order; each accepts (or not) in turn. */
function runHook(walk: Walk, hook: Hook, branch: TraceBranch): HookEnd[] {
  const chains = [...walk.objects.chains.values()].filter((c) => c.base?.hook === hook).sort((a, b) => (a.base?.priority ?? 0) - (b.base?.priority ?? 0));
  let branches: HookEnd[] = [{ branch, kind: 'accept' }];
  for (const chain of chains) {
    const next: HookEnd[] = [];
    for (const b of branches) {
      if (b.kind !== 'accept') next.push(b);
      // Policy accept: a base chain that falls off its end accepts.
      else for (const end of runChain(walk, chain, b.branch, [])) next.push({ branch: end.branch, kind: end.kind === 'continue' ? 'accept' : end.kind });
    }
    branches = next;
  }
  return branches;
}

function getChain(walk: Walk, name: string): NftChain {
  const chain = walk.objects.chains.get(name);
  if (chain === undefined) throw new NftTracerError(`no chain ${name}`);
  return chain;
}

function runChain(walk: Walk, chain: NftChain, branch: TraceBranch, stack: readonly string[]): End[] {
  if (stack.includes(chain.name)) throw new NftTracerError(`jump loop: ${[...stack, chain.name].join(' -> ')}`);
  return runRules(walk, chain, 0, { ...branch, chains: [...branch.chains, chain.name] }, [...stack, chain.name]);
}

function runRules(walk: Walk, chain: NftChain, start: number, branch: TraceBranch, stack: readonly string[]): End[] {
  for (let i = start; i < chain.rules.length; i++) {
    const rule = chain.rules[i] as NftRule;
    let p = 1;
    for (const m of rule.match) {
      if (m.kind === 'numgen') p /= m.mod;
      else if (!matches(walk, m, branch)) p = 0;
    }
    if (p === 0) continue;
    if (p === 1) return applyAction(walk, chain, i, branch, stack);
    // numgen has no side effects: the matching share, then the rest goes on to the next rule.
    return [...applyAction(walk, chain, i, scaleBranch(branch, p), stack), ...runRules(walk, chain, i + 1, scaleBranch(branch, 1 - p), stack)];
  }
  return [{ branch, kind: 'continue' }];
}

function applyVerdict(walk: Walk, chain: NftChain, index: number, branch: TraceBranch, stack: readonly string[], v: Verdict): End[] {
  switch (v.kind) {
    case 'accept':
    case 'drop':
      return [{ branch, kind: v.kind }];
    case 'return':
      return [{ branch, kind: 'continue' }];
    case 'goto':
      // The called chain's end is this chain's end: falling off it returns to our caller.
      return runChain(walk, getChain(walk, v.chain), branch, stack);
    case 'jump':
      return runChain(walk, getChain(walk, v.chain), branch, stack).flatMap((end) =>
        end.kind === 'continue' ? runRules(walk, chain, index + 1, end.branch, stack) : [end],
      );
  }
}

function applyAction(walk: Walk, chain: NftChain, index: number, branch: TraceBranch, stack: readonly string[]): End[] {
  const action: Action = (chain.rules[index] as NftRule).action;
  const next = (b: TraceBranch): End[] => runRules(walk, chain, index + 1, b, stack);
  switch (action.kind) {
    case 'verdict':
      return applyVerdict(walk, chain, index, branch, stack, action.verdict);
    case 'reject':
      return [{ branch, kind: 'reject' }];
    case 'vmap': {
      const element = lookup(walk, action.map, action.key, branch);
      if (element?.verdict === undefined) return next(branch);
      return applyVerdict(walk, chain, index, branch, stack, element.verdict);
    }
    case 'mark':
      return next({ ...branch, mark: (action.op === 'or' ? branch.mark | action.value : branch.mark ^ action.value) >>> 0 });
    case 'masquerade':
      return [{ branch: { ...branch, masqueraded: true }, kind: 'accept' }];
    case 'dnat':
      // NAT statements are terminal: the packet leaves the chain accepted.
      return [{ branch: { ...branch, dst: action.ip, dport: action.port, dnat: true }, kind: 'accept' }];
    case 'update-saddr':
      return next({ ...branch, affinityUpdates: [...branch.affinityUpdates, action.set] });
    case 'dnat-map': {
      // Each value of numgen picks its element; a value without one falls through to the next rule.
      const elements = walk.objects.elements.get(action.map);
      if (elements === undefined) throw new NftTracerError(`no map ${action.map}`);
      const share = scaleBranch(branch, 1 / action.mod);
      const ends: End[] = [];
      for (let i = 0; i < action.mod; i++) {
        const data = elements.get(String(i))?.data;
        if (data === undefined) ends.push(...next(share));
        else ends.push({ branch: { ...share, dst: data[0], dport: data[1], dnat: true }, kind: 'accept' });
      }
      return ends;
    }
  }
}

function lookup(walk: Walk, map: string, key: 'addr-proto-port' | 'proto-port', branch: TraceBranch): NftElement | undefined {
  const elements = walk.objects.elements.get(map);
  if (elements === undefined) throw new NftTracerError(`no map ${map}`);
  const proto = walk.packet.protocol.toLowerCase();
  for (const e of elements.values()) {
    const [a, b, c] = e.key;
    if (key === 'proto-port' ? a === proto && Number(b) === branch.dport : addressIn([String(a)], branch.dst) && b === proto && Number(c) === branch.dport) return e;
  }
  return undefined;
}

function matches(walk: Walk, m: Exclude<Match, { kind: 'numgen' }>, branch: TraceBranch): boolean {
  const { packet, env, objects } = walk;
  const addr = (dir: 'saddr' | 'daddr'): string => (dir === 'saddr' ? packet.src : branch.dst);
  switch (m.kind) {
    case 'addr':
      return addressIn([m.value], addr(m.dir)) !== m.negated;
    case 'addr-set': {
      const set = objects.sets.get(m.set);
      if (set === undefined) throw new NftTracerError(`no set ${m.set}`);
      if (set.flags?.includes('dynamic') === true) return packet.affinity?.includes(m.set) === true;
      return addressIn([...(objects.elements.get(m.set)?.values() ?? [])].map((e) => String(e.key[0])), addr(m.dir));
    }
    case 'dport':
      return packet.protocol.toLowerCase() === m.protocol && branch.dport === m.port;
    case 'fib-local':
      return addressIn(env.localAddresses, addr(m.dir));
    case 'ct-state':
      // Every traced packet is the first of a valid connection.
      return m.state === 'new';
    case 'mark-clear':
      return (branch.mark & m.mask) === 0;
    case 'ct-status-dnat':
      return branch.dnat;
    case 'addr-pair-set':
      return [...(objects.elements.get(m.set)?.values() ?? [])].some((e) => addressIn([String(e.key[0])], packet.src) && addressIn([String(e.key[1])], branch.dst));
  }
}
