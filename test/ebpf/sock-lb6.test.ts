// Privileged: the IPv6 cgroup socket-LB programs (connect6, sendmsg6, recvmsg6,
// getpeername6) with real TCP and UDP traffic, and IPv4-mapped addresses on
// dual-stack sockets going through the IPv4 maps. As sock-lb.test.ts: a
// throwaway cgroup gets the programs; a client joins it and talks to VIPs
// inside a throwaway network namespace whose only routes are local addresses
// (fd00::/8, no DAD) and unreachable defaults.
import { mkdir, rmdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLb4AffinityKey, decodeSock6RevKey, decodeSock6RevValue } from '../../src/backends/ebpf/map-codec.js';
import {
  LB_LOOKUP_SCOPE_EXT, LB_LOOKUP_SCOPE_INT, MAP_NAMES, SVC_FLAG_AFFINITY, SVC_FLAG_CLUSTER_IP, SVC_FLAG_MAGLEV, SVC_FLAG_TWO_SCOPES,
} from '../../src/backends/ebpf/map-types.js';
import { addNetns, deleteNetns, ipIn, ProcessGroup } from '../../src/testbed/netns.js';
import { BpfSandbox } from './lib/bpf-sandbox.js';
import { addBackend, addFrontend, addMaglevTable } from './lib/lb-maps.js';
import { runClient, servers, startEchoServers, type ClientOp } from './lib/lb-traffic.js';

const NS = `svcp-sockl6-${process.pid}`;
const CGROUP = `/sys/fs/cgroup/unified/svcp-test-sock6-${process.pid}`;
const ATTACH = [
  ['connect6', 'svcp_connect6'],
  ['sendmsg6', 'svcp_sendmsg6'],
  ['recvmsg6', 'svcp_recvmsg6'],
  ['getpeername6', 'svcp_getpeername6'],
  // Dual-stack UDP to an IPv4-mapped address is sent by the kernel's IPv4 path (sendmsg4).
  ['sendmsg4', 'svcp_sendmsg4'],
] as const;

const BE1 = 'fd00:18:1::1';
const BE2 = 'fd00:18:1::2';
const BE4 = '198.18.1.1';
const VIP = {
  random: 'fd00:18:100::1',
  empty: 'fd00:18:100::2',
  affinity: 'fd00:18:100::3',
  udp: 'fd00:18:100::4',
  maglev: 'fd00:18:100::5',
  twoScopes: 'fd00:18:100::6',
  noRevNat: 'fd00:18:100::7',
} as const;
const VIP4 = { tcp: '198.18.100.1', udp: '198.18.100.4' } as const;
const NOT_A_SERVICE = 'fd00:18:200::1';

const tcpOps = (ip: string, n: number): ClientOp[] => Array.from({ length: n }, () => ({ mode: 'tcp', ip, port: 80 }));

