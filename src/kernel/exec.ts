// The only place svcplane starts child processes. Always an argument array,
// never a shell: service, namespace and port names may reach argv.

import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { SvcplaneError } from '../util/errors.js';

export interface RunOptions {
  /** Written to stdin, which is then closed. Without it stdin is empty. */
  readonly input?: string;
  /** Kill the process (SIGKILL) and throw CommandTimeoutError after this long. */
  readonly timeoutMs?: number;
  /** Run inside this network namespace (`ip netns exec <netns> ...`). */
  readonly netns?: string;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; 128 + signal number when the process was killed by a signal. */
  readonly code: number;
}

/** The signature of runCommand, so callers can inject a fake in unit tests. */
export type CommandRunner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<CommandResult>;

export class CommandError extends SvcplaneError {
  override readonly code = 'SVCPLANE_COMMAND_FAILED';
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
    readonly netns?: string,
  ) {
    super(`${describeCommand(file, args, netns)} exited with code ${exitCode}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }
}

export class CommandNotFoundError extends SvcplaneError {
  override readonly code = 'SVCPLANE_COMMAND_NOT_FOUND';
  constructor(
    readonly file: string,
    readonly netns?: string,
  ) {
    super(`command not found: ${file}${netns ? ` (in network namespace ${netns})` : ''}; is the package that provides it installed?`);
  }
}

export class CommandTimeoutError extends SvcplaneError {
  override readonly code = 'SVCPLANE_COMMAND_TIMEOUT';
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly timeoutMs: number,
    readonly netns?: string,
  ) {
    super(`${describeCommand(file, args, netns)} did not finish within ${timeoutMs} ms and was killed`);
  }
}

/** `ip netns exec` prints this (and exits 1) when execvp of the inner command fails. */
const NETNS_EXEC_ENOENT = /^exec of "(.*)" failed: No such file or directory/m;

/**
 * Runs `file args...` and collects its whole output (streamed into buffers, no size
 * limit). Resolves with the exit code whatever it is; rejects only when the
 * command could not be started (CommandNotFoundError) or timed out.
 */
export function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const [argv0, argv] = opts.netns === undefined ? [file, [...args]] : ['ip', ['netns', 'exec', opts.netns, file, ...args]];
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(argv0, argv, { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      fn();
    };

    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A command may exit before reading all of its input (iptables-restore on a bad
    // line): EPIPE on stdin is then expected and the exit code tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');

    child.on('error', (err: NodeJS.ErrnoException) => {
      settle(() => reject(err.code === 'ENOENT' ? new CommandNotFoundError(argv0, undefined) : err));
    });
    child.on('close', (code, signal) => {
      settle(() => {
        const out = Buffer.concat(stdout).toString('utf8');
        const err = Buffer.concat(stderr).toString('utf8');
        if (timedOut) {
          reject(new CommandTimeoutError(file, args, opts.timeoutMs ?? 0, opts.netns));
          return;
        }
        const exitCode = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
        if (opts.netns !== undefined && exitCode !== 0) {
          const missing = NETNS_EXEC_ENOENT.exec(err);
          if (missing && missing[1] === file) {
            reject(new CommandNotFoundError(file, opts.netns));
            return;
          }
        }
        resolve({ stdout: out, stderr: err, code: exitCode });
      });
    });
  });
}

/** Like runCommand, but a non-zero exit code throws CommandError. */
export async function runChecked(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return checkResult(await runCommand(file, args, opts), file, args, opts.netns);
}

/** Throws CommandError unless `result` exited with 0; for callers holding a CommandRunner. */
export function checkResult(result: CommandResult, file: string, args: readonly string[], netns?: string): CommandResult {
  if (result.code !== 0) throw new CommandError(file, args, result.code, result.stderr, netns);
  return result;
}

function describeCommand(file: string, args: readonly string[], netns?: string): string {
  const cmd = [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return netns === undefined ? `"${cmd}"` : `"${cmd}" (in network namespace ${netns})`;
}
