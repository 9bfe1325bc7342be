// eBPF attachment drift (issue 15, item 10): the agent attaches its programs once, so a cgroup
// link or tc filter removed by hand used to stay removed. Every periodic (full) sync now checks
// the attachments and repairs them, and moves the tc programs off interfaces that no longer
// hold a node IP. Detached by hand with the operator's tools (bpftool, tc), recovered with real
// traffic.
//
// All scratch: a test bed of its own (namespaces svcp-h15drift-*), its cgroup, a pin root of
// this process's own; the final cleanup runs in a fresh network namespace (see ebpf.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { AgentProcess, cliEntry } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { eventually, tally } from './behaviour-fixture.js';

const PIN_ROOT = `/sys/fs/bpf/svcp-h15-drift-${process.pid}`;
const VIP = '10.96.31.1';
const NODE_PORT = 30091;
const SYNC_PERIOD_MS = 2000;
/** Recovery must come from a periodic sync; the margin is for a loaded machine, never a timing claim. */
const RECOVERY_WAIT_MS = 3 * SYNC_PERIOD_MS + 10_000;
/** A second interface of the node namespace that the Node object's address moves to in the last test. */
const OTHER_IF = 'h15veth0';
const OTHER_IP = '192.168.78.1';

function nodeDoc(ip: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: ip }] } };
}

/** The ids of the agent's links pinned under the scratch pin root, by program name. */
async function pinnedLinkId(program: string): Promise<number> {
  const { stdout } = await runChecked('bpftool', ['-j', 'link', 'show', 'pinned', `${PIN_ROOT}/links/${program}`]);
  return (JSON.parse(stdout) as { id: number }).id;
}

/** tc filters on one hook of an interface in the node namespace, as `tc` prints them. */
async function tcFilters(tb: Testbed, dev: string, dir: 'ingress' | 'egress'): Promise<string> {
  return (await tb.exec('node', 'tc', ['filter', 'show', 'dev', dev, dir])).stdout;
}

