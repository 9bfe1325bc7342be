// Network-namespace primitives for privileged tests. Every namespace a test
// creates is named `svcp-...`; nothing here touches any other namespace.

import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { runChecked, runCommand, type CommandResult } from '../kernel/exec.js';

export const NETNS_PREFIX = 'svcp-';

/** Names of all network namespaces (`ip netns list` prints "name (id: N)"). */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await runChecked('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ', 1)[0] ?? '')
    .filter((name) => name !== '');
}

/** Creates a namespace with its loopback up. */
export async function addNetns(name: string): Promise<void> {
  assertOurs(name);
  await runChecked('ip', ['netns', 'add', name]);
  await runChecked('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/**
 * Deletes a namespace, first killing (by pid) any process still inside it: a
 * deleted namespace otherwise lives on in its processes. Missing is fine.
 */
export async function deleteNetns(name: string): Promise<void> {
  assertOurs(name);
  if (!(await listNetns()).includes(name)) return;
  const pids = await runCommand('ip', ['netns', 'pids', name]);
  for (const pid of pids.stdout.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const result = await runCommand('ip', ['netns', 'delete', name]);
  if (result.code !== 0 && (await listNetns()).includes(name)) {
    throw new Error(`cannot delete network namespace ${name}: ${result.stderr.trim()}`);
  }
}

/** `ip -n <ns> <args...>`, throwing on failure. */
export function ipIn(ns: string, args: readonly string[]): Promise<CommandResult> {
  return runChecked('ip', ['-n', ns, ...args]);
}

/** Sets sysctls inside a namespace (/proc/sys/net is per namespace). */
export async function sysctlIn(ns: string, settings: Readonly<Record<string, string | number>>): Promise<void> {
  const args = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
  await runChecked('sysctl', ['-q', '-w', ...args], { netns: ns });
}

/**
 * The command line that runs `file args` inside `ns`. With a cgroup (v2 directory), the process
 * first joins it (its children inherit it), then enters only the network namespace: nsenter
 * keeps the mount namespace, where `ip netns exec` remounts /sys and hides /sys/fs/bpf. The
 * fixed script gets the cgroup and the command as arguments, never as text.
 */
export function netnsArgv(ns: string, file: string, args: readonly string[], cgroup?: string): [string, string[]] {
  if (cgroup === undefined) return ['ip', ['netns', 'exec', ns, file, ...args]];
  return ['sh', ['-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', cgroup, 'nsenter', `--net=/run/netns/${ns}`, '--', file, ...args]];
}

/**
 * Long-running processes started inside namespaces, killed together by
 * `killAll` (by pid: only processes this group started).
 */
export class ProcessGroup {
  private readonly children = new Set<ChildProcessWithoutNullStreams>();

  spawn(ns: string, file: string, args: readonly string[], cgroup?: string): ChildProcessWithoutNullStreams {
    assertOurs(ns);
    const [argv0, argv] = netnsArgv(ns, file, args, cgroup);
    const child = spawn(argv0, argv, { shell: false });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    // A failed spawn must not crash the test process; the exit handler cleans up.
    child.on('error', () => this.children.delete(child));
    return child;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.children].map((child) => killChild(child)));
  }
}

export async function killChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

function assertOurs(name: string): void {
  if (!name.startsWith(NETNS_PREFIX)) throw new Error(`refusing to touch network namespace ${name}: not ${NETNS_PREFIX}*`);
}
