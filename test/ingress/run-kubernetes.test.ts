// `svcplane run --mode nftables --source kubernetes --ingress` end to end: one agent
// process in the bed's node namespace, fed by the fake API server, programs
// nftables for the cluster IPs and nginx for the Ingresses. Requests from the
// client namespace go through nginx to a Service's cluster IP, which nftables
// sends to the echo backend; an Ingress change is served; the statuses are
// written; an invalid Ingress gets its Warning Event; the detailed /healthz
// shows the controller's state.
//
// The fake API server runs in this process on 127.0.0.1; two socat bridges join
// it to the node namespace through a Unix socket (node-ns 127.0.0.1:6443 ->
// socket -> host 127.0.0.1:<port>), so every byte stays on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/kernel/exec.js';
import { apiNode, apiService, apiSlice, FakeApiServer, type Json } from '../lib/fake-apiserver/index.js';
import { IngressBed, NODE_IP } from './ingress-bed.js';

const STATUS_IP = '198.51.100.9';
const METRICS = '127.0.0.1:10249';

function ingress(name: string, host: string, paths: readonly { path: string; service: string; pathType?: string }[]): Json {
  return {
    metadata: { name, namespace: 'default' },
    spec: { rules: [{ host, http: { paths: paths.map((p) => ({ path: p.path, pathType: p.pathType ?? 'Prefix', backend: { service: { name: p.service, port: { number: 80 } } } })) } }] },
  };
}

describe('svcplane run --mode nftables --source kubernetes --ingress', () => {
  const bed = new IngressBed(`h19rk${process.pid % 10000}`);
  const api = new FakeApiServer();
  const socket = join(bed.dir, 'api.sock');
  const bridges: ChildProcess[] = [];

  const loadBalancer = (name: string): unknown => ((api.store.get('ingresses', 'default', name)?.['status'] ?? {}) as Json)['loadBalancer'];
  const echoOf = async (host: string, path: string): Promise<string | undefined> => (await bed.get(host, path)).echo?.local;

  beforeAll(async () => {
    await bed.up();
    await bed.routeClusterIPs();
    await api.start();
    api.create('nodes', apiNode('node-a', NODE_IP));
    // Two Services on the bed's echo backends, reached through their cluster IPs (nftables DNAT).
    api.create('services', apiService('web', { clusterIP: '10.96.0.30', port: 80, targetPort: 80 }));
    api.create('endpointslices', apiSlice('web-1', 'web', ['10.231.1.10'], { port: 80 }));
    api.create('services', apiService('api', { clusterIP: '10.96.0.31', port: 80, targetPort: 80 }));
    api.create('endpointslices', apiSlice('api-1', 'api', ['10.231.1.11'], { port: 80 }));
    api.create('ingresses', ingress('web', 'web.example', [{ path: '/', service: 'web' }]));

    const hostBridge = spawn('socat', [`UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${new URL(api.url).port}`], { stdio: 'ignore' });
    bridges.push(hostBridge);
    await bed.waitFor(() => existsSync(socket), 'the host side of the API bridge');
    bridges.push(spawn('ip', ['netns', 'exec', bed.node, 'socat', 'TCP-LISTEN:6443,bind=127.0.0.1,fork,reuseaddr', `UNIX-CONNECT:${socket}`], { stdio: 'ignore' }));
    await bed.startCommand([
      'run', '--mode', 'nftables', '--source', 'kubernetes', '--master', 'http://127.0.0.1:6443', '--node-name', 'node-a', '--node-ip', NODE_IP,
      '--cluster-cidr', '10.244.0.0/16', '--metrics-bind-address', METRICS, '--log-format', 'text',
      '--ingress', '--http-listen', `${NODE_IP}:80`, '--https-listen', `${NODE_IP}:443`, '--ingress-state-dir', bed.stateDir,
      '--publish-status-address', STATUS_IP,
    ], 90_000); // Node alone took 20 s to start here at load 17
  }, 120_000);

  afterAll(async () => {
    await bed.down();
    for (const b of bridges) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
    await api.stop();
  }, 30_000);

  it('serves an Ingress from the API through nginx and the nftables cluster IP, and writes its status', { timeout: 120_000 }, async () => {
    // A loaded machine may take a while for the first nftables sync and nginx reload.
    await bed.waitFor(async () => (await echoOf('web.example', '/')) === '10.231.1.10:80', 'web.example to reach the web backend', 90_000);
    const r = await bed.get('web.example', '/shop?x=1');
    expect(r.echo).toMatchObject({ local: '10.231.1.10:80', url: '/shop?x=1' });
    expect(r.echo?.headers['x-forwarded-host']).toBe('web.example');
    // nginx's upstream is the cluster IP: nftables picked the endpoint.
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(bed.stateDir, 'nginx.conf'), 'utf8')).toMatch(/server 10\.96\.0\.30:80 max_fails=0;/);
    const nft = await runCommand('nft', ['list', 'table', 'ip', 'svcplane'], { netns: bed.node });
    expect(nft.stdout).toContain('10.96.0.30');
    await bed.waitFor(() => JSON.stringify(loadBalancer('web')) === JSON.stringify({ ingress: [{ ip: STATUS_IP }] }), 'the status of web');
  });

  it('serves an Ingress change and a new Ingress, with its status; an invalid Ingress gets a Warning Event and the rest keeps serving', { timeout: 60_000 }, async () => {
    api.update('ingresses', ingress('web', 'web.example', [{ path: '/', service: 'web' }, { path: '/api', service: 'api' }]));
    api.create('ingresses', ingress('late', 'late.example', [{ path: '/', service: 'api' }]));
    api.create('ingresses', ingress('bad', 'bad.example', [{ path: '/', service: 'web', pathType: 'Sometimes' }]));
    await bed.waitFor(async () => (await echoOf('web.example', '/api/v1')) === '10.231.1.11:80', 'the new path of web to reach the api backend', 30_000);
    expect(await echoOf('web.example', '/apix')).toBe('10.231.1.10:80');
    await bed.waitFor(async () => (await echoOf('late.example', '/')) === '10.231.1.11:80', 'late.example', 30_000);
    await bed.waitFor(() => JSON.stringify(loadBalancer('late')) === JSON.stringify({ ingress: [{ ip: STATUS_IP }] }), 'the status of late');

    await bed.waitFor(() => api.events.some((e) => e['reason'] === 'InvalidIngress'), 'the Warning Event on bad');
    const warnings = api.events.filter((e) => (e['regarding'] as Json)['kind'] === 'Ingress');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ type: 'Warning', reportingInstance: 'svcplane-node-a', regarding: { name: 'bad', namespace: 'default' } });
    expect(String(warnings[0]?.['note'])).toContain('pathType');
    expect((await bed.get('bad.example', '/')).status).toBe(404);
    expect(loadBalancer('bad')).toBeUndefined();
  });

  it('shows the controller in the detailed /healthz', async () => {
    const r = await runCommand('curl', ['-sS', '-m', '5', `http://${METRICS}/healthz`], { netns: bed.node });
    const body = JSON.parse(r.stdout) as { ingress: Record<string, unknown>; lastUpdated: string | null };
    expect(body.lastUpdated).not.toBeNull();
    expect(body.ingress).toMatchObject({ healthy: true, changePendingSince: null, consecutiveFailures: 0, servedIngresses: 2, source: { healthy: true, listed: true } });
    expect(Date.parse(String(body.ingress['lastReload']))).toBeGreaterThan(Date.now() - 120_000);
    expect(body.ingress['nginxPid']).toEqual(expect.any(Number));
  });
});
