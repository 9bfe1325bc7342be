// Typed objects -> `nft -f` commands. One way to write each object, so that
// equal objects are equal text (partial syncs compare chains by their text).
import {
  elementKey,
  type Action, type BaseChainSpec, type Match, type NftChain, type NftElement, type NftFamily, type NftRule, type NftSet, type Verdict,
} from './objects.js';
import { safeComment } from './names.js';

/** The typeof of endpoint maps' keys (the modulus only names a type: rules choose their own). */
export const ENDPOINT_MAP_KEY_TYPEOF = 'numgen random mod 1';

function addrExpr(family: NftFamily, dir: 'saddr' | 'daddr'): string {
  return `${family} ${dir}`;
}

export function renderMatch(family: NftFamily, m: Match): string {
  switch (m.kind) {
    case 'addr':
      return `${addrExpr(family, m.dir)} ${m.negated ? '!= ' : ''}${m.value}`;
    case 'addr-set':
      return `${addrExpr(family, m.dir)} @${m.set}`;
    case 'dport':
      return `${m.protocol} dport ${m.port}`;
    case 'fib-local':
      return `fib ${m.dir} type local`;
    case 'ct-state':
      return `ct state ${m.state}`;
    case 'mark-clear':
      return `meta mark & ${hex(m.mask)} == 0`;
    case 'numgen':
      return `numgen random mod ${m.mod} == 0`;
    case 'ct-status-dnat':
      return 'ct status dnat';
    case 'addr-pair-set':
      return `${addrExpr(family, 'saddr')} . ${addrExpr(family, 'daddr')} @${m.set}`;
  }
}

export function renderVerdict(v: Verdict): string {
  return v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.chain}` : v.kind;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** `[ip]:port` for IPv6 (nft needs the brackets to tell the port from the address). */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function renderAction(family: NftFamily, a: Action): string {
  switch (a.kind) {
    case 'verdict':
      return renderVerdict(a.verdict);
    case 'reject':
      return 'reject';
    case 'vmap':
      return a.key === 'addr-proto-port'
        ? `${addrExpr(family, 'daddr')} . meta l4proto . th dport vmap @${a.map}`
        : `meta l4proto . th dport vmap @${a.map}`;
    case 'mark':
      return `meta mark set meta mark ${a.op} ${hex(a.value)}`;
    case 'masquerade':
      return 'masquerade fully-random';
    case 'dnat':
      return `meta l4proto ${a.protocol} dnat to ${hostPort(a.ip, a.port)}`;
    case 'update-saddr':
      return `update @${a.set} { ${addrExpr(family, 'saddr')} }`;
    case 'dnat-map':
      return `meta l4proto ${a.protocol} dnat to numgen random mod ${a.mod} map @${a.map}`;
  }
}

export function renderRule(family: NftFamily, r: NftRule): string {
  const parts = r.match.map((m) => renderMatch(family, m));
  parts.push(renderAction(family, r.action));
  if (r.comment !== undefined) parts.push(`comment "${safeComment(r.comment)}"`);
  return parts.join(' ');
}

/** Numeric: nft 1.0.6 accepts `dstnat` only on prerouting, and no offsets on filter chains. */
function priority(spec: BaseChainSpec): string {
  return String(spec.priority);
}

/** Renders commands against one table; every method returns the line(s) without a newline. */
export class NftCommands {
  readonly #prefix: string;
  constructor(readonly family: NftFamily, readonly table: string) {
    this.#prefix = `${family} ${table}`;
  }

  addTable(comment: string): string {
    return `add table ${this.#prefix} { comment "${safeComment(comment)}"; }`;
  }

  flushTable(): string {
    return `flush table ${this.#prefix}`;
  }

  deleteTable(): string {
    return `delete table ${this.#prefix}`;
  }

  addChain(c: NftChain): string {
    if (c.base === undefined) return `add chain ${this.#prefix} ${c.name}`;
    return `add chain ${this.#prefix} ${c.name} { type ${c.base.type} hook ${c.base.hook} priority ${priority(c.base)}; policy accept; }`;
  }

  chainRules(c: NftChain): string[] {
    return c.rules.map((r) => `add rule ${this.#prefix} ${c.name} ${renderRule(this.family, r)}`);
  }

  flushChain(name: string): string {
    return `flush chain ${this.#prefix} ${name}`;
  }

  deleteChain(name: string): string {
    return `delete chain ${this.#prefix} ${name}`;
  }

  addSet(s: NftSet): string {
    // Endpoint maps are declared by typeof: nft types numgen's value as a bare integer.
    const body = [s.map === 'endpoints' ? `typeof ${ENDPOINT_MAP_KEY_TYPEOF} : ${this.family} daddr . ${s.protocol ?? 'tcp'} dport;` : `type ${s.type}${s.map === 'verdict' ? ' : verdict' : ''};`];
    if (s.flags !== undefined && s.flags.length > 0) body.push(`flags ${s.flags.join(',')};`);
    if (s.autoMerge === true) body.push('auto-merge;');
    if (s.timeout !== undefined) body.push(`timeout ${s.timeout}s;`);
    if (s.comment !== undefined) body.push(`comment "${safeComment(s.comment)}";`);
    return `add ${s.map === undefined ? 'set' : 'map'} ${this.#prefix} ${s.name} { ${body.join(' ')} }`;
  }

  flushSet(s: NftSet): string {
    return `flush ${s.map === undefined ? 'set' : 'map'} ${this.#prefix} ${s.name}`;
  }

  deleteSet(name: string, isMap: boolean): string {
    return `delete ${isMap ? 'map' : 'set'} ${this.#prefix} ${name}`;
  }

  /** One `add element` command for many elements of one set. */
  addElements(set: string, elements: readonly NftElement[]): string {
    return this.addElementTexts(set, elements.map(renderElement));
  }

  addElementTexts(set: string, texts: readonly string[]): string {
    return `add element ${this.#prefix} ${set} { ${texts.join(', ')} }`;
  }

  deleteElements(set: string, keys: readonly string[]): string {
    return `delete element ${this.#prefix} ${set} { ${keys.join(', ')} }`;
  }
}

export function renderElement(e: NftElement): string {
  const key = elementKey(e.key);
  const comment = e.comment === undefined ? '' : ` comment "${safeComment(e.comment)}"`;
  if (e.data !== undefined) return `${key}${comment} : ${e.data[0]} . ${e.data[1]}`;
  return e.verdict === undefined ? `${key}${comment}` : `${key}${comment} : ${renderVerdict(e.verdict)}`;
}

/** A chain's rules as one text, to compare chains cheaply. */
export function chainText(family: NftFamily, c: NftChain): string {
  return c.rules.map((r) => renderRule(family, r)).join('\n');
}
