// `svcplane bench` DNS section: svcplane's cluster DNS against Knot DNS serving the same
// records from a zone file, both in a network namespace of their own, driven by dnsperf with
// one query mix. Reports queries/s at full load, p50/p99 at half of svcplane's maximum, and the
// time from a change to the new answer (through the manifests, and inside the index).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ZoneResponder } from '../dns/answer.js';
import { ClusterRecords } from '../dns/cluster-records.js';
import { changedServices } from '../dns/records-from-store.js';
import { runCommand } from '../kernel/exec.js';
import { makeService } from '../state/test-builders.js';
import { ObjectStore } from '../state/object-store.js';
import { cliEntry } from '../testbed/agent-process.js';
import { addNetns, deleteNetns, ProcessGroup } from '../testbed/netns.js';
import { renderTable } from './report/text-table.js';
import { benchExtraManifest, benchManifests, benchQueries, benchServices, benchZoneFile } from './dns-zone.js';
import { dnsperf, DNSPERF_CLIENTS, percentile, type PerfResult } from './dns-perf.js';
import { loadAverage, processTreeCpuMs } from './ingress-cpu.js';
import { changeThroughWorkersMs } from './dns-change.js';
import { defaultDnsWorkers } from '../cli/dns-flags.js';
import { probeWakeups, type WakeupDelay } from './wakeup-probe.js';

export interface DnsBenchOptions {
  readonly services: number;
  /** `svcplane dns --workers`; undefined: its default (one per core). */
  readonly workers?: number;
  readonly seconds: number;
  /** dnsperf `-c` (default DNSPERF_CLIENTS). */
  readonly clients?: number;
  readonly out: Writable;
}

interface ServerRow {
  readonly name: string;
  readonly maxQps: number;
  readonly halfLoadQps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lost: number;
  /** The server's CPU time (all threads) per answered query at full load: steadier than q/s on a shared machine. */
  readonly cpuUsPerQuery: number;
  /** /proc/loadavg when its full-load and half-load runs started. */
  readonly loadAtMax: string;
  readonly loadAtHalf: string;
  /** How late a sleeping thread woke during the half-load run (wakeup-probe.ts): the machine's floor under p99. */
  readonly wakeupAtHalf: WakeupDelay;
}

/** Knot at half of its own maximum: whether the p99 target holds for Knot on this machine. */
interface OwnHalfRow {
  readonly qps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly wakeup: WakeupDelay;
}

export interface DnsBenchReport {
  readonly services: number;
  readonly rows: ServerRow[];
  /** Manifest file written -> new name answered over UDP, ms (the source's wait for the writer's close, the reload, the poll). */
  readonly changeViaManifestsMs: number[];
  /** Store batch -> index updated -> answer, ms, at the same number of services. */
  readonly changeInIndexMs: number;
  /** Store batch -> index -> the UDP workers' replicas -> a UDP answer, ms (in process, no manifest debounce). */
  readonly changeThroughWorkersMs: number[];
  readonly workers: number;
  readonly clients: number;
  readonly knotAtOwnHalf: OwnHalfRow;
}

const NS = 'svcp-dnsbench';
const NO_PROBE: WakeupDelay = { samples: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN };
const KNOT = { host: '127.0.0.1', port: 5300 };
const SVCPLANE = { host: '127.0.0.1', port: 5301 };

/** Asks the poller in the namespace (dns-poller.ts) to wait for `name`; resolves once it answers. */
function startPoller(child: ChildProcessWithoutNullStreams): (name: string) => Promise<void> {
  const waiting = new Map<string, () => void>();
  createInterface({ input: child.stdout }).on('line', (name) => waiting.get(name)?.());
  return (name) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not answered within 30 s`)), 30_000);
      waiting.set(name, () => {
        clearTimeout(timer);
        waiting.delete(name);
        resolve();
      });
      child.stdin.write(`${name}\n`);
    });
}

async function waitForAnswer(name: string, port: number, status: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const r = await runCommand('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=1', name, 'A'], { netns: NS, timeoutMs: 5000 });
    if (r.stdout.includes(`status: ${status}`)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${name} on port ${port}: no ${status} within ${timeoutMs} ms`);
  }
}

/** Knot with as many UDP threads as svcplane has UDP workers (both default to one per core). */
function knotConfig(dir: string, udpWorkers: number): string {
  return [
    'server:',
    `    rundir: "${dir}"`,
    `    listen: ${KNOT.host}@${KNOT.port}`,
    `    udp-workers: ${Math.max(1, udpWorkers)}`,
    'database:',
    `    storage: "${dir}"`,
    'log:',
    '  - target: stderr',
    '    any: warning',
    'zone:',
    '  - domain: cluster.local',
    `    file: "${join(dir, 'cluster.local.zone')}"`,
    '    semantic-checks: off',
    '',
  ].join('\n');
}

