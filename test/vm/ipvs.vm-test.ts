// The IPVS mode against a real kernel: runs inside the project's VM (runVitestInVm), with the
// same kind of namespace test bed as the host tests and real packets. ipvsadm reads back what
// svcplane's own netlink encoding programmed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { IpvsBackend } from '../../src/backends/ipvs/ipvs-backend.js';
import { parseProcTable } from '../../src/backends/ipvs/ipvs-proc-table.js';
import { ipvsProcReader } from '../../src/kernel/ipvs-proc.js';
import { runChecked } from '../../src/kernel/exec.js';
import { IpvsClient } from '../../src/kernel/netlink/ipvs.js';
import { RtnetlinkClient } from '../../src/kernel/netlink/rtnetlink.js';
import { Sysctl } from '../../src/kernel/sysctl.js';
import { defaultNodeContext } from '../../src/state/node-context.js';
import type { DesiredState, EndpointInfo, ServicePortState, StateChanges } from '../../src/state/types.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';

if (process.env.SVCPLANE_IN_VM !== '1') throw new Error('ipvs.vm-test.ts runs inside the VM: see test/vm/vm-suite.test.ts');

const VIP = '10.96.40.1';
const PODS = { a1: '10.244.1.11', a2: '10.244.1.12', b1: '10.244.2.11' } as const;

function ep(ip: string): EndpointInfo {
  return { ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'node-a', zone: undefined };
}

function state(ips: readonly string[], affinitySeconds = 0): DesiredState {
  const eps = ips.map(ep);
  const sp: ServicePortState = {
    key: 'default/web:http', namespace: 'default', serviceName: 'web', portName: 'http', family: 'IPv4', protocol: 'TCP', port: 80, clusterIP: VIP,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], nodePort: 30080, healthCheckNodePort: 0, affinityTimeoutSeconds: affinitySeconds,
    externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: eps, localEndpoints: eps, hasEndpoints: eps.length > 0,
  };
  return { IPv4: new Map([[sp.key, sp]]), IPv6: new Map() };
}

function tally(results: readonly ({ ok: true; identity: string } | { ok: false; error: string })[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.ok ? r.identity : `error:${r.error}`] = (out[r.ok ? r.identity : `error:${r.error}`] ?? 0) + 1;
  return out;
}

