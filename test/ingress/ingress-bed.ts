// A throwaway network for the ingress tests: a client namespace and a node
// namespace joined by a veth pair; in the node namespace, echo backends (on
// their own addresses) and `svcplane ingress` (the real CLI) driving Debian's
// nginx. Blackhole default routes: no packet leaves the test's namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../src/kernel/exec.js';

export const NODE_IP = '10.231.0.1';
export const CLIENT_IP = '10.231.0.2';
/** Echo backends: the document fixtures' endpoint addresses (test/fixtures/ingress/services.yaml). */
export const BACKENDS = ['10.231.1.10:80', '10.231.1.11:80', '10.231.1.12:80', '10.231.1.12:4200', '10.231.1.13:80', '10.231.1.13:8080', '10.231.1.14:80', '10.231.1.15:80'];
const NODE = process.execPath;

export interface Echo {
  readonly local: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

async function must(file: string, args: readonly string[], netns?: string): Promise<string> {
  const r = await runCommand(file, args, netns === undefined ? {} : { netns });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export class IngressBed {
  readonly client: string;
  readonly node: string;
  readonly dir = mkdtempSync(join(tmpdir(), 'sp-ingress-'));
  readonly manifests = join(this.dir, 'manifests');
  readonly stateDir = join(this.dir, 'state');
  private readonly children: ChildProcess[] = [];
  controller: ChildProcess | undefined;
  log = '';

  constructor(suffix: string) {
    this.client = `sp-ingress-c-${suffix}`;
    this.node = `sp-ingress-n-${suffix}`;
  }

  private readonly veth = `sp-ing${process.pid % 10000}`;

  /**
   * A route for the cluster IP range in the node namespace (a node has a default
   * route; ours is a blackhole): the L4 dataplane rewrites these packets before
   * they leave, so none reaches the client namespace.
   */
  async routeClusterIPs(cidr = '10.96.0.0/12'): Promise<void> {
    await must('ip', ['-n', this.node, 'route', 'add', cidr, 'dev', `${this.veth}n`]);
  }

  async up(): Promise<void> {
    const veth = this.veth;
    await must('ip', ['netns', 'add', this.client]);
    await must('ip', ['netns', 'add', this.node]);
    await must('ip', ['link', 'add', `${veth}c`, 'netns', this.client, 'type', 'veth', 'peer', 'name', `${veth}n`, 'netns', this.node]);
    for (const [ns, dev, ip] of [[this.client, `${veth}c`, CLIENT_IP], [this.node, `${veth}n`, NODE_IP]] as const) {
      await must('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
      await must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await must('ip', ['-n', ns, 'route', 'add', 'blackhole', 'default']);
    }
    for (const ip of new Set(BACKENDS.map((b) => b.split(':')[0] as string))) await must('ip', ['-n', this.node, 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
    const echo = spawn('ip', ['netns', 'exec', this.node, NODE, 'test/ingress/echo-server.mjs', ...BACKENDS], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(echo);
    await new Promise<void>((resolve, reject) => {
      echo.stdout?.once('data', () => resolve());
      echo.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
    });
    mkdirSync(this.manifests, { recursive: true });
  }

  /** Replaces the manifest directory's content with these files (name -> YAML). */
  writeManifests(files: Readonly<Record<string, string>>): void {
    for (const name of readdirSync(this.manifests)) if (!Object.hasOwn(files, name)) rmSync(join(this.manifests, name));
    for (const [name, text] of Object.entries(files)) {
      // Renamed into place: the source never reads half a file.
      writeFileSync(join(this.dir, 'next.tmp'), text);
      renameSync(join(this.dir, 'next.tmp'), join(this.manifests, name));
    }
  }

  fixture(path: string): string {
    return readFileSync(join('test/fixtures/ingress', path), 'utf8');
  }

  async startController(extra: readonly string[] = []): Promise<void> {
    await this.startCommand(['ingress', '--manifests', this.manifests, '--http-listen', `${NODE_IP}:80`, '--https-listen', `${NODE_IP}:443`, '--state-dir', this.stateDir, '--log-format', 'text', '--min-sync-period', '100ms', ...extra]);
  }

  /** `svcplane <args>` in the node namespace, its log collected; `timeoutMs` for its first log line that says it started. */
  async startCommand(svcplaneArgs: readonly string[], timeoutMs?: number): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.node, 'bin/svcplane', ...svcplaneArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.controller = child;
    this.children.push(child);
    const collect = (chunk: Buffer): void => {
      this.log += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await this.waitFor(() => this.log.includes('nginx reloaded') || this.log.includes('ingress controller started'), 'the controller to start', timeoutMs);
  }

  async waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; controller log:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** curl from the client namespace; returns the status and body. */
  async curl(args: readonly string[]): Promise<{ status: number; body: string; headers: string }> {
    const r = await runCommand('curl', ['-sS', '-m', '5', '-D', '-', '-o', '-', '-w', '\n%{http_code}', ...args], { netns: this.client });
    const lines = r.stdout.split('\n');
    const status = Number(lines.pop());
    const text = lines.join('\n');
    const split = text.indexOf('\r\n\r\n');
    return { status, headers: split < 0 ? text : text.slice(0, split), body: split < 0 ? '' : text.slice(split + 4) };
  }

  /** A request for `url` with a Host header (resolved to the node). */
  async get(host: string | undefined, path: string, extra: readonly string[] = []): Promise<{ status: number; echo: Echo | undefined; headers: string }> {
    const args = host === undefined ? [`http://${NODE_IP}${path}`] : ['--resolve', `${host}:80:${NODE_IP}`, `http://${host}${path}`];
    const r = await this.curl([...extra, ...args]);
    let echo: Echo | undefined;
    try {
      echo = JSON.parse(r.body) as Echo;
    } catch {
      echo = undefined;
    }
    return { status: r.status, echo, headers: r.headers };
  }

  async down(): Promise<void> {
    if (this.controller?.exitCode === null) {
      this.controller.kill('SIGTERM');
      await new Promise((r) => this.controller?.once('exit', r));
    }
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await runCommand('ip', ['netns', 'del', this.client]);
    await runCommand('ip', ['netns', 'del', this.node]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
