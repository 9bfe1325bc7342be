// The Ingress controller with --source kubernetes, against the fake API server
// over real HTTP: the Ingress kinds listed and watched, real nginx (in the test
// bed's node namespace) serving them to curl and openssl from the client
// namespace, and status.loadBalancer.ingress written, read back from the fake.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressRuntime } from '../../src/cli/ingress-command.js';
import { IngressKubernetes } from '../../src/cli/ingress-kubernetes.js';
import { runCommand } from '../../src/kernel/exec.js';
import { buildKubeConfig } from '../../src/sources/kubernetes-config.js';
import { KubernetesSource } from '../../src/sources/kubernetes-source.js';
import { apiNode, apiService, apiSlice, FakeApiServer, type Json } from '../lib/fake-apiserver/index.js';
import { IngressBed, NODE_IP } from './ingress-bed.js';

const NODE = 'node-a';
const NODE_ADDRESS = '192.0.2.10';

function ingress(name: string, host: string, service: string, extra: { className?: string; tlsSecret?: string } = {}): Json {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      ...(extra.className === undefined ? {} : { ingressClassName: extra.className }),
      ...(extra.tlsSecret === undefined ? {} : { tls: [{ hosts: [host], secretName: extra.tlsSecret }] }),
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }],
    },
  };
}

