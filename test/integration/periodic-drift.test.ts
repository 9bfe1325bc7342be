// Idle cost (issue 20, item 1): a periodic sync reads the kernel back and rewrites nothing when
// nothing drifted; one rule, map element or map entry deleted by hand is found by that check and
// repaired by the full sync it triggers, within a sync period. Observed in the kernel: iptables
// rule counters and nft rule handles survive idle periodic syncs (a rewrite resets or renews
// them), traffic breaks with the deletion and comes back.
//
// All scratch: test beds of their own (namespaces svcp-h20i*-*), a pin root of this process's
// own for eBPF, cleaned up in a fresh network namespace as ebpf.test.ts does.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { AgentProcess, cliEntry, type LogRecord } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { eventually, tally } from './behaviour-fixture.js';

const VIP = '10.96.32.1';
const SYNC_PERIOD_MS = 1000;
/** Repair must come from a periodic sync; the margin is for a loaded machine, never a timing claim. */
const RECOVERY_WAIT_MS = 3 * SYNC_PERIOD_MS + 10_000;
const PIN_ROOT = `/sys/fs/bpf/svcp-h20-idle-${process.pid}`;

interface ModeCase {
  readonly mode: 'iptables' | 'nftables' | 'ebpf';
  readonly name: string;
  readonly extraArgs: readonly string[];
  /** What a full rewrite would change in the kernel and an idle sync must not (undefined: no such handle in this mode). */
  fingerprint?(tb: Testbed): Promise<string>;
  /** Deletes one rule / element / entry by hand; returns what the drift report should name. */
  breakOne(tb: Testbed): Promise<RegExp>;
}

const CASES: readonly ModeCase[] = [
  {
    mode: 'iptables', name: 'h20ii', extraArgs: [],
    // Packet counters of the rules of ours: a full sync redeclares every chain (counters back to 0).
    async fingerprint(tb) {
      const { stdout } = await tb.exec('node', 'iptables-save', ['-c', '-t', 'nat']);
      return stdout.split('\n').filter((l) => / -A KUBE-(SVC|SEP)-/.test(l)).sort().join('\n');
    },
    async breakOne(tb) {
      // The DNAT rule of the one endpoint's chain: the service stops answering.
      const save = (await tb.exec('node', 'iptables-save', ['-t', 'nat'])).stdout;
      const dnat = save.split('\n').find((l) => l.startsWith('-A KUBE-SEP-') && l.includes('-j DNAT')) as string;
      await tb.exec('node', 'iptables', ['-w', '-t', 'nat', '-D', ...(dnat.slice(3).match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, ''))]);
      return /service ports whose chains changed: default\/web:http/;
    },
  },
  {
    mode: 'nftables', name: 'h20in', extraArgs: [],
    // Rule handles: a full transaction flushes and refills every chain (new handles).
    async fingerprint(tb) {
      return (await tb.exec('node', 'nft', ['-a', 'list', 'table', 'ip', 'svcplane'])).stdout;
    },
    async breakOne(tb) {
      await tb.exec('node', 'nft', ['delete', 'element', 'ip', 'svcplane', 'service-ips', `{ ${VIP} . tcp . 80 }`]);
      return /service-ips \(0 elements, 1 committed\)/;
    },
  },
  {
    mode: 'ebpf', name: 'h20ie', extraArgs: ['--ebpf-pin-root', PIN_ROOT],
    async breakOne() {
      const { stdout } = await runChecked('bpftool', ['-j', 'map', 'dump', 'pinned', `${PIN_ROOT}/svcp_lb4_be`]);
      const [entry] = JSON.parse(stdout) as Array<{ key: string[] }>;
      await runChecked('bpftool', ['map', 'delete', 'pinned', `${PIN_ROOT}/svcp_lb4_be`, 'key', 'hex', ...(entry?.key ?? []).map((b) => b.replace(/^0x/, ''))]);
      return /svcp_lb4_be: 0 entries, 1 committed/;
    },
  },
];

const synced = (r: LogRecord): boolean => r.msg === 'synced proxy rules';

