import { describe, expect, it } from 'vitest';
import { affinitySetFor, expectEndpoints, onlyOutcome, totalProbability } from '../../../test/lib/tracer-expect.js';
import { parseRuleset } from './tracer-parse.js';
import type { JumpRule } from '../../kernel/iptables.js';
import type { TracePacket } from '../common/trace.js';
import { tracePacket, TracerError } from './tracer.js';

// Hand-written rules in the shape service-rules.ts writes (kube-proxy's chain structure).
const JUMPS: JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', args: ['-j', 'KUBE-SERVICES'] },
  { table: 'nat', chain: 'OUTPUT', args: ['-j', 'KUBE-SERVICES'] },
  { table: 'nat', chain: 'POSTROUTING', args: ['-j', 'KUBE-POSTROUTING'] },
  { table: 'filter', chain: 'INPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-j', 'KUBE-EXTERNAL-SERVICES'] },
  { table: 'filter', chain: 'FORWARD', args: ['-j', 'KUBE-FORWARD'] },
  { table: 'filter', chain: 'FORWARD', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-j', 'KUBE-SERVICES'] },
  { table: 'filter', chain: 'OUTPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-j', 'KUBE-SERVICES'] },
];

const FILTER = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
-A KUBE-SERVICES -m comment --comment "default/empty:http has no endpoints" -m tcp -p tcp -d 10.96.0.20/32 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/empty:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30020 -j REJECT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
COMMIT
`;

const NAT = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
:KUBE-SEP-3 - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 10.244.1.1:8080" -m recent --name KUBE-SEP-1 --rcheck --seconds 10800 --reap -j KUBE-SEP-1
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 10.244.1.1:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-1
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 10.244.1.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-2
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 10.244.2.3:8080" -j KUBE-SEP-3
-A KUBE-SEP-1 -m comment --comment "default/web:http" -s 10.244.1.1/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-1 -m comment --comment "default/web:http" -m recent --name KUBE-SEP-1 --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.1:8080
-A KUBE-SEP-2 -m comment --comment "default/web:http" -s 10.244.1.2/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-2 -m comment --comment "default/web:http" -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080
-A KUBE-SEP-3 -m comment --comment "default/web:http" -s 10.244.2.3/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-3 -m comment --comment "default/web:http" -m tcp -p tcp -j DNAT --to-destination 10.244.2.3:8080
COMMIT
`;

const ruleset = parseRuleset({ restore: FILTER + NAT, jumps: JUMPS });
const env = { localAddresses: ['192.168.1.10', '127.0.0.0/8'] };

function packet(overrides: Partial<TracePacket>): TracePacket {
  return { src: '10.244.5.5', dst: '10.96.0.10', protocol: 'TCP', dport: 80, from: 'outside', ...overrides };
}

