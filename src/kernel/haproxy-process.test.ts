// HAProxy as a child process, for real on 127.0.0.1: it starts on a checked config, proxies
// round robin over two local backends, stops; a config it refuses is an error, nothing runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { haproxyConfig } from '../bench/haproxy-config.js';
import { HaproxyError, HaproxyProcess } from './haproxy-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function namedServer(name: string): Promise<number> {
  const server: Server = createServer((s) => s.end(name));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function read(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sp-usbench-haproxy-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('HaproxyProcess', () => {
  it('proxies round robin over the configured backends, then stops', async () => {
    const [a, b, front] = [await namedServer('a'), await namedServer('b'), await freePort()];
    const haproxy = new HaproxyProcess({ binary: '/usr/sbin/haproxy', stateDir: stateDir() });
    cleanups.push(() => haproxy.stop());
    await haproxy.start(haproxyConfig([{ name: 'svc', bindIP: '127.0.0.1', bindPort: front, endpoints: [{ ip: '127.0.0.1', port: a }, { ip: '127.0.0.1', port: b }] }]));
    let first = '';
    for (let i = 0; i < 100 && first === ''; i++) first = await read(front).catch(() => new Promise<string>((r) => setTimeout(() => r(''), 50)));
    const answers = [first];
    for (let i = 0; i < 5; i++) answers.push(await read(front));
    expect(answers.join('')).toMatch(/^(ab){3}$|^(ba){3}$/);
    await haproxy.stop();
    expect(haproxy.running).toBe(false);
    await expect(read(front)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses to start on a config haproxy -c rejects', async () => {
    const haproxy = new HaproxyProcess({ binary: '/usr/sbin/haproxy', stateDir: stateDir() });
    await expect(haproxy.start('frontend x\n  bind 127.0.0.1:1\n  no-such-keyword\n')).rejects.toThrow(HaproxyError);
    expect(haproxy.running).toBe(false);
  });
});