describe('IPv6 socket load balancing (cgroup/connect6, sendmsg6, recvmsg6, getpeername6)', () => {
  let sandbox: BpfSandbox | undefined;
  const group = new ProcessGroup();
  const clientIn = (ops: readonly ClientOp[]) => runClient(NS, ops, CGROUP);

  beforeAll(async () => {
    await deleteNetns(NS);
    await addNetns(NS);
    for (const be of [BE1, BE2]) await ipIn(NS, ['-6', 'addr', 'add', `${be}/128`, 'dev', 'lo', 'nodad']);
    await ipIn(NS, ['addr', 'add', `${BE4}/32`, 'dev', 'lo']);
    // Anything not translated to a backend fails fast instead of going anywhere.
    await ipIn(NS, ['-6', 'route', 'add', 'unreachable', 'default']);
    await ipIn(NS, ['route', 'add', 'unreachable', 'default']);
    await startEchoServers(group, NS, [
      { proto: 'tcp', ip: BE1, port: 8080 },
      { proto: 'tcp', ip: BE2, port: 8080 },
      { proto: 'udp', ip: BE1, port: 5353 },
      { proto: 'udp', ip: BE2, port: 5353 },
      { proto: 'tcp', ip: BE4, port: 8080 },
      { proto: 'udp', ip: BE4, port: 5353 },
    ]);

    sandbox = await BpfSandbox.start();
    await mkdir(CGROUP);
    for (const [type, prog] of ATTACH) {
      await sandbox.run('bpftool', ['cgroup', 'attach', CGROUP, type, 'pinned', sandbox.progPath(prog)]);
    }

    // One id space across families: ids 1-4 are IPv6 backends, 5-6 IPv4 ones.
    await addBackend(sandbox, 1, { address: BE1, port: 8080, proto: 'TCP', flags: 0 });
    await addBackend(sandbox, 2, { address: BE2, port: 8080, proto: 'TCP', flags: 0 });
    await addBackend(sandbox, 3, { address: BE1, port: 5353, proto: 'UDP', flags: 0 });
    await addBackend(sandbox, 4, { address: BE2, port: 5353, proto: 'UDP', flags: 0 });
    await addBackend(sandbox, 5, { address: BE4, port: 8080, proto: 'TCP', flags: 0 });
    await addBackend(sandbox, 6, { address: BE4, port: 5353, proto: 'UDP', flags: 0 });
    const tcp = { port: 80, proto: 'TCP', flags: SVC_FLAG_CLUSTER_IP } as const;
    await addFrontend(sandbox, { ...tcp, address: VIP.random, revNatIndex: 1, backendIds: [1, 2] });
    await addFrontend(sandbox, { ...tcp, address: VIP.empty, revNatIndex: 2, backendIds: [] });
    await addFrontend(sandbox, { ...tcp, address: VIP.affinity, flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_AFFINITY, affinityTimeout: 600, revNatIndex: 3, backendIds: [1, 2] });
    await addFrontend(sandbox, { address: VIP.udp, port: 53, proto: 'UDP', flags: SVC_FLAG_CLUSTER_IP, revNatIndex: 4, backendIds: [3, 4] });
    await addFrontend(sandbox, { ...tcp, address: VIP.maglev, flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_MAGLEV, revNatIndex: 5, backendIds: [1, 2] });
    await addMaglevTable(sandbox, 5, 2);
    await addFrontend(sandbox, { ...tcp, address: VIP.twoScopes, scope: LB_LOOKUP_SCOPE_INT, revNatIndex: 6, backendIds: [2] });
    await addFrontend(sandbox, { ...tcp, address: VIP.twoScopes, scope: LB_LOOKUP_SCOPE_EXT, flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_TWO_SCOPES, revNatIndex: 6, backendIds: [1] });
    await addFrontend(sandbox, { ...tcp, address: VIP.noRevNat, revNatIndex: 7, backendIds: [1], reverseNat: false });
    await addFrontend(sandbox, { ...tcp, address: VIP4.tcp, revNatIndex: 8, backendIds: [5] });
    await addFrontend(sandbox, { address: VIP4.udp, port: 53, proto: 'UDP', flags: SVC_FLAG_CLUSTER_IP, revNatIndex: 9, backendIds: [6] });
  });

  afterAll(async () => {
    await group.killAll();
    if (sandbox) {
      for (const [type, prog] of ATTACH) {
        await sandbox.run('bpftool', ['cgroup', 'detach', CGROUP, type, 'pinned', sandbox.progPath(prog)]).catch(() => undefined);
      }
      await sandbox.stop();
    }
    await rmdir(CGROUP).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await deleteNetns(NS);
  });

  it('connects TCP to an IPv6 backend through the VIP, and getpeername shows the VIP', async () => {
    const results = await clientIn(tcpOps(VIP.random, 16));
    for (const r of results) expect(r).toMatchObject({ ok: true, remote: `${VIP.random}:80` });
    // The backend sees the client's own address: nothing was NATed.
    for (const r of results) if (r.ok) expect(r.reply.peer).not.toContain(VIP.random);
    expect(new Set(servers(results))).toEqual(new Set([`${BE1}:8080`, `${BE2}:8080`]));
  });

  it('leaves sockets outside the cgroup and addresses that are no service alone', async () => {
    const [outside] = await runClient(NS, tcpOps(VIP.random, 1));
    expect(outside?.ok).toBe(false);
    const [noService] = await clientIn([{ mode: 'tcp', ip: NOT_A_SERVICE, port: 80 }]);
    expect(noService?.ok).toBe(false);
    expect(noService?.ok === false && noService.code).not.toBe('ECONNREFUSED');
  });

  it('answers unconnected UDP from the VIP (recvmsg6) and connected UDP too (getpeername6)', async () => {
    const results = await clientIn([
      { mode: 'udp', ip: VIP.udp, port: 53 },
      { mode: 'udp', ip: VIP.udp, port: 53 },
      { mode: 'udp-connected', ip: VIP.udp, port: 53 },
    ]);
    expect(results[0]).toMatchObject({ ok: true, from: `${VIP.udp}:53` });
    expect(results[1]).toMatchObject({ ok: true, from: `${VIP.udp}:53` });
    expect(results[2]).toMatchObject({ ok: true, remote: `${VIP.udp}:53` });
    for (const server of servers(results)) expect([`${BE1}:5353`, `${BE2}:5353`]).toContain(server);
  });

  it('refuses a service without endpoints at once', async () => {
    const [result] = await clientIn([{ mode: 'tcp', ip: VIP.empty, port: 80, timeoutMs: 5000 }]);
    expect(result).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
    expect(result?.ok === false && result.elapsedMs).toBeLessThan(1000);
  });

  it('shares the affinity and Maglev maps with IPv4, keyed by rev-nat index', async () => {
    const first = servers(await clientIn(tcpOps(VIP.affinity, 8)));
    expect(new Set(first).size).toBe(1);
    const affinity = (await sandbox!.dumpMap(MAP_NAMES.affinity)).map((e) => decodeLb4AffinityKey(e.key));
    expect(affinity.some((k) => k.revNatIndex === 3 && k.netnsCookie)).toBe(true);
    expect(new Set(servers(await clientIn(tcpOps(VIP.maglev, 8))))).toEqual(new Set([`${BE2}:8080`]));
  });

  it('uses the INT scope of a service with two scopes', async () => {
    const results = await clientIn(tcpOps(VIP.twoScopes, 6));
    expect(new Set(servers(results))).toEqual(new Set([`${BE2}:8080`]));
    expect(results[0]).toMatchObject({ remote: `${VIP.twoScopes}:80` });
  });

  it('records the reverse translation per socket in svcp_sk6_rev, and skips it when the frontend has no rev-NAT entry', async () => {
    const [result] = await clientIn(tcpOps(VIP.noRevNat, 1));
    expect(result).toMatchObject({ ok: true, remote: `${BE1}:8080`, reply: { server: `${BE1}:8080` } });
    const rev = (await sandbox!.dumpMap(MAP_NAMES.sockRevNat6)).map((e) => ({ key: decodeSock6RevKey(e.key), value: decodeSock6RevValue(e.value) }));
    expect(rev.some((e) => e.value.address === VIP.noRevNat)).toBe(false);
    const udp = rev.filter((e) => e.value.revNatIndex === 4);
    expect(udp.length).toBeGreaterThan(0);
    for (const e of udp) {
      expect(e.value).toEqual({ address: VIP.udp, port: 53, revNatIndex: 4 });
      expect([BE1, BE2]).toContain(e.key.address);
      expect(e.key.port).toBe(5353);
    }
  });

  it('sends an IPv4-mapped destination of a dual-stack socket through the IPv4 maps, and shows the mapped VIP back', async () => {
    const results = await clientIn([
      { mode: 'tcp', ip: `::ffff:${VIP4.tcp}`, port: 80 },
      { mode: 'udp', ip: `::ffff:${VIP4.udp}`, port: 53 },
      { mode: 'udp-connected', ip: `::ffff:${VIP4.udp}`, port: 53 },
    ]);
    expect(results[0]).toMatchObject({ ok: true, remote: `::ffff:${VIP4.tcp}:80`, reply: { server: `${BE4}:8080` } });
    expect(results[1]).toMatchObject({ ok: true, from: `::ffff:${VIP4.udp}:53`, reply: { server: `${BE4}:5353` } });
    expect(results[2]).toMatchObject({ ok: true, remote: `::ffff:${VIP4.udp}:53`, reply: { server: `${BE4}:5353` } });
  });
});
