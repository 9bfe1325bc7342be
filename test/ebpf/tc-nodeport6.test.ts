// Privileged: the tc programs (svcp_tc_ingress/svcp_tc_egress) with IPv6 traffic
// from outside. Three throwaway namespaces, fd00::/8 addresses without DAD and
// unreachable defaults, so nothing leaves them:
//   client (fd00:19::2) --veth-- node (fd00:19::1 | fd00:19:1::1) --veth-- backend (fd00:19:1::2)
// The client talks to a NodePort on the node's IPv6 address and to external and
// LB IPs routed through the node; tc DNATs to the backend, marks the packets and
// the agent's own masquerade tables (ip and ip6 svcplane-ebpf) masquerade them;
// replies are un-NATed on the way out. The backend has no route to the client:
// only the masquerade gets its replies back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masqueradeScript } from '../../src/backends/ebpf/ebpf-backend.js';
import { affinityClientIdForIPv6, decodeCt6Key, decodeCt6Value, decodeLb4AffinityKey, decodeLbAffinityValue } from '../../src/backends/ebpf/map-codec.js';
import {
  MAP_NAMES, SVC_FLAG_AFFINITY, SVC_FLAG_EXTERNAL_IP, SVC_FLAG_LOADBALANCER, SVC_FLAG_NODEPORT, SVC_FLAG_SOURCE_RANGES,
} from '../../src/backends/ebpf/map-types.js';
import { runChecked } from '../../src/kernel/exec.js';
import { addNetns, deleteNetns, ipIn, ProcessGroup, sysctlIn } from '../../src/testbed/netns.js';
import { BpfSandbox } from './lib/bpf-sandbox.js';
import { addBackend, addFrontend, addSourceRange } from './lib/lb-maps.js';
import { runClient, startEchoServers, type ClientOp } from './lib/lb-traffic.js';

const CLIENT_NS = `svcp-tc6c-${process.pid}`;
const NODE_NS = `svcp-tc6n-${process.pid}`;
const BACKEND_NS = `svcp-tc6b-${process.pid}`;
const CLIENT_IP = 'fd00:19::2';
const NODE_IP = 'fd00:19::1';
const NODE_BACKEND_SIDE_IP = 'fd00:19:1::1';
const BACKEND_IP = 'fd00:19:1::2';
const NODE_DEV = 'svcp6n0';
const EXTERNAL_IP = 'fd00:19:100::5';
const LB_IP = { allowed: 'fd00:19:100::10', denied: 'fd00:19:100::11' } as const;
const NODE_PORT = { remote: 30080, empty: 30084 } as const;
const REV = { nodePort: 21, nodePortUdp: 22, external: 23, lbAllowed: 24, lbDenied: 25, empty: 26 } as const;

const tcp = (ip: string, port: number, timeoutMs = 2000): ClientOp => ({ mode: 'tcp', ip, port, timeoutMs });
/** The "ip:port" strings Node.js prints for IPv6 peers. */
const at = (ip: string, port: number): string => `${ip}:${port}`;

