// `nft list table` text -> the typed objects the tracer walks, so `svcplane trace --live`
// and `plan --diff` read the kernel's table as nft prints it. Only the statements
// svcplane writes are known (objects.ts); anything else is an error naming the line,
// so a rule is never misread.
import { SvcplaneError } from '../../util/errors.js';
import { elementKey, type Action, type BaseChainSpec, type Hook, type L4Protocol, type Match, type NftChain, type NftElement, type NftFamily, type NftObjects, type NftRule, type NftSet, type Verdict } from './objects.js';

export class NftListParseError extends SvcplaneError {
  override readonly code = 'SVCPLANE_NFT_LIST_PARSE';
}

const PRIORITY_NAMES: Readonly<Record<string, number>> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const HOOKS: readonly Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];
const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

/** Words, with a double-quoted string as one word (quotes kept). */
function words(text: string): string[] {
  return text.match(/"[^"]*"|\S+/g) ?? [];
}

function unquote(w: string): string {
  return w.startsWith('"') && w.endsWith('"') ? w.slice(1, -1) : w;
}

/** Splits `a, b, c` at commas outside quotes. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      parts.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

function parsePriority(text: string, fail: (r: string) => never): number {
  const m = /^([a-z]+|-?\d+)(?:\s*([+-])\s*(\d+))?$/.exec(text.trim());
  if (m === null) return fail(`unknown priority "${text}"`);
  const base = /^-?\d+$/.test(m[1] ?? '') ? Number(m[1]) : PRIORITY_NAMES[m[1] ?? ''];
  if (base === undefined) return fail(`unknown priority "${text}"`);
  return base + (m[2] === undefined ? 0 : (m[2] === '-' ? -1 : 1) * Number(m[3]));
}

function parseVerdict(w: readonly string[], fail: (r: string) => never): Verdict {
  const [kind, chain] = w;
  if ((kind === 'accept' || kind === 'drop' || kind === 'return') && w.length === 1) return { kind };
  if ((kind === 'jump' || kind === 'goto') && chain !== undefined && w.length === 2) return { kind, chain };
  return fail(`unknown verdict "${w.join(' ')}"`);
}

/** One rule as nft prints it. */
export function parseRuleText(family: NftFamily, text: string, fail: (r: string) => never): NftRule {
  const w = words(text);
  const match: Match[] = [];
  let comment: string | undefined;
  const ci = w.indexOf('comment');
  if (ci >= 0) {
    comment = unquote(w[ci + 1] ?? '');
    w.splice(ci, 2);
  }
  const at = (i: number, ...expect: string[]): boolean => expect.every((e, k) => w[i + k] === e);
  let i = 0;
  const rest = (): string[] => w.slice(i);
  const done = (action: Action): NftRule => ({ match, action, ...(comment !== undefined ? { comment } : {}) });
  const fam = family;
  while (i < w.length) {
    const r = rest();
    if (at(i, fam, 'daddr', '.', 'meta', 'l4proto', '.', 'th', 'dport', 'vmap') && r.length === 10) return done({ kind: 'vmap', key: 'addr-proto-port', map: (w[i + 9] ?? '').slice(1) });
    if (at(i, 'meta', 'l4proto', '.', 'th', 'dport', 'vmap') && r.length === 7) return done({ kind: 'vmap', key: 'proto-port', map: (w[i + 6] ?? '').slice(1) });
    if (at(i, 'meta', 'mark', 'set', 'meta', 'mark') && r.length === 7) {
      const op = w[i + 5] === '|' || w[i + 5] === 'or' ? 'or' : w[i + 5] === '^' || w[i + 5] === 'xor' ? 'xor' : fail(`unknown mark operator "${w[i + 5]}"`);
      return done({ kind: 'mark', op, value: Number(w[i + 6]) });
    }
    if (at(i, 'masquerade')) return done({ kind: 'masquerade' });
    if (at(i, 'reject')) return done({ kind: 'reject' });
    if (at(i, 'update') && (w[i + 1] ?? '').startsWith('@')) return done({ kind: 'update-saddr', set: (w[i + 1] ?? '').slice(1) });
    if (at(i, 'meta', 'l4proto') && PROTOCOLS.includes(w[i + 2] ?? '') && w[i + 3] === 'dnat') {
      const protocol = w[i + 2] as L4Protocol;
      let j = i + 4;
      if (w[j] === fam) j++;
      if (w[j] !== 'to') return fail(`unknown dnat form "${text}"`);
      j++;
      if (at(j, 'numgen', 'random', 'mod') && w[j + 4] === 'map') return done({ kind: 'dnat-map', protocol, mod: Number(w[j + 3]), map: (w[j + 5] ?? '').slice(1) });
      const m = /^\[?([0-9a-fA-F:.]+?)\]?:(\d+)$/.exec(w[j] ?? '');
      if (m === null) return fail(`unknown dnat target "${w[j]}"`);
      return done({ kind: 'dnat', protocol, ip: m[1] ?? '', port: Number(m[2]) });
    }
    if (['accept', 'drop', 'return', 'jump', 'goto'].includes(w[i] ?? '')) return done({ kind: 'verdict', verdict: parseVerdict(r, fail) });
    // Matches.
    if (at(i, 'ct', 'state') && (w[i + 2] === 'new' || w[i + 2] === 'invalid')) {
      match.push({ kind: 'ct-state', state: w[i + 2] as 'new' | 'invalid' });
      i += 3;
    } else if (at(i, 'ct', 'status', 'dnat')) {
      match.push({ kind: 'ct-status-dnat' });
      i += 3;
    } else if (at(i, 'fib') && (w[i + 1] === 'saddr' || w[i + 1] === 'daddr') && at(i + 2, 'type', 'local')) {
      match.push({ kind: 'fib-local', dir: w[i + 1] as 'saddr' | 'daddr' });
      i += 4;
    } else if (at(i, 'meta', 'mark', '&') && w[i + 4] === '==' && Number(w[i + 5]) === 0) {
      match.push({ kind: 'mark-clear', mask: Number(w[i + 3]) });
      i += 6;
    } else if (at(i, 'numgen', 'random', 'mod')) {
      const j = w[i + 4] === '==' ? i + 5 : i + 4;
      if (Number(w[j]) !== 0) return fail(`unknown numgen match "${text}"`);
      match.push({ kind: 'numgen', mod: Number(w[i + 3]) });
      i = j + 1;
    } else if (at(i, fam, 'saddr', '.', fam, 'daddr') && (w[i + 5] ?? '').startsWith('@')) {
      match.push({ kind: 'addr-pair-set', set: (w[i + 5] ?? '').slice(1) });
      i += 6;
    } else if (at(i, fam) && (w[i + 1] === 'saddr' || w[i + 1] === 'daddr')) {
      const dir = w[i + 1] as 'saddr' | 'daddr';
      if ((w[i + 2] ?? '').startsWith('@')) {
        match.push({ kind: 'addr-set', dir, set: (w[i + 2] ?? '').slice(1) });
        i += 3;
      } else if (w[i + 2] === '!=') {
        match.push({ kind: 'addr', dir, negated: true, value: w[i + 3] ?? '' });
        i += 4;
      } else {
        match.push({ kind: 'addr', dir, negated: false, value: w[i + 2] ?? '' });
        i += 3;
      }
    } else if (PROTOCOLS.includes(w[i] ?? '') && w[i + 1] === 'dport') {
      match.push({ kind: 'dport', protocol: w[i] as L4Protocol, port: Number(w[i + 2]) });
      i += 3;
    } else {
      return fail(`unknown statement at "${w.slice(i).join(' ')}"`);
    }
  }
  return fail(`rule without an action: "${text}"`);
}