describe('tracePacket', () => {
  it('splits a statistic cascade 1/3, 1/2, 1 into thirds that sum to 1', () => {
    const result = tracePacket(ruleset, packet({}), env);
    expect(expectEndpoints(result)).toEqual({
      '10.244.1.1:8080': expect.closeTo(1 / 3, 8),
      '10.244.1.2:8080': expect.closeTo(1 / 3, 8),
      '10.244.2.3:8080': expect.closeTo(1 / 3, 8),
    });
    expect(totalProbability(result)).toBeCloseTo(1, 12);
    expect(result.outcomes.every((o) => o.verdict === 'DNAT' && !o.masqueraded)).toBe(true);
  });

  it('records the chain path', () => {
    const [first] = tracePacket(ruleset, packet({}), env).outcomes;
    expect(first?.chains).toEqual(['nat:PREROUTING', 'nat:KUBE-SERVICES', 'nat:KUBE-SVC-WEB', 'nat:KUBE-SEP-1', 'filter:FORWARD', 'filter:KUBE-FORWARD', 'filter:KUBE-SERVICES', 'nat:POSTROUTING', 'nat:KUBE-POSTROUTING']);
  });

  it('masquerades sources outside the cluster CIDR (negated -s) and keeps pod sources', () => {
    const outside = tracePacket(ruleset, packet({ src: '203.0.113.7' }), env);
    expect(outside.outcomes.every((o) => o.masqueraded)).toBe(true);
    expect(totalProbability(outside)).toBeCloseTo(1, 12);
    const pod = tracePacket(ruleset, packet({ src: '10.244.9.9' }), env);
    expect(pod.outcomes.some((o) => o.masqueraded)).toBe(false);
  });

  it('masquerades hairpin traffic from an endpoint to its own service', () => {
    const result = tracePacket(ruleset, packet({ src: '10.244.1.2' }), env);
    const byDestination = new Map(result.outcomes.map((o) => [o.destination, o.masqueraded]));
    expect(byDestination).toEqual(new Map([['10.244.1.1:8080', false], ['10.244.1.2:8080', true], ['10.244.2.3:8080', false]]));
  });

  it('follows a recent --rcheck hit to its endpoint', () => {
    const set = affinitySetFor(ruleset, '10.244.1.1', 8080);
    expect(set).toBe('KUBE-SEP-1');
    const result = tracePacket(ruleset, packet({ affinity: [set] }), env);
    expect(onlyOutcome(result)).toMatchObject({ verdict: 'DNAT', destination: '10.244.1.1:8080', probability: 1 });
  });

  it('reports the recent lists a DNAT rule records the source in (--set), and only those', () => {
    const result = tracePacket(ruleset, packet({}), env);
    const updates = new Map(result.outcomes.map((o) => [o.destination, o.affinityUpdates]));
    expect(updates).toEqual(new Map([['10.244.1.1:8080', ['KUBE-SEP-1']], ['10.244.1.2:8080', []], ['10.244.2.3:8080', []]]));
  });

  it('rejects traffic to a service without endpoints, from outside and from the node', () => {
    expect(onlyOutcome(tracePacket(ruleset, packet({ dst: '10.96.0.20' }), env))).toMatchObject({ verdict: 'REJECT', probability: 1 });
    expect(onlyOutcome(tracePacket(ruleset, packet({ dst: '10.96.0.20', from: 'local-process', src: '192.168.1.10' }), env)).verdict).toBe('REJECT');
  });

  it('sends locally addressed traffic through filter INPUT, also when a local process loops it back', () => {
    const external = onlyOutcome(tracePacket(ruleset, packet({ dst: '192.168.1.10', dport: 30020, src: '203.0.113.7' }), env));
    expect(external.verdict).toBe('REJECT');
    expect(external.chains).toContain('filter:INPUT');
    const loopback = onlyOutcome(tracePacket(ruleset, packet({ dst: '127.0.0.1', dport: 30020, src: '127.0.0.1', from: 'local-process' }), env));
    expect(loopback.verdict).toBe('REJECT');
    // Another port on the node is simply delivered.
    expect(onlyOutcome(tracePacket(ruleset, packet({ dst: '192.168.1.10', dport: 22 }), env))).toMatchObject({ verdict: 'ACCEPT', masqueraded: false });
  });

  it('accepts what no rule matches, to its original destination', () => {
    const result = onlyOutcome(tracePacket(ruleset, packet({ dst: '8.8.8.8', dport: 53, protocol: 'UDP' }), env));
    expect(result).toMatchObject({ verdict: 'ACCEPT', masqueraded: false, probability: 1 });
    expect(result.destination).toBeUndefined();
  });

  it('matches the protocol: UDP to a TCP service port is not load-balanced', () => {
    expect(onlyOutcome(tracePacket(ruleset, packet({ protocol: 'UDP' }), env)).verdict).toBe('ACCEPT');
  });

  it('rejects packets of the wrong family or with bad fields', () => {
    expect(() => tracePacket(ruleset, packet({ src: 'fd00::1', dst: 'fd00::2' }), env)).toThrow(TracerError);
    expect(() => tracePacket(ruleset, packet({ dport: 0 }), env)).toThrow(/invalid destination port/);
    expect(() => tracePacket(ruleset, packet({ src: 'fd00::1' }), env)).toThrow(/mixes address families/);
  });
});