describe('tc NodePort/external load balancing over IPv6', () => {
  let sandbox: BpfSandbox | undefined;
  const group = new ProcessGroup();

  beforeAll(async () => {
    for (const ns of [CLIENT_NS, NODE_NS, BACKEND_NS]) {
      await deleteNetns(ns);
      await addNetns(ns);
    }
    await ipIn(NODE_NS, ['link', 'add', NODE_DEV, 'type', 'veth', 'peer', 'name', 'svcp6c0', 'netns', CLIENT_NS]);
    await ipIn(NODE_NS, ['link', 'add', 'svcp6n1', 'type', 'veth', 'peer', 'name', 'svcp6b0', 'netns', BACKEND_NS]);
    const addrs = [[NODE_NS, NODE_DEV, `${NODE_IP}/64`], [NODE_NS, 'svcp6n1', `${NODE_BACKEND_SIDE_IP}/64`], [CLIENT_NS, 'svcp6c0', `${CLIENT_IP}/64`], [BACKEND_NS, 'svcp6b0', `${BACKEND_IP}/64`]] as const;
    for (const [ns, dev, addr] of addrs) {
      await ipIn(ns, ['-6', 'addr', 'add', addr, 'dev', dev, 'nodad']);
      await ipIn(ns, ['link', 'set', dev, 'up']);
    }
    // External and LB IPs are routed to the node, which does not hold them; nothing else goes anywhere.
    await ipIn(CLIENT_NS, ['-6', 'route', 'add', 'fd00:19:100::/64', 'via', NODE_IP]);
    for (const ns of [CLIENT_NS, NODE_NS, BACKEND_NS]) await ipIn(ns, ['-6', 'route', 'add', 'unreachable', 'default']);
    await sysctlIn(NODE_NS, { 'net.ipv6.conf.all.forwarding': 1 });
    await runChecked('nft', ['-f', '-'], { netns: NODE_NS, input: masqueradeScript() });

    await startEchoServers(group, BACKEND_NS, [
      { proto: 'tcp', ip: BACKEND_IP, port: 8080 },
      { proto: 'udp', ip: BACKEND_IP, port: 8080 },
    ]);

    sandbox = await BpfSandbox.start();
    await sandbox.run('tc', ['qdisc', 'add', 'dev', NODE_DEV, 'clsact'], NODE_NS);
    for (const dir of ['ingress', 'egress'] as const) {
      await sandbox.run('tc', ['filter', 'add', 'dev', NODE_DEV, dir, 'bpf', 'da', 'pinned', sandbox.progPath(`svcp_tc_${dir}`)], NODE_NS);
    }

    await addBackend(sandbox, 21, { address: BACKEND_IP, port: 8080, proto: 'TCP', flags: 0 });
    await addBackend(sandbox, 22, { address: BACKEND_IP, port: 8080, proto: 'UDP', flags: 0 });
    const nodePort = { address: NODE_IP, port: NODE_PORT.remote, proto: 'TCP', flags: SVC_FLAG_NODEPORT } as const;
    await addFrontend(sandbox, { ...nodePort, revNatIndex: REV.nodePort, backendIds: [21] });
    await addFrontend(sandbox, { ...nodePort, proto: 'UDP', revNatIndex: REV.nodePortUdp, backendIds: [22] });
    await addFrontend(sandbox, { ...nodePort, port: NODE_PORT.empty, revNatIndex: REV.empty, backendIds: [] });
    await addFrontend(sandbox, {
      address: EXTERNAL_IP, port: 80, proto: 'TCP', flags: SVC_FLAG_EXTERNAL_IP | SVC_FLAG_AFFINITY, affinityTimeout: 600,
      revNatIndex: REV.external, backendIds: [21],
    });
    const lb = { port: 80, proto: 'TCP', flags: SVC_FLAG_LOADBALANCER | SVC_FLAG_SOURCE_RANGES, backendIds: [21] } as const;
    await addFrontend(sandbox, { ...lb, address: LB_IP.allowed, revNatIndex: REV.lbAllowed });
    await addSourceRange(sandbox, REV.lbAllowed, 'fd00:19::/64');
    await addFrontend(sandbox, { ...lb, address: LB_IP.denied, revNatIndex: REV.lbDenied });
    // A range sharing the client's first 48 bits: only a full-length match may admit it.
    await addSourceRange(sandbox, REV.lbDenied, 'fd00:19:0:1::/64');
  });

  afterAll(async () => {
    await group.killAll();
    // Deleting the namespaces drops the veths, their qdiscs and filters, and the nft tables.
    for (const ns of [CLIENT_NS, NODE_NS, BACKEND_NS]) await deleteNetns(ns);
    await sandbox?.stop();
  });

  it('DNATs a NodePort on the node IPv6 address to a backend elsewhere (masqueraded) and un-NATs the replies', async () => {
    const [result] = await runClient(CLIENT_NS, [tcp(NODE_IP, NODE_PORT.remote)]);
    expect(result).toMatchObject({ ok: true, remote: at(NODE_IP, NODE_PORT.remote), reply: { server: at(BACKEND_IP, 8080) } });
    // tc marked it and the ip6 masquerade table rewrote the source to the node's address on the backend's link.
    expect(result?.ok && result.reply.peer).toMatch(new RegExp(`^${NODE_BACKEND_SIDE_IP}:\\d+$`));

    const ct = (await sandbox!.dumpMap(MAP_NAMES.conntrack6)).map((e) => ({ key: decodeCt6Key(e.key), value: decodeCt6Value(e.value) }));
    const forward = ct.find((e) => e.key.dir === 0 && e.key.daddr === NODE_IP && e.key.dport === NODE_PORT.remote);
    expect(forward).toMatchObject({ key: { saddr: CLIENT_IP, proto: 'TCP' }, value: { address: BACKEND_IP, port: 8080, backendId: 21, revNatIndex: REV.nodePort } });
    expect(ct).toContainEqual({
      key: { saddr: BACKEND_IP, daddr: CLIENT_IP, sport: 8080, dport: forward?.key.sport, proto: 'TCP', dir: 1 },
      value: { address: NODE_IP, port: NODE_PORT.remote, backendId: 21, revNatIndex: REV.nodePort },
    });
  });

  it('translates UDP both ways: the reply comes from the NodePort', async () => {
    const [result] = await runClient(CLIENT_NS, [{ mode: 'udp', ip: NODE_IP, port: NODE_PORT.remote }]);
    expect(result).toMatchObject({ ok: true, from: at(NODE_IP, NODE_PORT.remote), reply: { server: at(BACKEND_IP, 8080) } });
  });

  it('serves an IPv6 external IP, with ClientIP affinity keyed by the folded client address', async () => {
    const results = await runClient(CLIENT_NS, [tcp(EXTERNAL_IP, 80), tcp(EXTERNAL_IP, 80)]);
    for (const r of results) expect(r).toMatchObject({ ok: true, remote: at(EXTERNAL_IP, 80), reply: { server: at(BACKEND_IP, 8080) } });
    const aff = (await sandbox!.dumpMap(MAP_NAMES.affinity)).map((e) => ({ key: decodeLb4AffinityKey(e.key), value: decodeLbAffinityValue(e.value) }));
    expect(aff.filter((e) => e.key.revNatIndex === REV.external)).toEqual([
      { key: { clientId: affinityClientIdForIPv6(CLIENT_IP), revNatIndex: REV.external, netnsCookie: false }, value: { lastUsed: expect.any(BigInt), backendId: 21 } },
    ]);
  });

  it('enforces loadBalancerSourceRanges on IPv6 LB IPs: the client in range passes, one outside is dropped', async () => {
    const [allowed, denied] = await runClient(CLIENT_NS, [tcp(LB_IP.allowed, 80), tcp(LB_IP.denied, 80, 1000)]);
    expect(allowed).toMatchObject({ ok: true, remote: at(LB_IP.allowed, 80), reply: { server: at(BACKEND_IP, 8080) } });
    expect(denied).toMatchObject({ ok: false, code: 'TIMEOUT' });
  });

  it('drops traffic to an IPv6 NodePort without endpoints', async () => {
    const [empty] = await runClient(CLIENT_NS, [tcp(NODE_IP, NODE_PORT.empty, 1000)]);
    // Untranslated, the node itself would answer with a reset (ECONNREFUSED).
    expect(empty).toMatchObject({ ok: false, code: 'TIMEOUT' });
  });
});