function tlsSecret(name: string, cert: string): Json {
  const read = (ext: string): string => readFileSync(join('test/fixtures/ingress/tls', `${cert}.${ext}`)).toString('base64');
  return { metadata: { name, namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': read('crt'), 'tls.key': read('key') } };
}

describe('svcplane ingress --source kubernetes', () => {
  const bed = new IngressBed(`k19${process.pid % 10000}`);
  const server = new FakeApiServer();
  let runtime: IngressRuntime | undefined;
  let services: KubernetesSource | undefined;
  let kube: IngressKubernetes | undefined;

  const statusOf = (name: string): unknown => ((server.store.get('ingresses', 'default', name)?.['status'] ?? {}) as Json)['loadBalancer'];

  beforeAll(async () => {
    await bed.up();
    await server.start();
    server.create('nodes', apiNode(NODE, NODE_ADDRESS));
    // The bed's echo backends; endpoints directly (no L4 dataplane in this test).
    server.create('services', apiService('web', { clusterIP: '10.96.0.20', port: 80, targetPort: 80 }));
    server.create('endpointslices', apiSlice('web-1', 'web', ['10.231.1.10'], { port: 80 }));
    server.create('services', apiService('other', { clusterIP: '10.96.0.21', port: 80, targetPort: 80 }));
    server.create('endpointslices', apiSlice('other-1', 'other', ['10.231.1.11'], { port: 80 }));
    server.create('ingresses', ingress('plain', 'plain.example', 'web'));
    server.create('ingresses', ingress('theirs', 'theirs.example', 'other', { className: 'someone-else' }));
    server.create('ingressclasses', { metadata: { name: 'mine' }, spec: { controller: 'svcplane.io/ingress' } });
    server.create('ingresses', ingress('classed', 'classed.example', 'other', { className: 'mine' }));
    // The Secret's certificate does not name the host yet: the default certificate is served.
    server.create('secrets', tlsSecret('secure-tls', 'other'));
    server.create('secrets', { metadata: { name: 'opaque', namespace: 'default' }, type: 'Opaque', data: { x: 'eA==' } });
    server.create('ingresses', ingress('secure', 'sslexample.foo.com', 'web', { tlsSecret: 'secure-tls' }));

    const logger = pino({ level: 'warn' }, pino.destination(2));
    const kubeConfig = buildKubeConfig({ master: server.url, env: {} });
    runtime = new IngressRuntime(
      { http: { host: NODE_IP, port: 80 }, https: { host: NODE_IP, port: 443 }, stateDir: join(bed.dir, 'state'), nginx: '/usr/sbin/nginx', className: 'svcplane', watchWithoutClass: true, defaultBackend: undefined, serviceUpstream: false, nodeName: NODE, minSyncPeriodMs: 100, workerProcesses: 1, netns: bed.node },
      logger,
      () => undefined,
    );
    kube = new IngressKubernetes(runtime, { kubeConfig, publishStatusAddresses: [], nodeName: NODE, relistBackoff: { initialMs: 100, maxMs: 1000 }, statusRetryMs: 200 }, logger);
    services = new KubernetesSource({ kubeConfig, nodeName: NODE, logger, recordEvents: false, relistBackoff: { initialMs: 100, maxMs: 1000 } });
    await runtime.start();
    kube.start();
    const r = runtime;
    await services.start((events) => r.handle(events));
  }, 60_000);

  afterAll(async () => {
    await services?.stop();
    await kube?.stop();
    await runtime?.stop();
    await server.stop();
    await bed.down();
  }, 30_000);

  it('serves an Ingress from the API and writes the node address into its status', async () => {
    await bed.waitFor(async () => (await bed.get('plain.example', '/a')).echo?.local === '10.231.1.10:80', 'plain.example to serve');
    await bed.waitFor(() => JSON.stringify(statusOf('plain')) === JSON.stringify({ ingress: [{ ip: NODE_ADDRESS }] }), 'the status of plain');
    const lists = server.requests.filter((q) => !q.watch && q.path === '/apis/networking.k8s.io/v1/ingresses');
    expect(lists.length).toBeGreaterThan(0);
    expect(lists.every((q) => q.query['limit'] === '500')).toBe(true);
    const secretLists = server.requests.filter((q) => q.path === '/api/v1/secrets');
    expect(secretLists.length).toBeGreaterThan(0);
    expect(secretLists.every((q) => q.query['fieldSelector'] === 'type=kubernetes.io/tls')).toBe(true);
  });

  it('serves only its class: another class is neither served nor given a status, an IngressClass naming svcplane is', async () => {
    await bed.waitFor(async () => (await bed.get('classed.example', '/')).echo?.local === '10.231.1.11:80', 'classed.example to serve');
    expect((await bed.get('theirs.example', '/')).status).toBe(404);
    await bed.waitFor(() => JSON.stringify(statusOf('classed')) === JSON.stringify({ ingress: [{ ip: NODE_ADDRESS }] }), 'the status of classed');
    expect(statusOf('theirs')).toBeUndefined();
    expect(server.requests.filter((q) => q.method === 'PUT' && q.path.endsWith('/ingresses/theirs/status'))).toEqual([]);

    // Moved to our class: served, and its status says so; moved away again: our address is taken off.
    server.update('ingresses', ingress('theirs', 'theirs.example', 'other', { className: 'svcplane' }));
    await bed.waitFor(async () => (await bed.get('theirs.example', '/')).echo?.local === '10.231.1.11:80', 'theirs.example to serve');
    await bed.waitFor(() => JSON.stringify(statusOf('theirs')) === JSON.stringify({ ingress: [{ ip: NODE_ADDRESS }] }), 'the status of theirs');
    const current = server.store.get('ingresses', 'default', 'theirs') as Json;
    server.update('ingresses', { ...current, spec: (ingress('theirs', 'theirs.example', 'other', { className: 'someone-else' })['spec']) });
    await bed.waitFor(async () => (await bed.get('theirs.example', '/')).status === 404, 'theirs.example to stop serving');
    await bed.waitFor(() => JSON.stringify(statusOf('theirs')) === JSON.stringify({ ingress: [] }), 'the status of theirs cleared');
  });

  it('a changed TLS Secret reloads nginx with the new certificate', async () => {
    const subject = async (): Promise<string> => {
      const r = await runCommand('openssl', ['s_client', '-connect', `${NODE_IP}:443`, '-servername', 'sslexample.foo.com'], { netns: bed.client, input: '', timeoutMs: 5000 });
      return /subject=([^\n]*)/.exec(r.stdout)?.[1] ?? r.stderr;
    };
    await bed.waitFor(async () => (await bed.get('sslexample.foo.com', '/')).status === 308, 'sslexample.foo.com to redirect to HTTPS');
    expect(await subject()).toMatch(/svcplane ingress default certificate/);
    server.update('secrets', tlsSecret('secure-tls', 'sslexample'));
    await bed.waitFor(async () => /CN ?= ?sslexample\.foo\.com/.test(await subject()), 'the Secret\'s certificate to be served');
    const https = await bed.curl(['--cacert', 'test/fixtures/ingress/tls/sslexample.crt', '--resolve', `sslexample.foo.com:443:${NODE_IP}`, 'https://sslexample.foo.com/x']);
    expect(https.status).toBe(200);
    expect(JSON.parse(https.body)).toMatchObject({ local: '10.231.1.10:80', url: '/x' });
  });
});
