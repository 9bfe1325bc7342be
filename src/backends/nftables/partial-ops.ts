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
