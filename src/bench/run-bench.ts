// `svcplane bench`: every requested mode, at every size, control plane then data plane,
// repeated; modes this kernel lacks (IPVS here) run inside the project's VM and are
// labelled emulated. The report goes to stdout (tables) and to DIR (results.json, charts).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyMode } from '../agent/config.js';
import { IMPLEMENTED_MODES, probeMode } from '../agent/modes.js';
import { runCommand } from '../kernel/exec.js';
import { agentNodeFlags, controlPlaneRun, type ControlPlaneRun } from './control-plane.js';
import { idleRun, type IdleResult } from './idle-cpu.js';
import { measureDataPlane } from './dataplane.js';
import { machineInfo } from './report/machine.js';
import { createProgress } from './report/progress.js';
import type { BenchReport, ControlPlaneResult, DataPlaneResult, Stat } from './report/report-types.js';
import { spreadWarnings, summarize } from './report/stats.js';

export interface BenchOptions {
  readonly modes: readonly ProxyMode[];
  readonly services: readonly number[];
  readonly endpoints: number;
  readonly durationMs: number;
  readonly runs: number;
  /** Leave out the data plane (control plane only). */
  readonly dataPlane: boolean;
  /** Run modes this kernel lacks inside the VM (default); false: skip them. */
  readonly vm: boolean;
  readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  /** Idle cost: agent CPU over this window with no changes, per mode at the largest size (0 or absent: not measured). */
  readonly idleWindowMs?: number;
}

async function toolVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, args] of [['iptables', ['--version']], ['nft', ['--version']], ['ipvsadm', ['--version']], ['bpftool', ['version']]] as const) {
    try {
      const r = await runCommand(name, args);
      out[name] = (r.stdout || r.stderr).split('\n')[0]?.trim() ?? '';
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

async function controlPlane(mode: ProxyMode, services: number, opts: BenchOptions): Promise<ControlPlaneResult> {
  const runs: ControlPlaneRun[] = [];
  for (let i = 0; i < opts.runs; i++) runs.push(await controlPlaneRun(mode, services, opts.endpoints));
  const stat = (f: (r: ControlPlaneRun) => number | undefined): Stat | undefined => {
    const values = runs.map(f).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : summarize(values);
  };
  const last = runs.at(-1)?.row;
  const changeMs = stat((r) => r.row.changeMs);
  const addMs = stat((r) => r.row.addMs);
  const steadyRssMB = stat((r) => r.row.steadyRssMB);
  return {
    mode, services, endpoints: opts.endpoints,
    fullMs: summarize(runs.map((r) => r.row.fullMs)),
    ...(changeMs ? { changeMs } : {}), ...(addMs ? { addMs } : {}),
    peakRssMB: summarize(runs.map((r) => r.maxRssMB)),
    ...(steadyRssMB ? { steadyRssMB } : {}),
    sent: { full: last?.fullSent ?? {}, ...(last?.changeSent ? { change: last.changeSent } : {}), ...(last?.addSent ? { add: last.addSent } : {}) },
  };
}

/** Runs `svcplane bench` for `modes` inside the VM and returns its report (labelled emulated). */
async function inVm(modes: readonly ProxyMode[], opts: BenchOptions): Promise<BenchReport> {
  const { runInVm, REPO_ROOT, describeVmRun } = await import('../vm/harness.js');
  // A clean clone has no .cache yet when the bench is the first to use the VM.
  mkdirSync(join(REPO_ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(REPO_ROOT, '.cache', 'bench-vm-'));
  try {
    // The idle window runs in the guest too: IPVS exists only there (its CPU is emulated, and labelled so).
    const args = ['bench', '--modes', modes.join(','), '--services', opts.services.join(','), '--endpoints', String(opts.endpoints), '--duration', `${opts.durationMs}ms`, '--runs', String(opts.runs), '--out', dir, '--no-vm', '--no-dns', '--idle-window', `${opts.idleWindowMs ?? 0}ms`, ...(opts.dataPlane ? [] : ['--no-dataplane'])];
    const run = await runInVm({ command: [process.execPath, ...agentNodeFlags(), join(REPO_ROOT, 'dist', 'cli', 'main.js'), ...args], timeoutMs: 3_600_000, memoryMb: 4096 });
    if (run.exitCode !== 0) throw new Error(`bench in the VM failed: ${describeVmRun(run)}`);
    return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const skipped: { mode: string; reason: string }[] = [];
  const here: ProxyMode[] = [];
  const vm: ProxyMode[] = [];
  for (const mode of opts.modes) {
    if (!IMPLEMENTED_MODES.has(mode)) skipped.push({ mode, reason: 'not in this build' });
    else if (mode === 'userspace') continue; // its own section, beside HAProxy (userspace-bench.ts)
    else {
      const probe = await probeMode(mode);
      if (probe.ok) here.push(mode);
      else if (mode === 'ipvs' && opts.vm) vm.push(mode);
      else skipped.push({ mode, reason: probe.reason });
    }
  }
  const idleWindowMs = opts.idleWindowMs ?? 0;
  const steps = here.length * opts.services.length * (opts.dataPlane ? 2 : 1) + (vm.length > 0 ? 1 : 0) + (idleWindowMs > 0 ? here.length : 0);
  const progress = createProgress(steps, opts.out);
  const controlPlaneResults: ControlPlaneResult[] = [];
  const dataPlaneResults: DataPlaneResult[] = [];
  for (const mode of here) {
    for (const n of opts.services) {
      progress.step(`${mode}: programming ${n} services x ${opts.endpoints}`);
      controlPlaneResults.push(await controlPlane(mode, n, opts));
      if (!opts.dataPlane) continue;
      progress.step(`${mode}: traffic at ${n} services`);
      dataPlaneResults.push(await measureDataPlane(mode, n, { durationMs: opts.durationMs, runs: opts.runs, endpoints: opts.endpoints }));
    }
  }
  const idle: IdleResult[] = [];
  const largest = Math.max(...opts.services);
  for (const mode of idleWindowMs > 0 ? here : []) {
    progress.step(`${mode}: idle for ${Math.round(idleWindowMs / 1000)} s at ${largest} services`);
    idle.push(await idleRun(mode, largest, opts.endpoints, idleWindowMs));
  }
  if (vm.length > 0) {
    progress.step(`${vm.join(', ')}: inside the VM (emulated)`);
    const report = await inVm(vm, opts);
    const where = 'VM (emulated)';
    controlPlaneResults.push(...report.controlPlane.map((r) => ({ ...r, where })));
    dataPlaneResults.push(...report.dataPlane.map((r) => ({ ...r, where })));
    idle.push(...(report.idle ?? []).map((r) => ({ ...r, where })));
    skipped.push(...report.skipped);
  }
  progress.done();
  const report: BenchReport = {
    startedAt, machine: machineInfo(await toolVersions()),
    params: { modes: opts.modes, services: opts.services, endpoints: opts.endpoints, durationMs: opts.durationMs, runs: opts.runs },
    controlPlane: controlPlaneResults, dataPlane: dataPlaneResults, warnings: [], skipped,
    ...(idle.length > 0 ? { idle } : {}),
  };
  return { ...report, warnings: spreadWarnings(report) };
}
