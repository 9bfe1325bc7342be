// Test-side wrappers around client.mjs and identity-server.mjs: both run with
// this process's Node inside a namespace (`ip netns exec`), one process for many
// requests so that a test can make hundreds of connections quickly.

import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { runChecked } from '../kernel/exec.js';
import { SvcplaneError } from '../util/errors.js';
import { killChild, netnsArgv, type ProcessGroup } from './netns.js';

const CLIENT_SCRIPT = fileURLToPath(new URL('./client.mjs', import.meta.url));
const SERVER_SCRIPT = fileURLToPath(new URL('./identity-server.mjs', import.meta.url));
/**
 * Per request, unless a test says otherwise; stretched by SVCPLANE_TESTBED_TIME_SCALE on an
 * emulated machine (the IPVS VM under TCG), where a connection may take seconds.
 */
function defaultTimeoutMs(): number {
  const scale = Number(process.env.SVCPLANE_TESTBED_TIME_SCALE);
  return 1000 * (Number.isFinite(scale) && scale >= 1 ? scale : 1);
}

export type TrafficErrorKind = 'refused' | 'timeout' | 'unreachable' | 'prohibited' | 'reset' | 'closed' | `other:${string}`;
export type RequestResult = { readonly ok: true; readonly identity: string } | { readonly ok: false; readonly error: TrafficErrorKind };

export interface RequestOptions {
  /** Per request (connect plus answer). Default 1000 ms. */
  readonly timeoutMs?: number;
  /** Parallel requests inside the client process. Default 10. */
  readonly concurrency?: number;
}

export interface UdpRequestOptions extends RequestOptions {
  /** Send from this source port (same conntrack entry every time); requests then run one by one. */
  readonly sourcePort?: number;
}

/** `count` TCP connections from `ns` to ip:port; each reads the server's greeting line. */
export async function tcpRequests(ns: string, ip: string, port: number, count: number, opts: RequestOptions = {}, cgroup?: string): Promise<RequestResult[]> {
  return runClient(ns, cgroup, { mode: 'tcp', ip, port, count, timeoutMs: opts.timeoutMs ?? defaultTimeoutMs(), concurrency: opts.concurrency });
}

export async function udpRequests(ns: string, ip: string, port: number, count: number, opts: UdpRequestOptions = {}, cgroup?: string): Promise<RequestResult[]> {
  return runClient(ns, cgroup, {
    mode: 'udp',
    ip,
    port,
    count,
    timeoutMs: opts.timeoutMs ?? defaultTimeoutMs(),
    concurrency: opts.concurrency,
    sourcePort: opts.sourcePort,
  });
}

async function runClient(ns: string, cgroup: string | undefined, config: { count: number; timeoutMs: number; concurrency?: number | undefined } & Record<string, unknown>): Promise<RequestResult[]> {
  const rounds = config.count; // worst case: every request times out, one at a time
  const timeoutMs = rounds * config.timeoutMs + 10_000;
  const args = [CLIENT_SCRIPT, JSON.stringify(config)];
  const { stdout } = cgroup === undefined
    ? await runChecked(process.execPath, args, { netns: ns, timeoutMs })
    : await runChecked(...netnsArgv(ns, process.execPath, args, cgroup), { timeoutMs });
  return JSON.parse(stdout) as RequestResult[];
}

export class ConnectionClosedError extends SvcplaneError {
  override readonly code = 'SVCPLANE_TESTBED_CONNECTION_CLOSED';
  constructor(readonly kind: TrafficErrorKind | 'closed') {
    super(`connection closed (${kind})`);
  }
}

