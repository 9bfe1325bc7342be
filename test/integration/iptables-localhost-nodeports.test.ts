// iptables mode with --iptables-localhost-nodeports=false (kube-proxy's flag; the behaviour
// suite runs the default, true): no DNAT for 127.0.0.0/8, so 127.0.0.1:NODEPORT is the node's
// own port and is refused, route_localnet is left alone and KUBE-FIREWALL holds no drop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { tally } from './behaviour-fixture.js';

const POD_IP = '10.244.1.21';

describe('iptables mode: --iptables-localhost-nodeports=false', () => {
  let tb: Testbed;
  let agent: AgentProcess | undefined;
  const manifests = new ManifestDir();

  beforeAll(async () => {
    tb = await createTestbed({ name: 'h14-lhnp', pods: [{ name: 'p1', ip: POD_IP, node: 'local' }] });
    await tb.startIdentityServers('p1', { tcp: [8080], udp: [] });
    manifests.write('np.yaml', [
      serviceDoc({ name: 'np', clusterIP: '10.96.14.1', type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30095 }] }),
      sliceDoc('np', [{ ip: POD_IP, node: 'node-a' }]),
    ]);
    agent = new AgentProcess(tb, [
      '--mode', 'iptables', '--iptables-localhost-nodeports', 'false', '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', tb.nodeIP,
      '--cluster-cidr', '10.244.0.0/16', '--min-sync-period', '500ms', '--log-format', 'json',
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
    ]);
    await agent.start();
  });

  afterAll(async () => {
    try {
      await agent?.kill('SIGTERM');
    } finally {
      await tb?.destroy();
      manifests.destroy();
    }
  });

  it('refuses 127.0.0.1:NODEPORT at once while the node IP serves it', async () => {
    const t0 = Date.now();
    expect(tally(await tb.tcpRequests('node', '127.0.0.1', 30095, 5, { timeoutMs: 2000 }))).toEqual({ 'error:refused': 5 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(tally(await tb.tcpRequests('node', tb.nodeIP, 30095, 5))).toEqual({ p1: 5 });
  });

  it('leaves route_localnet as it was and writes no martian drop', async () => {
    expect((await tb.exec('node', 'sysctl', ['-n', 'net.ipv4.conf.all.route_localnet'])).stdout.trim()).toBe('0');
    const { stdout } = await tb.exec('node', 'iptables-save', ['-t', 'filter']);
    expect(stdout).toMatch(/^:KUBE-FIREWALL /m);
    expect(stdout).not.toMatch(/^-A KUBE-FIREWALL /m);
    expect((await tb.exec('node', 'iptables-save', ['-t', 'nat'])).stdout).toMatch(/--dst-type LOCAL ! -d 127\.0\.0\.0\/8 .*-j KUBE-NODEPORTS|! -d 127\.0\.0\.0\/8 .*--dst-type LOCAL .*-j KUBE-NODEPORTS/);
  });
});
