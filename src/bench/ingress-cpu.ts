// CPU time of a process and its children (nginx's master and workers), from
// /proc: the ingress bench divides it by the requests served, which stays
// meaningful on a machine other jobs load (requests/s does not).
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/PID/stat (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

function stat(pid: string): { ppid: number; cpuTicks: number } | undefined {
  try {
    // Fields after the command (which may hold spaces): state, ppid, ... utime (14th), stime (15th).
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.split(' ') ?? [];
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** User + system CPU milliseconds of `pid` and its direct children, now. */
export function processTreeCpuMs(pid: number): number {
  let ticks = stat(String(pid))?.cpuTicks ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || entry === String(pid)) continue;
    const s = stat(entry);
    if (s?.ppid === pid) ticks += s.cpuTicks;
  }
  return (ticks * 1000) / USER_HZ;
}

/** /proc/loadavg's three averages, e.g. "6.27 3.29 1.35". */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
