import { describe, expect, it } from 'vitest';
import type { RequestResult } from '../testbed/traffic.js';
import type { DemoPod, DemoTarget } from './demo-plan.js';
import { parseDemoModes } from './demo-modes.js';
import { checkTarget, displayService, formatLogRecords, renderCheck, renderComparison, renderTable, rulesExcerpt } from './demo-report.js';

const pod = (name: string, ip: string): DemoPod => ({ name, ip, nodeName: 'node-a', node: 'local', tcp: [9376], udp: [], http: [] });
const A = pod('web-1', '10.244.1.1');
const B = pod('web-2', '10.244.1.2');
const TARGET: DemoTarget = { service: 'default/web:', kind: 'ClusterIP', protocol: 'TCP', ip: '10.96.0.1', port: 80, from: 'node', count: 4, expected: [A, B] };
const ok = (identity: string): RequestResult => ({ ok: true, identity });

describe('checkTarget', () => {
  it('passes when every request got an answer and every endpoint answered', () => {
    const check = checkTarget(TARGET, [ok('web-1'), ok('web-2'), ok('web-2'), ok('web-1')]);
    expect(check.problems).toEqual([]);
    expect(check.rows.map((r) => r.answers)).toEqual([2, 2]);
  });

  it('fails on a silent endpoint, failed requests and answers from strangers', () => {
    const check = checkTarget(TARGET, [ok('web-1'), ok('other'), { ok: false, error: 'timeout' }, { ok: false, error: 'timeout' }]);
    expect(check.problems).toEqual([
      '2 of 4 requests failed (timeout 2)',
      'web-2 (10.244.1.2) never answered',
      'answers from pods that are not endpoints: other 1',
    ]);
  });

  it('fails when results are missing', () => {
    expect(checkTarget(TARGET, [ok('web-1'), ok('web-2')]).problems).toEqual(['2 results for 4 requests']);
  });
});

describe('renderCheck', () => {
  it('shows one aligned row per endpoint with its share, and the verdict', () => {
    const text = renderCheck(checkTarget(TARGET, [ok('web-1'), ok('web-1'), ok('web-1'), ok('web-2')]));
    expect(text.split('\n')).toEqual([
      'default/web  ClusterIP 10.96.0.1:80/TCP, 4 connections from the node',
      '  pod     IP          node    answers  share',
      '  ------  ----------  ------  -------  -----',
      '  web-1   10.244.1.1  node-a        3  75.0%',
      '  web-2   10.244.1.2  node-a        1  25.0%',
      '  failed                            0   0.0%',
      '  OK: 4/4 answered, all 2 endpoints used',
    ]);
  });

  it('marks a failing check', () => {
    expect(renderCheck(checkTarget(TARGET, [ok('web-1'), ok('web-1'), ok('web-1'), ok('web-1')]))).toContain('  FAIL: web-2 (10.244.1.2) never answered');
  });
});

describe('renderComparison', () => {
  const INGRESS: DemoTarget = { ...TARGET, kind: 'Ingress', count: 2, title: 'Ingress default/web  http://web.example.com/ ...' };
  it('puts the modes side by side: result, first sync, checks passed, answers per kind, DNS, memory; notes below', () => {
    const passed = [checkTarget(TARGET, [ok('web-1'), ok('web-2'), ok('web-2'), ok('web-1')]), checkTarget(INGRESS, [ok('web-1'), ok('web-2')])];
    const failing = [checkTarget(TARGET, [ok('web-1'), ok('web-1'), ok('web-1'), { ok: false, error: 'timeout' }]), checkTarget(INGRESS, [ok('web-1'), ok('web-2')])];
    expect(
      renderComparison([
        { mode: 'iptables', result: 'passed', firstSyncMs: 4210, checks: passed, dns: { answered: 4, total: 4 }, rssMB: 101.4 },
        { mode: 'ipvs', result: 'skipped', note: 'skipped: the kernel has no IPVS' },
        { mode: 'ebpf', result: 'FAILED', firstSyncMs: 5000, checks: failing, dns: { answered: 3, total: 4 }, note: 'failed: default/web' },
      ]),
    ).toEqual([
      'mode      result   first sync  checks passed  service answers  DNS lookups  Ingress pages  agent RSS',
      '--------  -------  ----------  -------------  ---------------  -----------  -------------  ---------',
      'iptables  passed        4.2 s            2/2              4/4          4/4            2/2     101 MB',
      'ipvs      skipped           -              -                -            -              -          -',
      'ebpf      FAILED        5.0 s            1/2              3/4          3/4            2/2          -',
      '',
      'ipvs: skipped: the kernel has no IPVS',
      'ebpf: failed: default/web',
    ]);
  });

  it('renders an Ingress check under its own title', () => {
    expect(renderCheck(checkTarget(INGRESS, [ok('web-1'), ok('web-2')])).split('\n')[0]).toBe(INGRESS.title);
  });
});

