// Privileged: the cgroup socket-LB programs (connect4, sendmsg4, recvmsg4,
// getpeername4) with real TCP and UDP traffic. A throwaway cgroup gets the
// programs; a client joins it and talks to VIPs inside a throwaway network
// namespace whose only routes are local addresses and an unreachable default.
import { mkdir, rmdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLb4AffinityKey, decodeLbAffinityValue, decodeSock4RevKey, decodeSock4RevValue } from '../../src/backends/ebpf/map-codec.js';
import {
  LB_LOOKUP_SCOPE_EXT,
  LB_LOOKUP_SCOPE_INT,
  MAP_NAMES,
  SVC_FLAG_AFFINITY,
  SVC_FLAG_CLUSTER_IP,
  SVC_FLAG_MAGLEV,
  SVC_FLAG_TWO_SCOPES,
} from '../../src/backends/ebpf/map-types.js';
import { addNetns, deleteNetns, ipIn, ProcessGroup } from '../../src/testbed/netns.js';
import { BpfSandbox } from './lib/bpf-sandbox.js';
import { addBackend, addFrontend, addMaglevTable } from './lib/lb-maps.js';
import { runClient, servers, startEchoServers, type ClientOp } from './lib/lb-traffic.js';

const NS = `svcp-sockl-${process.pid}`;
const CGROUP = `/sys/fs/cgroup/unified/svcp-test-sock-${process.pid}`;
const ATTACH = [
  ['connect4', 'svcp_connect4'],
  ['sendmsg4', 'svcp_sendmsg4'],
  ['recvmsg4', 'svcp_recvmsg4'],
  ['getpeername4', 'svcp_getpeername4'],
] as const;

const BE1 = '198.18.1.1';
const BE2 = '198.18.1.2';
const VIP = {
  random: '198.18.100.1',
  empty: '198.18.100.2',
  affinity: '198.18.100.3',
  udp: '198.18.100.4',
  maglev: '198.18.100.5',
  twoScopes: '198.18.100.6',
  noRevNat: '198.18.100.7',
} as const;
const NOT_A_SERVICE = '198.18.200.1';

const tcpOps = (ip: string, n: number): ClientOp[] => Array.from({ length: n }, () => ({ mode: 'tcp', ip, port: 80 }));

