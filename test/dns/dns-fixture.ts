// Helpers for the cluster DNS tests: the manifests, the real `svcplane dns` process, dig,
// and a fake upstream nameserver on loopback (no traffic ever leaves the machine).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { stringify } from 'yaml';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** Loopback addresses of this branch's tests (127.53.17.0/24: nobody else's). */
export const TEST_NET = '127.53.17';

export function requireTool(tool: string): void {
  const found = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(join(d, tool)));
  if (!found) throw new Error(`${tool} is not installed: run make system-deps (CI installs it)`);
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `sp-dns-${tag}-`));
}

type Doc = Record<string, unknown>;

export function service(name: string, namespace: string, spec: Doc): Doc {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
}

export function slice(service: string, namespace: string, addressType: 'IPv4' | 'IPv6', endpoints: Doc[], ports: Doc[] = [], name = `${service}-${addressType.toLowerCase()}`): Doc {
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } }, addressType, ports, endpoints };
}

/** Writes a manifest file atomically (the watcher never sees half of it). */
export function writeManifests(path: string, docs: Doc[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, docs.map((d) => stringify(d)).join('---\n'));
  renameSync(tmp, path);
}

export class DnsProcess {
  private stderr = '';
  private constructor(readonly child: ChildProcess) {}

  static async start(args: string[]): Promise<DnsProcess> {
    const child = spawn(process.execPath, ['--enable-source-maps', CLI, 'dns', '--log-format', 'text', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new DnsProcess(child);
    child.stderr?.on('data', (d: Buffer) => (p.stderr += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (p.stderr += d.toString()));
    // A loaded 2-vCPU machine took over 20 s to start a Node CLI.
    const deadline = Date.now() + 45_000;
    while (!p.stderr.includes('serving cluster DNS')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`svcplane dns did not start:\n${p.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return p;
  }

  get log(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

export interface DigResult {
  readonly status: string;
  readonly flags: string[];
  readonly answer: string[];
  readonly authority: string[];
  readonly additional: string[];
  readonly raw: string;
}

/** Runs dig (argv, never a shell) and parses its sections into `name ttl class type data` lines (TTL kept). */
export function dig(server: string, port: number, args: string[], timeoutMs = 10_000): Promise<DigResult> {
  return digWith('dig', [], server, port, args, timeoutMs);
}

/** dig inside a network namespace (`ip netns exec`). */
export function digIn(netns: string, server: string, port: number, args: string[], timeoutMs = 10_000): Promise<DigResult> {
  return digWith('ip', ['netns', 'exec', netns, 'dig'], server, port, args, timeoutMs);
}

function digWith(command: string, prefix: string[], server: string, port: number, args: string[], timeoutMs: number): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile(command, [...prefix, `@${server}`, '-p', String(port), '+tries=1', '+time=3', ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err && !stdout) return reject(err);
      const sections: Record<string, string[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
      let current: string | undefined;
      for (const line of stdout.split('\n')) {
        const m = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
        if (m) current = m[1];
        else if (line.trim() === '') current = undefined;
        else if (current && !line.startsWith(';')) sections[current]?.push(line.split(/\s+/).join(' '));
      }
      const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
      const flags = (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
      resolve({ status, flags, answer: sections.ANSWER ?? [], authority: sections.AUTHORITY ?? [], additional: sections.ADDITIONAL ?? [], raw: stdout });
    });
  });
}

/** `name type data` of answer lines (dropping TTL and class), sorted. */
export function rrs(lines: readonly string[]): string[] {
  return lines.map((l) => {
    const [name, , , type, ...data] = l.split(' ');
    return `${name} ${type} ${data.join(' ')}`;
  }).sort();
}

export type UpstreamAnswerer = (q: dnsPacket.Question) => Partial<Packet> | 'drop';

/** A nameserver on loopback that answers as told and counts the queries it got. */
export class FakeUpstream {
  queries: string[] = [];
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;

  constructor(readonly host: string, readonly port: number, private readonly answerer: UpstreamAnswerer) {}

  private respond(msg: Buffer, viaTcp: boolean): Buffer | undefined {
    const query = dnsPacket.decode(msg);
    const q = query.questions?.[0];
    if (!q) return undefined;
    this.queries.push(`${q.name} ${q.type}${viaTcp ? ' tcp' : ''}`);
    const a = this.answerer(q);
    if (a === 'drop') return undefined;
    return dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [q], answers: [], ...a });
  }

  async start(): Promise<this> {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      const out = this.respond(msg, false);
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => udp.bind(this.port, this.host, () => r()));
    this.udp = udp;
    const tcp = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('error', () => s.destroy());
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const out = this.respond(buf.subarray(2, 2 + buf.readUInt16BE(0)), true);
        if (!out) return s.destroy();
        const len = Buffer.alloc(2);
        len.writeUInt16BE(out.length, 0);
        s.end(Buffer.concat([len, out]));
      });
    });
    await new Promise<void>((r) => tcp.listen(this.port, this.host, () => r()));
    this.tcp = tcp;
    return this;
  }

  async stop(): Promise<void> {
    this.udp?.close();
    await new Promise((r) => (this.tcp ? this.tcp.close(r) : r(undefined)));
  }
}

export function a(name: string, address: string, ttl = 60): Answer {
  return { name, type: 'A', ttl, class: 'IN', data: address };
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