describe('chain semantics', () => {
  function natOnly(rules: string, chains: string[] = []): ReturnType<typeof parseRuleset> {
    const declarations = ['KUBE-SERVICES', 'KUBE-A', 'KUBE-B', ...chains].map((c) => `:${c} - [0:0]`).join('\n');
    return parseRuleset({ restore: `*nat\n${declarations}\n${rules}\nCOMMIT\n`, jumps: [{ table: 'nat', chain: 'PREROUTING', args: ['-j', 'KUBE-SERVICES'] }] });
  }

  it('RETURN resumes the calling chain after the jump; falling off a chain does the same', () => {
    const rs = natOnly(
      [
        '-A KUBE-SERVICES -j KUBE-A',
        '-A KUBE-SERVICES -m tcp -p tcp -j DNAT --to-destination 10.0.0.3:3',
        '-A KUBE-A -s 10.1.0.0/16 -j RETURN',
        '-A KUBE-A -j KUBE-B',
        '-A KUBE-A -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:1',
        '-A KUBE-B -s 10.2.0.0/16 -m tcp -p tcp -j DNAT --to-destination 10.0.0.2:2',
      ].join('\n'),
    );
    const to = (src: string): string | undefined => onlyOutcome(tracePacket(rs, packet({ src, dst: '10.9.9.9' }), env)).destination;
    expect(to('10.1.0.1')).toBe('10.0.0.3:3'); // RETURN from KUBE-A
    expect(to('10.2.0.1')).toBe('10.0.0.2:2'); // DNAT in KUBE-B
    expect(to('10.3.0.1')).toBe('10.0.0.1:1'); // fell off KUBE-B, continued in KUBE-A
  });

  it('a statistic branch that is not taken continues with the next rule', () => {
    const rs = natOnly(
      [
        '-A KUBE-SERVICES -m statistic --mode random --probability 0.2500000000 -j KUBE-A',
        '-A KUBE-SERVICES -m tcp -p tcp -j DNAT --to-destination 10.0.0.2:2',
        '-A KUBE-A -m statistic --mode random --probability 0.5000000000 -j RETURN',
        '-A KUBE-A -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:1',
      ].join('\n'),
    );
    const result = tracePacket(rs, packet({ dst: '10.9.9.9' }), env);
    expect(expectEndpoints(result)).toEqual({ '10.0.0.1:1': expect.closeTo(0.125, 12), '10.0.0.2:2': expect.closeTo(0.875, 12) });
    expect(totalProbability(result)).toBeCloseTo(1, 12);
  });

  it('negated addrtype and destination matches', () => {
    const rs = natOnly(
      [
        '-A KUBE-SERVICES -m addrtype ! --dst-type LOCAL ! -d 10.9.0.0/16 -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:1',
        '-A KUBE-SERVICES -m addrtype --src-type LOCAL -m tcp -p tcp -j DNAT --to-destination 10.0.0.2:2',
      ].join('\n'),
    );
    const to = (src: string, dst: string): string | undefined => onlyOutcome(tracePacket(rs, packet({ src, dst }), env)).destination;
    expect(to('10.5.0.1', '10.8.0.1')).toBe('10.0.0.1:1');
    expect(to('10.5.0.1', '10.9.0.1')).toBeUndefined();
    expect(to('192.168.1.10', '10.9.0.1')).toBe('10.0.0.2:2');
    expect(to('192.168.1.10', '192.168.1.10')).toBe('10.0.0.2:2');
  });

  it('refuses to walk a jump loop', () => {
    const rs = natOnly(['-A KUBE-SERVICES -j KUBE-A', '-A KUBE-A -j KUBE-B', '-A KUBE-B -j KUBE-A'].join('\n'));
    expect(() => tracePacket(rs, packet({}), env)).toThrow(/jump loop: PREROUTING -> KUBE-SERVICES -> KUBE-A -> KUBE-B -> KUBE-A/);
  });

  it('refuses rule placements it does not model', () => {
    const masqEarly = parseRuleset({ restore: '*nat\n-A PREROUTING -j MASQUERADE\nCOMMIT\n' });
    expect(() => tracePacket(masqEarly, packet({}), env)).toThrow(/MASQUERADE reached from nat PREROUTING/);
    const natInput = parseRuleset({ restore: '*nat\n-A INPUT -j RETURN\nCOMMIT\n' });
    expect(() => tracePacket(natInput, packet({}), env)).toThrow(/nat INPUT/);
  });

  it('applies a built-in chain policy of DROP', () => {
    const rs = parseRuleset({ restore: '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n' });
    expect(onlyOutcome(tracePacket(rs, packet({}), env))).toMatchObject({ verdict: 'DROP', probability: 1 });
    expect(onlyOutcome(tracePacket(rs, packet({ dst: '192.168.1.10' }), env)).verdict).toBe('ACCEPT');
  });

  it('sees the DNAT conntrack state in the filter table', () => {
    const rs = parseRuleset({
      restore: `*filter\n:KUBE-F - [0:0]\n-A KUBE-F -m conntrack --ctstate DNAT -j DROP\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.1/32 -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:1\nCOMMIT\n`,
      jumps: [
        { table: 'nat', chain: 'PREROUTING', args: ['-j', 'KUBE-SERVICES'] },
        { table: 'filter', chain: 'FORWARD', args: ['-j', 'KUBE-F'] },
      ],
    });
    expect(onlyOutcome(tracePacket(rs, packet({ dst: '10.96.0.1' }), env)).verdict).toBe('DROP');
    expect(onlyOutcome(tracePacket(rs, packet({ dst: '10.96.0.2' }), env)).verdict).toBe('ACCEPT');
  });

  it('traces IPv6 and formats the destination with brackets', () => {
    const rs = parseRuleset({
      restore: `*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d fd00:96::a/128 -m tcp -p tcp --dport 80 -j DNAT --to-destination [fd00:244::5]:8080\nCOMMIT\n`,
      jumps: [{ table: 'nat', chain: 'OUTPUT', args: ['-j', 'KUBE-SERVICES'] }],
    });
    const result = onlyOutcome(tracePacket(rs, { src: 'fd00::1', dst: 'fd00:96:0::a', protocol: 'TCP', dport: 80, from: 'local-process' }, { localAddresses: ['fd00::1', '::1'] }));
    expect(result).toMatchObject({ verdict: 'DNAT', destination: '[fd00:244::5]:8080' });
  });
});