function parseElement(set: NftSet, text: string): NftElement {
  const [left = '', right] = splitColon(text);
  const cm = /\s+comment\s+"([^"]*)"\s*$/.exec(left);
  const keyText = cm === null ? left.trim() : left.slice(0, cm.index).trim();
  const key = keyText.split(' . ').map((k) => k.trim());
  const base = { set: set.name, key, ...(cm !== null ? { comment: cm[1] ?? '' } : {}) };
  if (right === undefined) return base;
  if (set.map === 'endpoints') {
    const [ip = '', port = '0'] = right.split(' . ').map((p) => p.trim());
    return { ...base, data: [ip, Number(port)] };
  }
  return { ...base, verdict: parseVerdict(words(right), (r) => { throw new NftListParseError(`${set.name}: ${r}`); }) };
}

/** `key : value` at the first colon outside quotes that is followed by a space (IPv6 keys have colons). */
function splitColon(text: string): [string, string | undefined] {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    if (!quoted && c === ':' && text[i - 1] === ' ' && text[i + 1] === ' ') return [text.slice(0, i), text.slice(i + 1).trim()];
  }
  return [text, undefined];
}

/** Parses the output of `nft list table <family> <name>`. */
export function parseNftList(text: string): NftObjects {
  const lines = text.split('\n');
  let family: NftFamily | undefined;
  let table = '';
  const chains = new Map<string, NftChain>();
  const sets = new Map<string, NftSet>();
  const elements = new Map<string, Map<string, NftElement>>();
  let n = 0;
  const fail = (reason: string): never => {
    throw new NftListParseError(`nft list line ${n}: ${reason}`);
  };
  for (; n < lines.length; n++) {
    const line = (lines[n] ?? '').trim();
    const tm = /^table (ip6?) (\S+) \{$/.exec(line);
    if (tm !== null) {
      family = tm[1] as NftFamily;
      table = tm[2] ?? '';
      continue;
    }
    if (family === undefined) continue;
    const om = /^(chain|set|map) (\S+) \{$/.exec(line);
    if (om === null) continue;
    const [, kind, name = ''] = om;
    const body: string[] = [];
    for (n++; n < lines.length && (lines[n] ?? '').trim() !== '}'; n++) body.push((lines[n] ?? '').trim());
    if (kind === 'chain') {
      let base: BaseChainSpec | undefined;
      const rules: NftRule[] = [];
      for (const b of body) {
        const hm = /^type (filter|nat) hook (\S+) priority ([^;]+); policy accept;$/.exec(b);
        if (hm !== null) {
          if (!HOOKS.includes(hm[2] as Hook)) fail(`unknown hook ${hm[2]}`);
          base = { type: hm[1] as 'filter' | 'nat', hook: hm[2] as Hook, priority: parsePriority(hm[3] ?? '', fail) };
        } else if (b !== '') rules.push(parseRuleText(family, b, fail));
      }
      chains.set(name, { name, ...(base !== undefined ? { base } : {}), rules });
      continue;
    }
    // A set or map: declarations, then `elements = { ... }` over one or more lines.
    let type = '';
    let map: NftSet['map'];
    let flags: NftSet['flags'];
    let elementText: string | undefined;
    for (const b of body) {
      if (elementText !== undefined) elementText += ` ${b}`;
      else if (b.startsWith('elements = {')) elementText = b.slice('elements = {'.length);
      else if (b.startsWith('typeof ')) map = 'endpoints';
      else if (b.startsWith('type ')) {
        const t = b.slice(5);
        map = t.endsWith(': verdict') ? 'verdict' : undefined;
        type = t.replace(/ : verdict$/, '');
      } else if (b.startsWith('flags ')) flags = b.slice(6).split(',') as NftSet['flags'];
    }
    const set: NftSet = { name, type, ...(map !== undefined ? { map } : {}), ...(flags !== undefined ? { flags } : {}) };
    sets.set(name, set);
    const own = new Map<string, NftElement>();
    if (elementText !== undefined) {
      for (const e of splitTop(elementText.replace(/\}\s*$/, ''))) {
        const el = parseElement(set, e);
        own.set(elementKey(el.key), el);
      }
    }
    elements.set(name, own);
  }
  if (family === undefined) throw new NftListParseError('no table in the nft listing');
  return { family, table, chains, sets, elements };
}
