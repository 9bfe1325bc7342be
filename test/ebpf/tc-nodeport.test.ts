// Privileged: the tc NodePort programs (svcp_tc_ingress/svcp_tc_egress) on a
// node's external interface. Three throwaway namespaces:
//   client (198.19.0.2) --veth-- node (198.19.0.1; local backend 198.19.2.1) --veth-- backend (198.19.1.2)
// The client talks to NodePorts on the node IP; tc DNATs to the backend (or the
// node-local address) and rewrites the replies' source back on the way out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCt4Key, decodeCt4Value } from '../../src/backends/ebpf/map-codec.js';
import {
  BE_FLAG_LOCAL,
  MAP_NAMES,
  SVC_FLAG_CLUSTER_IP,
  SVC_FLAG_NODEPORT,
  SVC_FLAG_SOURCE_RANGES,
  SVCP_MARK_MASQ,
} from '../../src/backends/ebpf/map-types.js';
import { runChecked } from '../../src/kernel/exec.js';
import { addNetns, deleteNetns, ipIn, ProcessGroup, sysctlIn } from '../../src/testbed/netns.js';
import { BpfSandbox } from './lib/bpf-sandbox.js';
import { addBackend, addFrontend, addSourceRange } from './lib/lb-maps.js';
import { runClient, startEchoServers } from './lib/lb-traffic.js';

const CLIENT_NS = `svcp-tcc-${process.pid}`;
const NODE_NS = `svcp-tcn-${process.pid}`;
const BACKEND_NS = `svcp-tcb-${process.pid}`;
const CLIENT_IP = '198.19.0.2';
const NODE_IP = '198.19.0.1';
const BACKEND_IP = '198.19.1.2';
const LOCAL_BACKEND_IP = '198.19.2.1';
const NODE_DEV = 'svcpn0';

const PORT = { remote: 30080, local: 30081, rangeOk: 30082, rangeDenied: 30083, empty: 30084, clusterIpOnly: 30085 } as const;

// Counts packets tc marked for masquerading, forwarded vs delivered locally.
const MARKED = `meta mark & ${SVCP_MARK_MASQ} == ${SVCP_MARK_MASQ} counter`;
const NFT_COUNTERS = `table ip svcp_tc_test {
  chain forward {
    type filter hook forward priority 0;
    ${MARKED}
  }
  chain input {
    type filter hook input priority 0;
    ${MARKED}
  }
}
`;

async function markedPackets(chain: 'forward' | 'input'): Promise<number> {
  const { stdout } = await runChecked('nft', ['-j', 'list', 'chain', 'ip', 'svcp_tc_test', chain], { netns: NODE_NS });
  const doc = JSON.parse(stdout) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] };
  const rule = doc.nftables.find((o) => o.rule)?.rule;
  return rule?.expr.find((e) => e.counter)?.counter?.packets ?? -1;
}