/** The svcplane side of a change, without the manifest source: store batch to answer. */
function indexChangeMs(count: number): number {
  const store = new ObjectStore();
  const records = new ClusterRecords('cluster.local');
  const events = benchServices(count).map((s) => ({ type: 'service-upsert' as const, service: makeService({ name: s.name, namespace: s.namespace, clusterIPs: [s.clusterIP] }) }));
  records.update(store, changedServices(store.apply(events)));
  const responder = new ZoneResponder(records.index, { ttl: 5, podRecords: 'insecure' });
  const t0 = performance.now();
  const runs = 100;
  for (let i = 0; i < runs; i++) {
    records.update(store, changedServices(store.apply([{ type: 'service-upsert', service: makeService({ name: `late-${i}`, namespace: 'ns-0', clusterIPs: [`10.99.0.${i}`] }) }])));
    const a = responder.answer(`late-${i}.ns-0.svc.cluster.local`, 'A');
    if (a.kind !== 'local' || a.answers.length !== 1) throw new Error('the index did not answer the new service');
  }
  return (performance.now() - t0) / runs;
}

export async function runDnsBench(o: DnsBenchOptions): Promise<DnsBenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-dns-bench-'));
  const procs = new ProcessGroup();
  const log = (s: string): void => void o.out.write(`dns bench: ${s}\n`);
  try {
    const services = benchServices(o.services);
    const manifests = join(dir, 'manifests');
    await runCommand('mkdir', ['-p', manifests]);
    writeFileSync(join(manifests, 'services.yaml'), benchManifests(services));
    writeFileSync(join(dir, 'cluster.local.zone'), benchZoneFile(services));
    const workers = o.workers ?? defaultDnsWorkers();
    writeFileSync(join(dir, 'knot.conf'), knotConfig(dir, workers));
    const queries = join(dir, 'queries.txt');
    writeFileSync(queries, benchQueries(services, 100_000));
    await deleteNetns(NS);
    await addNetns(NS);
    log(`${o.services} services; starting knotd and svcplane dns in ${NS}`);
    const knot = procs.spawn(NS, 'knotd', ['-c', join(dir, 'knot.conf')]);
    const svcplane = procs.spawn(NS, process.execPath, [cliEntry(), 'dns', '--manifests', manifests, '--listen', `${SVCPLANE.host}:${SVCPLANE.port}`, '--upstream', '127.0.0.1:5309', '--workers', String(workers), '--log-format', 'text']);
    await waitForAnswer('svc-0.ns-0.svc.cluster.local', KNOT.port, 'NOERROR', 60_000);
    await waitForAnswer('svc-0.ns-0.svc.cluster.local', SVCPLANE.port, 'NOERROR', 120_000);

    const clients = o.clients ?? DNSPERF_CLIENTS;
    const perf = (port: number, rate?: number, verbose = false) => dnsperf({ netns: NS, server: '127.0.0.1', port, dataFile: queries, seconds: o.seconds, clients, ...(rate ? { rate } : {}), verbose });
    /** A run with the server's CPU time over it and the load average when it started. */
    const measured = async (pid: number | undefined, port: number, rate?: number, verbose = false): Promise<{ r: PerfResult; cpuUsPerQuery: number; load: string; wakeup: WakeupDelay }> => {
      const load = loadAverage();
      const cpu0 = pid === undefined ? NaN : processTreeCpuMs(pid);
      // The latency runs (verbose) get the wake-up probe beside them, over the same seconds.
      const [r, wakeup] = await Promise.all([perf(port, rate, verbose), verbose ? probeWakeups(o.seconds * 1000) : Promise.resolve(NO_PROBE)]);
      const cpuMs = pid === undefined ? NaN : processTreeCpuMs(pid) - cpu0;
      return { r, cpuUsPerQuery: (cpuMs * 1000) / Math.max(1, r.sent - r.lost), load, wakeup };
    };
    // A short unmeasured run for each first: JIT compilation and the answer caches warm up
    // (Knot needs neither, and gets the same).
    log('warming both up (2 s each, not measured)');
    await dnsperf({ netns: NS, server: '127.0.0.1', port: SVCPLANE.port, dataFile: queries, seconds: 2, clients });
    await dnsperf({ netns: NS, server: '127.0.0.1', port: KNOT.port, dataFile: queries, seconds: 2, clients });
    log(`svcplane at full load (load average ${loadAverage()})`);
    const svcMax = await measured(svcplane.pid, SVCPLANE.port);
    log(`knot at full load (load average ${loadAverage()})`);
    const knotMax = await measured(knot.pid, KNOT.port);
    const half = svcMax.r.qps / 2;
    log(`both at ${Math.round(half)} q/s (half of svcplane's maximum; load average ${loadAverage()})`);
    const svcHalf = await measured(svcplane.pid, SVCPLANE.port, half, true);
    const knotHalf = await measured(knot.pid, KNOT.port, half, true);
    log(`knot at ${Math.round(knotMax.r.qps / 2)} q/s (half of its own maximum)`);
    const knotOwn = await measured(knot.pid, KNOT.port, knotMax.r.qps / 2, true);
    const ownSorted = [...knotOwn.r.latenciesMs].sort((a, b) => a - b);
    const knotAtOwnHalf: OwnHalfRow = { qps: knotOwn.r.qps, p50Ms: percentile(ownSorted, 50), p99Ms: percentile(ownSorted, 99), wakeup: knotOwn.wakeup };
    const row = (name: string, max: typeof svcMax, at: typeof svcHalf): ServerRow => {
      const sorted = [...at.r.latenciesMs].sort((a, b) => a - b);
      return {
        name, maxQps: max.r.qps, halfLoadQps: at.r.qps, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), lost: max.r.lost + at.r.lost,
        cpuUsPerQuery: max.cpuUsPerQuery, loadAtMax: max.load, loadAtHalf: at.load, wakeupAtHalf: at.wakeup,
      };
    };

    log(`change latency through the manifests (load average ${loadAverage()})`);
    const poller = startPoller(procs.spawn(NS, process.execPath, [fileURLToPath(new URL('./dns-poller.js', import.meta.url)), String(SVCPLANE.port)]));
    // Once before timing: the poller's own start-up (node, in the namespace) is no part of a change.
    await poller('svc-0.ns-0.svc.cluster.local');
    const changeViaManifestsMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const file = join(manifests, `extra-${i}.yaml`);
      const t0 = performance.now();
      writeFileSync(file, benchExtraManifest(`extra-${i}`, `10.99.1.${i + 1}`));
      await poller(`extra-${i}.ns-0.svc.cluster.local`);
      changeViaManifestsMs.push(performance.now() - t0);
    }
    return {
      services: o.services,
      rows: [row('svcplane', svcMax, svcHalf), row('knot', knotMax, knotHalf)],
      changeViaManifestsMs,
      changeInIndexMs: indexChangeMs(o.services),
      changeThroughWorkersMs: await changeThroughWorkersMs(o.services, workers),
      workers,
      clients,
      knotAtOwnHalf,
    };
  } finally {
    await procs.killAll();
    await deleteNetns(NS);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderDnsBench(r: DnsBenchReport): string {
  const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const knot = r.rows.find((x) => x.name === 'knot');
  const table = renderTable(
    [
      { header: 'server', align: 'left' },
      { header: 'max q/s', align: 'right' },
      { header: 'vs knot', align: 'right' },
      { header: 'q/s at half load', align: 'right' },
      { header: 'p50 ms', align: 'right' },
      { header: 'p99 ms', align: 'right' },
      { header: 'lost', align: 'right' },
      { header: 'CPU us/query (full load)', align: 'right' },
      { header: 'load avg (full / half)', align: 'left' },
      { header: 'wake-up delay p99 / max ms (half)', align: 'right' },
    ],
    r.rows.map((x) => [
      x.name, f(x.maxQps), knot ? `${f((100 * x.maxQps) / knot.maxQps)}%` : '', f(x.halfLoadQps), f(x.p50Ms, 3), f(x.p99Ms, 3), String(x.lost),
      f(x.cpuUsPerQuery, 1), `${x.loadAtMax.split(' ')[0] ?? ''} / ${x.loadAtHalf.split(' ')[0] ?? ''}`,
      `${f(x.wakeupAtHalf.p99Ms, 2)} / ${f(x.wakeupAtHalf.maxMs, 1)}`,
    ]),
  );
  const sorted = [...r.changeViaManifestsMs].sort((a, b) => a - b);
  const viaWorkers = [...r.changeThroughWorkersMs].sort((a, b) => a - b);
  return [
    `DNS: ${r.services} services, dnsperf (70% A, 20% SRV, 10% NXDOMAIN), same records in Knot's zone; svcplane dns --workers ${r.workers}, knot udp-workers ${Math.max(1, r.workers)}, dnsperf -c ${r.clients}`,
    table,
    `knot at half of its own maximum (${f(r.knotAtOwnHalf.qps)} q/s): p50 ${f(r.knotAtOwnHalf.p50Ms, 3)} ms, p99 ${f(r.knotAtOwnHalf.p99Ms, 3)} ms (wake-up delay p99 ${f(r.knotAtOwnHalf.wakeup.p99Ms, 2)} ms, max ${f(r.knotAtOwnHalf.wakeup.maxMs, 1)} ms)`,
    'wake-up delay: how much later than asked a thread sleeping 1 ms at a time woke during that run (the floor under any p99 measured with it)',
    `change -> answer through the manifest files: median ${f(percentile(sorted, 50))} ms, max ${f(sorted[sorted.length - 1] ?? NaN)} ms (file written, inotify close seen, reload, then a UDP poll every 2 ms from inside the namespace)`,
    `change -> answer in the record index (store batch, index update, lookup): ${f(r.changeInIndexMs, 3)} ms`,
    `change -> UDP answer through the workers' replicas (in process, no manifest source): median ${f(percentile(viaWorkers, 50), 2)} ms, max ${f(viaWorkers[viaWorkers.length - 1] ?? NaN, 2)} ms`,
    '',
  ].join('\n');
}
