// Inside the VM (a kernel with IPVS): the IPVS paths of the operator tools (issue 21) against
// what the agent programs. `plan --diff --mode ipvs` finds nothing to change; `trace --live`
// agrees with the trace of the plan and with where real requests go (ClusterIP from a pod,
// NodePort from outside, no endpoints, externalTrafficPolicy Local); the `ipvsadm -R` text `plan --mode ipvs` prints loads
// into a clean namespace and reads back, as the agent's own virtual servers do, with
// `ipvsadm -Sn`; then, the agent stopped, a hand-made drift (a real server deleted with
// `ipvsadm -d`, a KUBE-CLUSTER-IP member deleted with `ipset del`) shows in `trace --live`, in
// `plan --diff` and in real traffic. The host runs the other modes' cases: test/integration/trace.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked, runCommand } from '../../src/kernel/exec.js';
import { AgentProcess } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import type { IdentityServer } from '../../src/testbed/traffic.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { traceChecks, tracedEndpoints } from '../lib/trace-checks.js';

if (process.env.SVCPLANE_IN_VM !== '1') throw new Error('ipvs-tools.vm-test.ts runs inside the VM: see test/vm/vm-suite.test.ts');

const PODS = { a1: '10.244.1.41', a2: '10.244.1.42', b1: '10.244.2.41' } as const;
const WEB = '10.96.41.10';
const EMPTY = '10.96.41.11';
const NODE_PORT = 30041;
/** externalTrafficPolicy: Local, with a1 (local) and b1 (remote) as endpoints; and with b1 only. */
const LOCAL = '10.96.41.12';
const LOCAL_PORT = 30042;
const REMOTE_ONLY = '10.96.41.13';
const REMOTE_ONLY_PORT = 30043;
/** A namespace of this test's own, where the plan's ipvsadm text is loaded into an empty IPVS table. */
const RESTORE_NS = 'svcp-hvmtools-restore';

/** `ipvsadm -Sn` lines, sorted (the kernel lists virtual servers in hash order). */
async function ipvsSave(netns: string): Promise<string[]> {
  return (await runChecked('ipvsadm', ['-S', '-n'], { netns })).stdout.split('\n').filter((l) => l.trim() !== '').sort();
}

