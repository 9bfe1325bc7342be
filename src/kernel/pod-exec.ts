// Runs a command as if it were a pod's container: its own /etc/resolv.conf (a bind
// mount in a private mount namespace: the host's file is never touched), its
// environment, and optionally a named network namespace (`ip netns` names).
//
// util-linux only, argv arrays only: `unshare --mount --propagation private cat`
// holds a fresh mount namespace open (for as long as its stdin, our pipe, stays
// open), `nsenter --target` mounts the file in it, then a second nsenter execs the
// command there. nsenter execs in place, so the command is our direct child: its
// exit status is nsenter's and signals we forward reach the command itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SvcplaneError } from '../util/errors.js';

export class PodExecError extends SvcplaneError {
  override readonly code = 'SVCPLANE_POD_EXEC';
}

export interface PodExecOptions {
  /** The command and its arguments (argv[0] is looked up in PATH). */
  readonly argv: readonly string[];
  /** The whole environment of the command. */
  readonly env: Readonly<Record<string, string>>;
  /** Content of the command's /etc/resolv.conf. */
  readonly resolvConf: string;
  /** `ip netns` name to run in; undefined: the caller's network namespace. */
  readonly netns?: string;
  /** Signals forwarded to the command while it runs. */
  readonly forwardSignals?: readonly NodeJS.Signals[];
}

export interface PodExecResult {
  /** Exit code, or null when a signal ended the command. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const NETNS_DIR = '/run/netns';
const DEFAULT_FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
const HOLDER_READY_TIMEOUT_MS = 5000;
/** Environment variable naming the svcplane process a namespace holder belongs to. */
export const HOLDER_ENV = 'SVCPLANE_EXEC_HOLDER_FOR';

/** The path of an `ip netns` name, refusing names that would leave /run/netns. */
export function netnsPath(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new PodExecError(`--netns ${JSON.stringify(name)}: not a network namespace name (letters, digits, '_', '.', '-')`);
  }
  const path = join(NETNS_DIR, name);
  if (!existsSync(path)) throw new PodExecError(`--netns ${name}: no such network namespace (${path}); create it with \`ip netns add ${name}\``);
  return path;
}

export async function execInPodNamespaces(opts: PodExecOptions): Promise<PodExecResult> {
  if (opts.argv.length === 0) throw new PodExecError('no command given (svcplane exec ... -- COMMAND ARGS...)');
  const netPath = opts.netns === undefined ? undefined : netnsPath(opts.netns);
  const holder = await startHolder();
  try {
    await bindResolvConf(holder.pid, opts.resolvConf);
    const args = ['--target', String(holder.pid), '--mount', `--wd=${process.cwd()}`, ...(netPath ? [`--net=${netPath}`] : []), '--', ...opts.argv];
    return await runForwarding(() => spawn('nsenter', args, { stdio: 'inherit', env: { ...opts.env }, shell: false }), opts.forwardSignals ?? DEFAULT_FORWARDED);
  } finally {
    holder.stop();
  }
}

interface Holder {
  readonly pid: number;
  stop(): void;
}

/** Starts the process that keeps the private mount namespace alive; resolves once it is set up. */
async function startHolder(): Promise<Holder> {
  // Its own process group: a Ctrl-C at the terminal is for the command, not for the holder.
  // HOLDER_ENV marks it (visible in /proc/PID/environ) with the pid it serves.
  const env = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', [HOLDER_ENV]: String(process.pid) };
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'cat'], { stdio: ['pipe', 'ignore', 'pipe'], detached: true, env, shell: false });
  const stderr: Buffer[] = [];
  child.stderr?.on('data', (b: Buffer) => stderr.push(b));
  let exited = false;
  child.on('exit', () => (exited = true));
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!spawned || child.pid === undefined) throw new PodExecError('cannot start `unshare` (util-linux): is it installed?');
  const pid = child.pid;
  const stop = (): void => {
    child.stdin?.end();
    if (!exited) child.kill('SIGKILL');
  };
  const ownNs = await readlink('/proc/self/ns/mnt');
  const deadline = Date.now() + HOLDER_READY_TIMEOUT_MS;
  // Ready once unshare has exec'ed cat: the namespace exists and its mounts are
  // already private (a mount made before that could propagate to the host).
  for (;;) {
    if (exited) {
      stop();
      throw new PodExecError(`unshare --mount failed (svcplane exec needs root): ${Buffer.concat(stderr).toString().trim()}`);
    }
    const [ns, comm] = await Promise.all([readlink(`/proc/${pid}/ns/mnt`).catch(() => ownNs), readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')]);
    if (ns !== ownNs && comm.trim() === 'cat') return { pid, stop };
    if (Date.now() > deadline) {
      stop();
      throw new PodExecError('the private mount namespace (unshare --mount) was not ready in time');
    }
    await sleep(5);
  }
}

/** Writes the file and bind-mounts it over /etc/resolv.conf inside the holder's namespace. */
async function bindResolvConf(pid: number, content: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'svcplane-exec-'));
  try {
    const file = join(dir, 'resolv.conf');
    await writeFile(file, content, { mode: 0o644 });
    await chmod(file, 0o644);
    const result = await waitFor(spawn('nsenter', ['--target', String(pid), '--mount', '--', 'mount', '--bind', file, '/etc/resolv.conf'], { stdio: ['ignore', 'ignore', 'pipe'], shell: false }));
    if (result.code !== 0) throw new PodExecError(`cannot bind-mount the pod's resolv.conf over /etc/resolv.conf: ${result.stderr.trim() || `exit ${result.code}`}`);
  } finally {
    // The mount holds the file itself; the name is no longer needed.
    await rm(dir, { recursive: true, force: true });
  }
}

function waitFor(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  const stderr: Buffer[] = [];
  child.stderr?.on('data', (b: Buffer) => stderr.push(b));
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new PodExecError(`cannot run nsenter (util-linux): ${err.message}`)));
    child.once('close', (code) => resolve({ code, stderr: Buffer.concat(stderr).toString() }));
  });
}

/**
 * Spawns the command with our signal handlers already in place. Registered after the
 * spawn, a signal sent once the command runs (whoever signals us may see it running
 * before our spawn call has returned, on a loaded machine) found the default action and
 * killed us without the command knowing. Handlers run from the event loop, so by the time
 * one runs, the child exists.
 */
export function runForwarding(start: () => ChildProcess, signals: readonly NodeJS.Signals[]): Promise<PodExecResult> {
  let child: ChildProcess | undefined;
  const forward = (signal: NodeJS.Signals): void => {
    child?.kill(signal);
  };
  for (const s of signals) process.on(s, forward);
  const detach = (): void => {
    for (const s of signals) process.off(s, forward);
  };
  const spawned = start();
  child = spawned;
  return new Promise((resolve, reject) => {
    spawned.once('error', (err) => {
      detach();
      reject(new PodExecError(`cannot run nsenter (util-linux): ${err.message}`));
    });
    spawned.once('exit', (code, signal) => {
      detach();
      resolve({ code, signal });
    });
  });
}
