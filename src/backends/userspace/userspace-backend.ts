// The userspace mode's applier: listeners reconciled from the pure planner, then the
// redirect rules for the open ones fed to iptables-restore (one batch per family), with
// the jumps from the built-in chains ensured on full syncs. Without redirects (the
// unprivileged use) only the listeners exist and no kernel table is touched.
// The drift check (periodic syncs) reads the rules back only when nf_tables' generation
// says someone committed since they were last vouched for (ruleset-generation.ts), as the
// iptables mode does: a full sync per period at 10,000 services cost 7.8% of a core idle.
import type { Logger } from 'pino';
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState, StateChanges } from '../../state/types.js';
import type { ProxyBackend, SyncOutcome } from '../backend.js';
import { RulesetWitness } from '../common/ruleset-generation.js';
import { ListenerSet, type ListenerSetOptions } from './listener-set.js';
import { planListeners, type ListenerWant } from './planner.js';
import { isUserspaceChain, JUMPS, OWNED_CHAINS, renderCleanup, renderRules, type JumpRule, type Table } from './redirect-rules.js';

/** The iptables operations this mode needs (src/kernel/iptables.ts implements them). */
export interface UserspaceKernel {
  restore(text: string, opts: { noflush: true }): Promise<void>;
  listChains(table: Table): Promise<Set<string>>;
  save(table: Table): Promise<string>;
  ensureRule(table: Table, chain: string, args: readonly string[], position: 'prepend' | 'append'): Promise<unknown>;
  deleteRule(table: Table, chain: string, args: readonly string[]): Promise<unknown>;
}

export interface UserspaceSettings {
  /** Unprivileged use: listeners only (on this address and the service ports, when given). */
  readonly noRedirect?: { readonly address?: string | undefined } | undefined;
  /** kube-proxy's --udp-timeout. */
  readonly udpIdleTimeoutMs?: number | undefined;
}

export interface UserspaceBackendOptions extends UserspaceSettings {
  readonly ctx: NodeContext;
  readonly logger: Logger;
  /** Per family; none (or noRedirect) means no rules. */
  readonly kernels: Partial<Record<IPFamily, UserspaceKernel>>;
  readonly listeners?: ListenerSetOptions;
  /** nf_tables' ruleset generation (iptables-nft only; legacy has none: every drift check reads back). */
  readonly generation?: () => number;
}

export class UserspaceBackend implements ProxyBackend {
  readonly mode = 'userspace';
  readonly listeners: ListenerSet;
  #ctx: NodeContext;
  /** The batch last committed per family: partial syncs that change no rule skip the kernel. */
  readonly #committed = new Map<IPFamily, string>();
  /** Service ports whose listener failed, so each failure is logged when it starts, not every sync. */
  #failing = new Set<string>();
  /** The listeners the last sync wanted: the drift check retries the failing ones. */
  #wants: readonly ListenerWant[] = [];
  readonly #witness: RulesetWitness;

  constructor(private readonly opts: UserspaceBackendOptions) {
    this.#ctx = opts.ctx;
    this.#witness = new RulesetWitness(opts.generation);
    this.listeners = new ListenerSet({
      ...opts.listeners,
      ...(opts.udpIdleTimeoutMs !== undefined ? { udpIdleTimeoutMs: opts.udpIdleTimeoutMs } : {}),
      events: {
        dialFailed: (b, err) => opts.logger.debug({ backend: b.key, err: err.message }, 'backend connect failed; trying the next'),
        socketError: (err) => opts.logger.debug({ err: err.message }, 'proxied connection ended by a socket error'),
        ...opts.listeners?.events,
      },
    });
  }

  setContext(ctx: NodeContext): void {
    this.#ctx = ctx;
    this.#committed.clear();
    this.#witness.forget();
  }

