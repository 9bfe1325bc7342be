// Reading iptables-restore batches in tests: a structural form for golden
// comparison (order kept within a chain, not across chains) and checks that
// every jump target exists.
import { expect } from 'vitest';
import { readGolden } from './golden-file.js';

export interface TableForm {
  declared: string[];
  chains: Record<string, string[]>;
  removed: string[];
}
export type BatchForm = Record<string, TableForm>;

/** Strip the common leading indentation and surrounding blank lines. */
export function dedent(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  while (lines.length > 0 && (lines[0] ?? '').trim() === '') lines.shift();
  while (lines.length > 0 && (lines[lines.length - 1] ?? '').trim() === '') lines.pop();
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)?.[0].length ?? 0);
  const cut = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((l) => l.slice(cut).trimEnd()).join('\n');
}

/** Split a rule line like iptables-restore does: whitespace, with double-quoted strings kept whole. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

export function parseBatch(text: string): BatchForm {
  const form: BatchForm = {};
  let table: TableForm | undefined;
  for (const raw of dedent(text).split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = { declared: [], chains: {}, removed: [] };
      form[line.slice(1)] = table;
      continue;
    }
    if (table === undefined) throw new Error(`line outside a table: ${line}`);
    if (line === 'COMMIT') { table = undefined; continue; }
    if (line.startsWith(':')) { table.declared.push(line.slice(1).split(' ')[0] ?? ''); continue; }
    const [op, chain] = line.split(' ');
    if (op === '-X' && chain !== undefined) { table.removed.push(chain); continue; }
    if (op === '-A' && chain !== undefined) { (table.chains[chain] ??= []).push(line); continue; }
    throw new Error(`unexpected batch line: ${line}`);
  }
  for (const t of Object.values(form)) {
    t.declared.sort();
    t.removed.sort();
    t.chains = Object.fromEntries(Object.entries(t.chains).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return form;
}

const BUILTIN_TARGETS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'MARK', 'MASQUERADE']);
export const KNOWN_BASE_CHAINS: Readonly<Record<string, readonly string[]>> = {
  nat: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'],
  filter: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL'],
};

/** Jump targets that are neither built-in targets nor chains declared in the batch or known base chains. */
export function unknownTargets(text: string): string[] {
  const bad: string[] = [];
  for (const [name, t] of Object.entries(parseBatch(text))) {
    const declared = new Set([...t.declared, ...(KNOWN_BASE_CHAINS[name] ?? [])]);
    for (const lines of Object.values(t.chains)) {
      for (const line of lines) {
        const tokens = tokenize(line);
        tokens.forEach((tok, i) => {
          const target = tokens[i + 1];
          if (tok !== '-j') return;
          if (target === undefined || (!BUILTIN_TARGETS.has(target) && !declared.has(target))) bad.push(`${name}: ${line}`);
        });
      }
    }
  }
  return bad;
}

/** Compare a batch with its golden file (missing goldens fail; see golden-file.ts to record them). */
export function expectGolden(path: string, actual: string): void {
  const golden = readGolden(path, `${dedent(actual)}\n`);
  if (golden === undefined) return;
  expect(parseBatch(actual)).toEqual(parseBatch(golden));
}
