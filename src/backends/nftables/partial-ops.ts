// What a partial sync changes in a table, as typed operations in the order the
// kernel must see them. They are sent as nf_tables netlink messages
// (netlink-ops.ts) or, for what that path does not encode, as `nft -f` text.
import { NftCommands, renderElement } from './render.js';
import { elementKey, type NftChain, type NftElement, type NftFamily, type NftSet } from './objects.js';

export type NftOp =
  | { readonly op: 'delete-elements' | 'add-elements'; readonly set: string; readonly elements: readonly NftElement[] }
  | { readonly op: 'flush-chain' | 'delete-chain'; readonly chain: string }
  | { readonly op: 'delete-set'; readonly set: NftSet }
  | { readonly op: 'add-set'; readonly set: NftSet }
  /** Creates the chain (no rules). */
  | { readonly op: 'add-chain'; readonly chain: NftChain }
  /** Appends all of the chain's rules (to a new or just flushed chain). */
  | { readonly op: 'add-rules'; readonly chain: NftChain };

/** Elements go in commands of at most this many (one huge command is slower to parse). */
const ELEMENTS_PER_COMMAND = 1000;

export function elementCommands(cmd: NftCommands, set: string, elements: readonly NftElement[]): string[] {
  return elementTextCommands(cmd, set, elements.map(renderElement));
}

/** The same for elements already rendered (`renderElement`). */
export function elementTextCommands(cmd: NftCommands, set: string, texts: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < texts.length; i += ELEMENTS_PER_COMMAND) out.push(cmd.addElementTexts(set, texts.slice(i, i + ELEMENTS_PER_COMMAND)));
  return out;
}

/**
 * Collects rendered elements of many sets, arriving in any order, as `add element` commands of
 * ELEMENTS_PER_COMMAND each (the same commands as elementTextCommands per set, sets in the order
 * they first came): each full command is joined at once, so a 10,000-service table's 220,000
 * element strings are not all held until the end.
 */
export class ElementCommandBuffer {
  /** Per set: elements joined ten at a time (young-generation garbage, as the full transaction's lines) (`, `-separated), the latest few, and how many are not in a command yet. */
  readonly #sets = new Map<string, { pieces: string[]; pending: string[]; count: number; commands: string[] }>();
  constructor(private readonly cmd: NftCommands) {}

  push(set: string, text: string): void {
    let s = this.#sets.get(set);
    if (s === undefined) {
      s = { pieces: [], pending: [], count: 0, commands: [] };
      this.#sets.set(set, s);
    }
    s.pending.push(text);
    s.count++;
    if (s.pending.length === 10) {
      s.pieces.push(s.pending.join(', '));
      s.pending = [];
    }
    if (s.count === ELEMENTS_PER_COMMAND) this.seal(set);
  }

  /** No more elements will come for `set` (a service port's own map): its last command is joined now. */
  seal(set: string): void {
    const s = this.#sets.get(set);
    if (s === undefined || s.count === 0) return;
    if (s.pending.length > 0) s.pieces.push(s.pending.join(', '));
    s.commands.push(this.cmd.addElementTexts(set, s.pieces));
    s.pieces = [];
    s.pending = [];
    s.count = 0;
  }

  /** Every command, per set in first-push order. */
  commands(): string[] {
    const out: string[] = [];
    for (const [set, s] of this.#sets) {
      this.seal(set);
      out.push(...s.commands);
    }
    return out;
  }
}

/** The ops as one `nft -f` transaction ('' when there are none). */
export function renderOps(family: NftFamily, table: string, ops: readonly NftOp[]): string {
  const cmd = new NftCommands(family, table);
  const lines: string[] = [];
  for (const o of ops) {
    switch (o.op) {
      case 'delete-elements':
        lines.push(cmd.deleteElements(o.set, o.elements.map((e) => elementKey(e.key))));
        break;
      case 'add-elements':
        lines.push(...elementCommands(cmd, o.set, o.elements));
        break;
      case 'flush-chain':
        lines.push(cmd.flushChain(o.chain));
        break;
      case 'delete-chain':
        lines.push(cmd.deleteChain(o.chain));
        break;
      case 'delete-set':
        lines.push(cmd.deleteSet(o.set.name, o.set.map !== undefined));
        break;
      case 'add-set':
        lines.push(cmd.addSet(o.set));
        break;
      case 'add-chain':
        lines.push(cmd.addChain(o.chain));
        break;
      case 'add-rules':
        lines.push(...cmd.chainRules(o.chain));
        break;
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
