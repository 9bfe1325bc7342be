// Thin adapter over the iptables binaries: batches go through iptables-restore,
// the few jump rules in built-in chains through `iptables -C/-I/-A/-D`.

import type { IPFamily } from '../model/types.js';
import { SvcplaneError } from '../util/errors.js';
import { checkResult, CommandError, runCommand, type CommandRunner } from './exec.js';

export type IptablesTable = 'nat' | 'filter';
export type RulePosition = 'prepend' | 'append';

/** A rule in a built-in chain; `args` is argv without `-A/-I/-C chain`. */
export interface JumpRule {
  readonly table: IptablesTable;
  readonly chain: string;
  readonly args: readonly string[];
}

/** The operations the iptables mode and IPVS mode's companion rules need (Iptables implements them; tests script them). */
export interface IptablesKernel {
  restore(text: string, opts: { noflush: true }): Promise<void>;
  save(table: IptablesTable): Promise<string>;
  listChains(table: IptablesTable): Promise<Set<string>>;
  ensureRule(table: IptablesTable, chain: string, args: readonly string[], position: RulePosition): Promise<unknown>;
  deleteRule(table: IptablesTable, chain: string, args: readonly string[]): Promise<unknown>;
}

export interface IptablesOptions {
  readonly family: IPFamily;
  /** Program the tables of this network namespace instead of the host's. */
  readonly netns?: string;
  /** How long to wait for the xtables lock (`-w`); kube-proxy's default is 5. */
  readonly waitSeconds?: number;
  /** Replaces runCommand (unit tests). */
  readonly run?: CommandRunner;
  /**
   * Which iptables: the system's default (`iptables`, on Debian 12 the nf_tables variant),
   * or explicitly `iptables-nft` / `iptables-legacy` (their speeds differ by orders of magnitude
   * at 10,000 services: see the README's benchmark).
   */
  readonly variant?: IptablesVariant;
}

export type IptablesVariant = 'auto' | 'nft' | 'legacy';

export interface RestoreOptions {
  /** Always true: svcplane never flushes tables it does not own. */
  readonly noflush: true;
  /** Only parse and check the batch (`--test`), change nothing. */
  readonly test?: boolean;
}

export class RestoreError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPTABLES_RESTORE_FAILED';
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number,
    /** 1-based line of the input that failed, when the tool named one. */
    readonly line?: number,
    /** The text of that line. */
    readonly lineText?: string,
  ) {
    super(
      `${command} failed (exit code ${exitCode}): ${stderr.trim()}` +
        (line === undefined ? '' : `; line ${line}: ${lineText ?? '<past end of input>'}`),
    );
  }
}

/** `iptables -C` exits 1 when the rule (or its chain) is not there. */
const EXIT_NOT_FOUND = 1;
const DEFAULT_WAIT_SECONDS = 5;

export class Iptables implements IptablesKernel {
  readonly family: IPFamily;
  readonly netns: string | undefined;
  private readonly waitSeconds: number;
  private readonly run: CommandRunner;
  private readonly variant: IptablesVariant;

  constructor(opts: IptablesOptions) {
    this.variant = opts.variant ?? 'auto';
    this.family = opts.family;
    this.netns = opts.netns;
    this.waitSeconds = opts.waitSeconds ?? DEFAULT_WAIT_SECONDS;
    this.run = opts.run ?? runCommand;
  }

  private get prefix(): string {
    const base = this.family === 'IPv6' ? 'ip6tables' : 'iptables';
    return this.variant === 'auto' ? base : `${base}-${this.variant}`;
  }

  /** Applies one batch atomically. Throws RestoreError naming the failing line. */
  async restore(text: string, opts: RestoreOptions): Promise<void> {
    const file = `${this.prefix}-restore`;
    const args = ['-w', String(this.waitSeconds), ...(opts.noflush ? ['--noflush'] : []), ...(opts.test ? ['--test'] : [])];
    const result = await this.run(file, args, { input: text, netns: this.netns });
    if (result.code === 0) return;
    const line = failedLine(result.stderr);
    const lineText = line === undefined ? undefined : text.split('\n')[line - 1];
    throw new RestoreError(`${file} ${args.join(' ')}`, result.stderr, result.code, line, lineText);
  }

