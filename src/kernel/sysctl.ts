// Kernel parameters through /proc/sys: plain file reads and writes, no `sysctl` process.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SvcplaneError } from '../util/errors.js';
import { runChecked } from './exec.js';

export class SysctlError extends SvcplaneError {
  override readonly code = 'SVCPLANE_SYSCTL';
}

const NAME = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;

export class Sysctl {
  /**
   * `root` is /proc/sys of this process's network namespace; with `netns`, net.* settings of
   * that namespace are read and written through `sysctl` run inside it (argv, no shell).
   */
  constructor(
    private readonly root = '/proc/sys',
    private readonly netns?: string,
  ) {}

  private path(name: string): string {
    if (!NAME.test(name)) throw new SysctlError(`invalid sysctl name ${JSON.stringify(name)}`);
    return join(this.root, ...name.split('.'));
  }

  async get(name: string): Promise<string> {
    if (this.netns !== undefined) {
      this.path(name);
      return (await runChecked('sysctl', ['-n', name], { netns: this.netns })).stdout.trim();
    }
    try {
      return (await readFile(this.path(name), 'utf8')).trim();
    } catch (err) {
      throw new SysctlError(`${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Sets `name` to `value` unless it already has it; returns the previous value when it changed. */
  async ensure(name: string, value: string | number): Promise<string | undefined> {
    const want = String(value);
    const have = await this.get(name);
    if (have === want) return undefined;
    if (this.netns !== undefined) {
      await runChecked('sysctl', ['-q', '-w', `${name}=${want}`], { netns: this.netns });
      return have;
    }
    try {
      await writeFile(this.path(name), want);
    } catch (err) {
      throw new SysctlError(`${name}: cannot set ${want} (was ${have}): ${(err as Error).message}`, { cause: err });
    }
    return have;
  }
}
