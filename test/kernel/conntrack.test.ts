// Privileged: real UDP conntrack entries in a test bed's node namespace,
// created by a client talking to a DNATed service IP, then deleted.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ConntrackCleanupError, ConntrackFlowCleaner } from '../../src/agent/conntrack-cleaner.js';
import { Conntrack } from '../../src/kernel/conntrack.js';
import { Iptables } from '../../src/kernel/iptables.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';

const VIP = '10.96.0.10';
const VIP6 = 'fd00:96::10';
const POD_A = '10.244.1.2';
const POD_B = '10.244.2.3';
const POD_A6 = 'fd00:244::1:2';
const NODE_PORT = 30053;

describe('Conntrack against real UDP flows', () => {
  let tb: Testbed;
  let ct: Conntrack;
  let ipt: Iptables;
  let ip6t: Iptables;

  /** Points nat PREROUTING for the given destination at exactly one pod. */
  async function dnat(tables: Iptables, match: string, to: string): Promise<void> {
    const batch = ['*nat', ':SVCP-TEST - [0:0]', `-A SVCP-TEST ${match} -j DNAT --to-destination ${to}`, 'COMMIT', ''].join('\n');
    await tables.restore(batch, { noflush: true });
    await tables.ensureRule('nat', 'PREROUTING', ['-j', 'SVCP-TEST'], 'prepend');
  }

  async function flows(args: readonly string[]): Promise<number> {
    const { stdout } = await tb.exec('node', 'conntrack', ['-L', '-p', 'udp', ...args]);
    return stdout.split('\n').filter((l) => l.startsWith('udp')).length;
  }

  beforeAll(async () => {
    tb = await createTestbed({
      name: 'ctkernel',
      ipv6: true,
      pods: [
        { name: 'a', ip: POD_A, ipv6: POD_A6 },
        { name: 'b', ip: POD_B },
      ],
    });
    await tb.startIdentityServers('a', { udp: [8053] });
    await tb.startIdentityServers('b', { udp: [8053] });
    ct = new Conntrack({ netns: tb.nodeNs });
    ipt = new Iptables({ family: 'IPv4', netns: tb.nodeNs });
    ip6t = new Iptables({ family: 'IPv6', netns: tb.nodeNs });
  });

  afterAll(async () => {
    await tb?.destroy();
  });

  const fromFixedPort = (ip: string, port: number) => tb.udpRequest('client', ip, port, { sourcePort: 40001 });

  it('a stale entry keeps a removed endpoint until deleteByEndpoint', async () => {
    await dnat(ipt, `-d ${VIP}/32 -p udp --dport 53`, `${POD_A}:8053`);
    expect(await fromFixedPort(VIP, 53)).toEqual({ ok: true, identity: 'a' });
    expect(await flows(['--orig-dst', VIP])).toBe(1);

    // The service now has only endpoint b, but the flow is still pinned to a.
    await dnat(ipt, `-d ${VIP}/32 -p udp --dport 53`, `${POD_B}:8053`);
    expect(await fromFixedPort(VIP, 53)).toEqual({ ok: true, identity: 'a' });

    expect(await ct.deleteByEndpoint(VIP, POD_B, 'UDP')).toBe(0);
    expect(await ct.deleteByEndpoint(VIP, POD_A, 'UDP')).toBe(1);
    expect(await fromFixedPort(VIP, 53)).toEqual({ ok: true, identity: 'b' });
  });

  it('deleteByServiceIP removes the flows to a service IP and port', async () => {
    expect(await flows(['--orig-dst', VIP])).toBe(1);
    expect(await ct.deleteByServiceIP(VIP, 'UDP', 54)).toBe(0);
    expect(await ct.deleteByServiceIP(VIP, 'UDP', 53)).toBe(1);
    expect(await flows(['--orig-dst', VIP])).toBe(0);
    expect(await ct.deleteByServiceIP(VIP, 'UDP')).toBe(0);
  });

  it('deleteByNodePort removes the flows to a node port', async () => {
    await dnat(ipt, `-d ${tb.nodeIP}/32 -p udp --dport ${NODE_PORT}`, `${POD_A}:8053`);
    expect(await fromFixedPort(tb.nodeIP, NODE_PORT)).toEqual({ ok: true, identity: 'a' });
    expect(await flows(['--dport', String(NODE_PORT)])).toBe(1);
    expect(await ct.deleteByNodePortEndpoint(NODE_PORT, POD_B, 'UDP')).toBe(0);
    expect(await ct.deleteByNodePort(NODE_PORT, 'UDP', 'IPv4')).toBe(1);
    expect(await flows(['--dport', String(NODE_PORT)])).toBe(0);
  });

  it('deletes IPv6 flows with -f ipv6', async () => {
    await dnat(ip6t, `-d ${VIP6}/128 -p udp --dport 53`, `[${POD_A6}]:8053`);
    expect(await fromFixedPort(VIP6, 53)).toEqual({ ok: true, identity: 'a' });
    expect(await flows(['-f', 'ipv6', '--orig-dst', VIP6])).toBe(1);
    expect(await ct.deleteByServiceIP(VIP6, 'UDP', 53)).toBe(1);
    expect(await flows(['-f', 'ipv6', '--orig-dst', VIP6])).toBe(0);
  });

  it('the agent\'s cleaner goes on past a failed deletion and reports it', async () => {
    await dnat(ipt, `-d ${VIP}/32 -p udp --dport 53`, `${POD_A}:8053`);
    expect(await fromFixedPort(VIP, 53)).toEqual({ ok: true, identity: 'a' });
    expect(await flows(['--orig-dst', VIP])).toBe(1);
    const cleaner = new ConntrackFlowCleaner(ct, pino({ level: 'silent' }));
    const stale = {
      serviceIPs: [
        { family: 'IPv4' as const, protocol: 'UDP' as const, ip: '10.96.0.300', port: 53 }, // refused: not an address
        { family: 'IPv4' as const, protocol: 'UDP' as const, ip: VIP, port: 53 },
      ],
      nodePorts: [], endpoints: [], nodePortEndpoints: [],
    };
    const err = await cleaner.clear(stale).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConntrackCleanupError);
    expect(err).toMatchObject({ wanted: 2, failures: [expect.objectContaining({ code: 'SVCPLANE_CONNTRACK_INVALID_FILTER' })] });
    expect(await flows(['--orig-dst', VIP])).toBe(0);
  });
});