  /** Whether these binaries drive nf_tables (`iptables v1.8.9 (nf_tables)`) rather than the legacy tables. */
  async isNfTables(): Promise<boolean> {
    const result = await this.run(this.prefix, ['--version'], { netns: this.netns });
    return /nf_tables/.test(result.stdout + result.stderr);
  }

  /** The iptables-save dump of one table. */
  async save(table: IptablesTable): Promise<string> {
    const file = `${this.prefix}-save`;
    const args = ['-t', table];
    return checkResult(await this.run(file, args, { netns: this.netns }), file, args, this.netns).stdout;
  }

  /** Names of all chains (built-in and user) currently in `table`. */
  async listChains(table: IptablesTable): Promise<Set<string>> {
    return parseChainNames(await this.save(table));
  }

  async chainExists(table: IptablesTable, chain: string): Promise<boolean> {
    return (await this.listChains(table)).has(chain);
  }

  /** Whether `chain` in `table` holds a rule with exactly these arguments. */
  async ruleExists(table: IptablesTable, chain: string, args: readonly string[]): Promise<boolean> {
    const argv = this.ruleArgs(table, '-C', chain, args);
    const result = await this.run(this.prefix, argv, { netns: this.netns });
    if (result.code === 0) return true;
    if (result.code === EXIT_NOT_FOUND) return false;
    // A rule that jumps to a chain that does not exist cannot exist either (iptables exits 2).
    if (/Chain '[^']*' does not exist|Couldn't load target/.test(result.stderr)) return false;
    throw new CommandError(this.prefix, argv, result.code, result.stderr, this.netns);
  }

  /**
   * Makes sure the rule is in the chain: prepended (`-I chain 1`) or appended.
   * Returns true when it had to be added.
   */
  async ensureRule(table: IptablesTable, chain: string, args: readonly string[], position: RulePosition): Promise<boolean> {
    if (await this.ruleExists(table, chain, args)) return false;
    const argv =
      position === 'prepend'
        ? ['-w', String(this.waitSeconds), '-t', table, '-I', chain, '1', ...args]
        : this.ruleArgs(table, '-A', chain, args);
    checkResult(await this.run(this.prefix, argv, { netns: this.netns }), this.prefix, argv, this.netns);
    return true;
  }

  /** Deletes the rule if it is there (a missing rule or chain is not an error). Returns true when deleted. */
  async deleteRule(table: IptablesTable, chain: string, args: readonly string[]): Promise<boolean> {
    if (!(await this.ruleExists(table, chain, args))) return false;
    const argv = this.ruleArgs(table, '-D', chain, args);
    checkResult(await this.run(this.prefix, argv, { netns: this.netns }), this.prefix, argv, this.netns);
    return true;
  }

  private ruleArgs(table: IptablesTable, op: '-C' | '-A' | '-D', chain: string, args: readonly string[]): string[] {
    return ['-w', String(this.waitSeconds), '-t', table, op, chain, ...args];
  }
}

/** True when iptables-save output holds the jump exactly as we write it (else `-C` decides). */
export function hasRule(save: string, j: JumpRule): boolean {
  const quoted = j.args.map((a) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' ');
  return save.includes(`\n-A ${j.chain} ${quoted}\n`) || save.startsWith(`-A ${j.chain} ${quoted}\n`);
}

/** `:NAME POLICY [packets:bytes]` lines declare the chains of a table in iptables-save output. */
export function parseChainNames(save: string): Set<string> {
  const chains = new Set<string>();
  for (const line of save.split('\n')) {
    if (!line.startsWith(':')) continue;
    const name = line.slice(1).split(' ', 1)[0];
    if (name) chains.add(name);
  }
  return chains;
}

/**
 * The failing input line as reported by iptables-restore: legacy prints
 * "line N failed", the nf_tables backend "Error occurred at line: N".
 */
export function failedLine(stderr: string): number | undefined {
  const m = /line (\d+) failed/.exec(stderr) ?? /Error occurred at line: (\d+)/.exec(stderr);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}
