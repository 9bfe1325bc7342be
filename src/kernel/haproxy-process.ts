// HAProxy as a child of `svcplane bench` (the userspace mode's peer): its config in
// its own state directory, checked with `haproxy -c` first, run in the foreground
// (-db) inside a network namespace via `ip netns exec`. Always argv, never a shell.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SvcplaneError } from '../util/errors.js';
import { runCommand } from './exec.js';

export class HaproxyError extends SvcplaneError {
  override readonly code = 'SVCPLANE_HAPROXY';
}

export interface HaproxyProcessOptions {
  /** /usr/sbin/haproxy */
  readonly binary: string;
  readonly stateDir: string;
  /** Run HAProxy in this network namespace (`ip netns exec` execs it). */
  readonly netns?: string;
}

export class HaproxyProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';

  constructor(private readonly options: HaproxyProcessOptions) {}

  private argv(file: string, args: readonly string[]): [string, string[]] {
    return this.options.netns === undefined ? [file, [...args]] : ['ip', ['netns', 'exec', this.options.netns, file, ...args]];
  }

  /** Writes `config`, has HAProxy check it, and starts it; throws HaproxyError if either fails. */
  async start(config: string): Promise<void> {
    if (this.child !== undefined) throw new HaproxyError('haproxy already started');
    const path = join(this.options.stateDir, 'haproxy.cfg');
    await writeFile(path, config, { mode: 0o600 });
    const check = await runCommand(...this.argv(this.options.binary, ['-c', '-q', '-f', path]), { timeoutMs: 30_000 });
    if (check.code !== 0) throw new HaproxyError(`haproxy refused its config ${path}: ${(check.stderr || check.stdout).trim()}`);
    const child = spawn(...this.argv(this.options.binary, ['-db', '-f', path]), { stdio: ['ignore', 'ignore', 'pipe'], shell: false });
    this.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4096);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.child = undefined;
        resolve();
      });
      child.once('error', (err) => {
        this.stderr += String(err);
        this.child = undefined;
        resolve();
      });
    });
  }

  /** The HAProxy process (`ip netns exec` execs it, so it keeps this pid); undefined when not running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** What HAProxy wrote to stderr lately (for an error message when it exits early). */
  get lastStderr(): string {
    return this.stderr.trim();
  }

  /** SIGTERM (HAProxy's immediate stop), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
