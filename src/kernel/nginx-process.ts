// nginx as svcplane's child: its own prefix (config, pid file, logs and temp
// files under the state directory), a config checked with `nginx -t` before
// it replaces the running one, and graceful reloads (SIGHUP) whose outcome is
// read back from nginx's error log. Always argv, never a shell.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SvcplaneError } from '../util/errors.js';
import { runCommand } from './exec.js';

export class NginxError extends SvcplaneError {
  override readonly code = 'SVCPLANE_NGINX';
}

export interface NginxLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface NginxProcessOptions {
  /** /usr/sbin/nginx */
  readonly binary: string;
  readonly stateDir: string;
  readonly logger: NginxLogger;
  /** How long a reload may take to start new workers. */
  readonly reloadTimeoutMs?: number;
  /** Run nginx in this network namespace (`ip netns exec` execs it: the pid is nginx's). */
  readonly netns?: string;
}

export type ConfigCheck = { readonly ok: true } | { readonly ok: false; readonly message: string; readonly line: number | undefined };

const TEMP_DIRS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

export class NginxProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private stopping = false;
  private readonly configPath: string;
  private readonly candidatePath: string;
  private readonly scratchPath: string;
  private readonly errorLog: string;

  constructor(
    private readonly options: NginxProcessOptions,
    /** Called when nginx exits without being asked to. */
    private readonly onUnexpectedExit: (code: number | null) => void = () => undefined,
  ) {
    this.configPath = join(options.stateDir, 'nginx.conf');
    this.candidatePath = join(options.stateDir, 'nginx.conf.candidate');
    this.scratchPath = join(options.stateDir, 'nginx.conf.changed');
    this.errorLog = join(options.stateDir, 'logs', 'error.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Creates the state directory tree nginx writes into. */
  async prepare(): Promise<void> {
    for (const dir of ['logs', 'certs', ...TEMP_DIRS.map((d) => join('tmp', d))]) {
      await mkdir(join(this.options.stateDir, dir), { recursive: true, mode: 0o700 });
    }
  }

  private args(config: string): string[] {
    return ['-p', this.options.stateDir, '-c', config, '-e', this.errorLog];
  }

  /** `nginx -t` on `text`, written beside the live config (as the candidate, or `path`). */
  async check(text: string, path = this.candidatePath): Promise<ConfigCheck> {
    await writeFile(path, text, { mode: 0o600 });
    const result = await runCommand(this.options.binary, ['-t', '-q', ...this.args(path)], { timeoutMs: 30_000, ...(this.options.netns === undefined ? {} : { netns: this.options.netns }) });
    if (result.code === 0) return { ok: true };
    const message = result.stderr.trim().split('\n').filter((l) => !l.includes('test failed')).join('; ') || `nginx -t exited with ${result.code}`;
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const line = new RegExp(`${escaped}:(\\d+)`).exec(message)?.[1];
    return { ok: false, message, line: line === undefined ? undefined : Number(line) };
  }

  /** Starts nginx on a config that passed check(). */
  async start(text: string): Promise<void> {
    if (this.child !== undefined) throw new NginxError('nginx already started');
    const checked = await this.check(text);
    if (!checked.ok) throw new NginxError(`the initial nginx config is invalid: ${checked.message}`);
    await rename(this.candidatePath, this.configPath);
    const argv = [this.options.binary, ...this.args(this.configPath), '-g', 'daemon off; master_process on;'];
    const [file, args] = this.options.netns === undefined ? [this.options.binary, argv.slice(1)] : ['ip', ['netns', 'exec', this.options.netns, ...argv]];
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], shell: false });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4096);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        this.child = undefined;
        if (!this.stopping) {
          this.options.logger.warn({ code, stderr: stderr.trim() }, 'nginx exited');
          this.onUnexpectedExit(code);
        }
        resolve(code);
      });
      child.on('error', (err) => {
        this.options.logger.warn({ err }, 'nginx could not be started');
        this.child = undefined;
        resolve(null);
      });
    });
    await this.waitForPidFile(child);
  }

  private async waitForPidFile(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.child !== child) throw new NginxError(`nginx exited at start; see ${this.errorLog}`);
      const pid = await readFile(join(this.options.stateDir, 'nginx.pid'), 'utf8').catch(() => '');
      if (Number(pid.trim()) === child.pid) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new NginxError('nginx did not write its pid file within 10 s');
  }

  /**
   * Replaces the running config with `text` if nginx -t accepts it, then reloads
   * gracefully and waits for the new workers. A refused config changes nothing.
   * With `checkOnly`, nginx -t reads that instead (the changed parts of `text`,
   * see changedPartsConfig); the reload, which parses all of `text` again and keeps
   * the old workers on any error, checks the rest.
   */
  async apply(text: string, checkOnly?: string): Promise<ConfigCheck> {
    const child = this.child;
    if (child?.pid === undefined) throw new NginxError('nginx is not running');
    const checked = checkOnly === undefined ? await this.check(text) : await this.check(checkOnly, this.scratchPath);
    if (!checked.ok) return checked;
    if (checkOnly !== undefined) await writeFile(this.candidatePath, text, { mode: 0o600 });
    const previous = await readFile(this.configPath, 'utf8');
    await rename(this.candidatePath, this.configPath);
    const offset = await this.logSize();
    child.kill('SIGHUP');
    const outcome = await this.waitForReload(offset);
    if (outcome === undefined) return { ok: true };
    // nginx refused it (and kept the old workers): keep the file saying what they run.
    // A reload not confirmed in time may still land: the file stays, the caller retries.
    if (outcome.startsWith('[emerg]')) await writeFile(this.configPath, previous, { mode: 0o600 });
    return { ok: false, message: outcome, line: undefined };
  }

  private async logSize(): Promise<number> {
    const handle = await open(this.errorLog, 'a+');
    try {
      return (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  }

  /** undefined once new workers started; the error nginx logged otherwise. */
  private async waitForReload(offset: number): Promise<string | undefined> {
    const deadline = Date.now() + (this.options.reloadTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      const text = (await readFile(this.errorLog)).subarray(offset).toString();
      const emerg = /\[emerg\].*/.exec(text);
      if (emerg) return emerg[0];
      if (/start worker process/.test(text)) return undefined;
      await new Promise((r) => setTimeout(r, 5));
    }
    return `nginx did not confirm the reload within ${this.options.reloadTimeoutMs ?? 60_000} ms`;
  }

  /** Graceful stop (SIGQUIT: finish requests in flight), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.stopping = true;
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
