// A tiny model of what iptables-restore --noflush does to the kernel's chains,
// so tests can check that partial plans converge to what a full plan writes.
import { KNOWN_BASE_CHAINS, parseBatch, tokenize } from './iptables-batch.js';

/** table -> chain -> rules, for the chains svcplane writes. */
export type KernelModel = Map<string, Map<string, string[]>>;

export function applyBatch(model: KernelModel, restore: string): void {
  if (restore === '') return;
  // parseBatch groups rules per chain in order, which is all --noflush semantics need:
  // a declaration flushes the chain, -A appends, -X removes.
  for (const [table, form] of Object.entries(parseBatch(restore))) {
    const chains = model.get(table) ?? new Map<string, string[]>();
    model.set(table, chains);
    for (const c of form.declared) chains.set(c, []);
    for (const [c, lines] of Object.entries(form.chains)) {
      const existing = chains.get(c);
      if (existing === undefined) throw new Error(`rule appended to undeclared, missing chain ${table}/${c}`);
      existing.push(...lines);
    }
    for (const c of form.removed) {
      if (!chains.delete(c)) throw new Error(`-X of missing chain ${table}/${c}`);
    }
  }
}

export function modelOf(restore: string): KernelModel {
  const m: KernelModel = new Map();
  applyBatch(m, restore);
  return m;
}

/** A comparable snapshot: sorted chain names with their rules. */
export function snapshot(model: KernelModel): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const [t, chains] of [...model].sort(([a], [b]) => a.localeCompare(b))) {
    out[t] = Object.fromEntries([...chains].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return out;
}

const TARGETS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'MARK', 'MASQUERADE']);

/** Rules whose `-j` target is neither a built-in target nor a chain present in the model (or a base chain). */
export function danglingJumps(model: KernelModel): string[] {
  const bad: string[] = [];
  for (const [table, chains] of model) {
    for (const lines of chains.values()) {
      for (const line of lines) {
        const tokens = tokenize(line);
        const target = tokens[tokens.indexOf('-j') + 1] ?? '';
        if (!TARGETS.has(target) && !chains.has(target) && !(KNOWN_BASE_CHAINS[table] ?? []).includes(target)) bad.push(line);
      }
    }
  }
  return bad;
}
