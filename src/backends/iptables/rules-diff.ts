// What a sync would change in svcplane's iptables chains: the planned restore text (and
// the jumps from the built-in chains) against an iptables-save dump, compared rule by rule
// in the tracer's model, so that the two spellings of one rule (the planner's option order,
// iptables-save's canonical one; `--or-mark` and `--set-xmark`; 0.3333333333 and
// 0.33333333349) are the same rule.
import type { IptablesTable, JumpRule } from '../../kernel/iptables.js';
import { BUILTIN_CHAINS, type Rule } from './tracer-model.js';
import { parseRule, tokenize } from './tracer-rule.js';

interface ChainRules {
  declared: boolean;
  rules: { key: string; text: string }[];
}

type Tables = Record<IptablesTable, Map<string, ChainRules>>;

function ruleKey(rule: Rule): string {
  const matches = rule.matches.map((m) => JSON.stringify(m.kind === 'statistic' ? { ...m, probability: Math.round(m.probability * 1e6) } : m)).sort();
  return JSON.stringify([matches, rule.target, rule.comment ?? '']);
}

function collect(text: string, owned: (chain: string) => boolean, origin: string): Tables {
  const tables: Tables = { nat: new Map(), filter: new Map() };
  let table: IptablesTable | undefined;
  const chain = (name: string): ChainRules => {
    const t = tables[table ?? 'filter'];
    let c = t.get(name);
    if (c === undefined) t.set(name, (c = { declared: false, rules: [] }));
    return c;
  };
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line.startsWith('*')) table = line === '*nat' ? 'nat' : line === '*filter' ? 'filter' : undefined;
    if (table === undefined || line === '' || line.startsWith('#') || line.startsWith('*') || line === 'COMMIT') continue;
    const builtin = BUILTIN_CHAINS[table];
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] ?? '';
      if (owned(name)) chain(name).declared = true;
      continue;
    }
    const [command, name = '', ...args] = tokenize(line, `${origin} line ${i + 1}`);
    if (command !== '-A') continue;
    const target = args[args.indexOf('-j') + 1] ?? '';
    if (!owned(name) && !(builtin.includes(name) && owned(target))) continue;
    chain(name).rules.push({ key: ruleKey(parseRule(table, args, `${origin} line ${i + 1}`)), text: line });
  }
  return tables;
}

function jumpLines(jumps: readonly JumpRule[], table: IptablesTable): string {
  return jumps.filter((j) => j.table === table).map((j) => `-A ${j.chain} ${j.args.map((a) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' ')}`).join('\n');
}

/** `+`/`-` lines per table (`-` live only: a sync removes it; `+` planned only: a sync adds it); empty when nothing would change. */
export function rulesDiff(planned: { readonly restore: string; readonly jumps: readonly JumpRule[] }, save: string, owned: (chain: string) => boolean): string[] {
  const want = collect(`${planned.restore}\n*nat\n${jumpLines(planned.jumps, 'nat')}\nCOMMIT\n*filter\n${jumpLines(planned.jumps, 'filter')}\nCOMMIT\n`, owned, 'plan');
  const have = collect(save, owned, 'iptables-save');
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const lines: string[] = [];
    const names = [...new Set([...want[table].keys(), ...have[table].keys()])].sort();
    for (const name of names) {
      const w = want[table].get(name);
      const h = have[table].get(name);
      if (w?.declared === true && h?.declared !== true && !BUILTIN_CHAINS[table].includes(name)) lines.push(`+ :${name}`);
      if (h?.declared === true && w?.declared !== true && !BUILTIN_CHAINS[table].includes(name)) lines.push(`- :${name}`);
      const wantKeys = new Set(w?.rules.map((r) => r.key));
      const haveKeys = new Set(h?.rules.map((r) => r.key));
      for (const r of h?.rules ?? []) if (!wantKeys.has(r.key)) lines.push(`- ${r.text}`);
      for (const r of w?.rules ?? []) if (!haveKeys.has(r.key)) lines.push(`+ ${r.text}`);
      const order = (rs: readonly { key: string }[] | undefined, keep: Set<string>): string => (rs ?? []).map((r) => r.key).filter((k) => keep.has(k)).join('\n');
      const both = new Set([...wantKeys].filter((k) => haveKeys.has(k)));
      if (!BUILTIN_CHAINS[table].includes(name) && order(w?.rules, both) !== order(h?.rules, both)) lines.push(`~ ${name}: the same rules in another order`);
    }
    if (lines.length > 0) out.push(`*${table}`, ...lines);
  }
  return out;
}
