// Thin adapter over the nft binary: transactions go through `nft -f -` (the
// script on stdin, applied atomically), read-backs through `nft -j list ...`.
import { SvcplaneError } from '../util/errors.js';
import { runCommand, type CommandRunner } from './exec.js';

export type NftAddressFamily = 'ip' | 'ip6';

export interface NftOptions {
  /** Program the tables of this network namespace instead of the host's. */
  readonly netns?: string;
  /** Replaces runCommand (unit tests). */
  readonly run?: CommandRunner;
  readonly timeoutMs?: number;
}

export type NftErrorCode = 'SVCPLANE_NFT_FAILED' | 'SVCPLANE_NFT_BAD_OUTPUT';

export class NftError extends SvcplaneError {
  override readonly code: NftErrorCode;
  constructor(
    code: NftErrorCode,
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number,
    /** 1-based line of the script that failed, when nft named one. */
    readonly line?: number,
    readonly lineText?: string,
  ) {
    super(
      `${command} failed (exit code ${exitCode}): ${firstLine(stderr)}` +
        (line === undefined ? '' : `; line ${line}: ${truncate(lineText ?? '<past end of input>')}`),
    );
    this.code = code;
  }
}

/** A chain as `nft -j list chains` shows it. */
export interface NftChainInfo {
  readonly table: string;
  readonly name: string;
  readonly type?: string;
  readonly hook?: string;
  readonly priority?: number;
}

/** A set or map as `nft -j list sets|maps` shows it (elements left out). */
export interface NftSetInfo {
  readonly table: string;
  readonly name: string;
  /** Type expression as nft writes it: `ipv4_addr . inet_proto . inet_service`. */
  readonly type: string;
  /** 'verdict' for verdict maps; undefined for sets. */
  readonly map?: string;
  readonly flags: readonly string[];
  readonly timeout?: number;
}

/** `nft` prints `/dev/stdin:LINE:COL-COL: Error: ...` for scripts read from stdin. */
const ERROR_LINE = /^(?:\/dev\/stdin|-):(\d+):/m;

export class Nft {
  readonly netns: string | undefined;
  private readonly run: CommandRunner;
  private readonly timeoutMs: number | undefined;

  constructor(opts: NftOptions = {}) {
    this.netns = opts.netns;
    this.run = opts.run ?? runCommand;
    this.timeoutMs = opts.timeoutMs;
  }