describe('svcplane plan and trace against IPVS on a real kernel', () => {
  let tb: Testbed;
  let agent: AgentProcess | undefined;
  const servers = new Map<string, IdentityServer>();
  const manifests = new ManifestDir();
  const flags = (): string[] => ['--mode', 'ipvs', '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', tb.nodeIP, '--cluster-cidr', '10.244.0.0/16', '--iptables-backend', 'nft'];

  const { cli, trace, traced, requests } = traceChecks({
    exec: (file, args) => tb.exec('node', file, args),
    flags,
    tcpRequests: (ns, ip, port, count) => tb.tcpRequests(ns, ip, port, count, { timeoutMs: 20_000, concurrency: 1 }),
    pods: PODS,
    podPort: 8080,
    servers,
  });

  beforeAll(async () => {
    tb = await createTestbed({ name: 'hvmtools', pods: (Object.keys(PODS) as (keyof typeof PODS)[]).map((name) => ({ name, ip: PODS[name], node: name.startsWith('a') ? 'local' : 'remote' })) });
    for (const pod of Object.keys(PODS)) servers.set(pod, await tb.startIdentityServers(pod, { tcp: [8080], udp: [] }));
    manifests.write('web.yaml', [
      serviceDoc({ name: 'web', clusterIP: WEB, type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }] }),
      sliceDoc('web', [{ ip: PODS.a1, node: 'node-a' }, { ip: PODS.b1, node: 'node-b' }], [{ port: 8080 }]),
    ]);
    manifests.write('empty.yaml', [serviceDoc({ name: 'empty', clusterIP: EMPTY, ports: [{ port: 80, targetPort: 8080 }] })]);
    manifests.write('local.yaml', [
      serviceDoc({ name: 'local', clusterIP: LOCAL, type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080, nodePort: LOCAL_PORT }] }),
      sliceDoc('local', [{ ip: PODS.a1, node: 'node-a' }, { ip: PODS.b1, node: 'node-b' }], [{ port: 8080 }]),
      serviceDoc({ name: 'remote-only', clusterIP: REMOTE_ONLY, type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080, nodePort: REMOTE_ONLY_PORT }] }),
      sliceDoc('remote-only', [{ ip: PODS.b1, node: 'node-b' }], [{ port: 8080 }]),
    ]);
    agent = new AgentProcess(tb, [...flags(), '--min-sync-period', '500ms', '--sync-period', '60s', '--log-format', 'json', '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249']);
    await agent.start(240_000); // a node start in a TCG guest on a loaded host can take minutes
  }, 300_000);

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await tb?.destroy();
    manifests.destroy();
    await runCommand('ip', ['netns', 'delete', RESTORE_NS]);
  });

  it('the agent runs IPVS mode, and plan --diff finds nothing to change in what it programmed', async () => {
    expect(agent?.logs.some((r) => r.msg === 'synced proxy rules' && r.mode === 'ipvs'), agent?.tail()).toBe(true);
    const diff = await cli(['plan', '--diff']);
    // Three sections (IPv4 only): virtual servers, the ipsets, the companion rules.
    expect(diff.match(/^# .*: no changes$/gm)?.length, diff).toBe(3);
    expect(diff.split('\n').filter((l) => /^[-+~]/.test(l)), diff).toEqual([]);
  });

  it("plan's ipvsadm text loads with ipvsadm -R into a clean namespace, and reads back with ipvsadm -Sn as planned and as the agent programmed", async () => {
    const text = await cli(['plan']);
    const section = text.split('\n');
    const start = section.findIndex((l) => l.startsWith('# ipvsadm -R input'));
    const end = section.findIndex((l, i) => i > start && l.startsWith('#'));
    expect(start).toBeGreaterThanOrEqual(0);
    const restore = section.slice(start + 1, end).filter((l) => l !== '');
    // web's ClusterIP and NodePort with two real servers each; empty's ClusterIP with none; local's
    // ClusterIP with two and NodePort with its local one; remote-only's ClusterIP with one and
    // NodePort with none.
    expect(restore.filter((l) => l.startsWith('-A '))).toHaveLength(7);
    expect(restore.filter((l) => l.startsWith('-a '))).toHaveLength(8);
    await runChecked('ip', ['netns', 'add', RESTORE_NS]);
    // IPVS takes a real server only if the namespace's local routing table calls its address
    // unicast (or local); a new namespace has no IPv4 local table until lo is up, so every
    // `-a` failed with EINVAL ("address not unicast"). A route to the servers does not help.
    await runChecked('ip', ['-n', RESTORE_NS, 'link', 'set', 'lo', 'up']);
    expect(await ipvsSave(RESTORE_NS)).toEqual([]);
    await runChecked('ipvsadm', ['-R'], { netns: RESTORE_NS, input: `${restore.join('\n')}\n` });
    const loaded = await ipvsSave(RESTORE_NS);
    expect(loaded).toEqual([...restore].sort());
    expect(await ipvsSave(tb.nodeNs)).toEqual(loaded);
  });

  it('ClusterIP from a pod: trace --live agrees with the plan, and real requests reach exactly the traced endpoints', async () => {
    const r = await traced('pod', PODS.a2, `${WEB}:80/TCP`);
    expect(tracedEndpoints(r)).toEqual([`${PODS.a1}:8080`, `${PODS.b1}:8080`]);
    expect(r.outcomes.map((o) => o.probability)).toEqual([expect.closeTo(0.5, 6), expect.closeTo(0.5, 6)]);
    expect(await requests('a2', PODS.a2, WEB, 80, 10, r)).toEqual(tracedEndpoints(r));
  });

  it('NodePort from outside: trace --live agrees with the plan, and real requests reach exactly the traced endpoints', async () => {
    const r = await traced('outside', tb.clientIP, `${tb.nodeIP}:${NODE_PORT}/TCP`);
    expect(tracedEndpoints(r)).toEqual([`${PODS.a1}:8080`, `${PODS.b1}:8080`]);
    expect(r.outcomes.every((o) => o.masqueraded)).toBe(true);
    expect(await requests('client', tb.clientIP, tb.nodeIP, NODE_PORT, 10, r)).toEqual(tracedEndpoints(r));
  });

  it('no endpoints: REJECT in both traces, and a real connection is refused', async () => {
    const r = await traced('pod', PODS.a2, `${EMPTY}:80/TCP`);
    expect(r.outcomes).toEqual([expect.objectContaining({ verdict: 'REJECT', probability: 1 })]);
    expect(r.reason).toMatch(/^no endpoints/);
    expect((await tb.tcpRequests('a2', EMPTY, 80, 2, { timeoutMs: 20_000 })).map((x) => (x.ok ? x.identity : x.error))).toEqual(['refused', 'refused']);
  });

  it('externalTrafficPolicy Local from outside: only the local endpoint, the client address kept; none local: not forwarded, as traced', async () => {
    const r = await traced('outside', tb.clientIP, `${tb.nodeIP}:${LOCAL_PORT}/TCP`);
    expect(tracedEndpoints(r)).toEqual([`${PODS.a1}:8080`]);
    expect(r.outcomes.every((o) => !o.masqueraded)).toBe(true);
    expect(await requests('client', tb.clientIP, tb.nodeIP, LOCAL_PORT, 6, r)).toEqual(tracedEndpoints(r));

    const none = await traced('outside', tb.clientIP, `${tb.nodeIP}:${REMOTE_ONLY_PORT}/TCP`);
    expect(tracedEndpoints(none)).toEqual([]);
    expect(none.outcomes).toHaveLength(1);
    // What the trace says happens is what a real connection meets: dropped (no answer), or
    // rejected / left to the node's stack, where nothing listens (refused). Never b1.
    const verdict = none.outcomes[0]?.verdict;
    const expected = verdict === 'DROP' ? 'timeout' : 'refused';
    const got = (await tb.tcpRequests('client', tb.nodeIP, REMOTE_ONLY_PORT, 2, { timeoutMs: 3000 })).map((x) => (x.ok ? x.identity : x.error));
    expect(got, `traced ${verdict} (${none.reason ?? ''})`).toEqual([expected, expected]);
  }, 600_000); // four CLI runs in a TCG guest: past the 300 s default on a loaded host (1 vCPU at ~50%)

  it('a hand-made drift (ipvsadm -d of a real server, an ipset member deleted) shows in trace --live, in plan --diff and in real traffic', async () => {
    // Stop the agent first: it would repair the drift; what it programmed stays in the kernel.
    await agent?.kill('SIGKILL');
    agent = undefined;
    await tb.exec('node', 'ipvsadm', ['-d', '-t', `${WEB}:80`, '-r', `${PODS.b1}:8080`]);
    await tb.exec('node', 'ipset', ['del', 'KUBE-CLUSTER-IP', `${WEB},tcp:80`]);

    // From a pod: b1 is gone from the live trace, and from real traffic.
    const fromPod = await trace('pod', PODS.a2, `${WEB}:80/TCP`, true);
    expect(tracedEndpoints(fromPod)).toEqual([`${PODS.a1}:8080`]);
    expect(fromPod.outcomes[0]?.probability).toBeCloseTo(1, 6);
    expect(fromPod.disagreements?.join('\n')).toContain(`plan: DNAT ${PODS.b1}:8080`);
    expect(await requests('a2', PODS.a2, WEB, 80, 6, fromPod)).toEqual([`${PODS.a1}:8080`]);

    // From outside the cluster: no KUBE-CLUSTER-IP member, no masquerade; a1 sees the client's own address.
    const planned = await trace('outside', tb.clientIP, `${WEB}:80/TCP`, false);
    expect(planned.outcomes.every((o) => o.masqueraded)).toBe(true);
    const fromOutside = await trace('outside', tb.clientIP, `${WEB}:80/TCP`, true);
    expect(fromOutside.outcomes).toEqual([expect.objectContaining({ verdict: 'DNAT', destination: `${PODS.a1}:8080`, masqueraded: false })]);
    expect(fromOutside.disagreements?.length).toBeGreaterThan(0);
    expect(await requests('client', tb.clientIP, WEB, 80, 3, fromOutside)).toEqual([`${PODS.a1}:8080`]);

    const diff = await cli(['plan', '--diff']);
    expect(diff).toMatch(/^# ipvs \(virtual servers.*: 1 change$/m);
    expect(diff).toContain(`+ new-dest TCP ${WEB}:80 -> ${PODS.b1}:8080 weight 1`);
    expect(diff).toMatch(/^# ipsets \(IPv4\).*: 1 change$/m);
    expect(diff).toContain(`+ KUBE-CLUSTER-IP ${WEB},tcp:80`);
    // Only those two: the companion rules did not change.
    expect(diff.split('\n').filter((l) => /^[-+~]/.test(l)), diff).toHaveLength(2);
  });
});
