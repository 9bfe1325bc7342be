// Inside the VM (a kernel with IPVS): the switches between IPVS mode and the iptables,
// nftables and eBPF modes, and `svcplane cleanup --mode ipvs` (issue 15, item 11). Each new
// mode's agent removes what the previous mode left, and cleanup removes every virtual server
// svcplane made, NodePorts on the node's IPs included (it used to leave those: it knows no node
// IPs). Read back with ipvsadm, ipset, ip, iptables-save, nft, bpftool and tc (test/lib/mode-traces.ts).
//
// One walk, one boot: ipvs -> iptables -> ipvs -> nftables -> ipvs -> ebpf -> ipvs covers the six
// ordered pairs with IPVS in seven agent starts. The eBPF mode runs on the guest's Debian 6.1
// kernel under TCG as on the host (BTF, the verifier, cgroup links and tc's clsact all work there;
// its agent starts as slowly as the others). The host's pairs are in test/integration/mode-pairs.test.ts.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, cliEntry } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { eventually } from '../lib/eventually.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { modeTraces, type TracedMode } from '../lib/mode-traces.js';

if (process.env.SVCPLANE_IN_VM !== '1') throw new Error('mode-pairs.vm-test.ts runs inside the VM: see test/vm/vm-suite.test.ts');

const PIN_ROOT = '/sys/fs/bpf/svcp-h15-pairs';
const VIP = '10.96.33.1';
const NODE_PORT = 30093;
const WALK: readonly TracedMode[] = ['ipvs', 'iptables', 'ipvs', 'nftables', 'ipvs', 'ebpf', 'ipvs'];
const MODES: readonly TracedMode[] = ['iptables', 'nftables', 'ebpf', 'ipvs'];

function answers(results: readonly ({ ok: true; identity: string } | { ok: false; error: string })[]): string[] {
  return results.map((r) => (r.ok ? r.identity : `error:${r.error}`));
}

describe('switching between IPVS mode and every other mode, and cleanup --mode ipvs, leave no trace', () => {
  let tb: Testbed;
  const manifests = new ManifestDir();
  const traces = () => modeTraces({ netns: tb.nodeNs, pinRoot: PIN_ROOT, cgroupPath: tb.cgroupPath as string, ebpfInterface: tb.externalInterface, ipvs: true });

  async function runMode(mode: TracedMode): Promise<void> {
    const agent = new AgentProcess(tb, [
      '--mode', mode, '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', tb.nodeIP, '--cluster-cidr', '10.244.0.0/16',
      '--min-sync-period', '200ms', '--sync-period', '60s', '--log-format', 'json',
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
      '--ebpf-cgroup-path', tb.cgroupPath as string, '--ebpf-interfaces', tb.externalInterface, '--ebpf-pin-root', PIN_ROOT,
    ]);
    try {
      await agent.start(240_000); // the first node start in a TCG guest on a busy host can take minutes
      expect(agent.logs.some((r) => r.msg === 'synced proxy rules' && r.mode === mode), agent.tail(20)).toBe(true);
      // The mode asked for, not a fallback (an eBPF agent the kernel refused would run iptables).
      expect(agent.logs.filter((r) => r.tried !== undefined), agent.tail(20)).toEqual([]);
      // Traffic in each mode is the host's mode-pairs test's and ipvs-agent.vm-test.ts's job: every
      // node process costs seconds under TCG. Here one request proves the new mode serves.
      await eventually(async () => expect(answers(await tb.tcpRequests('node', VIP, 80, 1))).toEqual(['a1']), 60_000, 1000);
    } finally {
      await agent.kill('SIGTERM');
    }
  }

  function expectOnly(found: Record<TracedMode, string[]>, mode: TracedMode | undefined): void {
    for (const m of MODES) {
      if (m === mode) expect(found[m], `${m} mode's rules`).not.toEqual([]);
      else expect(found[m], `left by the ${m} mode`).toEqual([]);
    }
    // Its ipsets are read back: their absence after a switch is a real check.
    if (mode === 'ipvs') expect(found.ipvs, "ipvs mode's sets").toContain('ipset KUBE-CLUSTER-IP');
  }

  beforeAll(async () => {
    tb = await createTestbed({ name: 'h15vmpairs', cgroup: true, pods: [{ name: 'a1', ip: '10.244.1.33' }] });
    await tb.startIdentityServers('a1');
    manifests.write('web.yaml', [
      serviceDoc({ name: 'web', clusterIP: VIP, type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }] }),
      sliceDoc('web', [{ ip: '10.244.1.33', node: 'node-a' }]),
    ]);
  });

  afterAll(async () => {
    // The eBPF dataplane outlives its agent: a walk stopped in eBPF mode leaves its pins.
    if (existsSync(PIN_ROOT)) await tb?.exec('node', process.execPath, [cliEntry(), 'cleanup', '--mode', 'ebpf', '--ebpf-pin-root', PIN_ROOT]);
    await tb?.destroy();
    manifests.destroy();
  });

  it(`starts in ${WALK[0]} mode`, async () => {
    await runMode(WALK[0] as TracedMode);
    expectOnly(await traces(), WALK[0]);
  }, 300_000);

  for (let i = 1; i < WALK.length; i++) {
    const [from, to] = [WALK[i - 1] as TracedMode, WALK[i] as TracedMode];
    it(`${from} -> ${to}: the ${to} agent removes what ${from} mode left`, async () => {
      expect((await traces())[from]).not.toEqual([]);
      await runMode(to);
      expectOnly(await traces(), to);
    }, 300_000);
  }

  it('svcplane cleanup --mode ipvs removes every virtual server, the NodePort on the node IP too, and kube-ipvs0', async () => {
    const before = await traces();
    expect(before.ipvs.some((l) => l.includes(`${tb.nodeIP}:${NODE_PORT}`)), before.ipvs.join('\n')).toBe(true);
    await tb.exec('node', process.execPath, [cliEntry(), 'cleanup', '--mode', 'ipvs']);
    expectOnly(await traces(), undefined);
  }, 120_000);
});
