// `svcplane ingress --source kubernetes` as a process: the real CLI against the
// fake API server, nginx on loopback ports of its own. An Ingress whose Service
// has no endpoints answers 503 (served) where an unknown host gets 404, and the
// Ingress's status gets --publish-status-address.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/kernel/exec.js';
import { apiNode, apiService, FakeApiServer, type Json } from '../lib/fake-apiserver/index.js';

const PORT = 20_000 + (process.pid % 20_000);

describe('svcplane ingress --source kubernetes (the CLI)', () => {
  const server = new FakeApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'sp-ingress-kcli-'));
  let child: ChildProcess | undefined;
  let log = '';

  beforeAll(async () => {
    await server.start();
    server.create('nodes', apiNode('node-a', '192.0.2.10'));
    server.create('services', apiService('web', { clusterIP: '10.96.0.20', port: 80 }));
    server.create('ingresses', {
      metadata: { name: 'web', namespace: 'default' },
      spec: { rules: [{ host: 'web.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    });
    child = spawn('bin/svcplane', [
      'ingress', '--source', 'kubernetes', '--master', server.url, '--node-name', 'node-a', '--publish-status-address', '198.51.100.7',
      '--http-listen', `127.0.0.1:${PORT}`, '--https-listen', `127.0.0.1:${PORT + 1}`, '--state-dir', join(dir, 'state'),
      '--service-upstream', 'false', '--worker-processes', '1', '--log-format', 'text',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer): void => void (log += chunk.toString());
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }, 30_000);

  afterAll(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child?.once('exit', r));
    }
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  async function status(host: string): Promise<number> {
    const r = await runCommand('curl', ['-s', '-o', '/dev/null', '-m', '2', '-w', '%{http_code}', '-H', `Host: ${host}`, `http://127.0.0.1:${PORT}/`]);
    return Number(r.stdout);
  }

  async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('serves the Ingress from the API and publishes the given address in its status', async () => {
    await waitFor(async () => (await status('web.example')) === 503, 'web.example to be served (503: no endpoints)');
    expect(await status('unknown.example')).toBe(404);
    await waitFor(() => JSON.stringify((server.store.get('ingresses', 'default', 'web')?.['status'] as Json | undefined)?.['loadBalancer']) === JSON.stringify({ ingress: [{ ip: '198.51.100.7' }] }), 'the status');
    expect(server.requests.some((q) => q.method === 'PUT' && q.path === '/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status' && q.status === 200)).toBe(true);
  });
});
