// The real agent in IPVS mode on a real kernel (inside the VM): manifests in, IPVS and its
// iptables companion rules out, real packets through ClusterIP and NodePort.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { AgentProcess } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';

if (process.env.SVCPLANE_IN_VM !== '1') throw new Error('ipvs-agent.vm-test.ts runs inside the VM: see test/vm/vm-suite.test.ts');

function tally(results: readonly ({ ok: true; identity: string } | { ok: false; error: string })[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.ok ? r.identity : `error:${r.error}`] = (out[r.ok ? r.identity : `error:${r.error}`] ?? 0) + 1;
  return out;
}

describe('svcplane run --mode ipvs on a kernel with IPVS', () => {
  let tb: Testbed;
  let agent: AgentProcess;
  const manifests = new ManifestDir();

  beforeAll(async () => {
    tb = await createTestbed({ name: 'ipvs-agent', pods: [{ name: 'a1', ip: '10.244.1.11' }, { name: 'b1', ip: '10.244.2.11', node: 'remote' }] });
    await tb.startIdentityServers('a1');
    await tb.startIdentityServers('b1');
    manifests.write('web.yaml', [
      serviceDoc({ name: 'web', clusterIP: '10.96.50.1', type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30090 }] }),
      sliceDoc('web', [{ ip: '10.244.1.11', node: 'node-a' }, { ip: '10.244.2.11', node: 'node-b' }]),
    ]);
    manifests.write('empty.yaml', [serviceDoc({ name: 'empty', clusterIP: '10.96.50.2' })]);
    agent = new AgentProcess(tb, ['--mode', 'ipvs', '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', tb.nodeIP, '--cluster-cidr', '10.244.0.0/16', '--min-sync-period', '200ms', '--sync-period', '5s', '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249']);
    // Node starting under TCG on a loaded host printed nothing in 60 s (load average 13-19): the wait is for the start, not a timing claim.
    await agent.start(240_000);
  });

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await tb?.destroy();
    manifests.destroy();
  });

  it('runs IPVS mode (no fallback) and programs what the manifests say', async () => {
    expect(agent.logs.some((r) => r.msg === 'synced proxy rules' && r.mode === 'ipvs')).toBe(true);
    expect(agent.logs.some((r) => r.tried === 'ipvs')).toBe(false);
    const table = (await runChecked('ipvsadm', ['-Ln'], { netns: tb.nodeNs })).stdout;
    expect(table).toMatch(/TCP {2}10\.96\.50\.1:80 rr/);
    expect(table).toMatch(/TCP {2}192\.168\.77\.1:30090 rr/);
    expect(table).toMatch(/-> 10\.244\.2\.11:8080 +Masq +1/);
    // Cluster IPs are masqueraded through KUBE-CLUSTER-IP (only those with endpoints), hairpin through KUBE-LOOP-BACK.
    const nat = (await runChecked('iptables-save', ['-t', 'nat'], { netns: tb.nodeNs })).stdout;
    expect(nat).toMatch(/-A KUBE-SERVICES .*--match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ/);
    expect(nat).toMatch(/-A KUBE-POSTROUTING .*--match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE/);
    const clusterIPs = (await runChecked('ipset', ['list', 'KUBE-CLUSTER-IP'], { netns: tb.nodeNs })).stdout;
    expect(clusterIPs).toMatch(/^10\.96\.50\.1,tcp:80$/m);
    expect(clusterIPs).not.toMatch(/^10\.96\.50\.2,/m);
    expect((await runChecked('ipset', ['list', 'KUBE-LOOP-BACK'], { netns: tb.nodeNs })).stdout).toMatch(/^10\.244\.2\.11,tcp:8080,10\.244\.2\.11$/m);
  });

  it('serves a ClusterIP and a NodePort from outside, and rejects a service without endpoints', async () => {
    expect(Object.keys(tally(await tb.tcpRequests('client', '10.96.50.1', 80, 10, { concurrency: 1 }))).sort()).toEqual(['a1', 'b1']);
    expect(Object.keys(tally(await tb.tcpRequests('client', tb.nodeIP, 30090, 10, { concurrency: 1 }))).sort()).toEqual(['a1', 'b1']);
    expect(tally(await tb.tcpRequests('client', '10.96.50.2', 80, 2, { timeoutMs: 3000 }))).toEqual({ 'error:refused': 2 });
  });

  it('gives a service the scheduler its annotation asks for: sh keeps a client on one real server', async () => {
    manifests.write('sticky.yaml', [
      serviceDoc({ name: 'sticky', clusterIP: '10.96.50.3', annotations: { 'svcplane.io/ipvs-scheduler': 'sh' } }),
      sliceDoc('sticky', [{ ip: '10.244.1.11', node: 'node-a' }, { ip: '10.244.2.11', node: 'node-b' }]),
    ]);
    await agent.waitFor(() => agent.logs.some((r) => r.msg === 'synced proxy rules' && r.kind === 'partial'), 20_000, 'a partial sync');
    for (let i = 0; i < 40 && !/TCP {2}10\.96\.50\.3:80 sh/.test((await runChecked('ipvsadm', ['-Ln'], { netns: tb.nodeNs })).stdout); i++) await new Promise((r) => setTimeout(r, 250));
    expect((await runChecked('ipvsadm', ['-Ln'], { netns: tb.nodeNs })).stdout).toMatch(/TCP {2}10\.96\.50\.3:80 sh/);
    expect(Object.keys(tally(await tb.tcpRequests('client', '10.96.50.3', 80, 8, { concurrency: 1 })))).toHaveLength(1);
  });

  it('follows an endpoint change', async () => {
    manifests.write('web.yaml', [
      serviceDoc({ name: 'web', clusterIP: '10.96.50.1', type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30090 }] }),
      sliceDoc('web', [{ ip: '10.244.2.11', node: 'node-b' }]),
    ]);
    for (let i = 0; i < 40; i++) {
      const t = tally(await tb.tcpRequests('client', '10.96.50.1', 80, 6, { concurrency: 1 }));
      if (t.b1 === 6) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`traffic still reaches the removed endpoint:\n${agent.tail()}`);
  });

  it('idle periodic syncs only check (none full); a real server deleted by hand is found by the check and put back', async () => {
    const synced = (r: (typeof agent.logs)[number]): boolean => r.msg === 'synced proxy rules' && r['reason'] === 'periodic';
    const from = agent.logs.length;
    await agent.waitFor(() => agent.logs.slice(from).filter(synced).length >= 2, 120_000, 'two periodic syncs');
    expect(agent.logs.slice(from).filter(synced).map((r) => r['kind']), agent.tail(20)).toEqual(['partial', 'partial']);
    const at = agent.logs.length;
    await runChecked('ipvsadm', ['-d', '-t', '10.96.50.1:80', '-r', '10.244.2.11:8080'], { netns: tb.nodeNs });
    await agent.waitFor(() => agent.logs.slice(at).some((r) => synced(r) && r['kind'] === 'full'), 120_000, 'the full sync the drift triggers');
    const report = agent.logs.slice(at).find((r) => r.msg === 'kernel state drifted from the last sync; rewriting it');
    expect(JSON.stringify(report?.['drift'])).toContain('real server TCP/10.96.50.1:80->10.244.2.11:8080 is missing');
    expect((await runChecked('ipvsadm', ['-Ln'], { netns: tb.nodeNs })).stdout).toMatch(/-> 10\.244\.2\.11:8080 +Masq +1/);
    expect(tally(await tb.tcpRequests('client', '10.96.50.1', 80, 3, { concurrency: 1 }))).toEqual({ b1: 3 });
  });
});
