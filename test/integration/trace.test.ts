// `svcplane trace` and `plan --diff` against real packets in the test bed, per mode: the
// agent programs the node namespace; the trace of the plan and of the live state must
// agree with each other and with where real requests go (ClusterIP from a pod, NodePort
// from outside, no endpoints, externalTrafficPolicy Local without a local endpoint);
// `plan --diff` must find nothing to change; then, the agent stopped (its rules stay), a
// hand-made drift must show in `trace --live` and in `plan --diff`.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { AgentProcess, cliEntry } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import type { IdentityServer } from '../../src/testbed/traffic.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { traceChecks, tracedEndpoints } from '../lib/trace-checks.js';

const PODS = { a1: '10.244.1.11', a2: '10.244.1.12', b1: '10.244.2.11' } as const;
const WEB = '10.96.50.10';
const EMPTY = '10.96.50.11';
const LOCAL = '10.96.50.12';

// The eBPF case pins under a scratch root of this test process, never /sys/fs/bpf/svcplane.
const PIN_ROOT = `/sys/fs/bpf/svcp-tr21-${process.pid}`;

/** Deletes the nat rule of `chain` that matches the web service's cluster IP, as `iptables -D` with its own words. */
async function deleteWebNatRule(tb: Testbed, chain: string): Promise<void> {
  const save = (await tb.exec('node', 'iptables-nft-save', ['-t', 'nat'])).stdout;
  const rule = save.split('\n').find((l) => l.startsWith(`-A ${chain} `) && l.includes(`-d ${WEB}/32`));
  if (rule === undefined) throw new Error(`no ${chain} rule for the web service`);
  await tb.exec('node', 'iptables-nft', ['-t', 'nat', '-D', ...rule.slice(3).match(/"[^"]*"|\S+/g)!.map((w) => w.replace(/^"|"$/g, ''))]);
}

interface ModeCase {
  readonly mode: 'iptables' | 'nftables' | 'userspace' | 'ebpf';
  /** Flags the agent and the CLI need besides the shared ones. */
  flags?(tb: Testbed): string[];
  /** Removes the web service's cluster IP from the kernel's rules, as an operator might by mistake. */
  drift(tb: Testbed): Promise<void>;
}

const CASES: readonly ModeCase[] = [
  {
    mode: 'iptables',
    drift: (tb) => deleteWebNatRule(tb, 'KUBE-SERVICES'),
  },
  {
    mode: 'nftables',
    async drift(tb) {
      await tb.exec('node', 'nft', ['delete', 'element', 'ip', 'svcplane', 'service-ips', `{ ${WEB} . tcp . 80 }`]);
    },
  },
  {
    mode: 'userspace',
    drift: (tb) => deleteWebNatRule(tb, 'KUBE-PORTALS-CONTAINER'),
  },
  {
    mode: 'ebpf',
    flags: (tb) => ['--ebpf-pin-root', PIN_ROOT, '--ebpf-cgroup-path', tb.cgroupPath as string, '--ebpf-interfaces', tb.externalInterface],
    async drift() {
      // Every service-map entry of the web cluster IP's frontend (all slots and scopes).
      const { stdout } = await runChecked('bpftool', ['-j', 'map', 'dump', 'pinned', `${PIN_ROOT}/svcp_lb4_svc`]);
      const prefix = [...WEB.split('.').map((o) => Number(o)), 0, 80];
      for (const e of JSON.parse(stdout) as { key: string[] }[]) {
        if (prefix.every((b, i) => Number.parseInt(e.key[i] ?? '', 16) === b)) {
          await runChecked('bpftool', ['map', 'delete', 'pinned', `${PIN_ROOT}/svcp_lb4_svc`, 'key', 'hex', ...e.key.map((b) => b.replace(/^0x/, ''))]);
        }
      }
    },
  },
];

describe.each(CASES)('svcplane trace and plan --diff in $mode mode', ({ mode, drift, flags: modeFlags }) => {
  let tb: Testbed;
  let agent: AgentProcess | undefined;
  const servers = new Map<string, IdentityServer>();
  const manifests = new ManifestDir();
  const flags = (): string[] => [
    '--mode', mode, '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', tb.nodeIP, '--cluster-cidr', '10.244.0.0/16', '--iptables-backend', 'nft',
    ...(modeFlags?.(tb) ?? []),
  ];

  const { cli, trace, traced, requests, answered } = traceChecks({
    exec: (file, args) => tb.exec('node', file, args),
    flags,
    tcpRequests: (ns, ip, port, count) => tb.tcpRequests(ns, ip, port, count, { timeoutMs: 10_000 }),
    pods: PODS,
    podPort: 8080,
    servers,
  });

  beforeAll(async () => {
    tb = await createTestbed({ name: `tr21-${mode.slice(0, 4)}`, cgroup: mode === 'ebpf', pods: (Object.keys(PODS) as (keyof typeof PODS)[]).map((name) => ({ name, ip: PODS[name], node: name.startsWith('a') ? 'local' : 'remote' })) });
    for (const pod of Object.keys(PODS)) servers.set(pod, await tb.startIdentityServers(pod, { tcp: [8080], udp: [] }));
    const node = (ip: string): string => (ip.startsWith('10.244.1.') ? 'node-a' : 'node-b');
    manifests.write('web.yaml', [serviceDoc({ name: 'web', clusterIP: WEB, type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30050 }] }), sliceDoc('web', [PODS.a1, PODS.b1].map((ip) => ({ ip, node: node(ip) })), [{ port: 8080 }])]);
    manifests.write('empty.yaml', [serviceDoc({ name: 'empty', clusterIP: EMPTY, ports: [{ port: 80, targetPort: 8080 }] })]);
    manifests.write('local.yaml', [serviceDoc({ name: 'local', clusterIP: LOCAL, type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080, nodePort: 30052 }] }), sliceDoc('local', [{ ip: PODS.b1, node: 'node-b' }], [{ port: 8080 }])]);
    agent = new AgentProcess(tb, [...flags(), '--min-sync-period', '500ms', '--sync-period', '3s', '--log-format', 'json', '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249']);
    // A loaded machine may take long to start node and the first sync; no timing is asserted.
    await agent.start(90_000);
  }, 180_000);

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await tb?.destroy();
    manifests.destroy();
    // The eBPF dataplane outlives the agent: remove the scratch pins from a namespace of its own.
    if (mode === 'ebpf' && existsSync(PIN_ROOT)) await runChecked('unshare', ['--net', '--', process.execPath, cliEntry(), 'cleanup', '--mode', 'ebpf', '--ebpf-pin-root', PIN_ROOT]);
  });

  it('plan --diff finds nothing to change in what the agent programmed', async () => {
    const diff = await cli(['plan', '--diff']);
    expect(diff).toMatch(/^# .*: no changes$/m);
    expect(diff.split('\n').filter((l) => /^[-+~]/.test(l))).toEqual([]);
  });

  it('ClusterIP from a pod: the traced endpoints are those real requests reach', async () => {
    const r = await traced('pod', PODS.a2, `${WEB}:80/TCP`);
    expect(tracedEndpoints(r)).toEqual([`${PODS.a1}:8080`, `${PODS.b1}:8080`]);
    expect(r.outcomes.every((o) => o.probability > 0.49 && o.probability < 0.51)).toBe(true);
    expect(await requests('a2', PODS.a2, WEB, 80, 16, r)).toEqual(tracedEndpoints(r));
  });

  it('NodePort from outside: the traced endpoints are those real requests reach', async () => {
    const r = await traced('outside', tb.clientIP, `${tb.nodeIP}:30050/TCP`);
    expect(tracedEndpoints(r)).toEqual([`${PODS.a1}:8080`, `${PODS.b1}:8080`]);
    // Masquerading as traced is checked against the source each endpoint saw.
    expect(await requests('client', tb.clientIP, tb.nodeIP, 30050, 16, r)).toEqual(tracedEndpoints(r));
  });

  it('no endpoints: REJECT, and a real connection is refused', async () => {
    const r = await traced('pod', PODS.a2, `${EMPTY}:80/TCP`);
    expect(r.outcomes).toEqual([expect.objectContaining({ verdict: 'REJECT', probability: 1 })]);
    expect(r.reason).toMatch(/^no endpoints/);
    expect(answered(await tb.tcpRequests('a2', EMPTY, 80, 2, { timeoutMs: 3000 }))).toEqual(['error:refused']);
  });

  it('externalTrafficPolicy Local without a local endpoint: DROP from outside, and a real connection gets no answer', async () => {
    const r = await traced('outside', tb.clientIP, `${tb.nodeIP}:30052/TCP`);
    expect(r.outcomes).toEqual([expect.objectContaining({ verdict: 'DROP', probability: 1 })]);
    expect(r.reason).toMatch(/^traffic policy: externalTrafficPolicy Local/);
    expect(answered(await tb.tcpRequests('client', tb.nodeIP, 30052, 1, { timeoutMs: 1500 }))).toEqual(['error:timeout']);
  });

  it('a hand-made drift shows in trace --live and in plan --diff', async () => {
    // Stop the agent first: it would repair the drift; its rules stay in the kernel.
    await agent?.kill('SIGKILL');
    agent = undefined;
    await drift(tb);
    const live = await trace('pod', PODS.a2, `${WEB}:80/TCP`, true);
    expect(tracedEndpoints(live)).toEqual([]);
    expect(live.disagreements?.length).toBeGreaterThan(0);
    expect(live.disagreements?.join('\n')).toContain(`plan: DNAT ${PODS.a1}:8080`);
    const diff = await cli(['plan', '--diff']);
    expect(diff).toMatch(/: [1-9]\d* changes?$/m);
    expect(diff.split('\n').filter((l) => /^[-+]/.test(l.trim()) && l.includes(WEB)).length).toBeGreaterThan(0);
    expect(diff).toContain(WEB);
  });
});
