// Privileged: proves the test bed itself (routing, identity servers, clients,
// containment, cleanup) before agent tests rely on it.

import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../src/kernel/exec.js';
import { addNetns, deleteNetns, listNetns, ProcessGroup } from '../src/testbed/netns.js';
import { cleanupStaleTestbeds, createTestbed, type IdentityServer, type Testbed } from '../src/testbed/testbed.js';

// TEST-NET addresses (RFC 5737 / RFC 3849): must never be reached.
const OUTSIDE_V4 = '198.51.100.1';
const OUTSIDE_V6 = '2001:db8::1';

describe('testbed', () => {
  let tb: Testbed;
  let serverA: IdentityServer;
  let serverB: IdentityServer;

  beforeAll(async () => {
    tb = await createTestbed({
      name: 'tbtest',
      ipv6: true,
      pods: [
        { name: 'a', ip: '10.244.1.2', ipv6: 'fd00:244::1:2' },
        { name: 'b', ip: '10.244.2.3', ipv6: 'fd00:244::2:3', node: 'remote' },
      ],
    });
    serverA = await tb.startIdentityServers('a', { tcp: [8080, 9090], udp: [8053] });
    serverB = await tb.startIdentityServers('b', { tcp: [8080, 9090], udp: [8053] });
  });

  afterAll(async () => {
    await tb?.destroy();
  });

  it('creates the namespaces of the layout', async () => {
    const all = await listNetns();
    expect(all).toEqual(expect.arrayContaining(['svcp-tbtest-node', 'svcp-tbtest-client', 'svcp-tbtest-pod-a', 'svcp-tbtest-pod-b']));
    expect(tb.nodeIP).toBe('192.168.77.1');
    expect(tb.pod('b').node).toBe('remote');
  });

  it('reaches every pod from the node over TCP and UDP, on every port', async () => {
    expect(await tb.tcpRequest('node', '10.244.1.2', 8080)).toEqual({ ok: true, identity: 'a' });
    expect(await tb.tcpRequest('node', '10.244.1.2', 9090)).toEqual({ ok: true, identity: 'a' });
    expect(await tb.tcpRequest('node', '10.244.2.3', 9090)).toEqual({ ok: true, identity: 'b' });
    expect(await tb.udpRequest('node', '10.244.2.3', 8053)).toEqual({ ok: true, identity: 'b' });
    const many = await tb.tcpRequests('node', '10.244.1.2', 8080, 50);
    expect(many.filter((r) => r.ok && r.identity === 'a')).toHaveLength(50);
  });

  it('routes pod to pod through the node without NAT', async () => {
    const before = serverB.peers.length;
    expect(await tb.tcpRequest('a', '10.244.2.3', 8080)).toEqual({ ok: true, identity: 'b' });
    expect(await tb.udpRequest('a', '10.244.2.3', 8053)).toEqual({ ok: true, identity: 'b' });
    const seen = serverB.peers.slice(before);
    expect(seen.map((p) => [p.protocol, p.from])).toEqual([
      ['tcp', '10.244.1.2'],
      ['udp', '10.244.1.2'],
    ]);
  });

  it('reaches the pods over IPv6 too', async () => {
    expect(await tb.tcpRequest('node', 'fd00:244::1:2', 8080)).toEqual({ ok: true, identity: 'a' });
    expect(await tb.udpRequest('b', 'fd00:244::1:2', 8053)).toEqual({ ok: true, identity: 'a' });
    expect(serverA.peers.at(-1)).toMatchObject({ protocol: 'udp', from: 'fd00:244::2:3' });
  });

  it('lets the client reach the node IP (IPv4 and IPv6)', async () => {
    await tb.startIdentityServer('node', 'the-node', { tcp: [7070], udp: [7070] });
    expect(await tb.tcpRequest('client', tb.nodeIP, 7070)).toEqual({ ok: true, identity: 'the-node' });
    expect(await tb.udpRequest('client', tb.nodeIP, 7070)).toEqual({ ok: true, identity: 'the-node' });
    expect(await tb.tcpRequest('client', tb.nodeIPv6 ?? '', 7070)).toEqual({ ok: true, identity: 'the-node' });
  });

  it('reports refused for closed ports', async () => {
    expect(await tb.tcpRequest('node', '10.244.1.2', 1)).toEqual({ ok: false, error: 'refused' });
    expect(await tb.udpRequest('node', '10.244.1.2', 1)).toEqual({ ok: false, error: 'refused' });
  });

  it('reuses a UDP source port when asked (same conntrack entry)', async () => {
    const before = serverA.peers.length;
    const results = await tb.udpRequests('client', '10.244.1.2', 8053, 3, { sourcePort: 40123 });
    expect(results).toEqual([{ ok: true, identity: 'a' }, { ok: true, identity: 'a' }, { ok: true, identity: 'a' }]);
    expect(serverA.peers.slice(before).map((p) => `${p.from}:${p.fromPort}`)).toEqual(Array(3).fill('192.168.77.2:40123'));
  });

  it('holds a long-lived connection that answers later', async () => {
    const conn = await tb.holdConnection('client', '10.244.2.3', 9090);
    expect(conn.greeting).toBe('b');
    expect(await conn.request('hello')).toBe('b:hello');
    await new Promise((r) => setTimeout(r, 200));
    expect(await conn.request('again')).toBe('b:again');
    await conn.close();
    await expect(tb.holdConnection('client', '10.244.2.3', 1)).rejects.toMatchObject({ kind: 'refused' });
  });

  it('never routes anywhere outside the test bed', async () => {
    const started = Date.now();
    expect(await tb.tcpRequest('node', OUTSIDE_V4, 80)).toEqual({ ok: false, error: 'unreachable' });
    expect(await tb.udpRequest('node', OUTSIDE_V4, 53)).toEqual({ ok: false, error: 'unreachable' });
    expect(await tb.tcpRequest('node', OUTSIDE_V6, 80)).toEqual({ ok: false, error: 'unreachable' });
    expect(Date.now() - started).toBeLessThan(5000);
    // From the client and pods the packet is forwarded to the node and dropped there.
    expect(await tb.tcpRequest('client', OUTSIDE_V4, 80, { timeoutMs: 300 })).toEqual({ ok: false, error: 'timeout' });
    expect(await tb.tcpRequest('a', OUTSIDE_V4, 80, { timeoutMs: 300 })).toEqual({ ok: false, error: 'timeout' });
    // The only way out of the client and the pods is their veth to the node...
    expect((await tb.exec('client', 'ip', ['route', 'get', OUTSIDE_V4])).stdout).toMatch(/via 192\.168\.77\.1 dev eth0/);
    expect((await tb.exec('a', 'ip', ['route', 'get', OUTSIDE_V4])).stdout).toMatch(/via 169\.254\.1\.1 dev eth0/);
    // ...and the node's only default routes are blackholes.
    for (const family of ['-4', '-6']) {
      const { stdout } = await runChecked('ip', ['-n', tb.nodeNs, family, 'route', 'show', 'default']);
      expect(stdout.trim()).toMatch(/^blackhole default[^\n]*$/);
    }
  });
});

