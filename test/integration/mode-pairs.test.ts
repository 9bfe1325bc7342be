// Every switch between the iptables, nftables and eBPF modes on a live node, and every mode's
// `svcplane cleanup` (issue 15, item 11): the agent started in the new mode removes what the
// previous mode left, and cleanup removes everything its mode made. Read back with
// iptables-save, nft, bpftool and tc (test/lib/mode-traces.ts); traffic checked in each mode.
// IPVS pairs run in the VM (test/vm/mode-pairs.vm-test.ts).
//
// One walk covers the six ordered pairs with seven agent starts:
// iptables -> nftables -> ebpf -> iptables -> ebpf -> nftables -> iptables.
// Scratch: a test bed of its own (svcp-h15pairs-*), its cgroup, a pin root of this process's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { AgentProcess, cliEntry } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { modeTraces, type TracedMode } from '../lib/mode-traces.js';
import { eventually, tally } from './behaviour-fixture.js';

const PIN_ROOT = `/sys/fs/bpf/svcp-h15-pairs-${process.pid}`;
const VIP = '10.96.32.1';
const NODE_PORT = 30092;
const WALK: readonly TracedMode[] = ['iptables', 'nftables', 'ebpf', 'iptables', 'ebpf', 'nftables', 'iptables'];
const MODES: readonly TracedMode[] = ['iptables', 'nftables', 'ebpf'];

describe('switching between every pair of modes, and cleanup in every mode, leave no trace', () => {
  let tb: Testbed;
  const manifests = new ManifestDir();

  const traces = () => modeTraces({ netns: tb.nodeNs, pinRoot: PIN_ROOT, cgroupPath: tb.cgroupPath as string, ebpfInterface: tb.externalInterface, ipvs: false });

  /** Runs the agent in `mode` until it serves both services, then SIGTERM (its rules stay, as on an upgrade). */
  async function runMode(mode: TracedMode): Promise<void> {
    const agent = new AgentProcess(tb, [
      '--mode', mode, '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', tb.nodeIP, '--cluster-cidr', '10.244.0.0/16',
      '--min-sync-period', '200ms', '--sync-period', '30s', '--log-format', 'json',
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
      '--ebpf-cgroup-path', tb.cgroupPath as string, '--ebpf-interfaces', tb.externalInterface, '--ebpf-pin-root', PIN_ROOT,
    ]);
    try {
      await agent.start(45_000);
      expect(agent.logs.some((r) => r.msg === 'synced proxy rules' && r.mode === mode), agent.tail(20)).toBe(true);
      await eventually(async () => expect(tally(await tb.tcpRequests('node', VIP, 80, 3))).toEqual({ a1: 3 }), 10_000, 200);
      await eventually(async () => expect(tally(await tb.tcpRequests('client', tb.nodeIP, NODE_PORT, 3))).toEqual({ a1: 3 }), 10_000, 200);
    } finally {
      await agent.kill('SIGTERM');
    }
  }

  function expectOnly(found: Record<TracedMode, string[]>, mode: TracedMode | undefined): void {
    for (const m of MODES) {
      if (m === mode) expect(found[m], `${m} mode's rules`).not.toEqual([]);
      else expect(found[m], `left by the ${m} mode`).toEqual([]);
    }
  }

  beforeAll(async () => {
    tb = await createTestbed({ name: 'h15pairs', cgroup: true, pods: [{ name: 'a1', ip: '10.244.1.32' }] });
    await tb.startIdentityServers('a1');
    manifests.write('web.yaml', [
      serviceDoc({ name: 'web', clusterIP: VIP, type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }] }),
      sliceDoc('web', [{ ip: '10.244.1.32', node: 'node-a' }]),
    ]);
  }, 60_000);

  afterAll(async () => {
    await tb?.destroy();
    manifests.destroy();
    // Whatever a failed step left under the scratch pin root, from a namespace of its own.
    await runChecked('unshare', ['--net', '--', process.execPath, cliEntry(), 'cleanup', '--mode', 'ebpf', '--ebpf-pin-root', PIN_ROOT]);
  });

  it(`starts in ${WALK[0]} mode`, async () => {
    await runMode(WALK[0] as TracedMode);
    expectOnly(await traces(), WALK[0]);
  }, 90_000);

  for (let i = 1; i < WALK.length; i++) {
    const [from, to] = [WALK[i - 1] as TracedMode, WALK[i] as TracedMode];
    it(`${from} -> ${to}: the ${to} agent removes what ${from} mode left`, async () => {
      expect((await traces())[from]).not.toEqual([]);
      await runMode(to);
      expectOnly(await traces(), to);
    }, 90_000);
  }

  for (const mode of MODES) {
    it(`svcplane cleanup --mode ${mode} removes everything the ${mode} mode made`, async () => {
      if (!((await traces())[mode].length > 0)) await runMode(mode); // the walk ends in iptables mode
      expectOnly(await traces(), mode);
      await tb.exec('node', process.execPath, [cliEntry(), 'cleanup', '--mode', mode, '--ebpf-pin-root', PIN_ROOT]);
      expectOnly(await traces(), undefined);
    }, 90_000);
  }
});
