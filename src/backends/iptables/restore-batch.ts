// Assembles iptables-restore input: per table, declarations (which also flush
// with --noflush), then rules, then deletions, then COMMIT. Everything is
// collected as pieces into one array and joined once.
import type { RuleBlock } from './plan-types.js';

export interface TableSection {
  /** Chains declared (created or flushed), including those deleted below. */
  readonly declare: readonly string[];
  /** Blocks of `-A` lines, written in order. */
  readonly rules: readonly RuleBlock[];
  /** Chains removed with `-X` after all rules were written. */
  readonly remove: readonly string[];
}

export function isEmptySection(s: TableSection): boolean {
  return s.declare.length === 0 && s.remove.length === 0 && s.rules.every((b) => b.count === 0);
}

const DECLARE_CHUNK = 2048;

/** `filter` then `nat`; a table is left out when `undefined`. */
export function renderRestore(filter: TableSection | undefined, nat: TableSection | undefined): string {
  const out: string[] = [];
  const emit = (name: string, s: TableSection | undefined): void => {
    if (s === undefined) return;
    out.push('*', name, '\n');
    // `:NAME - [0:0]`, as iptables-save writes declarations (see chainLine),
    // joined in chunks: one join over a very large array is much slower in V8.
    for (let i = 0; i < s.declare.length; i += DECLARE_CHUNK) {
      const end = Math.min(s.declare.length, i + DECLARE_CHUNK);
      const lines: string[] = [];
      for (let j = i; j < end; j++) lines.push(':', s.declare[j] as string, ' - [0:0]\n');
      out.push(lines.join(''));
    }
    for (const block of s.rules) if (block.count > 0) out.push(block.text);
    for (const c of s.remove) out.push('-X ', c, '\n');
    out.push('COMMIT\n');
  };
  emit('filter', filter);
  emit('nat', nat);
  return out.join('');
}
