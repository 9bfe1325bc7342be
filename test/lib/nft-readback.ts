// Reading a real nftables table back (`nft -j list table`) into a comparable
// form: chain -> rule count, set -> element texts; and the same form of what a
// planner memo says should be there.
import type { Nft, NftAddressFamily } from '../../src/kernel/nft.js';
import { elementKey, type NftObjects } from '../../src/backends/nftables/objects.js';
import { renderVerdict } from '../../src/backends/nftables/render.js';

export interface TableForm {
  readonly chains: Record<string, number>;
  readonly sets: Record<string, string[]>;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

function keyText(v: unknown): string {
  const o = obj(v);
  if (Array.isArray(o['concat'])) return o['concat'].map(keyText).join(' . ');
  if (o['prefix'] !== undefined) return `${String(obj(o['prefix'])['addr'])}/${String(obj(o['prefix'])['len'])}`;
  if (o['elem'] !== undefined) return keyText(obj(o['elem'])['val']);
  return String(v);
}

/** A verdict, or an endpoint map's data (`address . port`). */
function verdictText(v: unknown): string {
  const o = obj(v);
  if (Array.isArray(o['concat'])) return keyText(v);
  for (const kind of ['goto', 'jump']) if (o[kind] !== undefined) return `${kind} ${String(obj(o[kind])['target'])}`;
  return Object.keys(o)[0] ?? String(v);
}

export async function readTable(nft: Nft, family: NftAddressFamily, table: string): Promise<TableForm> {
  const chains: Record<string, number> = {};
  const sets: Record<string, string[]> = {};
  for (const item of await nft.listTableJson(family, table)) {
    const chain = obj(item['chain']);
    if (typeof chain['name'] === 'string') chains[chain['name']] ??= 0;
    const rule = obj(item['rule']);
    if (typeof rule['chain'] === 'string') chains[rule['chain']] = (chains[rule['chain']] ?? 0) + 1;
    const set = obj(item['set'] ?? item['map']);
    if (typeof set['name'] === 'string') {
      const elems = Array.isArray(set['elem']) ? set['elem'] : [];
      // Dynamic sets (affinity) fill themselves: only their existence is compared.
      const dynamic = Array.isArray(set['flags']) && set['flags'].includes('timeout');
      sets[set['name']] = dynamic ? [] : elems.map((e) => (Array.isArray(e) ? `${keyText(e[0])} : ${verdictText(e[1])}` : keyText(e))).sort();
    }
  }
  return { chains, sets };
}

export function expectedForm(objects: NftObjects): TableForm {
  const chains: Record<string, number> = {};
  const sets: Record<string, string[]> = {};
  for (const c of objects.chains.values()) chains[c.name] = c.rules.length;
  for (const s of objects.sets.values()) {
    const elems = [...(objects.elements.get(s.name)?.values() ?? [])];
    const text = (e: (typeof elems)[number]): string => {
      if (e.data !== undefined) return `${elementKey(e.key)} : ${e.data.join(' . ')}`;
      return e.verdict === undefined ? elementKey(e.key) : `${elementKey(e.key)} : ${renderVerdict(e.verdict)}`;
    };
    sets[s.name] = s.flags?.includes('timeout') === true ? [] : elems.map(text).sort();
  }
  return { chains, sets };
}
