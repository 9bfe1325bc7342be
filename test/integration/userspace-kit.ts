// Real sockets on 127.0.0.1 for the userspace proxy tests (src/backends/userspace/*.test.ts): backends that misbehave on purpose,
// clients that read everything, and the process's open fd count (leak checks).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach } from 'vitest';
import { backendKey, type Backend } from '../../src/backends/userspace/round-robin.js';

export const openFds = (): number => readdirSync('/proc/self/fd').length;

/**
 * Registers the describe block's hooks: what a test pushes is closed after it (last first),
 * and then every socket the test and the proxy opened must be closed again.
 */
export function socketCleanups(): { push(cleanup: () => Promise<void>): void } {
  let cleanups: (() => Promise<void>)[] = [];
  let fdsBefore = 0;
  beforeEach(() => {
    cleanups = [];
    fdsBefore = openFds();
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    await until(() => openFds() <= fdsBefore, `fds back to ${fdsBefore} (now ${openFds()})`);
  });
  return { push: (cleanup) => void cleanups.push(cleanup) };
}

export interface TestServer {
  readonly backend: Backend;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 whose connections `onConnection` handles. */
export function tcpServer(onConnection: (s: Socket) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onConnection(s);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        backend: { ip: '127.0.0.1', port, key: backendKey('127.0.0.1', port) },
        sockets,
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}

/** Says its name and closes. */
export const identity = (name: string): Promise<TestServer> => tcpServer((s) => s.end(name));

/** Echoes what it reads, upper-cased, once the client has half-closed; then closes its side. */
export const halfCloseEcho = (): Promise<TestServer> =>
  tcpServer((s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => s.end(Buffer.concat(chunks).toString().toUpperCase()));
  });

/** A port that is bound but refuses (nothing listens once closed). */
export async function refusingBackend(): Promise<Backend> {
  const s = await tcpServer(() => undefined);
  await s.close();
  return s.backend;
}

/**
 * A listener that never accepts (a perl child with backlog 0 whose queue the test fills):
 * further SYNs are dropped by the kernel, so a connect to it hangs until its timeout.
 */
export async function blackholeBackend(): Promise<{ backend: Backend; close(): Promise<void> }> {
  const child: ChildProcess = spawn('perl', ['-MSocket', '-e', 'socket(S,PF_INET,SOCK_STREAM,0) or die; bind(S,pack_sockaddr_in(0,inet_aton("127.0.0.1"))) or die; listen(S,0) or die; my ($p)=unpack_sockaddr_in(getsockname(S)); $|=1; print "$p\\n"; sleep 120;'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  // Fill the accept queue (backlog 0 holds one connection, plus one in flight).
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    fillers.push(s);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    backend: { ip: '127.0.0.1', port, key: backendKey('127.0.0.1', port) },
    close: async () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    },
  };
}

export type Outcome = { ok: true; data: string } | { ok: false; error: string; data: string };

/** Connects, sends `send` (then FIN when `end`), and collects the reply until the socket closes. */
export function request(port: number, send = '', end = true): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let data = '';
    let error: string | undefined;
    s.on('connect', () => {
      if (send) s.write(send);
      if (end) s.end();
    });
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve(error === undefined ? { ok: true, data } : { ok: false, error, data }));
  });
}

/** Polls `check` until true or the time runs out (then fails with `what`). */
export async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
