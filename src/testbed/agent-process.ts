// Runs the real svcplane agent (dist/cli/main.js run) inside a test bed's node namespace,
// and follows its JSON log so callers can wait for syncs and read reported problems.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Testbed } from './testbed.js';

/** dist/cli/main.js, whether this module runs from src/ (tests) or from dist/ (the demo). */
export function cliEntry(): string {
  const candidates = ['../cli/main.js', '../../dist/cli/main.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => p.endsWith('/dist/cli/main.js') && existsSync(p));
  if (!found) throw new Error(`svcplane is not built (looked for ${candidates.join(', ')}); run 'make build'`);
  return found;
}

export type LogRecord = Readonly<Record<string, unknown>> & { readonly msg?: string; readonly level?: number };

export class AgentProcess {
  private child: ChildProcessWithoutNullStreams | undefined;
  readonly logs: LogRecord[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly tb: Testbed,
    private readonly args: readonly string[],
    /** What runs `svcplane`; default this checkout's build on this Node (an installed copy, a wrapper...). */
    private readonly command: { readonly file: string; readonly args: readonly string[] } = { file: process.execPath, args: ['--enable-source-maps', cliEntry()] },
  ) {}

  /** Starts the agent; resolves after its first successful sync. */
  async start(timeoutMs = 45_000): Promise<void> {
    const before = this.syncCount();
    const child = this.tb.spawn('node', this.command.file, [...this.command.args, 'run', ...this.args]);
    this.child = child;
    const onLine = (line: string): void => {
      let rec: LogRecord;
      try {
        rec = JSON.parse(line) as LogRecord;
      } catch {
        rec = { msg: line };
      }
      this.logs.push(rec);
      for (const w of this.waiters) w();
    };
    createInterface({ input: child.stderr }).on('line', onLine);
    createInterface({ input: child.stdout }).on('line', onLine);
    await this.waitFor(() => this.syncCount() > before, timeoutMs, 'the first sync');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  syncCount(): number {
    return this.logs.filter((r) => r.msg === 'synced proxy rules').length;
  }

  /** Resolves when `predicate` holds over the logs; rejects with the log tail otherwise. */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const exited = (): void => {
        cleanup();
        reject(new Error(`agent exited while waiting for ${what}:\n${this.tail()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${this.tail()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        this.child?.off('exit', exited);
      };
      this.waiters.add(check);
      this.child?.once('exit', exited);
    });
  }

  /** Waits for the next successful sync after now. */
  waitForSync(timeoutMs = 10_000): Promise<void> {
    const n = this.syncCount();
    return this.waitFor(() => this.syncCount() > n, timeoutMs, 'a sync');
  }

  tail(lines = 20): string {
    return this.logs.slice(-lines).map((r) => JSON.stringify(r)).join('\n');
  }

  /** Sends a signal and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }
}