describe('socket load balancing (cgroup/connect4, sendmsg4, recvmsg4, getpeername4)', () => {
  let sandbox: BpfSandbox | undefined;
  const group = new ProcessGroup();
  const clientIn = (ops: readonly ClientOp[]) => runClient(NS, ops, CGROUP);

  beforeAll(async () => {
    await deleteNetns(NS);
    await addNetns(NS);
    await ipIn(NS, ['addr', 'add', `${BE1}/32`, 'dev', 'lo']);
    await ipIn(NS, ['addr', 'add', `${BE2}/32`, 'dev', 'lo']);
    // Anything not translated to a backend fails fast instead of going anywhere.
    await ipIn(NS, ['route', 'add', 'unreachable', 'default']);
    await startEchoServers(group, NS, [
      { proto: 'tcp', ip: BE1, port: 8080 },
      { proto: 'tcp', ip: BE2, port: 8080 },
      { proto: 'udp', ip: BE1, port: 5353 },
      { proto: 'udp', ip: BE2, port: 5353 },
    ]);

    sandbox = await BpfSandbox.start();
    await mkdir(CGROUP);
    for (const [type, prog] of ATTACH) {
      await sandbox.run('bpftool', ['cgroup', 'attach', CGROUP, type, 'pinned', sandbox.progPath(prog)]);
    }

    await addBackend(sandbox, 1, { address: BE1, port: 8080, proto: 'TCP', flags: 0 });
    await addBackend(sandbox, 2, { address: BE2, port: 8080, proto: 'TCP', flags: 0 });
    await addBackend(sandbox, 3, { address: BE1, port: 5353, proto: 'UDP', flags: 0 });
    await addBackend(sandbox, 4, { address: BE2, port: 5353, proto: 'UDP', flags: 0 });
    const tcp = { port: 80, proto: 'TCP', flags: SVC_FLAG_CLUSTER_IP } as const;
    await addFrontend(sandbox, { ...tcp, address: VIP.random, revNatIndex: 1, backendIds: [1, 2] });
    await addFrontend(sandbox, { ...tcp, address: VIP.empty, revNatIndex: 2, backendIds: [] });
    await addFrontend(sandbox, {
      ...tcp,
      address: VIP.affinity,
      flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_AFFINITY,
      affinityTimeout: 600,
      revNatIndex: 3,
      backendIds: [1, 2],
    });
    await addFrontend(sandbox, { address: VIP.udp, port: 53, proto: 'UDP', flags: SVC_FLAG_CLUSTER_IP, revNatIndex: 4, backendIds: [3, 4] });
    await addFrontend(sandbox, { ...tcp, address: VIP.maglev, flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_MAGLEV, revNatIndex: 5, backendIds: [1, 2] });
    await addMaglevTable(sandbox, 5, 2);
    // externalTrafficPolicy Local style: EXT holds BE1 only, traffic from inside the node must use INT (BE2).
    await addFrontend(sandbox, { ...tcp, address: VIP.twoScopes, scope: LB_LOOKUP_SCOPE_INT, revNatIndex: 6, backendIds: [2] });
    await addFrontend(sandbox, {
      ...tcp,
      address: VIP.twoScopes,
      scope: LB_LOOKUP_SCOPE_EXT,
      flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_TWO_SCOPES,
      revNatIndex: 6,
      backendIds: [1],
    });
    await addFrontend(sandbox, { ...tcp, address: VIP.noRevNat, revNatIndex: 7, backendIds: [1], reverseNat: false });
  });

  afterAll(async () => {
    await group.killAll();
    if (sandbox) {
      for (const [type, prog] of ATTACH) {
        await sandbox.run('bpftool', ['cgroup', 'detach', CGROUP, type, 'pinned', sandbox.progPath(prog)]).catch(() => undefined);
      }
      await sandbox.stop();
    }
    // Empty by now: every client has exited. Removing it also drops any attachment left.
    await rmdir(CGROUP).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await deleteNetns(NS);
  });

  it('connects TCP to a backend through the VIP, and getpeername shows the VIP', async () => {
    const results = await clientIn(tcpOps(VIP.random, 16));
    for (const r of results) {
      expect(r).toMatchObject({ ok: true, remote: `${VIP.random}:80` });
    }
    // Random selection over 16 connections reaches both backends (a miss has odds 2^-15).
    expect(new Set(servers(results))).toEqual(new Set([`${BE1}:8080`, `${BE2}:8080`]));
  });

  it('leaves sockets outside the cgroup and addresses that are no service alone', async () => {
    const [outside] = await runClient(NS, tcpOps(VIP.random, 1));
    expect(outside).toMatchObject({ ok: false, code: 'EHOSTUNREACH' });
    const [noService] = await clientIn([{ mode: 'tcp', ip: NOT_A_SERVICE, port: 80 }]);
    expect(noService).toMatchObject({ ok: false, code: 'EHOSTUNREACH' });
  });

  it('answers unconnected UDP from the VIP (recvmsg4) and connected UDP too', async () => {
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

  it('keeps a client (its network namespace) on one backend with ClientIP affinity', async () => {
    const first = servers(await clientIn(tcpOps(VIP.affinity, 10)));
    const second = servers(await clientIn(tcpOps(VIP.affinity, 6)));
    expect(new Set([...first, ...second]).size).toBe(1);
    expect([`${BE1}:8080`, `${BE2}:8080`]).toContain(first[0]);

    const entries = (await sandbox!.dumpMap(MAP_NAMES.affinity)).map((e) => ({
      key: decodeLb4AffinityKey(e.key),
      value: decodeLbAffinityValue(e.value),
    }));
    expect(entries).toHaveLength(1);
    expect(entries[0]?.key).toMatchObject({ revNatIndex: 3, netnsCookie: true });
    expect(entries[0]?.value.backendId).toBe(first[0] === `${BE1}:8080` ? 1 : 2);
  });

  it('picks through the Maglev table when the service asks for it', async () => {
    expect(new Set(servers(await clientIn(tcpOps(VIP.maglev, 8))))).toEqual(new Set([`${BE2}:8080`]));
  });

  it('uses the INT scope of a service with two scopes', async () => {
    const results = await clientIn(tcpOps(VIP.twoScopes, 6));
    expect(new Set(servers(results))).toEqual(new Set([`${BE2}:8080`]));
    expect(results[0]).toMatchObject({ remote: `${VIP.twoScopes}:80` });
  });

  it('records the reverse translation per socket, and skips it when the frontend has no rev-NAT entry', async () => {
    const [result] = await clientIn(tcpOps(VIP.noRevNat, 1));
    expect(result).toMatchObject({ ok: true, remote: `${BE1}:8080`, reply: { server: `${BE1}:8080` } });

    const rev = (await sandbox!.dumpMap(MAP_NAMES.sockRevNat)).map((e) => ({ key: decodeSock4RevKey(e.key), value: decodeSock4RevValue(e.value) }));
    expect(rev.length).toBeGreaterThan(0);
    expect(rev.some((e) => e.value.address === VIP.noRevNat)).toBe(false); // deleted when found stale
    const udp = rev.filter((e) => e.value.revNatIndex === 4);
    expect(udp.length).toBeGreaterThan(0);
    for (const e of udp) {
      expect(e.value).toEqual({ address: VIP.udp, port: 53, revNatIndex: 4 });
      expect([BE1, BE2]).toContain(e.key.address);
      expect(e.key.port).toBe(5353);
      expect(e.key.cookie).toBeGreaterThan(0n);
    }
  });
});
