// Control-plane benchmark runs: each (mode, size) in a fresh process (kernel-apply.ts), so
// that its peak memory is its own and no state leaks from one measurement to the next.
import { fileURLToPath } from 'node:url';
import type { ProxyMode } from '../agent/config.js';
import { runChecked } from '../kernel/exec.js';
import type { KernelApplyRow } from './kernel-apply.js';

const KERNEL_APPLY = fileURLToPath(new URL('./kernel-apply.js', import.meta.url));

export interface ControlPlaneRun {
  readonly row: KernelApplyRow;
  readonly maxRssMB: number;
}

/** Parses the `RESULT {...}` line kernel-apply prints last. */
export function parseKernelApplyOutput(stdout: string): { rows: KernelApplyRow[]; maxRssMB: number } {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`bench: the control-plane run printed no result:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as { rows: KernelApplyRow[]; maxRssMB: number };
}

/**
 * The heap flags this process runs with: bin/svcplane's, which the agent runs with too, so a
 * measurement's memory is the agent's (a test runner's own flags are left behind).
 */
export function agentNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return execArgv.filter((f) => /^--max-(semi|old)-space-size=/.test(f));
}

export async function controlPlaneRun(mode: ProxyMode, services: number, endpoints: number): Promise<ControlPlaneRun> {
  const { stdout } = await runChecked(process.execPath, [...agentNodeFlags(), '--expose-gc', KERNEL_APPLY, mode, String(services), String(endpoints)], { timeoutMs: 1_800_000 });
  const { rows, maxRssMB } = parseKernelApplyOutput(stdout);
  const row = rows[0];
  if (row === undefined) throw new Error(`bench: no control-plane result for ${mode} at ${services} services`);
  return { row, maxRssMB };
}
