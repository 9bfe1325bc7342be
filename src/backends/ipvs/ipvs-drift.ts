// The IPVS drift check's comparisons besides the IPVS table itself (ipvs-proc-table.ts): the
// addresses on kube-ipvs0, each ipset's member count, and each companion chain's rule count and
// jumps. Counts, not contents: iptables-save prints a rule in its own order of matches, and a
// changed member or rule without a changed count is left to the hourly full sync.
import { hasRule, parseChainNames } from '../../kernel/iptables.js';
import type { IPFamily } from '../../model/types.js';
import type { IpsetBook } from './ipvs-ipset-book.js';
import { familySets } from './ipvs-ipsets.js';
import { IPVS_IPTABLES_CHAINS, IPVS_IPTABLES_JUMPS } from './ipvs-iptables.js';
import { ipvsAddress } from './ipvs-keys.js';

type Table = 'nat' | 'filter';

/** Addresses bound to kube-ipvs0 that the last sync did not leave there, and the reverse. */
export function addressDrift(bound: Iterable<string>, committed: ReadonlySet<string>): string[] {
  const held = new Set([...bound].map(ipvsAddress));
  const out: string[] = [];
  for (const a of committed) if (!held.has(ipvsAddress(a))) out.push(`address ${a} is not bound to kube-ipvs0`);
  const want = new Set([...committed].map(ipvsAddress));
  for (const a of held) if (!want.has(a)) out.push(`address ${a} on kube-ipvs0 was not synced`);
  return out;
}

/** Each live set of `families` whose member count differs from the book's. */
export function ipsetDrift(counts: ReadonlyMap<string, number>, book: IpsetBook, families: readonly IPFamily[]): string[] {
  const out: string[] = [];
  for (const family of families) {
    for (const set of familySets(family)) {
      const held = counts.get(set.name);
      const want = book.memberCount(set.name);
      if (held === undefined) out.push(`ipset ${set.name} is missing`);
      else if (held !== want) out.push(`ipset ${set.name}: ${held} members, synced ${want}`);
    }
  }
  return out;
}

/** `-A CHAIN ...` lines per chain of `chains`. */
function ruleCounts(lines: readonly string[], chains: readonly string[]): Map<string, number> {
  const out = new Map(chains.map((c) => [c, 0]));
  for (const l of lines) {
    if (!l.startsWith('-A ')) continue;
    const chain = l.slice(3).split(' ', 1)[0] as string;
    const n = out.get(chain);
    if (n !== undefined) out.set(chain, n + 1);
  }
  return out;
}

/** The companion chains of one family: rule counts against the restore text a full sync writes, and the jumps. */
export function iptablesDrift(family: IPFamily, saved: Readonly<Record<Table, string>>, restore: string): string[] {
  const out: string[] = [];
  const wanted: Record<Table, string[]> = { nat: [], filter: [] };
  let table: Table | undefined;
  for (const line of restore.split('\n')) {
    if (line === '*nat' || line === '*filter') table = line.slice(1) as Table;
    else if (table !== undefined) wanted[table].push(line);
  }
  for (const t of ['nat', 'filter'] as const) {
    const lines = saved[t].split('\n');
    const chains = IPVS_IPTABLES_CHAINS[t];
    const present = parseChainNames(saved[t]);
    const held = ruleCounts(lines, chains);
    for (const [chain, want] of ruleCounts(wanted[t], chains)) {
      if (!present.has(chain)) out.push(`${family}: chain ${t}/${chain} is missing`);
      else if (held.get(chain) !== want) out.push(`${family}: chain ${t}/${chain} has ${held.get(chain) ?? 0} rules, synced ${want}`);
    }
  }
  for (const j of IPVS_IPTABLES_JUMPS) if (!hasRule(saved[j.table], j)) out.push(`${family}: jump ${j.table}/${j.chain} -> ${j.args.at(-1) ?? ''} missing`);
  return out;
}
