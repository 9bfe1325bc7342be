import { describe, expect, it } from 'vitest';
import { compareOutcomes, mergeOutcomes, packetProblem, traceHooks, type HookEnd, type TraceBranch, type TraceHook, type TraceOutcome, type TracePacket } from './trace.js';

const ENV = { localAddresses: ['192.168.1.10', '127.0.0.0/8'] };
const PACKET: TracePacket = { src: '203.0.113.9', dst: '10.96.0.10', protocol: 'TCP', dport: 80, from: 'outside' };

/** Records the hooks visited; every hook accepts, prerouting DNATs to `to` when given. */
function recorder(to?: { dst: string; dport: number }): { hooks: TraceHook[]; run: (hook: TraceHook, b: TraceBranch) => HookEnd[] } {
  const hooks: TraceHook[] = [];
  return {
    hooks,
    run: (hook, b) => {
      hooks.push(hook);
      const branch = hook === 'prerouting' && to ? { ...b, ...to, dnat: true } : b;
      return [{ branch: { ...branch, chains: [...branch.chains, hook] }, kind: 'accept' }];
    },
  };
}

describe('traceHooks', () => {
  it('forwards a packet from outside to a remote endpoint through prerouting, forward and postrouting', () => {
    const r = recorder({ dst: '10.244.1.1', dport: 8080 });
    const result = traceHooks(PACKET, ENV, r.run);
    expect(r.hooks).toEqual(['prerouting', 'forward', 'postrouting']);
    expect(result.outcomes).toEqual([{ probability: 1, verdict: 'DNAT', destination: '10.244.1.1:8080', masqueraded: false, chains: r.hooks, affinityUpdates: [] }]);
  });

  it('delivers a packet to a local address through input, and never postrouting', () => {
    const r = recorder();
    expect(traceHooks({ ...PACKET, dst: '192.168.1.10' }, ENV, r.run).outcomes[0]?.verdict).toBe('ACCEPT');
    expect(r.hooks).toEqual(['prerouting', 'input']);
  });

  it('sends a local process\'s packet through output and postrouting, and loops a local one back to input', () => {
    const remote = recorder();
    traceHooks({ ...PACKET, src: '192.168.1.10', from: 'local-process' }, ENV, remote.run);
    expect(remote.hooks).toEqual(['output', 'postrouting']);
    const loop = recorder();
    traceHooks({ ...PACKET, src: '127.0.0.1', dst: '127.0.0.1', from: 'local-process' }, ENV, loop.run);
    expect(loop.hooks).toEqual(['output', 'postrouting', 'input']);
  });

  it('ends a dropped or rejected branch at its hook, not masqueraded', () => {
    const run = (hook: TraceHook, b: TraceBranch): HookEnd[] =>
      hook === 'prerouting' ? [{ branch: { ...b, probability: 0.25, masqueraded: true }, kind: 'drop' }, { branch: { ...b, probability: 0.75 }, kind: 'reject' }] : [];
    expect(traceHooks(PACKET, ENV, run).outcomes.map((o) => [o.verdict, o.probability, o.masqueraded])).toEqual([['DROP', 0.25, false], ['REJECT', 0.75, false]]);
  });
});

describe('mergeOutcomes', () => {
  const o = (probability: number, destination: string, masqueraded: boolean, chains: string[]): TraceOutcome =>
    ({ probability, verdict: 'DNAT', destination, masqueraded, chains, affinityUpdates: [] });
  it('adds the probabilities of outcomes that differ only in their path, keeping the first path', () => {
    expect(mergeOutcomes([o(0.5, 'a:1', false, ['x']), o(0.25, 'b:1', false, ['y']), o(0.25, 'a:1', false, ['z']), o(0.125, 'a:1', true, ['w'])])).toEqual([
      o(0.75, 'a:1', false, ['x']), o(0.25, 'b:1', false, ['y']), o(0.125, 'a:1', true, ['w']),
    ]);
  });
});

describe('packetProblem', () => {
  it('names what is wrong with a packet, and nothing for a good one', () => {
    expect(packetProblem(PACKET, 'IPv4', 'an IPv4 ruleset')).toBeUndefined();
    expect(packetProblem(PACKET, undefined, 'a ruleset')).toBeUndefined();
    expect(packetProblem({ ...PACKET, src: 'nope' }, 'IPv4', 'x')).toBe('invalid packet addresses nope -> 10.96.0.10');
    expect(packetProblem({ ...PACKET, src: 'fd00::1' }, 'IPv4', 'x')).toBe('packet mixes address families: fd00::1 -> 10.96.0.10');
    expect(packetProblem(PACKET, 'IPv6', 'an ip6 table')).toBe('IPv4 packet traced through an ip6 table');
    expect(packetProblem({ ...PACKET, dport: 0 }, 'IPv4', 'x')).toBe('invalid destination port 0');
  });
});

describe('compareOutcomes', () => {
  const o = (destination: string | undefined, probability: number, verdict: 'DNAT' | 'ACCEPT' = 'DNAT') => ({ verdict, probability, masqueraded: false, path: [], ...(destination !== undefined ? { destination } : {}) });
  it('agrees within iptables-save\'s rounding, and names each difference', () => {
    expect(compareOutcomes([o('10.0.0.1:80', 1 / 3), o('10.0.0.2:80', 2 / 3)], [o('10.0.0.2:80', 0.6666666665), o('10.0.0.1:80', 0.3333333335)])).toEqual([]);
    expect(compareOutcomes([o('10.0.0.1:80', 1)], [o(undefined, 1, 'ACCEPT')])).toEqual(['plan: DNAT 10.0.0.1:80 100.0%; live: never', 'plan: never; live: ACCEPT 100.0%']);
  });
});