describe('eBPF attachment drift is repaired by the periodic sync', () => {
  let tb: Testbed;
  let agent: AgentProcess;
  const manifests = new ManifestDir();

  beforeAll(async () => {
    tb = await createTestbed({ name: 'h15drift', cgroup: true, pods: [{ name: 'a1', ip: '10.244.1.31' }] });
    await tb.startIdentityServers('a1');
    await tb.exec('node', 'ip', ['link', 'add', OTHER_IF, 'type', 'veth', 'peer', 'name', `${OTHER_IF}p`]);
    await tb.exec('node', 'ip', ['addr', 'add', `${OTHER_IP}/32`, 'dev', OTHER_IF]);
    for (const dev of [OTHER_IF, `${OTHER_IF}p`]) await tb.exec('node', 'ip', ['link', 'set', dev, 'up']);
    manifests.write('node.yaml', [nodeDoc(tb.nodeIP)]);
    manifests.write('web.yaml', [
      serviceDoc({ name: 'web', clusterIP: VIP, type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }] }),
      sliceDoc('web', [{ ip: '10.244.1.31', node: 'node-a' }]),
    ]);
    // No --node-ip and no --ebpf-interfaces: the node's IPs come from its Node object, the tc
    // interfaces from those IPs, so a Node edit moves them.
    agent = new AgentProcess(tb, [
      '--mode', 'ebpf', '--manifests', manifests.path, '--node-name', 'node-a', '--cluster-cidr', '10.244.0.0/16',
      '--min-sync-period', '200ms', '--sync-period', `${SYNC_PERIOD_MS}ms`, '--log-format', 'json',
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
      '--ebpf-cgroup-path', tb.cgroupPath as string, '--ebpf-pin-root', PIN_ROOT,
    ]);
    await agent.start();
    await eventually(async () => expect(tally(await tb.tcpRequests('node', VIP, 80, 3))).toEqual({ a1: 3 }), 10_000, 200);
    await eventually(async () => expect(tally(await tb.tcpRequests('client', tb.nodeIP, NODE_PORT, 3))).toEqual({ a1: 3 }), 10_000, 200);
  }, 90_000);

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await tb?.destroy();
    manifests.destroy();
    await runChecked('unshare', ['--net', '--', process.execPath, cliEntry(), 'cleanup', '--mode', 'ebpf', '--ebpf-pin-root', PIN_ROOT]);
    expect(existsSync(PIN_ROOT)).toBe(false);
  });

  /** Breaks something with the agent stopped (SIGSTOP), so no sync can repair it before we look. */
  async function whileFrozen(fn: () => Promise<void>): Promise<void> {
    const pid = agent.pid as number;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(cliEntry()); // the agent, not a wrapper
    process.kill(pid, 'SIGSTOP');
    try {
      await fn();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }

  it('a cgroup link detached with bpftool is attached again', async () => {
    const before = await pinnedLinkId('svcp_connect4');
    const repairs = agent.logs.length;
    await whileFrozen(async () => {
      await runChecked('bpftool', ['link', 'detach', 'id', String(before)]);
      // Without the connect hook the VIP is just an address nobody routes: the request fails.
      expect(tally(await tb.tcpRequests('node', VIP, 80, 1, { timeoutMs: 500 }))).not.toHaveProperty('a1');
    });
    await eventually(async () => expect(tally(await tb.tcpRequests('node', VIP, 80, 5))).toEqual({ a1: 5 }), RECOVERY_WAIT_MS, 200);
    const logged = agent.logs.slice(repairs).find((r) => r.msg === 'eBPF attachments had drifted; repaired');
    expect(logged, agent.tail(30)).toBeDefined();
    expect(JSON.stringify(logged?.['repairs'])).toMatch(/svcp_connect4: replaced/);
    expect(await pinnedLinkId('svcp_connect4')).not.toBe(before);
  }, 60_000);

  it('a tc filter deleted with tc is attached again', async () => {
    expect(await tcFilters(tb, tb.externalInterface, 'ingress')).toMatch(/bpf/);
    await whileFrozen(async () => {
      await tb.exec('node', 'tc', ['filter', 'del', 'dev', tb.externalInterface, 'ingress']);
      expect(await tcFilters(tb, tb.externalInterface, 'ingress')).not.toMatch(/bpf/);
      // Nothing in the node namespace listens on the NodePort: without tc the client is refused.
      expect(tally(await tb.tcpRequests('client', tb.nodeIP, NODE_PORT, 1, { timeoutMs: 500 }))).not.toHaveProperty('a1');
    });
    await eventually(async () => expect(tally(await tb.tcpRequests('client', tb.nodeIP, NODE_PORT, 5))).toEqual({ a1: 5 }), RECOVERY_WAIT_MS, 200);
    expect(await tcFilters(tb, tb.externalInterface, 'ingress')).toMatch(/svcp_tc_ingress/);
    expect(agent.logs.some((r) => r.msg === 'eBPF attachments had drifted; repaired' && JSON.stringify(r['repairs']).includes(`tc/${tb.externalInterface}/ingress: re-attached`))).toBe(true);
  }, 60_000);

  it('tc programs leave an interface that no longer holds a node IP', async () => {
    expect(await tcFilters(tb, OTHER_IF, 'ingress')).not.toMatch(/bpf/);
    manifests.write('node.yaml', [nodeDoc(OTHER_IP)]);
    await eventually(async () => {
      expect(await tcFilters(tb, OTHER_IF, 'ingress')).toMatch(/svcp_tc_ingress/);
      expect(await tcFilters(tb, OTHER_IF, 'egress')).toMatch(/svcp_tc_egress/);
      expect(await tcFilters(tb, tb.externalInterface, 'ingress')).not.toMatch(/bpf/);
      expect(await tcFilters(tb, tb.externalInterface, 'egress')).not.toMatch(/bpf/);
    }, RECOVERY_WAIT_MS, 200);
    // The socket programs stayed: cluster IPs still work from the node.
    expect(tally(await tb.tcpRequests('node', VIP, 80, 3))).toEqual({ a1: 3 });
  }, 60_000);
});