describe.each(CASES)('$mode: periodic syncs rewrite only on drift', (c) => {
  let tb: Testbed;
  let agent: AgentProcess;
  const manifests = new ManifestDir();

  beforeAll(async () => {
    tb = await createTestbed({ name: c.name, cgroup: c.mode === 'ebpf', pods: [{ name: 'a1', ip: '10.244.1.32' }] });
    await tb.startIdentityServers('a1');
    manifests.write('web.yaml', [serviceDoc({ name: 'web', clusterIP: VIP, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }), sliceDoc('web', [{ ip: '10.244.1.32', node: 'node-a' }], [{ name: 'http', port: 8080 }])]);
    agent = new AgentProcess(tb, [
      '--mode', c.mode, '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', tb.nodeIP, '--cluster-cidr', '10.244.0.0/16',
      '--min-sync-period', '200ms', '--sync-period', `${SYNC_PERIOD_MS}ms`, '--log-format', 'json',
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
      ...(c.mode === 'ebpf' ? ['--ebpf-cgroup-path', tb.cgroupPath as string] : []), ...c.extraArgs,
    ]);
    await agent.start(60_000);
    await eventually(async () => expect(tally(await tb.tcpRequests('node', VIP, 80, 3))).toEqual({ a1: 3 }), 10_000, 200);
  }, 90_000);

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await tb?.destroy();
    manifests.destroy();
    if (c.mode === 'ebpf') {
      await runChecked('unshare', ['--net', '--', process.execPath, cliEntry(), 'cleanup', '--mode', 'ebpf', '--ebpf-pin-root', PIN_ROOT]);
      expect(existsSync(PIN_ROOT)).toBe(false);
    }
  });

  it('idle periodic syncs only check: no full sync, and the kernel objects are the same ones', async () => {
    await tb.tcpRequests('node', VIP, 80, 5); // counters above zero
    const before = await c.fingerprint?.(tb);
    const from = agent.logs.length;
    const periodic = (): LogRecord[] => agent.logs.slice(from).filter((r) => synced(r) && r['reason'] === 'periodic');
    await agent.waitFor(() => periodic().length >= 3, RECOVERY_WAIT_MS, 'three periodic syncs');
    expect(periodic().map((r) => r['kind'])).toEqual(['partial', 'partial', 'partial']);
    expect(agent.logs.slice(from).filter((r) => synced(r) && r['kind'] === 'full'), agent.tail(20)).toEqual([]);
    if (before !== undefined) expect(await c.fingerprint?.(tb)).toBe(before);
    const metrics = (await tb.exec('node', process.execPath, ['--input-type=module', '-e', "console.log(await (await fetch('http://127.0.0.1:10249/metrics')).text())"])).stdout;
    expect(metrics).toMatch(/svcplane_drift_checks_total\{result="clean"\} [3-9]/);
  }, 60_000);

  it('one thing deleted by hand is found by the check and repaired by a full sync', async () => {
    const from = agent.logs.length;
    const pid = agent.pid as number;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(cliEntry());
    let named: RegExp;
    process.kill(pid, 'SIGSTOP'); // nothing repairs it before we have seen it broken
    try {
      named = await c.breakOne(tb);
      expect(tally(await tb.tcpRequests('node', VIP, 80, 1, { timeoutMs: 500 }))).not.toHaveProperty('a1');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(async () => expect(tally(await tb.tcpRequests('node', VIP, 80, 3))).toEqual({ a1: 3 }), RECOVERY_WAIT_MS, 200);
    const report = agent.logs.slice(from).find((r) => r.msg === 'kernel state drifted from the last sync; rewriting it');
    expect(report, agent.tail(20)).toBeDefined();
    expect(JSON.stringify(report?.['drift'])).toMatch(named);
    // The rewrite's log line follows its kernel writes: wait for it rather than race it.
    await agent.waitFor(() => agent.logs.slice(from).some((r) => synced(r) && r['kind'] === 'full' && r['reason'] === 'periodic'), RECOVERY_WAIT_MS, 'the full sync the drift triggered');
  }, 60_000);
});