describe('testbed cleanup', () => {
  const leftovers = ['svcp-tbstale-node', 'svcp-tbstale-pod-x', 'svcp-tbstale2-node'];

  afterAll(async () => {
    for (const ns of leftovers) await deleteNetns(ns);
  });

  it('removes only the named testbed leftovers, processes included', async () => {
    for (const ns of leftovers) await addNetns(ns);
    const sleeper = new ProcessGroup().spawn('svcp-tbstale-node', 'sleep', ['300']);
    const sleeperExit = once(sleeper, 'exit');
    await once(sleeper, 'spawn');
    const removed = await cleanupStaleTestbeds('tbstale');
    expect(removed.sort()).toEqual(['svcp-tbstale-node', 'svcp-tbstale-pod-x']);
    const all = await listNetns();
    expect(all).not.toContain('svcp-tbstale-node');
    expect(all).not.toContain('svcp-tbstale-pod-x');
    expect(all).toContain('svcp-tbstale2-node');
    expect((await sleeperExit)[1]).toBe('SIGKILL');
  });

  it('destroy() removes everything and can be called twice', async () => {
    const tb = await createTestbed({ name: 'tbdestroy', pods: [{ name: 'p', ip: '10.244.9.9' }] });
    const server = await tb.startIdentityServers('p');
    expect(await tb.tcpRequest('node', '10.244.9.9', 8080)).toEqual({ ok: true, identity: 'p' });
    await tb.destroy();
    await tb.destroy();
    const all = await listNetns();
    expect(all.filter((ns) => ns.startsWith('svcp-tbdestroy-'))).toEqual([]);
    expect(server.peers).toHaveLength(1);
  });
});
