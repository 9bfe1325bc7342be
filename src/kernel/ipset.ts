// Thin adapter over the ipset tool: a whole batch through `ipset restore` (stdin, never a
// shell), and the destruction of named sets at cleanup.
import { SvcplaneError } from '../util/errors.js';
import { runCommand, type CommandRunner } from './exec.js';

export class IpsetError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPSET_FAILED';
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number,
  ) {
    super(`${command} failed (exit code ${exitCode}): ${stderr.trim()}`);
  }
}

/** What IPVS mode needs of ipset (Ipset implements it; unit tests script it). */
export interface IpsetKernel {
  /** Applies one `ipset restore` batch; `-exist` makes create/add of what exists a no-op. */
  restore(text: string): Promise<void>;
  /** Destroys a set; false when there is none by that name. Throws when it cannot (e.g. still referenced by a rule). */
  destroy(name: string): Promise<boolean>;
  /** The set's members as `ipset list` prints them; undefined when there is no such set. */
  members(name: string): Promise<string[] | undefined>;
  /** Every set's name and number of members, from one `ipset list -t` (headers only). */
  entryCounts(): Promise<Map<string, number>>;
}

export interface IpsetOptions {
  /** Program the sets of this network namespace instead of the host's. */
  readonly netns?: string;
  /** Replaces runCommand (unit tests). */
  readonly run?: CommandRunner;
}

const NO_SUCH_SET = /does not exist/;

export class Ipset implements IpsetKernel {
  private readonly run: CommandRunner;
  constructor(private readonly opts: IpsetOptions = {}) {
    this.run = opts.run ?? runCommand;
  }

  async restore(text: string): Promise<void> {
    const args = ['-exist', 'restore'];
    const result = await this.run('ipset', args, { input: text, netns: this.opts.netns });
    if (result.code !== 0) throw new IpsetError(`ipset ${args.join(' ')}`, result.stderr, result.code);
  }

  async destroy(name: string): Promise<boolean> {
    const result = await this.run('ipset', ['destroy', name], { netns: this.opts.netns });
    if (result.code === 0) return true;
    if (NO_SUCH_SET.test(result.stderr)) return false;
    throw new IpsetError(`ipset destroy ${name}`, result.stderr, result.code);
  }

  async members(name: string): Promise<string[] | undefined> {
    const result = await this.run('ipset', ['list', name], { netns: this.opts.netns });
    if (result.code !== 0) {
      if (NO_SUCH_SET.test(result.stderr)) return undefined;
      throw new IpsetError(`ipset list ${name}`, result.stderr, result.code);
    }
    const lines = result.stdout.split('\n');
    const start = lines.indexOf('Members:');
    return start < 0 ? [] : lines.slice(start + 1).filter((l) => l.trim() !== '');
  }

  async entryCounts(): Promise<Map<string, number>> {
    const result = await this.run('ipset', ['list', '-t'], { netns: this.opts.netns });
    if (result.code !== 0) throw new IpsetError('ipset list -t', result.stderr, result.code);
    return parseEntryCounts(result.stdout);
  }
}

/** `Name: X` ... `Number of entries: N` blocks of `ipset list -t`. */
export function parseEntryCounts(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let name: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Name: ')) name = line.slice(6).trim();
    else if (line.startsWith('Number of entries: ') && name !== undefined) out.set(name, Number(line.slice(19)));
  }
  return out;
}
