// Inside the VM (a kernel with IPVS): the switches between IPVS mode and the iptables and
// nftables modes, and `svcplane cleanup --mode ipvs` (issue 15, item 11). Each new
// mode's agent removes what the previous mode left, and cleanup removes every virtual server
// svcplane made, NodePorts on the node's IPs included (it used to leave those: it knows no node
// IPs). Read back with ipvsadm, ip, iptables-save, nft, bpftool and tc (test/lib/mode-traces.ts).
//
// One walk, one boot: ipvs -> iptables -> ipvs -> nftables -> ipvs covers four ordered pairs with
// five agent starts (IPVS <-> eBPF is not among them). The host's pairs
// are in test/integration/mode-pairs.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, cliEntry } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { modeTraces, type TracedMode } from '../lib/mode-traces.js';

if (process.env.SVCPLANE_IN_VM !== '1') throw new Error('mode-pairs.vm-test.ts runs inside the VM: see test/vm/vm-suite.test.ts');

const PIN_ROOT = '/sys/fs/bpf/svcp-h15-pairs';
const VIP = '10.96.33.1';
const NODE_PORT = 30093;
const WALK: readonly TracedMode[] = ['ipvs', 'iptables', 'ipvs', 'nftables', 'ipvs'];
const MODES: readonly TracedMode[] = ['iptables', 'nftables', 'ebpf', 'ipvs'];

async function until(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

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
      // Traffic in each mode is the host's mode-pairs test's and ipvs-agent.vm-test.ts's job: every
      // node process costs seconds under TCG. Here one request proves the new mode serves.
      await until(async () => expect(answers(await tb.tcpRequests('node', VIP, 80, 1))).toEqual(['a1']), 60_000);
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
    tb = await createTestbed({ name: 'h15vmpairs', cgroup: true, pods: [{ name: 'a1', ip: '10.244.1.33' }] });
    await tb.startIdentityServers('a1');
    manifests.write('web.yaml', [
      serviceDoc({ name: 'web', clusterIP: VIP, type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }] }),
      sliceDoc('web', [{ ip: '10.244.1.33', node: 'node-a' }]),
    ]);
  });

  afterAll(async () => {
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