describe('tracePacket with -m set (IPVS mode companion rules)', () => {
  const SET_NAT = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
COMMIT
`;
  const setRules = parseRuleset({ restore: SET_NAT, jumps: [{ table: 'nat', chain: 'PREROUTING', args: ['-j', 'KUBE-SERVICES'] }] });

  it('matches a hash:ip,port member by destination address and proto:port, and only then', () => {
    const withMember = { ...env, ipsets: new Map([['KUBE-CLUSTER-IP', ['10.96.0.10,tcp:80']]]) };
    const marked = (e: typeof env, p: Partial<TracePacket>) => tracePacket(setRules, packet({ src: '203.0.113.7', ...p }), e).outcomes.map((o) => ((o.mark ?? 0) & 0x4000) !== 0);
    expect(marked(withMember, {})).toEqual([true]);
    expect(marked(withMember, { dport: 81 })).toEqual([false]);
    expect(marked(withMember, { protocol: 'UDP' })).toEqual([false]);
    expect(marked(env, {})).toEqual([false]); // a set not given is empty
  });

  it('refuses --match-set flags it does not know', () => {
    expect(() => parseRuleset({ restore: SET_NAT.replace('dst,dst', 'dst,dest') })).toThrow(/invalid --match-set flags "dst,dest"/);
  });
});
