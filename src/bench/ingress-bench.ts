// `svcplane bench --ingress`: Debian's nginx as the Ingress data plane, measured
// with wrk from a client namespace: requests/s and p50/p99 through the ingress
// against the backend directly; the time from an Ingress change to it serving
// with 1,000 Ingresses loaded; failed requests across 20 reloads under load.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { IngressRuntime } from '../cli/ingress-command.js';
import { runCommand } from '../kernel/exec.js';
import { NginxProcess } from '../kernel/nginx-process.js';
import { ManifestSource } from '../sources/manifest-source.js';
import { loadAverage, processTreeCpuMs } from './ingress-cpu.js';
import { wrk, type WrkResult } from './ingress-wrk.js';

const NODE_IP = '10.231.200.1';
const CLIENT_IP = '10.231.200.2';
const BACKEND_IP = '10.231.201.10';

export interface IngressBenchOptions {
  readonly durationMs: number;
  readonly ingresses: number;
  readonly runs: number;
  readonly out: NodeJS.WritableStream;
}

export interface IngressBenchResult {
  readonly direct: WrkResult;
  readonly ingress: WrkResult;
  /** ingress requests/s as a share of direct. */
  readonly ratio: number;
  readonly ingresses: number;
  /** ms from writing a new Ingress to its first 200, each run. */
  readonly changeToServingMs: readonly number[];
  readonly reloads: number;
  readonly reloadsKeepAlive: WrkResult;
  readonly reloadsNewConnections: WrkResult;
  /** CPU microseconds per request (nginx masters and workers): the backend serving wrk directly; the ingress and the backend behind it. */
  readonly cpuPerRequestUs: { readonly direct: { readonly backend: number }; readonly ingress: { readonly ingress: number; readonly backend: number } };
  /** /proc/loadavg when the bench started and ended. */
  readonly loadAverage: { readonly start: string; readonly end: string };
}

async function must(file: string, args: readonly string[], netns?: string): Promise<void> {
  const r = await runCommand(file, args, netns === undefined ? {} : { netns });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr.trim()}`);
}

function ingressYaml(name: string, host: string): string {
  return `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ${name}\n  namespace: bench\nspec:\n  rules:\n  - host: ${host}\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: backend\n            port:\n              number: 80\n`;
}

const BACKEND_MANIFEST = `apiVersion: v1\nkind: Service\nmetadata:\n  name: backend\n  namespace: bench\nspec:\n  ports:\n  - port: 80\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: backend-1\n  namespace: bench\n  labels:\n    kubernetes.io/service-name: backend\naddressType: IPv4\nendpoints:\n- addresses: ["${BACKEND_IP}"]\nports:\n- name: ""\n  port: 80\n  protocol: TCP\n`;

function backendConfig(dir: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${dir}/tmp/${k};`).join(' ');
  return `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log notice;\nevents { worker_connections 4096; }\nhttp { access_log off; ${temp} keepalive_requests 100000;\n  server { listen ${BACKEND_IP}:80; location / { return 200 "ok\\n"; } } }\n`;
}