/** A long-lived TCP connection held by a client process inside a namespace. */
export class HeldConnection {
  private waiter: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  private closedKind: TrafficErrorKind | undefined;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly greeting: string,
    lines: AsyncIterable<string>,
  ) {
    void this.pump(lines);
  }

  get closed(): boolean {
    return this.closedKind !== undefined;
  }

  /** Sends one line and resolves with the next line the server sends back. */
  request(line: string, timeoutMs = defaultTimeoutMs()): Promise<string> {
    if (this.waiter) return Promise.reject(new Error('one request at a time'));
    if (this.closedKind !== undefined) return Promise.reject(new ConnectionClosedError(this.closedKind));
    this.child.stdin.write(`${line}\n`);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ConnectionClosedError('timeout'));
      }, timeoutMs);
      this.waiter = {
        resolve: (reply) => (clearTimeout(timer), resolve(reply)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      };
    });
  }

  async close(): Promise<void> {
    await killChild(this.child);
  }

  private async pump(lines: AsyncIterable<string>): Promise<void> {
    for await (const raw of lines) {
      const event = JSON.parse(raw) as { event: string; line?: string; error?: TrafficErrorKind };
      if (event.event === 'line' && event.line !== undefined) this.deliver(event.line);
      if (event.event === 'closed') this.fail(event.error ?? 'closed');
    }
    this.fail('closed');
  }

  private deliver(line: string): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    // A reply nobody waits for (its request timed out) is dropped.
    waiter?.resolve(line);
  }

  private fail(kind: TrafficErrorKind): void {
    this.closedKind ??= kind;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(new ConnectionClosedError(kind));
  }
}

/** Opens a TCP connection from `ns` and keeps it; rejects with ConnectionClosedError if it cannot connect. */
export async function holdConnection(group: ProcessGroup, ns: string, ip: string, port: number, opts: { timeoutMs?: number } = {}, cgroup?: string): Promise<HeldConnection> {
  const child = group.spawn(ns, process.execPath, [CLIENT_SCRIPT, JSON.stringify({ mode: 'hold', ip, port, timeoutMs: opts.timeoutMs ?? defaultTimeoutMs() })], cgroup);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  type HoldEvent = { event: string; greeting?: string; error?: TrafficErrorKind };
  const event: HoldEvent = first.done ? { event: 'error', error: 'closed' } : (JSON.parse(first.value) as HoldEvent);
  if (event.event !== 'connected' || event.greeting === undefined) {
    await killChild(child);
    throw new ConnectionClosedError(event.error ?? 'closed');
  }
  return new HeldConnection(child, event.greeting, { [Symbol.asyncIterator]: () => lines });
}

export interface IdentityPorts {
  readonly tcp?: readonly number[];
  readonly udp?: readonly number[];
  /** HTTP servers answering every request with the identity (Ingress backends). */
  readonly http?: readonly number[];
}

export interface PeerRecord {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  /** The source address the server saw (after any NAT). */
  readonly from: string;
  readonly fromPort: number;
}

/** A running identity-server.mjs. */
export class IdentityServer {
  /** Every connection and datagram the server received, in order. */
  readonly peers: PeerRecord[] = [];

  constructor(
    readonly identity: string,
    readonly ns: string,
    readonly ports: IdentityPorts,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {}

  async stop(): Promise<void> {
    await killChild(this.child);
  }
}

/** Starts an identity server answering `identity` in `ns`; resolves once every port listens. */
export async function startIdentityServer(group: ProcessGroup, ns: string, identity: string, ports: IdentityPorts): Promise<IdentityServer> {
  const child = group.spawn(ns, process.execPath, [SERVER_SCRIPT, JSON.stringify({ name: identity, tcp: ports.tcp ?? [], udp: ports.udp ?? [], http: ports.http ?? [] })]);
  const server = new IdentityServer(identity, ns, ports, child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (raw) => {
      const event = JSON.parse(raw) as { event: string; port?: number; from?: string; fromPort?: number };
      if (event.event === 'ready') resolve();
      else if (event.event === 'tcp' || event.event === 'udp') {
        server.peers.push({ protocol: event.event, port: event.port ?? 0, from: event.from ?? '', fromPort: event.fromPort ?? 0 });
      }
    });
    child.on('exit', (code) => reject(new Error(`identity server ${identity} in ${ns} exited (${code}): ${stderr.trim()}`)));
  });
  return server;
}
