// Kernel parameters through /proc/sys: plain file reads and writes, no `sysctl` process.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SvcplaneError } from '../util/errors.js';

export class SysctlError extends SvcplaneError {
  override readonly code = 'SVCPLANE_SYSCTL';
}

const NAME = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;

export class Sysctl {
  constructor(private readonly root = '/proc/sys') {}

  private path(name: string): string {
    if (!NAME.test(name)) throw new SysctlError(`invalid sysctl name ${JSON.stringify(name)}`);
    return join(this.root, ...name.split('.'));
  }

  async get(name: string): Promise<string> {
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
    try {
      await writeFile(this.path(name), want);
    } catch (err) {
      throw new SysctlError(`${name}: cannot set ${want} (was ${have}): ${(err as Error).message}`, { cause: err });
    }
    return have;
  }
}
