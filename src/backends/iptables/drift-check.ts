// The periodic drift check of the iptables mode: one iptables-save per table, counted,
// compared with the memo of the last committed plan. Rule texts are not compared (the memo
// does not keep them, and iptables-nft-save may print a rule otherwise than we wrote it):
// a chain gone or added, a rule deleted or inserted in any chain of ours, or a jump from a
// built-in chain removed is found; a rule edited in place is not, until the hourly full sync.
import type { IptablesMemo, IptablesTable, JumpRule } from './plan-types.js';
import { BASE_CHAINS, isOwnChain } from './chain-names.js';

/** Per chain of ours, how many rules iptables-save shows; and per built-in chain, its jumps into ours. */
export interface SavedCounts {
  readonly chains: Map<string, number>;
  readonly jumps: Map<string, number>;
}

/** Counts one table's iptables-save output in one pass over its lines (no per-line strings kept). */
export function countSave(table: IptablesTable, save: string): SavedCounts {
  const chains = new Map<string, number>();
  const jumps = new Map<string, number>();
  let start = 0;
  while (start < save.length) {
    let end = save.indexOf('\n', start);
    if (end === -1) end = save.length;
    const first = save.charCodeAt(start);
    if (first === 58 /* ':' */) {
      const name = save.slice(start + 1, save.indexOf(' ', start));
      if (isOwnChain(table, name)) chains.set(name, chains.get(name) ?? 0);
    } else if (first === 45 /* '-' */ && save.startsWith('-A ', start)) {
      const space = save.indexOf(' ', start + 3);
      const chain = save.slice(start + 3, space === -1 || space > end ? end : space);
      if (isOwnChain(table, chain)) chains.set(chain, (chains.get(chain) ?? 0) + 1);
      else {
        const target = / -[jg] (\S+)/.exec(save.slice(start, end))?.[1];
        if (target !== undefined && isOwnChain(table, target)) jumps.set(chain, (jumps.get(chain) ?? 0) + 1);
      }
    }
    start = end + 1;
  }
  return { chains, jumps };
}

/** Rules read back over nf_tables netlink (iptables-nft keeps its tables there): per chain, and the targets of the rules of chains not ours. */
export interface NetlinkRules {
  readonly chains: ReadonlyMap<string, number>;
  readonly verdicts: ReadonlyMap<string, readonly string[]>;
}

/** The same counts as countSave, from a netlink read-back of an iptables-nft table. */
export function countNetlinkRules(table: IptablesTable, rules: NetlinkRules): SavedCounts {
  const chains = new Map<string, number>();
  const jumps = new Map<string, number>();
  for (const [chain, n] of rules.chains) if (isOwnChain(table, chain)) chains.set(chain, n);
  for (const [chain, targets] of rules.verdicts) {
    if (isOwnChain(table, chain)) continue;
    const n = targets.filter((t) => isOwnChain(table, t)).length;
    if (n > 0) jumps.set(chain, n);
  }
  return { chains, jumps };
}

const MAX_NAMED = 10;

function named(what: string, names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMED).join(', ');
  return `${what}: ${shown}${names.length > MAX_NAMED ? ` and ${names.length - MAX_NAMED} more` : ''}`;
}

/**
 * The differences between the kernel's counts and what `memo` committed (empty: no drift).
 * `jumps` are the rules the applier ensures in the built-in chains.
 */
export function iptablesDrift(memo: IptablesMemo, saved: Readonly<Record<IptablesTable, SavedCounts>>, jumps: readonly JumpRule[]): string[] {
  const out: string[] = [];
  const natWanted = new Set<string>(BASE_CHAINS.nat);
  for (const f of memo.fragments.values()) for (const c of f.natChains) natWanted.add(c);
  const wanted: Record<IptablesTable, ReadonlySet<string>> = { nat: natWanted, filter: new Set(BASE_CHAINS.filter) };
  for (const table of ['nat', 'filter'] as const) {
    const have = saved[table].chains;
    const missing = [...wanted[table]].filter((c) => !have.has(c));
    const extra = [...have.keys()].filter((c) => !wanted[table].has(c));
    if (missing.length > 0) out.push(named(`${table}: chains missing`, missing));
    if (extra.length > 0) out.push(named(`${table}: chains not in the last sync`, extra));
    let total = 0;
    for (const n of have.values()) total += n;
    const expected = table === 'nat' ? memo.natRules : memo.filterRules;
    if (total !== expected) out.push(`${table}: ${total} rules in svcplane's chains, the last sync wrote ${expected}`);
    const wantJumps = new Map<string, number>();
    for (const j of jumps) if (j.table === table) wantJumps.set(j.chain, (wantJumps.get(j.chain) ?? 0) + 1);
    for (const [chain, n] of wantJumps) {
      const got = saved[table].jumps.get(chain) ?? 0;
      if (got < n) out.push(`${table}: ${chain} has ${got} jumps into svcplane's chains, ${n} expected`);
    }
  }
  // Which service ports drifted (their own chains: everything but their top-level lines).
  const natHave = saved.nat.chains;
  const ports: string[] = [];
  for (const [key, f] of memo.fragments) {
    let got = 0;
    for (const c of f.natChains) got += natHave.get(c) ?? 0;
    if (got !== f.natRuleCount - f.top.natServices.count - f.top.natNodePorts.count) ports.push(key);
  }
  if (ports.length > 0) out.push(named('service ports whose chains changed', ports));
  return out;
}