  get #families(): IPFamily[] {
    if (this.opts.noRedirect !== undefined) return [];
    return (['IPv4', 'IPv6'] as const).filter((f) => this.opts.kernels[f] !== undefined);
  }

  /** The listeners the state wants (for `svcplane plan`). */
  plan(state: DesiredState): ListenerWant[] {
    return planListeners(state, { ctx: this.#ctx, ...(this.opts.noRedirect !== undefined ? { noRedirect: this.opts.noRedirect } : {}) });
  }

  async sync(state: DesiredState, changes?: StateChanges): Promise<SyncOutcome> {
    const wants = this.plan(state);
    this.#wants = wants;
    const result = await this.listeners.reconcile(wants);
    const failing = new Set<string>();
    for (const err of result.errors) {
      failing.add(err.servicePort);
      if (!this.#failing.has(err.servicePort)) this.opts.logger.error({ servicePort: err.servicePort, code: err.code, err: err.message }, 'cannot open the listener of a service port; its other traffic and every other service are unaffected');
    }
    this.#failing = failing;
    const ruleCounts: Record<string, number> = { listeners: this.listeners.size, listenerErrors: result.errors.length };
    const sent: Record<string, number> = { opened: result.opened, closed: result.closed, restoreBytes: 0 };
    this.#witness.begin(changes === undefined);
    for (const family of this.#families) {
      const kernel = this.opts.kernels[family] as UserspaceKernel;
      const rules = renderRules(family, wants, result.ports);
      const suffix = family === 'IPv6' ? '6' : '';
      ruleCounts[`nat${suffix}`] = rules.natRules;
      ruleCounts[`filter${suffix}`] = rules.filterRules;
      if (changes !== undefined && this.#committed.get(family) === rules.restore) continue;
      // Full syncs read the kernel back first and write only when it differs, so a full sync
      // never rewrites rules it has not checked (and an operator's change shows until repaired).
      const saved = changes === undefined ? await saveTables(kernel) : undefined;
      try {
        if (saved === undefined || !holdsRules(saved, rules.restore)) {
          await kernel.restore(rules.restore, { noflush: true });
          this.#witness.committedRestore(rules.restore);
        } else {
          sent.unchanged = (sent.unchanged ?? 0) + 1;
        }
        if (saved !== undefined) await ensureJumps(kernel, saved, this.#witness);
      } catch (err) {
        this.#committed.delete(family);
        this.#witness.forget();
        throw err;
      }
      this.#committed.set(family, rules.restore);
      sent.restoreBytes = (sent.restoreBytes ?? 0) + rules.restore.length;
    }
    this.#witness.end();
    return { kind: changes === undefined ? 'full' : 'partial', ruleCounts, sent };
  }

  /**
   * What a periodic sync must repair: redirect rules or jumps that differ from the last sync's
   * (read back only when nf_tables has committed anything since they were last vouched for).
   * Listeners that failed to open are retried here, as every periodic sync used to; one that
   * opens now needs its redirect rules, so it counts as drift.
   */
  async checkDrift(): Promise<readonly string[]> {
    const out: string[] = [];
    if (this.#failing.size > 0) {
      const retry = await this.listeners.reconcile(this.#wants);
      this.#failing = new Set(retry.errors.map((e) => e.servicePort));
      if (retry.opened > 0) out.push(`${retry.opened} listener(s) opened on retry: their redirect rules are not written yet`);
    }
    // Read before the read-back: a commit during or after it changes the generation again.
    const generation = this.#witness.read();
    if (this.#witness.unchanged(generation)) return out;
    const rules: string[] = [];
    for (const family of this.#families) {
      const committed = this.#committed.get(family);
      if (committed === undefined) {
        rules.push(`${family}: nothing committed since the last failure or context change`);
        continue;
      }
      const saved = await saveTables(this.opts.kernels[family] as UserspaceKernel);
      if (!holdsRules(saved, committed)) rules.push(`${family}: the redirect rules differ from the last sync's`);
      for (const j of JUMPS) if (!hasRule(saved[j.table], j)) rules.push(`${family}: jump ${j.table}/${j.chain} -> ${j.args.at(-1) ?? ''} missing`);
    }
    if (rules.length === 0) this.#witness.vouch(generation);
    return [...out, ...rules];
  }

  /** Closes every listener, removes the jumps, then flushes and deletes our chains. */
  async cleanup(): Promise<void> {
    this.#committed.clear();
    this.#witness.forget();
    await this.listeners.closeAll(true);
    for (const family of (['IPv4', 'IPv6'] as const).filter((f) => this.opts.kernels[f] !== undefined)) {
      const kernel = this.opts.kernels[family] as UserspaceKernel;
      for (const j of JUMPS) await kernel.deleteRule(j.table, j.chain, j.args);
      const batch = renderCleanup({ nat: await kernel.listChains('nat'), filter: await kernel.listChains('filter') });
      if (batch !== undefined) await kernel.restore(batch, { noflush: true });
    }
  }

  /** Whether any chain of this mode is in the kernel (mode switches remove them). */
  async hasLeftovers(): Promise<boolean> {
    for (const kernel of Object.values(this.opts.kernels)) {
      for (const table of ['nat', 'filter'] as const) if ([...(await kernel.listChains(table))].some(isUserspaceChain)) return true;
    }
    return false;
  }
}

async function saveTables(kernel: UserspaceKernel): Promise<Record<Table, string>> {
  const [nat, filter] = await Promise.all([kernel.save('nat'), kernel.save('filter')]);
  return { nat, filter };
}

/** Rule lines without quotes (iptables-nft quotes every comment, legacy only those with spaces). */
const unquote = (line: string): string => line.replace(/"/g, '');

/** Rule lines by chain, in order (iptables-save lists chain by chain; a restore may interleave them). */
function byChain(lines: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of lines) {
    const chain = l.slice(3).split(' ', 1)[0] as string;
    const list = out.get(chain);
    if (list === undefined) out.set(chain, [l]);
    else list.push(l);
  }
  return out;
}

/** Whether the dumps hold exactly the rules of `restore` in our chains, each chain in order. */
export function holdsRules(saved: Record<Table, string>, restore: string): boolean {
  let table: Table | undefined;
  const wanted: Record<Table, string[]> = { nat: [], filter: [] };
  for (const line of restore.split('\n')) {
    if (line === '*nat' || line === '*filter') table = line.slice(1) as Table;
    else if (line.startsWith('-A ') && table !== undefined) wanted[table].push(unquote(line));
  }
  return (['nat', 'filter'] as const).every((t) => {
    const lines = saved[t].split('\n');
    if (!OWNED_CHAINS[t].every((c) => lines.some((l) => l.startsWith(`:${c} `)))) return false;
    const ours = byChain(lines.filter((l) => l.startsWith('-A ') && isUserspaceChain(l.slice(3).split(' ', 1)[0] as string)).map(unquote));
    const want = byChain(wanted[t]);
    return ours.size === want.size && [...want].every(([chain, rules]) => {
      const held = ours.get(chain);
      return held !== undefined && held.length === rules.length && held.every((l, i) => l === rules[i]);
    });
  });
}

/**
 * The jumps from the built-in chains, checked against the dumps so that a full sync costs
 * two commands when nothing is missing (an `iptables -C` per jump took ~200 ms each on a
 * loaded machine).
 */
async function ensureJumps(kernel: UserspaceKernel, saved: Record<Table, string>, witness: RulesetWitness): Promise<void> {
  // Prepending in reverse keeps the listed order at the head of each built-in chain.
  for (const j of [...JUMPS].reverse()) {
    if (hasRule(saved[j.table], j)) continue;
    const inserted = await kernel.ensureRule(j.table, j.chain, j.args, 'prepend');
    // iptables says whether it inserted (one transaction); another kernel may not.
    if (inserted === true) witness.committed();
    else if (inserted !== false) witness.unsure();
  }
}

/** Whether iptables-save output holds the jump exactly as written (else `-C` decides). */
export function hasRule(save: string, j: JumpRule): boolean {
  const text = `-A ${j.chain} ${j.args.join(' ')}`;
  return save.split('\n').some((l) => unquote(l) === text);
}
