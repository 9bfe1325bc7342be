import { describe, expect, it } from 'vitest';
import { applyRestore, emptyRuleset, parseRuleset, TracerParseError } from './tracer-parse.js';
import { tokenize } from './tracer-rule.js';
import type { JumpRule } from '../../kernel/iptables.js';
import type { Ruleset } from './tracer-model.js';

function restore(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function natBatch(...rules: string[]): string {
  return restore('*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ...rules, 'COMMIT');
}

function parseError(fn: () => unknown): TracerParseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TracerParseError) return err;
    throw err;
  }
  throw new Error('expected a TracerParseError');
}

function rulesOf(ruleset: Ruleset, table: 'nat' | 'filter', chain: string) {
  const found = ruleset.tables[table].get(chain);
  if (!found) throw new Error(`no chain ${chain}`);
  return found.rules;
}

describe('tokenize', () => {
  it('splits on blanks and groups double-quoted words', () => {
    expect(tokenize('-A X -m comment --comment "ns/web:http cluster IP"  -j  Y', 'l')).toEqual([
      '-A', 'X', '-m', 'comment', '--comment', 'ns/web:http cluster IP', '-j', 'Y',
    ]);
  });

  it('keeps an escaped quote and an empty quoted word', () => {
    expect(tokenize('a "b \\"c\\" d" ""', 'l')).toEqual(['a', 'b "c" d', '']);
  });

  it("reads iptables-save's escapes inside quotes: a quote, a backslash, a single quote", () => {
    // What iptables-save 1.8.9 printed for a comment `a 'b' c\d` loaded with iptables-restore.
    expect(tokenize(`--comment "a \\'b\\' c\\\\d" -j RETURN`, 'l')).toEqual(['--comment', "a 'b' c\\d", '-j', 'RETURN']);
  });

  it('rejects an unterminated quote', () => {
    expect(parseError(() => tokenize('-A X --comment "oops', 'restore line 7')).message).toBe('restore line 7: unterminated double quote');
  });
});

