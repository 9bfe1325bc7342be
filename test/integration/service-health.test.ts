// kube-proxy's service health server, end to end: the real agent in a test bed's node
// namespace serves an externalTrafficPolicy Local LoadBalancer service's healthCheckNodePort
// on the node address; a client namespace probes it with curl as a cloud load balancer would.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CommandError } from '../../src/kernel/exec.js';
import { AgentProcess } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { serviceDoc, sliceDoc } from '../lib/manifests.js';
import { eventually } from './behaviour-fixture.js';

const HC_PORT = 31999;
const POD_IP = '10.244.1.11';

function webService(): Record<string, unknown> {
  const doc = serviceDoc({ name: 'web', clusterIP: '10.96.40.1', type: 'LoadBalancer', externalTrafficPolicy: 'Local', loadBalancerIP: '192.168.77.200', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] });
  (doc.spec as Record<string, unknown>).healthCheckNodePort = HC_PORT;
  return doc;
}

describe('service health server (health check node ports)', () => {
  let tb: Testbed;
  let agent: AgentProcess;
  const dir = mkdtempSync(join(tmpdir(), 'sp-health15-'));

  function write(docs: readonly unknown[]): void {
    const tmp = join(dir, '.svc.yaml.tmp');
    writeFileSync(tmp, docs.map((d) => stringify(d)).join('---\n'));
    renameSync(tmp, join(dir, 'svc.yaml'));
  }

  /** curl from `ns`: the HTTP status and body, or curl's exit code (7: connection refused). */
  async function probe(ns: string, host: string): Promise<{ status: number; body: unknown } | { curlExit: number }> {
    try {
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${HC_PORT}/`;
      const { stdout } = await tb.exec(ns, 'curl', ['-sS', '-g', '--max-time', '3', '-o', '-', '-w', '\n%{http_code}', url]);
      const lines = stdout.trimEnd().split('\n');
      const status = Number(lines.pop());
      return { status, body: JSON.parse(lines.join('\n')) as unknown };
    } catch (err) {
      if (err instanceof CommandError) return { curlExit: err.exitCode };
      throw err;
    }
  }

  beforeAll(async () => {
    tb = await createTestbed({ name: 'sp-health15', pods: [{ name: 'w1', ip: POD_IP }], ipv6: true });
    write([webService(), sliceDoc('web', [{ ip: POD_IP, node: 'node-a' }])]);
    agent = new AgentProcess(tb, [
      '--mode', 'iptables', '--manifests', dir, '--node-name', 'node-a', '--node-ip', `${tb.nodeIP},${tb.nodeIPv6}`,
      '--cluster-cidr', '10.244.0.0/16', '--min-sync-period', '100ms', '--sync-period', '2s',
      '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0',
    ]);
    await agent.start();
  }, 60_000);

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await tb?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 200 with one local endpoint on each node address, and only there', async () => {
    const ok = { status: 200, body: { service: { namespace: 'default', name: 'web' }, localEndpoints: 1, serviceProxyHealthy: true } };
    await eventually(async () => expect(await probe('client', tb.nodeIP)).toEqual(ok), 5000, 200);
    expect(await probe('client', tb.nodeIPv6 as string)).toEqual(ok);
    // Bound to the node IPs, not to every address.
    expect(await probe('node', '127.0.0.1')).toEqual({ curlExit: 7 });
    expect(await probe('node', '::1')).toEqual({ curlExit: 7 });
  });

  it('answers 503 once the node has no local endpoint', async () => {
    write([webService(), sliceDoc('web', [{ ip: POD_IP, node: 'node-b' }])]);
    await eventually(async () => expect(await probe('client', tb.nodeIP)).toEqual({ status: 503, body: { service: { namespace: 'default', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true } }), 10_000, 200);
  });

  it('closes the port when the service goes away', async () => {
    write([]);
    await eventually(async () => expect(await probe('client', tb.nodeIP)).toEqual({ curlExit: 7 }), 10_000, 200);
    expect(await probe('client', tb.nodeIPv6 as string)).toEqual({ curlExit: 7 });
  });
});
