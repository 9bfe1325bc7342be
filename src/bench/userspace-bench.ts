// The userspace mode in `svcplane bench` (`--modes ...,userspace`): the real agent
// (`svcplane run --mode userspace`) inside a test bed's node namespace, beside HAProxy as
// the same L4 round-robin proxy and the agent in iptables mode, on one test bed and one
// service with two endpoints. For each: short connections (connections/s, p50/p99 from
// connect to the backend's greeting) and long bulk connections (MB/s), after a discarded
// warm-up of the same load; for the two proxies also the CPU their process spent per
// connection and per GB (less at the mercy of the machine's other load than rates are);
// for the userspace agent its RSS per idle proxied connection.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HaproxyProcess } from '../kernel/haproxy-process.js';
import { AgentProcess, cliEntry } from '../testbed/agent-process.js';
import { createTestbed, type Testbed } from '../testbed/testbed.js';
import { haproxyConfig } from './haproxy-config.js';
import { latencySummary, medianOf } from './report/stats.js';

const LATENCY_SCRIPT = fileURLToPath(new URL('../testbed/latency.mjs', import.meta.url));
const PODS = [{ name: 'a1', ip: '10.244.1.11' }, { name: 'a2', ip: '10.244.1.12' }] as const;
const VIP = '10.96.255.251';
const [SHORT_PORT, BULK_PORT, SHORT_TARGET, BULK_TARGET] = [80, 90, 8080, 9000];
const [HAPROXY_SHORT, HAPROXY_BULK] = [18080, 18090];
const IDLE_CONNECTIONS = 2000;
/** Warm-up before each measured run (the agent's JIT-compiled code, as on a node that has run a while). */
const WARM_UP_MS = 2000;
/** /proc/<pid>/stat counts CPU time in USER_HZ ticks, 100 a second on Linux. */
const USER_HZ = 100;

export const USERSPACE_PROXIES = ['userspace', 'haproxy', 'iptables'] as const;
export type UserspaceProxy = (typeof USERSPACE_PROXIES)[number];

export interface UserspaceBenchOptions {
  readonly durationMs: number;
  readonly runs: number;
  readonly out: NodeJS.WritableStream;
  readonly haproxy?: string;
}

export interface ProxyRun {
  readonly connPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly bulkMBps: number;
  readonly errors: number;
  /** CPU time of the proxy's process (user + system) per short connection, µs; absent for iptables (the kernel). */
  readonly cpuUsPerConn?: number;
  /** CPU time of the proxy's process per GB of bulk data, ms. */
  readonly cpuMsPerGB?: number;
  /** The machine's 1-minute load average when the run ended. */
  readonly loadAvg: number;
}

export interface UserspaceBenchResult {
  readonly proxies: readonly { readonly proxy: UserspaceProxy; readonly runs: readonly ProxyRun[] }[];
  /** Agent RSS growth per idle proxied connection (userspace mode), KB. */
  readonly idleKBPerConnection: number;
  readonly idleConnections: number;
}

function loadScript(): string {
  // From dist/ the compiled script sits beside this module; from src/ (tests) use the build.
  const here = fileURLToPath(new URL('./userspace-load.js', import.meta.url));
  return here.includes('/dist/') ? here : join(cliEntry(), '..', '..', 'bench', 'userspace-load.js');
}

const MANIFEST = `apiVersion: v1\nkind: Service\nmetadata:\n  name: measured\n  namespace: bench\nspec:\n  clusterIP: ${VIP}\n  ports:\n  - name: short\n    port: ${SHORT_PORT}\n    targetPort: ${SHORT_TARGET}\n  - name: bulk\n    port: ${BULK_PORT}\n    targetPort: ${BULK_TARGET}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: measured-1\n  namespace: bench\n  labels:\n    kubernetes.io/service-name: measured\naddressType: IPv4\nendpoints:\n${PODS.map((p) => `- addresses: ["${p.ip}"]\n  conditions: {ready: true}\n`).join('')}ports:\n- name: short\n  port: ${SHORT_TARGET}\n  protocol: TCP\n- name: bulk\n  port: ${BULK_TARGET}\n  protocol: TCP\n`;