/** The poller (ingress-poller.ts) in the client namespace: `served(host)` resolves once host answers 200. */
function startPoller(client: string): { served: (host: string, timeoutMs?: number) => Promise<number>; stop: () => void } {
  const child = spawn('ip', ['netns', 'exec', client, process.execPath, fileURLToPath(new URL('./ingress-poller.js', import.meta.url)), NODE_IP], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<string, () => void>();
  createInterface({ input: child.stdout }).on('line', (host) => waiting.get(host)?.());
  return {
    served: (host, timeoutMs = 30_000) => {
      const start = performance.now();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${host} did not serve within ${timeoutMs} ms`)), timeoutMs);
        waiting.set(host, () => {
          clearTimeout(timer);
          waiting.delete(host);
          resolve(performance.now() - start);
        });
        child.stdin.write(`${host}\n`);
      });
    },
    stop: () => child.kill(),
  };
}

export async function runIngressBench(opts: IngressBenchOptions): Promise<IngressBenchResult> {
  const tag = `${process.pid % 100000}`;
  const client = `sp-ingress-bench-c-${tag}`;
  const node = `sp-ingress-bench-n-${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'sp-ingress-bench-'));
  // Warnings (a failed sync, a refused config) go to stderr: a bench that hides them misleads.
  const logger = pino({ level: process.env['SVCPLANE_BENCH_LOG'] ?? 'warn' }, pino.destination(2));
  const cleanups: (() => Promise<unknown>)[] = [];
  const say = (text: string): void => void opts.out.write(`ingress bench: ${text}\n`);
  const loadAtStart = loadAverage();
  try {
    await must('ip', ['netns', 'add', client]);
    cleanups.push(() => runCommand('ip', ['netns', 'del', client]));
    await must('ip', ['netns', 'add', node]);
    cleanups.push(() => runCommand('ip', ['netns', 'del', node]));
    const veth = `sp-ingb${tag}`.slice(0, 12);
    await must('ip', ['link', 'add', `${veth}c`, 'netns', client, 'type', 'veth', 'peer', 'name', `${veth}n`, 'netns', node]);
    for (const [ns, dev, ip] of [[client, `${veth}c`, CLIENT_IP], [node, `${veth}n`, NODE_IP]] as const) {
      await must('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
      await must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await must('ip', ['-n', ns, 'route', 'add', 'blackhole', 'default']);
    }
    await must('ip', ['-n', node, 'addr', 'add', `${BACKEND_IP}/32`, 'dev', 'lo']);
    await must('ip', ['-n', client, 'route', 'add', `${BACKEND_IP}/32`, 'via', NODE_IP]);

    const backendDir = join(dir, 'backend');
    const backend = new NginxProcess({ binary: '/usr/sbin/nginx', stateDir: backendDir, logger, netns: node });
    await backend.prepare();
    await backend.start(backendConfig(backendDir));
    cleanups.push(() => backend.stop());

    const manifests = join(dir, 'manifests');
    await must('mkdir', ['-p', manifests]);
    writeFileSync(join(manifests, 'backend.yaml'), BACKEND_MANIFEST);
    writeFileSync(join(manifests, 'bench.yaml'), ingressYaml('bench', 'bench.example'));
    writeFileSync(join(manifests, 'many.yaml'), Array.from({ length: opts.ingresses }, (_, i) => ingressYaml(`many-${i}`, `h${i}.many.example`)).join('---\n'));
    const runtime = new IngressRuntime(
      { http: { host: NODE_IP, port: 80 }, https: { host: NODE_IP, port: 443 }, stateDir: join(dir, 'ingress'), nginx: '/usr/sbin/nginx', className: 'svcplane', watchWithoutClass: true, defaultBackend: undefined, serviceUpstream: false, nodeName: 'bench', minSyncPeriodMs: 100, workerProcesses: 1, netns: node },
      logger,
      () => undefined,
    );
    await runtime.start();
    cleanups.push(() => runtime.stop());
    const source = new ManifestSource({ paths: [manifests], logger, debounceMs: 50 });
    cleanups.push(() => source.stop());
    await source.start((events) => runtime.handle(events));
    const poller = startPoller(client);
    cleanups.push(async () => poller.stop());
    await poller.served('bench.example');
    await poller.served(`h${opts.ingresses - 1}.many.example`);

    const durationS = Math.max(1, Math.round(opts.durationMs / 1000));
    say(`${durationS}s of wrk directly, then through the ingress (${opts.ingresses} Ingresses loaded)`);
    // CPU per request, besides requests/s: on two vCPUs shared by wrk, both nginx and other jobs, it says what the hop costs.
    const cpuOf = (pid: number | undefined): number => (pid === undefined ? NaN : processTreeCpuMs(pid));
    const measured = async (url: string, headers: readonly string[]): Promise<{ w: WrkResult; backendUs: number; ingressUs: number }> => {
      const [b0, i0] = [cpuOf(backend.pid), cpuOf(runtime.nginxPid)];
      const w = await wrk(client, url, { durationS, connections: 32, headers });
      return { w, backendUs: ((cpuOf(backend.pid) - b0) * 1000) / w.requests, ingressUs: ((cpuOf(runtime.nginxPid) - i0) * 1000) / w.requests };
    };
    const directRun = await measured(`http://${BACKEND_IP}/`, []);
    const ingressRun = await measured(`http://${NODE_IP}/`, ['Host: bench.example']);
    const [direct, ingress] = [directRun.w, ingressRun.w];
    const cpuPerRequestUs = { direct: { backend: directRun.backendUs }, ingress: { ingress: ingressRun.ingressUs, backend: ingressRun.backendUs } };

    const changeToServingMs: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      logger.info({ change: i }, 'writing a change');
      // The poller is asked first (its requests get 404 until the change serves), so the clock starts before the write.
      const served = poller.served(`change-${i}.example`);
      writeFileSync(join(manifests, `change-${i}.yaml`), ingressYaml(`change-${i}`, `change-${i}.example`));
      changeToServingMs.push(await served);
    }
    say(`change to serving: ${changeToServingMs.map((m) => m.toFixed(0)).join(', ')} ms`);

    const underLoad = async (headers: readonly string[], round: string): Promise<WrkResult> => {
      const load = wrk(client, `http://${NODE_IP}/`, { durationS: 25, connections: 16, headers: ['Host: bench.example', ...headers] });
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < 20; i++) {
        writeFileSync(join(manifests, 'reload.yaml'), ingressYaml('reload', `reload-${round}-${i}.example`));
        await poller.served(`reload-${round}-${i}.example`);
      }
      return load;
    };
    const reloadsKeepAlive = await underLoad([], 'ka');
    const reloadsNewConnections = await underLoad(['Connection: close'], 'nc');
    return {
      direct, ingress, ratio: ingress.requestsPerSecond / direct.requestsPerSecond, ingresses: opts.ingresses, changeToServingMs, reloads: 20, reloadsKeepAlive, reloadsNewConnections,
      cpuPerRequestUs, loadAverage: { start: loadAtStart, end: loadAverage() },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export function renderIngressTable(r: IngressBenchResult): string {
  const row = (name: string, w: WrkResult): string => `| ${name} | ${w.requestsPerSecond.toFixed(0)} | ${w.p50Ms.toFixed(2)} | ${w.p99Ms.toFixed(2)} | ${w.failed} |`;
  return [
    '',
    'Ingress (nginx, 1 worker; backend: nginx, 1 worker; wrk -t2 -c32)',
    '| path | requests/s | p50 ms | p99 ms | failed |',
    '|---|---|---|---|---|',
    row('direct to the backend', r.direct),
    row(`through the ingress (${r.ingresses} Ingresses)`, r.ingress),
    '',
    `through the ingress / direct: ${(r.ratio * 100).toFixed(0)}% of requests/s`,
    `CPU per request: direct, backend ${r.cpuPerRequestUs.direct.backend.toFixed(1)} us; through the ingress, ingress ${r.cpuPerRequestUs.ingress.ingress.toFixed(1)} us + backend ${r.cpuPerRequestUs.ingress.backend.toFixed(1)} us`,
    `Ingress change to serving, ${r.ingresses} Ingresses loaded: median ${median(r.changeToServingMs).toFixed(0)} ms (runs: ${r.changeToServingMs.map((m) => m.toFixed(0)).join(', ')}; includes the 50 ms file debounce)`,
    `${r.reloads} reloads under load, keep-alive connections: ${r.reloadsKeepAlive.failed} failed of ${r.reloadsKeepAlive.requests}`,
    `${r.reloads} reloads under load, a connection per request: ${r.reloadsNewConnections.failed} failed of ${r.reloadsNewConnections.requests}`,
    `load average: ${r.loadAverage.start} at the start, ${r.loadAverage.end} at the end`,
    '',
  ].join('\n');
}