describe('tc NodePort load balancing (svcp_tc_ingress / svcp_tc_egress)', () => {
  let sandbox: BpfSandbox | undefined;
  const group = new ProcessGroup();
  const tcp = (port: number, timeoutMs = 2000) => ({ mode: 'tcp', ip: NODE_IP, port, timeoutMs }) as const;

  beforeAll(async () => {
    for (const ns of [CLIENT_NS, NODE_NS, BACKEND_NS]) {
      await deleteNetns(ns);
      await addNetns(ns);
    }
    await ipIn(NODE_NS, ['link', 'add', NODE_DEV, 'type', 'veth', 'peer', 'name', 'svcpc0', 'netns', CLIENT_NS]);
    await ipIn(NODE_NS, ['link', 'add', 'svcpn1', 'type', 'veth', 'peer', 'name', 'svcpb0', 'netns', BACKEND_NS]);
    await ipIn(NODE_NS, ['addr', 'add', `${NODE_IP}/24`, 'dev', NODE_DEV]);
    await ipIn(NODE_NS, ['addr', 'add', '198.19.1.1/24', 'dev', 'svcpn1']);
    await ipIn(NODE_NS, ['addr', 'add', `${LOCAL_BACKEND_IP}/32`, 'dev', 'lo']);
    await ipIn(CLIENT_NS, ['addr', 'add', `${CLIENT_IP}/24`, 'dev', 'svcpc0']);
    await ipIn(BACKEND_NS, ['addr', 'add', `${BACKEND_IP}/24`, 'dev', 'svcpb0']);
    for (const [ns, dev] of [[NODE_NS, NODE_DEV], [NODE_NS, 'svcpn1'], [CLIENT_NS, 'svcpc0'], [BACKEND_NS, 'svcpb0']] as const) {
      await ipIn(ns, ['link', 'set', dev, 'up']);
    }
    await ipIn(CLIENT_NS, ['route', 'add', 'default', 'via', NODE_IP]);
    await ipIn(BACKEND_NS, ['route', 'add', 'default', 'via', '198.19.1.1']);
    await sysctlIn(NODE_NS, { 'net.ipv4.ip_forward': 1 });
    await runChecked('nft', ['-f', '-'], { netns: NODE_NS, input: NFT_COUNTERS });

    await startEchoServers(group, BACKEND_NS, [
      { proto: 'tcp', ip: BACKEND_IP, port: 8080 },
      { proto: 'udp', ip: BACKEND_IP, port: 8080 },
    ]);
    await startEchoServers(group, NODE_NS, [{ proto: 'tcp', ip: LOCAL_BACKEND_IP, port: 8081 }]);

    sandbox = await BpfSandbox.start();
    await sandbox.run('tc', ['qdisc', 'add', 'dev', NODE_DEV, 'clsact'], NODE_NS);
    for (const dir of ['ingress', 'egress'] as const) {
      const prog = sandbox.progPath(`svcp_tc_${dir}`);
      await sandbox.run('tc', ['filter', 'add', 'dev', NODE_DEV, dir, 'bpf', 'da', 'pinned', prog], NODE_NS);
    }

    await addBackend(sandbox, 11, { address: BACKEND_IP, port: 8080, proto: 'TCP', flags: 0 });
    await addBackend(sandbox, 12, { address: BACKEND_IP, port: 8080, proto: 'UDP', flags: 0 });
    await addBackend(sandbox, 13, { address: LOCAL_BACKEND_IP, port: 8081, proto: 'TCP', flags: BE_FLAG_LOCAL });
    const nodePort = { address: NODE_IP, proto: 'TCP', flags: SVC_FLAG_NODEPORT } as const;
    await addFrontend(sandbox, { ...nodePort, port: PORT.remote, revNatIndex: 11, backendIds: [11] });
    await addFrontend(sandbox, { ...nodePort, port: PORT.remote, proto: 'UDP', revNatIndex: 12, backendIds: [12] });
    await addFrontend(sandbox, { ...nodePort, port: PORT.local, revNatIndex: 13, backendIds: [13] });
    const ranged = { ...nodePort, flags: SVC_FLAG_NODEPORT | SVC_FLAG_SOURCE_RANGES, backendIds: [11] };
    await addFrontend(sandbox, { ...ranged, port: PORT.rangeOk, revNatIndex: 14 });
    await addSourceRange(sandbox, 14, '198.19.0.0/24');
    await addFrontend(sandbox, { ...ranged, port: PORT.rangeDenied, revNatIndex: 16 });
    await addSourceRange(sandbox, 16, '203.0.113.0/24');
    await addFrontend(sandbox, { ...nodePort, port: PORT.empty, revNatIndex: 17, backendIds: [] });
    await addFrontend(sandbox, { ...nodePort, flags: SVC_FLAG_CLUSTER_IP, port: PORT.clusterIpOnly, revNatIndex: 15, backendIds: [11] });
  });

  afterAll(async () => {
    await group.killAll();
    // Deleting the namespaces drops the veths, their clsact qdiscs and filters.
    for (const ns of [CLIENT_NS, NODE_NS, BACKEND_NS]) await deleteNetns(ns);
    await sandbox?.stop();
  });

  it('DNATs a NodePort to a backend on another host, marks it for masquerade, and un-NATs the replies', async () => {
    const before = await markedPackets('forward');
    const [result] = await runClient(CLIENT_NS, [tcp(PORT.remote)]);
    expect(result).toMatchObject({ ok: true, remote: `${NODE_IP}:${PORT.remote}`, reply: { server: `${BACKEND_IP}:8080` } });
    // Nothing masquerades in this test bed, so the backend sees the client itself.
    expect(result?.ok && result.reply.peer).toMatch(new RegExp(`^${CLIENT_IP}:\\d+$`));
    expect(await markedPackets('forward')).toBeGreaterThan(before);

    const clientPort = Number(result?.ok && result.reply.peer.split(':')[1]);
    const ct = (await sandbox!.dumpMap(MAP_NAMES.conntrack)).map((e) => ({ key: decodeCt4Key(e.key), value: decodeCt4Value(e.value) }));
    expect(ct).toContainEqual({
      key: { saddr: CLIENT_IP, daddr: NODE_IP, sport: clientPort, dport: PORT.remote, proto: 'TCP', dir: 0 },
      value: { address: BACKEND_IP, port: 8080, backendId: 11, revNatIndex: 11 },
    });
    expect(ct).toContainEqual({
      key: { saddr: BACKEND_IP, daddr: CLIENT_IP, sport: 8080, dport: clientPort, proto: 'TCP', dir: 1 },
      value: { address: NODE_IP, port: PORT.remote, backendId: 11, revNatIndex: 11 },
    });
  });

  it('translates UDP both ways', async () => {
    const [result] = await runClient(CLIENT_NS, [{ mode: 'udp', ip: NODE_IP, port: PORT.remote }]);
    expect(result).toMatchObject({ ok: true, from: `${NODE_IP}:${PORT.remote}`, reply: { server: `${BACKEND_IP}:8080` } });
  });

  it('DNATs to a node-local backend without the masquerade mark', async () => {
    const [result] = await runClient(CLIENT_NS, [tcp(PORT.local), tcp(PORT.local)]);
    expect(result).toMatchObject({ ok: true, remote: `${NODE_IP}:${PORT.local}`, reply: { server: `${LOCAL_BACKEND_IP}:8081` } });
    expect(await markedPackets('input')).toBe(0);
  });

  it('serves loadBalancerSourceRanges clients and drops everyone else', async () => {
    const [allowed, denied] = await runClient(CLIENT_NS, [tcp(PORT.rangeOk), tcp(PORT.rangeDenied, 1000)]);
    expect(allowed).toMatchObject({ ok: true, remote: `${NODE_IP}:${PORT.rangeOk}`, reply: { server: `${BACKEND_IP}:8080` } });
    expect(denied).toMatchObject({ ok: false, code: 'TIMEOUT' });
  });

  it('drops traffic to a NodePort without endpoints, and leaves plain cluster IP entries to the node', async () => {
    const [empty, clusterIpOnly] = await runClient(CLIENT_NS, [tcp(PORT.empty, 1000), tcp(PORT.clusterIpOnly)]);
    expect(empty).toMatchObject({ ok: false, code: 'TIMEOUT' });
    // Not translated: the node itself has nothing listening there and resets.
    expect(clusterIpOnly).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
  });
});
