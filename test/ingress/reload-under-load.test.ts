// Ingress changes while requests flow: wrk keeps 16 connections busy on one
// host while 20 changes (each reloading nginx) add and remove other hosts.
// Every request must succeed. Each request opens its own connection: a
// graceful reload closes the old workers' idle keep-alive connections, and a
// client that wrote a request onto one at that instant sees a reset (HTTP/1.1
// lets clients retry idempotent requests then; wrk does not). `svcplane bench`
// measures that keep-alive case separately. wrk's timeout is 10 s (not its 2 s
// default): on a machine loaded by parallel suites a slow answer is not a lost one.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressBed, NODE_IP } from './ingress-bed.js';


function hostIngress(name: string, host: string): string {
  return `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ${name}\nspec:\n  rules:\n  - host: ${host}\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: service2\n            port:\n              number: 80\n`;
}

describe('reloads under load', () => {
  const bed = new IngressBed(`r${process.pid % 100000}`);

  beforeAll(async () => {
    await bed.up();
    bed.writeManifests({ 'services.yaml': bed.fixture('services.yaml'), 'main.yaml': hostIngress('main', 'load.example').replace('service2', 'service1') });
    await bed.startController(['--service-upstream', 'false']);
    await bed.waitFor(async () => (await bed.get('load.example', '/')).echo?.local === '10.231.1.12:80', 'the main Ingress to serve');
  }, 60_000);
  afterAll(async () => bed.down(), 30_000);

  it('20 reloads, no failed request (a connection per request)', async () => {
    const wrk = spawn('ip', ['netns', 'exec', bed.client, 'wrk', '-t', '2', '-c', '16', '-d', '60s', '--timeout', '10s', '-H', 'Host: load.example', '-H', 'Connection: close', `http://${NODE_IP}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    wrk.stdout.on('data', (c: Buffer) => (out += c.toString()));
    wrk.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const reloadsBefore = bed.log.split('nginx reloaded').length;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < 20; i++) {
        const files: Record<string, string> = { 'services.yaml': bed.fixture('services.yaml'), 'main.yaml': hostIngress('main', 'load.example').replace('service2', 'service1') };
        files['extra.yaml'] = hostIngress('extra', `h${i}.example`);
        bed.writeManifests(files);
        await bed.waitFor(async () => (await bed.get(`h${i}.example`, '/')).echo?.local === '10.231.1.13:80', `change ${i} to serve`);
      }
    } finally {
      wrk.kill('SIGINT');
      await new Promise((r) => wrk.once('exit', r));
    }
    const reloads = bed.log.split('nginx reloaded').length - reloadsBefore;
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    console.log(`reload under load: ${reloads} reloads, ${requests} requests\n${out}`);
    expect(reloads).toBeGreaterThanOrEqual(20);
    expect(requests).toBeGreaterThan(1000);
    expect(out).not.toMatch(/Socket errors/);
    expect(out).not.toMatch(/Non-2xx or 3xx responses/);
  }, 180_000);
});
