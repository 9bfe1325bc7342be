// Privileged: the Iptables adapter against the real iptables / ip6tables
// binaries, inside a scratch network namespace.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IPFamily } from '../../src/model/types.js';
import { Iptables, RestoreError } from '../../src/kernel/iptables.js';
import { addNetns, deleteNetns } from '../../src/testbed/netns.js';

const NS = 'svcp-ipt-kernel';

const cases: Array<{ family: IPFamily; vip: string }> = [
  { family: 'IPv4', vip: '10.96.0.10/32' },
  { family: 'IPv6', vip: 'fd00:96::10/128' },
];

describe.each(cases)('Iptables ($family) in a network namespace', ({ family, vip }) => {
  let ipt: Iptables;

  beforeAll(async () => {
    await deleteNetns(NS);
    await addNetns(NS);
    ipt = new Iptables({ family, netns: NS });
  });
  afterAll(async () => {
    await deleteNetns(NS);
  });

  const batch = [
    '*filter',
    ':KUBE-SERVICES - [0:0]',
    `-A KUBE-SERVICES -m comment --comment "default/web:http has no endpoints" -m tcp -p tcp -d ${vip} --dport 80 -j REJECT`,
    'COMMIT',
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    'COMMIT',
    '',
  ].join('\n');

  it('restores a batch and reads it back', async () => {
    await ipt.restore(batch, { noflush: true });
    const nat = await ipt.listChains('nat');
    expect(nat.has('KUBE-SERVICES') && nat.has('KUBE-MARK-MASQ')).toBe(true);
    expect(await ipt.chainExists('filter', 'KUBE-SERVICES')).toBe(true);
    expect(await ipt.chainExists('filter', 'KUBE-MARK-MASQ')).toBe(false);
    expect(await ipt.save('filter')).toContain('--comment "default/web:http has no endpoints"');
  });

  it('restores with --noflush: other chains are kept', async () => {
    await ipt.restore(['*nat', ':KUBE-NODEPORTS - [0:0]', 'COMMIT', ''].join('\n'), { noflush: true });
    const nat = await ipt.listChains('nat');
    expect([...nat].filter((c) => c.startsWith('KUBE-')).sort()).toEqual(['KUBE-MARK-MASQ', 'KUBE-NODEPORTS', 'KUBE-SERVICES']);
    // ip6tables-save prints --or-mark as --set-xmark 0x4000/0x4000.
    expect(await ipt.save('nat')).toMatch(/-A KUBE-MARK-MASQ -j MARK --(or-mark 0x4000|set-xmark 0x4000\/0x4000)\n/);
  });

  it('changes nothing with test: true', async () => {
    await ipt.restore(['*nat', ':KUBE-DRY-RUN - [0:0]', 'COMMIT', ''].join('\n'), { noflush: true, test: true });
    expect(await ipt.chainExists('nat', 'KUBE-DRY-RUN')).toBe(false);
  });

  it('reports the failing line and applies nothing of a bad batch', async () => {
    const bad = ['*nat', ':KUBE-HALF - [0:0]', '-A KUBE-HALF -p tcp --dport 99999 -j ACCEPT', 'COMMIT', ''].join('\n');
    const err = await ipt.restore(bad, { noflush: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreError);
    expect(err).toMatchObject({ line: 3, lineText: '-A KUBE-HALF -p tcp --dport 99999 -j ACCEPT' });
    expect((err as RestoreError).stderr).toMatch(/99999/);
    expect(await ipt.chainExists('nat', 'KUBE-HALF')).toBe(false);
  });

  const jump = ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'];
  const other = ['-m', 'comment', '--comment', 'someone else', '-j', 'ACCEPT'];

  it('ensureRule adds once, at the requested position', async () => {
    expect(await ipt.ensureRule('filter', 'OUTPUT', other, 'append')).toBe(true);
    expect(await ipt.ensureRule('filter', 'OUTPUT', jump, 'prepend')).toBe(true);
    expect(await ipt.ensureRule('filter', 'OUTPUT', jump, 'prepend')).toBe(false);
    expect(await ipt.ruleExists('filter', 'OUTPUT', jump)).toBe(true);
    const rules = (await ipt.save('filter')).split('\n').filter((l) => l.startsWith('-A OUTPUT'));
    expect(rules).toEqual([
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A OUTPUT -m comment --comment "someone else" -j ACCEPT',
    ]);
  });

  it('deleteRule removes a rule and tolerates a missing rule or chain', async () => {
    expect(await ipt.deleteRule('filter', 'OUTPUT', jump)).toBe(true);
    expect(await ipt.deleteRule('filter', 'OUTPUT', jump)).toBe(false);
    expect(await ipt.deleteRule('filter', 'KUBE-NO-SUCH-CHAIN', jump)).toBe(false);
    expect(await ipt.ruleExists('filter', 'OUTPUT', jump)).toBe(false);
    expect(await ipt.ruleExists('filter', 'OUTPUT', other)).toBe(true);
  });
});
