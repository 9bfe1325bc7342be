// The demo's processes: stopping an agent within a deadline, the nginx an agent killed early
// leaves behind, the agent's memory, and why it ran another mode than asked.
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { AgentProcess } from '../testbed/agent-process.js';

const AGENT_STOP_TIMEOUT_MS = 5_000;

/** The reason the agent logged for not running the requested mode. */
export function fallbackReason(agent: AgentProcess): string | undefined {
  const r = agent.logs.find((l) => typeof l['reason'] === 'string' && typeof l['using'] === 'string');
  return r === undefined ? undefined : String(r['reason']);
}

export async function stopWithin(agent: AgentProcess): Promise<string> {
  if (agent.pid === undefined) return 'not started';
  const stop = agent.kill('SIGTERM').then((code) => (code === null ? 'stopped' : `exit ${code}`));
  return Promise.race([stop, delay(AGENT_STOP_TIMEOUT_MS).then(() => 'killed after no exit on SIGTERM')]);
}

/** Stops the nginx whose pid file this is, if it still runs (SIGTERM, then SIGKILL). */
export async function stopOrphanNginx(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  const alive = (): boolean => Number.isInteger(pid) && pid > 1 && existsSync(`/proc/${pid}`);
  if (!alive()) return;
  // Only that nginx (its command line names the pid file's directory), never a process that reused a stale pid.
  const cmdline = readCmdline(pid);
  if (!cmdline.includes('nginx') || !cmdline.includes(dirname(pidFile))) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 30 && alive(); i++) await delay(100);
  if (alive()) process.kill(pid, 'SIGKILL');
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** VmRSS of a process, in MB (undefined once it is gone). */
export function residentMB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kB = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kB === undefined ? undefined : Number(kB) / 1024;
  } catch {
    return undefined;
  }
}
