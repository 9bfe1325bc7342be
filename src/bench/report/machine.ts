// What machine a benchmark ran on: figures from different machines (or a VM) are not
// comparable, so every report and chart carries this.
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem, type as osType } from 'node:os';
import type { MachineInfo } from './report-types.js';

/** PRETTY_NAME from os-release(5) text, unquoted; undefined when absent. */
export function parseOsRelease(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^PRETTY_NAME=(.*)$/.exec(line.trim());
    if (m) return (m[1] as string).replace(/^(["'])(.*)\1$/, '$2').trim() || undefined;
  }
  return undefined;
}

function readText(path: string | URL): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** svcplane's version; this file sits three levels below package.json in both src/ and dist/. */
function svcplaneVersion(): string {
  const text = readText(new URL('../../../package.json', import.meta.url));
  if (text === undefined) return 'unknown';
  const pkg: unknown = JSON.parse(text);
  const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

/** tools: versions of the kernel tools the run used, e.g. { iptables: 'v1.8.9 (nf_tables)' }. */
export function machineInfo(tools: Readonly<Record<string, string>>): MachineInfo {
  const cpuList = cpus();
  const osRelease = readText('/etc/os-release') ?? readText('/usr/lib/os-release');
  return {
    hostname: hostname(),
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() || 'unknown CPU',
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    os: (osRelease !== undefined ? parseOsRelease(osRelease) : undefined) ?? osType(),
    node: process.version,
    svcplane: svcplaneVersion(),
    tools: { ...tools },
  };
}