describe('IPVS mode on a real kernel', () => {
  let tb: Testbed;
  let ipvs: IpvsClient;
  let rtnl: RtnetlinkClient;
  const backend = (scheduler = 'rr'): IpvsBackend =>
    new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'node-a', nodeIPs: [tb.nodeIP] }), ipvs, rtnl, sysctl: new Sysctl('/proc/sys', tb.nodeNs), logger: pino({ level: 'silent' }), scheduler, gracePeriodMs: 60_000 });
  const ipvsadm = async (): Promise<string> => (await runChecked('ipvsadm', ['-Ln'], { netns: tb.nodeNs })).stdout;

  beforeAll(async () => {
    tb = await createTestbed({ name: 'ipvs', pods: Object.entries(PODS).map(([name, ip]) => ({ name, ip })) });
    for (const pod of Object.keys(PODS)) await tb.startIdentityServers(pod);
    ipvs = IpvsClient.open({ netns: `/run/netns/${tb.nodeNs}` });
    rtnl = RtnetlinkClient.open({ netns: `/run/netns/${tb.nodeNs}` });
  });

  afterAll(async () => {
    ipvs?.close();
    rtnl?.close();
    await tb?.destroy();
  });

  it('programs ClusterIP and NodePort virtual servers that ipvsadm reads back exactly', async () => {
    const b = backend();
    await b.sync(state(Object.values(PODS)));
    const table = await ipvsadm();
    expect(table).toMatch(new RegExp(`TCP  ${VIP.replace(/\./g, '\\.')}:80 rr`));
    expect(table).toMatch(/TCP {2}192\.168\.77\.1:30080 rr/);
    for (const ip of Object.values(PODS)) expect(table).toMatch(new RegExp(`-> ${ip.replace(/\./g, '\\.')}:8080 +Masq +1 `));
    expect((await runChecked('ip', ['-o', 'addr', 'show', 'dev', 'kube-ipvs0'], { netns: tb.nodeNs })).stdout).toContain(`${VIP}/32`);
    // svcplane's own dump agrees with ipvsadm's reading.
    expect(ipvs.getServices().map((s) => `${s.address}:${s.port}`).sort()).toEqual([`${VIP}:80`, '192.168.77.1:30080']);
  });

  it('rr spreads real connections over every real server, via the ClusterIP and the NodePort', async () => {
    const viaVip = tally(await tb.tcpRequests('client', VIP, 80, 30, { concurrency: 1 }));
    expect(Object.keys(viaVip).sort()).toEqual(['a1', 'a2', 'b1']);
    for (const n of Object.values(viaVip)) expect(n).toBe(10); // round robin is exact
    expect(Object.keys(tally(await tb.tcpRequests('client', tb.nodeIP, 30080, 9, { concurrency: 1 }))).sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('sh sticks a source to one server; the scheduler change is an update, not a recreate', async () => {
    await backend('sh').sync(state(Object.values(PODS)));
    expect(await ipvsadm()).toMatch(new RegExp(`TCP  ${VIP.replace(/\./g, '\\.')}:80 sh`));
    expect(Object.keys(tally(await tb.tcpRequests('client', VIP, 80, 20, { concurrency: 1 })))).toHaveLength(1);
  });

  it('lc sends a new connection to the server with the fewest active connections', async () => {
    await backend('lc').sync(state(Object.values(PODS)));
    expect(await ipvsadm()).toMatch(new RegExp(`TCP  ${VIP.replace(/\./g, '\\.')}:80 lc`));
    const first = await tb.holdConnection('client', VIP, 80);
    const second = await tb.holdConnection('client', VIP, 80);
    expect(second.greeting).not.toBe(first.greeting);
    const idle = Object.keys(PODS).find((p) => p !== first.greeting && p !== second.greeting);
    expect(tally(await tb.tcpRequests('client', VIP, 80, 1))).toEqual({ [idle as string]: 1 });
    await first.close();
    await second.close();
  });

  it('ClientIP affinity becomes persistence with the service timeout', async () => {
    await backend().sync(state(Object.values(PODS), 30));
    expect(await ipvsadm()).toMatch(new RegExp(`TCP  ${VIP.replace(/\./g, '\\.')}:80 rr persistent 30`));
    expect(Object.keys(tally(await tb.tcpRequests('client', VIP, 80, 15, { concurrency: 1 })))).toHaveLength(1);
  });

  it('graceful termination: a live connection to a removed server finishes, new ones avoid it', async () => {
    const b = backend();
    await b.sync(state(Object.values(PODS)));
    const held = await tb.holdConnection('client', VIP, 80);
    const victim = held.greeting as keyof typeof PODS;
    const rest = Object.entries(PODS).filter(([n]) => n !== victim).map(([, ip]) => ip);
    await b.sync(state(rest));
    expect(await ipvsadm()).toMatch(new RegExp(`-> ${PODS[victim].replace(/\./g, '\\.')}:8080 +Masq +0 +1 `));
    expect(await held.request('still-there')).toBe(`${victim}:still-there`);
    expect(tally(await tb.tcpRequests('client', VIP, 80, 10, { concurrency: 1 }))).not.toHaveProperty(victim);
    await held.close();
    // The kernel drops the connection count once the close is seen; the next syncs delete the server.
    for (let i = 0; i < 20 && (await ipvsadm()).includes(`${PODS[victim]}:8080`); i++) {
      await new Promise((r) => setTimeout(r, 500));
      await b.sync(state(rest));
    }
    expect(await ipvsadm()).not.toContain(`${PODS[victim]}:8080`);
  });

  it('reconciles after someone deletes a virtual server by hand', async () => {
    const b = backend();
    await b.sync(state(Object.values(PODS)));
    await runChecked('ipvsadm', ['-D', '-t', `${VIP}:80`], { netns: tb.nodeNs });
    expect(await ipvsadm()).not.toContain(`${VIP}:80`);
    await b.sync(state(Object.values(PODS)));
    expect(await ipvsadm()).toMatch(new RegExp(`TCP  ${VIP.replace(/\./g, '\\.')}:80 rr`));
    expect(Object.keys(tally(await tb.tcpRequests('client', VIP, 80, 6, { concurrency: 1 }))).sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('the drift check reads the real /proc/net/ip_vs: clean after syncs, names a real server deleted or reweighted by hand, and deletes a drained one itself', async () => {
    const netns = `/run/netns/${tb.nodeNs}`;
    const readTable = ipvsProcReader({ netns });
    const b = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'node-a', nodeIPs: [tb.nodeIP] }), ipvs, rtnl, sysctl: new Sysctl('/proc/sys', tb.nodeNs), logger: pino({ level: 'silent' }), gracePeriodMs: 60_000, readTable });
    const web: StateChanges = { IPv4: new Set(['default/web:http']), IPv6: new Set(), serviceChanges: 0, endpointChanges: 1 };
    await b.sync(state(Object.values(PODS), 30));
    expect(await b.checkDrift()).toEqual([]);
    // Read from this thread inside the test bed's namespace: the VIP and NodePort, each with the three pods.
    const table = parseProcTable(readTable());
    expect(table.servers.get(`TCP/${VIP}:80`)).toMatchObject({ scheduler: 'rr', persistent: true });
    expect(table.servers.get(`TCP/${tb.nodeIP}:30080`)?.destinations.size).toBe(3);
    await runChecked('ipvsadm', ['-d', '-t', `${VIP}:80`, '-r', `${PODS.a2}:8080`], { netns: tb.nodeNs });
    await runChecked('ipvsadm', ['-e', '-t', `${VIP}:80`, '-r', `${PODS.b1}:8080`, '-m', '-w', '3'], { netns: tb.nodeNs });
    const drift = await b.checkDrift();
    expect(drift).toContain(`real server TCP/${VIP}:80->${PODS.a2}:8080 is missing`);
    expect(drift).toContain(`real server TCP/${VIP}:80->${PODS.b1}:8080: weight 3, synced 1`);
    await b.sync(state(Object.values(PODS)));
    expect(await b.checkDrift()).toEqual([]);
    // A server removed while a connection uses it drains (weight 0); the check deletes it once the connection ends.
    const held = await tb.holdConnection('client', VIP, 80);
    const victim = held.greeting as keyof typeof PODS;
    await b.sync(state(Object.entries(PODS).filter(([n]) => n !== victim).map(([, ip]) => ip)), web);
    expect(await b.checkDrift()).toEqual([]);
    expect(await ipvsadm()).toMatch(new RegExp(`-> ${PODS[victim].replace(/\./g, '\\.')}:8080 +Masq +0 +1 `));
    await held.close();
    for (let i = 0; i < 20 && (await ipvsadm()).includes(`${PODS[victim]}:8080`); i++) {
      await new Promise((r) => setTimeout(r, 500));
      expect(await b.checkDrift()).toEqual([]);
    }
    expect(await ipvsadm()).not.toContain(`${PODS[victim]}:8080`);
  });

  it('cleanup removes the virtual servers and kube-ipvs0', async () => {
    await backend().cleanup();
    expect(await ipvsadm()).not.toMatch(/TCP/);
    expect((await runChecked('ip', ['link', 'show'], { netns: tb.nodeNs })).stdout).not.toContain('kube-ipvs0');
  });
});