  private async nft(args: readonly string[], input?: string): Promise<string> {
    const result = await this.run('nft', args, {
      ...(input === undefined ? {} : { input }),
      ...(this.netns === undefined ? {} : { netns: this.netns }),
      ...(this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs }),
    });
    if (result.code === 0) return result.stdout;
    const m = input === undefined ? null : ERROR_LINE.exec(result.stderr);
    const line = m?.[1] === undefined ? undefined : Number(m[1]);
    const lineText = line === undefined ? undefined : input?.split('\n')[line - 1];
    throw new NftError('SVCPLANE_NFT_FAILED', `nft ${args.join(' ')}`, result.stderr, result.code, line, lineText);
  }

  /** Applies a script as one transaction (all or nothing). `check`: parse and validate only (`-c`). */
  async apply(script: string, opts: { readonly check?: boolean } = {}): Promise<void> {
    await this.nft(opts.check === true ? ['-c', '-f', '-'] : ['-f', '-'], script);
  }

  /**
   * Whether the table exists. `nft list tables` costs as much as listing every rule (nft 1.0.6
   * fills its whole cache: 0.8 s at 1,000 services), so the maps' terse listing answers for
   * tables that have maps (svcplane's always do), and `list table` (quick when there is no
   * such table) for the rest.
   */
  async hasTable(family: NftAddressFamily, table: string): Promise<boolean> {
    const maps = parseJson(await this.nft(['-j', '-t', 'list', 'maps', family]), 'list maps');
    if (maps.some((o) => record(o['map'])?.['table'] === table)) return true;
    try {
      await this.nft(['-t', 'list', 'table', family, table]);
      return true;
    } catch (err) {
      if (err instanceof NftError && /No such file or directory/.test(err.stderr)) return false;
      throw err;
    }
  }

  /** `nft list table` text of one table, or undefined when there is no such table. */
  async listTable(family: NftAddressFamily, table: string): Promise<string | undefined> {
    try {
      return await this.nft(['list', 'table', family, table]);
    } catch (err) {
      if (err instanceof NftError && /No such file or directory/.test(err.stderr)) return undefined;
      throw err;
    }
  }

  /** The chains of one table (names and hooks, no rules). */
  async listChains(family: NftAddressFamily, table: string): Promise<NftChainInfo[]> {
    const out = await this.nft(['-j', 'list', 'chains', family]);
    const chains: NftChainInfo[] = [];
    for (const o of parseJson(out, 'list chains')) {
      const c = record(o['chain']);
      if (c === undefined || c['table'] !== table || typeof c['name'] !== 'string') continue;
      chains.push({
        table, name: c['name'],
        ...(typeof c['type'] === 'string' ? { type: c['type'] } : {}),
        ...(typeof c['hook'] === 'string' ? { hook: c['hook'] } : {}),
        ...(typeof c['prio'] === 'number' ? { priority: c['prio'] } : {}),
      });
    }
    return chains;
  }

  /** The sets and maps of one table (definitions only). */
  async listSets(family: NftAddressFamily, table: string): Promise<NftSetInfo[]> {
    const sets: NftSetInfo[] = [];
    for (const kind of ['sets', 'maps'] as const) {
      const out = await this.nft(['-j', '-t', 'list', kind, family]);
      for (const o of parseJson(out, `list ${kind}`)) {
        const s = record(o['set']) ?? record(o['map']);
        if (s === undefined || s['table'] !== table || typeof s['name'] !== 'string') continue;
        const type = Array.isArray(s['type']) ? s['type'].map(String).join(' . ') : String(s['type']);
        sets.push({
          table, name: s['name'], type,
          ...(typeof s['map'] === 'string' ? { map: s['map'] } : {}),
          flags: Array.isArray(s['flags']) ? s['flags'].map(String) : typeof s['flags'] === 'string' ? [s['flags']] : [],
          ...(typeof s['timeout'] === 'number' ? { timeout: s['timeout'] } : {}),
        });
      }
    }
    return sets;
  }

  /** `nft -j list table`: everything, rules and elements included (for tests and debugging). */
  async listTableJson(family: NftAddressFamily, table: string): Promise<Array<Record<string, unknown>>> {
    return parseJson(await this.nft(['-j', 'list', 'table', family, table]), 'list table');
  }

  /** `nft list table` in nft's own syntax. */
  async listTableText(family: NftAddressFamily, table: string): Promise<string> {
    return this.nft(['list', 'table', family, table]);
  }

  /** Deletes the table; false when there was none. */
  async deleteTable(family: NftAddressFamily, table: string): Promise<boolean> {
    if (!(await this.hasTable(family, table))) return false;
    await this.nft(['delete', 'table', family, table]);
    return true;
  }
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The objects of `{"nftables": [...]}`. */
function parseJson(text: string, what: string): Array<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new NftError('SVCPLANE_NFT_BAD_OUTPUT', `nft -j ${what}`, `not JSON: ${truncate(text)}`, 0);
  }
  const list = record(doc)?.['nftables'];
  if (!Array.isArray(list)) throw new NftError('SVCPLANE_NFT_BAD_OUTPUT', `nft -j ${what}`, 'no "nftables" array', 0);
  return list.map(record).filter((o): o is Record<string, unknown> => o !== undefined);
}

function firstLine(text: string): string {
  return truncate(text.trim().split('\n')[0] ?? '');
}

function truncate(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