describe('parseDemoModes', () => {
  it('takes all (every mode, kube-proxy modes first) or one mode, and refuses anything else by name', () => {
    expect(parseDemoModes('all')).toEqual(['iptables', 'nftables', 'ipvs', 'ebpf', 'userspace']);
    expect(parseDemoModes('ebpf')).toEqual(['ebpf']);
    expect(() => parseDemoModes('kernelspace')).toThrow(/--mode: expected all or one of iptables, nftables, ipvs, ebpf, userspace, got "kernelspace"/);
  });
});

describe('renderTable and displayService', () => {
  it('pads left- and right-aligned columns', () => {
    expect(renderTable(['a', 'n'], [['xyz', '5'], ['b', '100']], ['left', 'right'])).toEqual(['a      n', '---  ---', 'xyz    5', 'b    100']);
  });

  it('drops the empty port name only', () => {
    expect(displayService('default/my-service:')).toBe('default/my-service');
    expect(displayService('default/dns:dns')).toBe('default/dns:dns');
  });
});

const SAVE = `# Generated by iptables-save
*nat
:KUBE-SERVICES - [0:0]
-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "default/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-DNS
-A KUBE-SERVICES -d 10.96.0.100/32 -p tcp -m comment --comment "default/my-service cluster IP" -m tcp --dport 80 -j KUBE-SVC-MINE
-A KUBE-SERVICES -d 10.96.0.101/32 -p tcp -m comment --comment "selectorless/my-service cluster IP" -m tcp --dport 80 -j KUBE-SVC-OTHER
-A KUBE-SERVICES -d 10.96.0.109/32 -p tcp -m comment --comment "default/my-service-two cluster IP" -m tcp --dport 80 -j KUBE-SVC-TWO
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-DNS -m comment --comment "default/dns:dns -> 10.244.1.71:53" -j KUBE-SEP-DNS1
-A KUBE-SVC-MINE -m comment --comment "default/my-service -> 10.244.1.11:9376" -m statistic --mode random --probability 0.5 -j KUBE-SEP-A
-A KUBE-SVC-MINE -m comment --comment "default/my-service -> 10.244.1.12:9376" -j KUBE-SEP-B
-A KUBE-SVC-OTHER -m comment --comment "selectorless/my-service -> 192.0.2.42:9376" -j KUBE-SEP-C
-A KUBE-SEP-A -p tcp -m comment --comment "default/my-service" -m tcp -j DNAT --to-destination 10.244.1.11:9376
-A KUBE-SEP-B -p tcp -m comment --comment "default/my-service" -m tcp -j DNAT --to-destination 10.244.1.12:9376
-A KUBE-SEP-C -p tcp -m comment --comment "selectorless/my-service" -m tcp -j DNAT --to-destination 192.0.2.42:9376
COMMIT
`;

describe('rulesExcerpt', () => {
  it("keeps KUBE-SERVICES and the service's own KUBE-SVC/KUBE-SEP chains, found by comment", () => {
    const lines = rulesExcerpt(SAVE, 'default/my-service');
    expect(lines.filter((l) => l.startsWith('-A KUBE-SERVICES'))).toHaveLength(5);
    expect(lines.filter((l) => !l.startsWith('-A KUBE-SERVICES')).map((l) => l.split(' ')[1])).toEqual(['KUBE-SVC-MINE', 'KUBE-SVC-MINE', 'KUBE-SEP-A', 'KUBE-SEP-B']);
  });

  it('cuts KUBE-SERVICES down to the service and the nodeports rule when too long', () => {
    const lines = rulesExcerpt(SAVE, 'default/my-service', 6);
    expect(lines.slice(0, 3)).toEqual([
      expect.stringContaining('"default/my-service cluster IP"'),
      '# ... 3 rules of other services in KUBE-SERVICES',
      expect.stringContaining('-j KUBE-NODEPORTS'),
    ]);
    expect(lines).toHaveLength(7);
  });
});

describe('formatLogRecords', () => {
  it('turns pino records into one readable line each', () => {
    expect(formatLogRecords([{ level: 30, time: 1, pid: 2, msg: 'synced proxy rules', ms: 12, mode: 'iptables' }])).toEqual([
      'INFO synced proxy rules ms=12 mode=iptables',
    ]);
  });
});