describe('parseRuleset', () => {
  it('reads the matches and targets the planner uses', () => {
    const ruleset = parseRuleset({
      restore: natBatch(
        ':KUBE-SVC-A - [0:0]',
        ':KUBE-SEP-A - [0:0]',
        '-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j KUBE-SVC-A',
        '-A KUBE-SVC-A -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
        '-A KUBE-SVC-A -m comment --comment "default/web:http -> 10.244.1.5:8080" -m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A',
        '-A KUBE-SVC-A -m comment --comment "default/web:http -> 10.244.1.5:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-A',
        '-A KUBE-SEP-A -m comment --comment "default/web:http" -m recent --name KUBE-SEP-A --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080',
        '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j RETURN',
        '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
      ),
    });
    expect(ruleset.family).toBe('IPv4');
    const [portal] = rulesOf(ruleset, 'nat', 'KUBE-SERVICES');
    expect(portal).toEqual({
      matches: [
        { kind: 'destination', cidr: { address: '10.96.0.10', prefix: 32, family: 'IPv4' }, negated: false },
        { kind: 'protocol', protocol: 'tcp', negated: false },
        { kind: 'dport', port: 80 },
      ],
      target: { kind: 'jump', chain: 'KUBE-SVC-A' },
      comment: 'default/web:http cluster IP',
      origin: 'restore line 6',
    });
    const [masq, rcheck, statistic] = rulesOf(ruleset, 'nat', 'KUBE-SVC-A');
    expect(masq?.matches).toContainEqual({ kind: 'source', cidr: { address: '10.244.0.0', prefix: 16, family: 'IPv4' }, negated: true });
    expect(rcheck?.matches).toEqual([{ kind: 'recent', name: 'KUBE-SEP-A', mode: 'rcheck', seconds: 10800, reap: true }]);
    expect(statistic?.matches).toEqual([{ kind: 'statistic', probability: 0.3333333333 }]);
    expect(rulesOf(ruleset, 'nat', 'KUBE-SEP-A')[0]?.target).toEqual({ kind: 'DNAT', ip: '10.244.1.5', port: 8080 });
    expect(rulesOf(ruleset, 'nat', 'KUBE-MARK-MASQ')[0]?.target).toEqual({ kind: 'MARK', op: 'or', value: 0x4000 });
  });

  it('reads negated marks, conntrack states and IPv6 DNAT destinations', () => {
    const ruleset = parseRuleset({
      restore: restore(
        '*filter',
        ':KUBE-FORWARD - [0:0]',
        '-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A KUBE-FORWARD -m mark ! --mark 0x4000/0x4000 -j RETURN',
        '-A KUBE-FORWARD -s ! fd00::/8 -j REJECT',
        'COMMIT',
        '*nat',
        ':KUBE-SEP-B - [0:0]',
        '-A KUBE-SEP-B -m udp -p udp -j DNAT --to-destination [fd00::5]:53',
        'COMMIT',
      ),
    });
    expect(ruleset.family).toBe('IPv6');
    const [ct, mark, src] = rulesOf(ruleset, 'filter', 'KUBE-FORWARD');
    expect(ct?.matches).toEqual([{ kind: 'ctstate', states: ['RELATED', 'ESTABLISHED'], negated: false }]);
    expect(mark?.matches).toEqual([{ kind: 'mark', value: 0x4000, mask: 0x4000, negated: true }]);
    expect(src?.matches).toEqual([{ kind: 'source', cidr: { address: 'fd00::', prefix: 8, family: 'IPv6' }, negated: true }]);
    expect(rulesOf(ruleset, 'nat', 'KUBE-SEP-B')[0]?.target).toEqual({ kind: 'DNAT', ip: 'fd00::5', port: 53 });
  });

  it('appends jump rules to built-in chains in order', () => {
    const jumps: JumpRule[] = [
      { table: 'nat', chain: 'PREROUTING', args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'] },
      { table: 'nat', chain: 'PREROUTING', args: ['-j', 'KUBE-MARK-MASQ'] },
    ];
    const ruleset = parseRuleset({ restore: natBatch(), jumps });
    expect(rulesOf(ruleset, 'nat', 'PREROUTING').map((r) => r.target)).toEqual([
      { kind: 'jump', chain: 'KUBE-SERVICES' },
      { kind: 'jump', chain: 'KUBE-MARK-MASQ' },
    ]);
    expect(rulesOf(ruleset, 'nat', 'PREROUTING')[0]?.comment).toBe('kubernetes service portals');
  });

  it('applies later batches with --noflush semantics', () => {
    const base = parseRuleset({
      restore: natBatch(':KUBE-SVC-A - [0:0]', ':KUBE-SVC-B - [0:0]', '-A KUBE-SVC-A -j RETURN', '-A KUBE-SVC-B -j RETURN', '-A KUBE-SERVICES -j KUBE-SVC-B'),
    });
    // Rewrites KUBE-SERVICES and KUBE-SVC-B (declaring flushes), deletes KUBE-SVC-B, leaves KUBE-SVC-A alone.
    const next = applyRestore(base, restore('*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-SVC-B - [0:0]', '-A KUBE-SERVICES -j KUBE-SVC-A', '-X KUBE-SVC-B', 'COMMIT'));
    expect(rulesOf(next, 'nat', 'KUBE-SVC-A')).toHaveLength(1);
    expect(next.tables.nat.has('KUBE-SVC-B')).toBe(false);
    expect(rulesOf(next, 'nat', 'KUBE-SERVICES').map((r) => r.target)).toEqual([{ kind: 'jump', chain: 'KUBE-SVC-A' }]);
    // The base is untouched.
    expect(base.tables.nat.has('KUBE-SVC-B')).toBe(true);
  });

  it('starts from the built-in chains with ACCEPT policies', () => {
    const ruleset = emptyRuleset();
    expect([...ruleset.tables.nat.keys()]).toEqual(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
    expect([...ruleset.tables.filter.values()].every((c) => c.builtin && c.policy === 'ACCEPT')).toBe(true);
  });
});

describe('parse errors name the line', () => {
  const cases: Array<[string, string, string]> = [
    ['unknown option', '-A KUBE-SERVICES -m tcp -p tcp --sport 80 -j RETURN', 'restore line 4: unsupported option "--sport"'],
    ['unknown module', '-A KUBE-SERVICES -m multiport --dports 80 -j RETURN', 'restore line 4: unsupported match module "multiport"'],
    ['unknown bare word', '-A KUBE-SERVICES -i eth0 -j RETURN', 'restore line 4: unsupported token "-i"'],
    ['target option on the wrong target', '-A KUBE-SERVICES -j RETURN --to-destination 1.2.3.4:80', 'restore line 4: unsupported option "--to-destination"'],
    ['DROP in nat', '-A KUBE-SERVICES -j DROP', 'restore line 4: DROP is only valid in the filter table'],
    ['DNAT without a protocol', '-A KUBE-SERVICES -j DNAT --to-destination 10.0.0.1:80', 'restore line 4: DNAT to a port needs -p tcp, udp or sctp'],
    ['port match without -p', '-A KUBE-SERVICES -m tcp --dport 80 -j RETURN', 'restore line 4: -m tcp needs -p tcp'],
    ['rule without target', '-A KUBE-SERVICES -d 10.0.0.1/32', 'restore line 4: rule has no target (-j)'],
    ['undeclared chain', '-A KUBE-NOPE -j RETURN', 'restore line 4: chain KUBE-NOPE does not exist in table nat'],
    ['bad address', '-A KUBE-SERVICES -d 10.0.0.300/32 -j RETURN', 'restore line 4: invalid address "10.0.0.300/32" for destination'],
    ['bad probability', '-A KUBE-SERVICES -m statistic --mode random --probability 1.5 -j RETURN', 'restore line 4: invalid probability "1.5"'],
    ['negated option that cannot be', '-A KUBE-SERVICES -m tcp -p tcp ! --dport 80 -j RETURN', 'restore line 4: "!" cannot apply to --dport'],
    ['unsupported addrtype', '-A KUBE-SERVICES -m addrtype --dst-type UNICAST -j RETURN', 'restore line 4: unsupported address type "UNICAST"'],
    ['recent without mode', '-A KUBE-SERVICES -m recent --name X -j RETURN', 'restore line 4: -m recent needs exactly one of --rcheck and --set'],
  ];
  it.each(cases)('%s', (_name, rule, message) => {
    expect(parseError(() => parseRuleset({ restore: natBatch(rule) })).message).toBe(message);
  });

  it('rejects a jump to a chain missing at COMMIT', () => {
    expect(parseError(() => parseRuleset({ restore: natBatch('-A KUBE-SERVICES -j KUBE-SVC-GONE') })).message).toBe(
      'restore line 5: restore line 4 in nat KUBE-SERVICES jumps to missing chain KUBE-SVC-GONE',
    );
  });

  it('rejects deleting a chain that is still referenced', () => {
    const batch = natBatch(':KUBE-SVC-A - [0:0]', '-A KUBE-SERVICES -j KUBE-SVC-A', '-X KUBE-SVC-A');
    expect(parseError(() => parseRuleset({ restore: batch })).message).toMatch(/jumps to missing chain KUBE-SVC-A/);
  });

  it('rejects deleting a non-empty chain', () => {
    const batch = natBatch(':KUBE-SVC-A - [0:0]', '-A KUBE-SVC-A -j RETURN', '-X KUBE-SVC-A');
    expect(parseError(() => parseRuleset({ restore: batch })).message).toBe('restore line 6: cannot delete non-empty chain KUBE-SVC-A');
  });

  it('rejects a missing COMMIT, unknown tables and mixed families', () => {
    expect(parseError(() => parseRuleset({ restore: '*nat\n:KUBE-SERVICES - [0:0]\n' })).message).toMatch(/missing COMMIT for \*nat/);
    expect(parseError(() => parseRuleset({ restore: '*mangle\nCOMMIT\n' })).message).toBe('restore line 1: unsupported table "mangle"');
    expect(parseError(() => parseRuleset({ restore: natBatch('-A KUBE-SERVICES -d 10.0.0.1 -j RETURN', '-A KUBE-SERVICES -d fd00::1 -j RETURN') })).message).toBe(
      'restore line 5: IPv6 address in an IPv4 ruleset',
    );
  });

  it('rejects chain names iptables would refuse', () => {
    expect(parseError(() => parseRuleset({ restore: natBatch(':KUBE-SVC-ABCDEFGHIJKLMNOPQRST - [0:0]') })).message).toMatch(/invalid chain name/);
  });

  it('names the jump rule that fails', () => {
    const jumps: JumpRule[] = [{ table: 'filter', chain: 'INPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-j', 'KUBE-FIREWALL'] }];
    expect(parseError(() => parseRuleset({ restore: natBatch(), jumps })).message).toBe(
      'jump rule 1 (filter INPUT): jump rule 1 (filter INPUT) in filter INPUT jumps to missing chain KUBE-FIREWALL',
    );
  });
});
