// What a sync would change in svcplane's nftables table: the planned objects against the
// table as the kernel lists it (list-parse.ts), chain by chain and set by set, each
// compared in the renderer's one spelling of every object.
import { chainText, renderElement, renderRule } from './render.js';
import type { NftObjects } from './objects.js';

/** nft lists a single-address prefix as the address: compare both spellings as one. */
function canonical(text: string): string {
  return text.replace(/(\d+\.\d+\.\d+\.\d+)\/32\b/g, '$1').replace(/([0-9a-fA-F:]*:[0-9a-fA-F:]*)\/128\b/g, '$1');
}

/** `+`/`-` lines (`-`: only in the kernel, a sync removes it; `+`: only planned); empty when nothing would change. */
export function objectsDiff(planned: NftObjects, live: NftObjects | undefined): string[] {
  const out: string[] = [];
  const family = planned.family;
  if (live === undefined) return [`+ table ${family} ${planned.table} (${planned.chains.size} chains, ${planned.sets.size} sets and maps)`];
  for (const name of [...new Set([...planned.chains.keys(), ...live.chains.keys()])].sort()) {
    const w = planned.chains.get(name);
    const h = live.chains.get(name);
    if (w === undefined) {
      out.push(`- chain ${name}`);
      continue;
    }
    if (h === undefined) {
      out.push(`+ chain ${name}`, ...w.rules.map((r) => `+   ${renderRule(family, r)}`));
      continue;
    }
    if (JSON.stringify(w.base) !== JSON.stringify(h.base)) out.push(`~ chain ${name}: hook ${JSON.stringify(h.base)} -> ${JSON.stringify(w.base)}`);
    if (canonical(chainText(family, w)) === canonical(chainText(family, h))) continue;
    const wantRules = w.rules.map((r) => canonical(renderRule(family, r)));
    const haveRules = h.rules.map((r) => canonical(renderRule(family, r)));
    out.push(`~ chain ${name}`);
    for (const r of haveRules) if (!wantRules.includes(r)) out.push(`-   ${r}`);
    for (const r of wantRules) if (!haveRules.includes(r)) out.push(`+   ${r}`);
    if (wantRules.every((r) => haveRules.includes(r)) && haveRules.every((r) => wantRules.includes(r))) out.push('    (the same rules in another order)');
  }
  for (const name of [...new Set([...planned.sets.keys(), ...live.sets.keys()])].sort()) {
    const w = planned.sets.get(name);
    const h = live.sets.get(name);
    if (w === undefined) {
      out.push(`- set ${name}`);
      continue;
    }
    const want = [...(planned.elements.get(name)?.values() ?? [])].map((e) => canonical(renderElement(e)));
    if (h === undefined) {
      out.push(`+ set ${name}`, ...want.map((e) => `+   ${e}`));
      continue;
    }
    // Dynamic sets (session affinity) are filled by the packets themselves.
    if (w.flags?.includes('dynamic') === true) continue;
    const have = [...(live.elements.get(name)?.values() ?? [])].map((e) => canonical(renderElement(e)));
    const lines = [...have.filter((e) => !want.includes(e)).map((e) => `-   ${e}`), ...want.filter((e) => !have.includes(e)).map((e) => `+   ${e}`)];
    if (lines.length > 0) out.push(`~ set ${name}`, ...lines);
  }
  return out;
}