async function json<T>(tb: Testbed, args: readonly string[], timeoutMs: number): Promise<T> {
  const { stdout } = await tb.exec('node', process.execPath, args, { timeoutMs });
  return JSON.parse(stdout) as T;
}

/** CPU time (user + system, every thread) of process `pid` so far, ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}

/** Short then bulk connections through ip:port; `pid`: the proxy's process, whose CPU time is counted. */
async function measure(tb: Testbed, ip: string, shortPort: number, bulkPort: number, durationMs: number, pid?: number): Promise<ProxyRun> {
  const cpu0 = pid === undefined ? 0 : cpuMs(pid);
  const tcp = await json<{ micros: number[]; elapsedMs: number; errors: number }>(tb, [LATENCY_SCRIPT, JSON.stringify({ mode: 'tcp', ip, port: shortPort, durationMs, concurrency: 4 })], durationMs + 30_000);
  if (tcp.micros.length === 0) throw new Error(`userspace bench: no connection to ${ip}:${shortPort} succeeded (${tcp.errors} errors)`);
  const cpu1 = pid === undefined ? 0 : cpuMs(pid);
  const bulk = await json<{ bytes: number; elapsedMs: number; errors: number }>(tb, [loadScript(), JSON.stringify({ role: 'client', ip, port: bulkPort, durationMs, concurrency: 4 })], durationMs + 30_000);
  if (bulk.bytes === 0) throw new Error(`userspace bench: no bulk data through ${ip}:${bulkPort} (${bulk.errors} errors)`);
  const cpu = pid === undefined ? {} : { cpuUsPerConn: ((cpu1 - cpu0) * 1000) / tcp.micros.length, cpuMsPerGB: ((cpuMs(pid) - cpu1) * 1e9) / bulk.bytes };
  const lat = latencySummary(tcp.micros);
  return { connPerSec: (tcp.micros.length * 1000) / tcp.elapsedMs, p50Us: lat.p50, p99Us: lat.p99, bulkMBps: bulk.bytes / 1e6 / (bulk.elapsedMs / 1000), errors: tcp.errors + bulk.errors, ...cpu, loadAvg: loadavg()[0] ?? 0 };
}

/** The same load, not counted: a proxy's first connections pay for its start (JIT, caches). */
async function warmUp(tb: Testbed, ip: string, shortPort: number, bulkPort: number, durationMs: number): Promise<void> {
  await measure(tb, ip, shortPort, bulkPort, Math.min(WARM_UP_MS, durationMs));
}

