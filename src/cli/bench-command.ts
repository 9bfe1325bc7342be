// `svcplane bench`: proxy modes side by side on this machine (src/bench/run-bench.ts).
import type { Command } from 'commander';
import { PROXY_MODES, type ProxyMode } from '../agent/config.js';
import { parseDuration } from '../util/duration.js';
import { runBench } from '../bench/run-bench.js';
import { renderTables } from '../bench/report/table.js';
import { renderIdleTable } from '../bench/idle-cpu.js';
import { BenchResultsError, readResults, writeCharts, writeReport } from '../bench/report/write-report.js';
import { renderDnsBench, runDnsBench } from '../bench/dns-bench.js';
import { renderIngressTable, runIngressBench } from '../bench/ingress-bench.js';
import { renderUserspaceTable, runUserspaceBench } from '../bench/userspace-bench.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface BenchFlags {
  readonly modes: string;
  readonly services: string;
  readonly endpoints: string;
  readonly duration: string;
  readonly runs: string;
  readonly out?: string;
  readonly chartsFrom?: string;
  readonly dataplane: boolean;
  readonly vm: boolean;
  readonly dns: boolean;
  readonly dnsOnly?: boolean;
  readonly dnsServices: string;
  readonly dnsWorkers?: string;
  readonly dnsClients: string;
  readonly ingress: boolean;
  readonly ingressOnly: boolean;
  readonly ingresses: string;
  readonly idleWindow: string;
}

function positiveInts(text: string, flag: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`${flag}: expected positive integers separated by commas, got "${text}"`);
  return values;
}

export function parseBenchModes(text: string): ProxyMode[] {
  const modes = text.split(',').map((s) => s.trim());
  for (const m of modes) if (!(PROXY_MODES as readonly string[]).includes(m)) throw new Error(`--modes: unknown mode "${m}" (known: ${PROXY_MODES.join(', ')})`);
  return modes as ProxyMode[];
}

function nonNegativeInt(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error(`bench: ${flag} ${text}: expected a whole number, 0 or more`);
  return n;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark proxy modes against each other on this machine: sync times, memory, latency through a VIP (root)')
    .option('--modes <modes>', 'modes to measure, comma-separated (userspace: beside HAProxy and iptables, its own table)', 'iptables,nftables,ipvs,ebpf')
    .option('--services <counts>', 'numbers of services, comma-separated', '10,1000,10000')
    .option('--endpoints <n>', 'endpoints per service', '10')
    .option('--duration <d>', 'traffic per measurement', '5s')
    .option('--runs <n>', 'repetitions of every measurement (medians and spread are reported)', '3')
    .option('--out <dir>', 'write results.json and the charts (SVG and PNG) here')
    .option('--charts-from <results.json>', 'measure nothing: draw the charts of an earlier run into --out')
    .option('--no-dataplane', 'control plane only (no traffic)')
    .option('--no-vm', 'skip modes this kernel lacks instead of running them in the VM')
    .option('--no-dns', 'skip the DNS section (svcplane dns against Knot, with dnsperf)')
    .option('--dns-only', 'run only the DNS section')
    .option('--dns-services <n>', 'services in the DNS section', '10000')
    .option('--dns-workers <n>', 'svcplane dns --workers in the DNS section, and Knot\'s udp-workers (default: its own, one per core)')
    .option('--dns-clients <n>', 'dnsperf clients (-c, one flow each) in the DNS section', '8')
    .option('--ingress', 'also measure the Ingress controller (nginx, wrk)')
    .option('--ingress-only', 'measure only the Ingress controller')
    .option('--idle-window <d>', 'idle cost: agent CPU over this long with no changes, per mode at the largest --services (0: skip)', '5m')
    .option('--ingresses <n>', 'Ingresses loaded while measuring the ingress', '1000')
    .action(async (flags: BenchFlags) => {
      if (flags.chartsFrom !== undefined) return chartsFrom(flags.chartsFrom, flags.out);
      if (flags.ingressOnly) return benchIngress(flags);
      if (!flags.dnsOnly) await runModes(flags);
      if (flags.dns || flags.dnsOnly) {
        const seconds = Math.max(1, Math.round(parseDuration(flags.duration, 'duration') / 1000));
        process.stdout.write(renderDnsBench(await runDnsBench({ services: positiveInts(flags.dnsServices, '--dns-services')[0] as number, seconds, out: process.stderr, clients: dnsperfClients(flags.dnsClients), ...(flags.dnsWorkers === undefined ? {} : { workers: nonNegativeInt(flags.dnsWorkers, '--dns-workers') }) })));
      }
      if (flags.ingress && !flags.dnsOnly) await benchIngress(flags);
    });
}

async function chartsFrom(results: string, out: string | undefined): Promise<void> {
  if (out === undefined) throw new BenchResultsError('--charts-from needs --out DIR (where the charts go)');
  for (const f of await writeCharts(out, readResults(results))) process.stderr.write(`wrote ${f}\n`);
}

async function runModes(flags: BenchFlags): Promise<void> {
  const modes = parseBenchModes(flags.modes);
  if (modes.some((m) => m !== 'userspace')) await runKernelModes(flags);
  if (modes.includes('userspace')) await benchUserspace(flags);
}

async function benchUserspace(flags: BenchFlags): Promise<void> {
  const result = await runUserspaceBench({ durationMs: parseDuration(flags.duration, 'duration'), runs: positiveInts(flags.runs, '--runs')[0] as number, out: process.stderr });
  process.stdout.write(renderUserspaceTable(result));
  if (flags.out) {
    mkdirSync(flags.out, { recursive: true });
    writeFileSync(join(flags.out, 'userspace.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`wrote ${join(flags.out, 'userspace.json')}\n`);
  }
}

async function runKernelModes(flags: BenchFlags): Promise<void> {
  const report = await runBench({
    modes: parseBenchModes(flags.modes), services: positiveInts(flags.services, '--services'), endpoints: positiveInts(flags.endpoints, '--endpoints')[0] as number,
    durationMs: parseDuration(flags.duration, 'duration'), runs: positiveInts(flags.runs, '--runs')[0] as number,
    dataPlane: flags.dataplane, vm: flags.vm, out: process.stderr, idleWindowMs: parseDuration(flags.idleWindow, 'idle-window'),
  });
  process.stdout.write(renderTables(report));
  process.stdout.write(renderIdleTable(report.idle ?? []));
  if (flags.out) for (const f of await writeReport(flags.out, report)) process.stderr.write(`wrote ${f}\n`);
}

async function benchIngress(flags: BenchFlags): Promise<void> {
  const result = await runIngressBench({
    durationMs: parseDuration(flags.duration, 'duration'), ingresses: positiveInts(flags.ingresses, '--ingresses')[0] as number,
    runs: positiveInts(flags.runs, '--runs')[0] as number, out: process.stderr,
  });
  process.stdout.write(renderIngressTable(result));
  if (flags.out) {
    mkdirSync(flags.out, { recursive: true });
    writeFileSync(join(flags.out, 'ingress.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`wrote ${join(flags.out, 'ingress.json')}\n`);
  }
}

/** dnsperf's `-c`: 1 to 256 clients. */
function dnsperfClients(text: string): number {
  const n = positiveInts(text, '--dns-clients')[0] as number;
  if (n > 256) throw new Error(`--dns-clients ${text}: dnsperf takes at most 256 clients`);
  return n;
}