/** Retries a connection until `ip:port` answers with a pod's name (a proxy that just started). */
async function waitAnswering(tb: Testbed, ip: string, port: number, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await tb.tcpRequest('node', ip, port, { timeoutMs: 1000 });
    if (result.ok && PODS.some((p) => p.name === result.identity)) return;
    if (Date.now() > deadline) throw new Error(`userspace bench: ${what()} does not answer on ${ip}:${port} (${result.ok ? `answered "${result.identity}"` : result.error})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function rssKB(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`userspace bench: no VmRSS for pid ${pid}`);
  return Number(line[1]);
}

/** RSS growth of the agent per idle connection held through it. */
async function idleCost(tb: Testbed, agent: AgentProcess): Promise<number> {
  const pid = agent.pid;
  if (pid === undefined) throw new Error('userspace bench: the agent has no pid');
  const before = rssKB(pid);
  const holder = tb.spawn('node', process.execPath, [loadScript(), JSON.stringify({ role: 'hold', ip: VIP, port: SHORT_PORT, count: IDLE_CONNECTIONS })]);
  try {
    const first = await createInterface({ input: holder.stdout })[Symbol.asyncIterator]().next();
    const held = first.done ? { held: 0, errors: IDLE_CONNECTIONS } : (JSON.parse(first.value as string) as { held: number; errors: number });
    if (held.held < IDLE_CONNECTIONS * 0.9) throw new Error(`userspace bench: only ${held.held} of ${IDLE_CONNECTIONS} idle connections opened (${held.errors} errors)`);
    await new Promise((r) => setTimeout(r, 1000));
    return (rssKB(pid) - before) / held.held;
  } finally {
    holder.kill('SIGKILL');
  }
}

async function withAgent<T>(tb: Testbed, mode: 'userspace' | 'iptables', manifests: string, f: (agent: AgentProcess) => Promise<T>): Promise<T> {
  const agent = new AgentProcess(tb, [
    '--mode', mode, '--manifests', manifests, '--node-name', 'node-a', '--node-ip', tb.nodeIP, '--cluster-cidr', '10.244.0.0/16',
    '--log-format', 'json', '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
  ]);
  try {
    await agent.start(30_000);
    await waitAnswering(tb, VIP, SHORT_PORT, () => `the agent in ${mode} mode`);
    return await f(agent);
  } finally {
    await agent.kill('SIGTERM');
  }
}

export async function runUserspaceBench(opts: UserspaceBenchOptions): Promise<UserspaceBenchResult> {
  const say = (text: string): void => void opts.out.write(`userspace bench: ${text}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'sp-usbench-'));
  const tb = await createTestbed({ name: `usb-${process.pid % 100000}`, pods: PODS.map((p) => ({ ...p })) });
  const haproxy = new HaproxyProcess({ binary: opts.haproxy ?? '/usr/sbin/haproxy', stateDir: dir, netns: tb.nodeNs });
  try {
    // Thousands of short connections a second leave TIME_WAIT sockets: reuse them (as load generators do).
    await tb.exec('node', 'sysctl', ['-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=1024 65000']);
    for (const pod of PODS) {
      await tb.startIdentityServers(pod.name, { tcp: [SHORT_TARGET], udp: [] });
      const server = tb.spawn(pod.name, process.execPath, [loadScript(), JSON.stringify({ role: 'server', ip: pod.ip, port: BULK_TARGET })]);
      const first = await createInterface({ input: server.stdout })[Symbol.asyncIterator]().next();
      if (first.done || first.value !== 'listening') throw new Error(`userspace bench: the bulk server in pod ${pod.name} did not start`);
    }
    const manifests = join(dir, 'manifests');
    mkdirSync(manifests);
    writeFileSync(join(manifests, 'measured.yaml'), MANIFEST);
    const endpoints = (port: number): { ip: string; port: number }[] => PODS.map((p) => ({ ip: p.ip, port }));
    await haproxy.start(haproxyConfig([
      { name: 'short', bindIP: tb.nodeIP, bindPort: HAPROXY_SHORT, endpoints: endpoints(SHORT_TARGET) },
      { name: 'bulk', bindIP: tb.nodeIP, bindPort: HAPROXY_BULK, endpoints: endpoints(BULK_TARGET) },
    ]));
    await waitAnswering(tb, tb.nodeIP, HAPROXY_SHORT, () => `haproxy (${haproxy.running ? 'running' : 'exited'}: ${haproxy.lastStderr})`);
    const runs: Record<UserspaceProxy, ProxyRun[]> = { userspace: [], haproxy: [], iptables: [] };
    const haproxyPid = haproxy.pid;
    let idleKBPerConnection = NaN;
    // Interleaved runs, so that a noisy neighbour on the machine hits every proxy alike.
    for (let run = 0; run < opts.runs; run++) {
      say(`run ${run + 1}/${opts.runs}: haproxy`);
      const measureHaproxy = async (): Promise<ProxyRun> => {
        await warmUp(tb, tb.nodeIP, HAPROXY_SHORT, HAPROXY_BULK, opts.durationMs);
        return measure(tb, tb.nodeIP, HAPROXY_SHORT, HAPROXY_BULK, opts.durationMs, haproxyPid);
      };
      runs.haproxy.push(await measureHaproxy().catch((err: unknown) => {
        throw new Error(`${String(err)}; haproxy ${haproxy.running ? 'running' : 'exited'}: ${haproxy.lastStderr}`);
      }));
      say(`run ${run + 1}/${opts.runs}: userspace mode`);
      await withAgent(tb, 'userspace', manifests, async (agent) => {
        // On the fresh agent: after the load its heap has room that idle connections would reuse.
        if (run === 0) idleKBPerConnection = await idleCost(tb, agent);
        await warmUp(tb, VIP, SHORT_PORT, BULK_PORT, opts.durationMs);
        runs.userspace.push(await measure(tb, VIP, SHORT_PORT, BULK_PORT, opts.durationMs, agent.pid));
      });
      say(`run ${run + 1}/${opts.runs}: iptables mode`);
      await withAgent(tb, 'iptables', manifests, async () => {
        await warmUp(tb, VIP, SHORT_PORT, BULK_PORT, opts.durationMs);
        runs.iptables.push(await measure(tb, VIP, SHORT_PORT, BULK_PORT, opts.durationMs));
      });
    }
    return { proxies: USERSPACE_PROXIES.map((proxy) => ({ proxy, runs: runs[proxy] })), idleKBPerConnection, idleConnections: IDLE_CONNECTIONS };
  } finally {
    await haproxy.stop().catch(() => undefined);
    await tb.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderUserspaceTable(r: UserspaceBenchResult): string {
  const med = (runs: readonly ProxyRun[], f: (x: ProxyRun) => number | undefined): number => {
    const xs = runs.map(f).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? NaN : medianOf(xs);
  };
  const cpu = (x: number, digits: number): string => (Number.isNaN(x) ? '-' : x.toFixed(digits));
  const rows = r.proxies.map(({ proxy, runs }) =>
    `| ${proxy} | ${med(runs, (x) => x.connPerSec).toFixed(0)} | ${(med(runs, (x) => x.p50Us) / 1000).toFixed(2)} | ${(med(runs, (x) => x.p99Us) / 1000).toFixed(2)} | ${med(runs, (x) => x.bulkMBps).toFixed(0)} | ${cpu(med(runs, (x) => x.cpuUsPerConn), 0)} | ${cpu(med(runs, (x) => x.cpuMsPerGB), 0)} | ${runs.reduce((n, x) => n + x.errors, 0)} |`);
  const of = (p: UserspaceProxy): readonly ProxyRun[] => r.proxies.find((x) => x.proxy === p)?.runs ?? [];
  const share = (f: (x: ProxyRun) => number): string => `${((med(of('userspace'), f) / med(of('haproxy'), f)) * 100).toFixed(0)}%`;
  const loads = r.proxies.flatMap((p) => p.runs.map((x) => x.loadAvg));
  return [
    '',
    `Userspace mode beside HAProxy (L4 round robin, 1 thread) and iptables mode: one service, 2 endpoints; ${of('userspace').length} run(s), medians (each after a discarded warm-up)`,
    '| proxy | connections/s | p50 connect ms | p99 connect ms | bulk MB/s | CPU µs/connection | CPU ms/GB | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `userspace / haproxy: ${share((x) => x.connPerSec)} of connections/s, ${share((x) => x.bulkMBps)} of bulk throughput, p99 connect ${(med(of('userspace'), (x) => x.p99Us) / med(of('haproxy'), (x) => x.p99Us)).toFixed(2)}x`,
    `userspace agent RSS per idle proxied connection: ${r.idleKBPerConnection.toFixed(1)} KB (${r.idleConnections} held)`,
    `load average (1 min) at the end of the runs: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`,
    '',
  ].join('\n');
}
