// Loads iptables-restore text (applied with --noflush, as the applier does)
// and the planner's jump rules into a Ruleset the tracer can walk. Checks what
// iptables-restore would refuse: undeclared chains, dangling jumps, deleting a
// chain that is still used or not empty.
import type { IptablesTable, JumpRule } from '../../kernel/iptables.js';
import type { IPFamily } from '../../model/types.js';
import { ipFamily } from '../common/address.js';
import {
  BUILTIN_CHAINS,
  TracerParseError,
  type Chain,
  type Rule,
  type Ruleset,
} from './tracer-model.js';
import { MAX_CHAIN_NAME_LENGTH } from './chain-names.js';
import { parseRule, tokenize } from './tracer-rule.js';

export { TracerParseError, type Ruleset } from './tracer-model.js';

type MutableTables = Record<IptablesTable, Map<string, Chain>>;

export function emptyRuleset(): Ruleset {
  const tables = {} as MutableTables;
  for (const table of ['filter', 'nat'] as const) {
    tables[table] = new Map(BUILTIN_CHAINS[table].map((name): [string, Chain] => [name, { name, builtin: true, policy: 'ACCEPT', rules: [] }]));
  }
  return { family: undefined, tables };
}

/** The ruleset a full sync produces on a node with no svcplane rules yet. */
export function parseRuleset(input: { readonly restore: string; readonly jumps?: readonly JumpRule[] }): Ruleset {
  return addJumpRules(applyRestore(emptyRuleset(), input.restore), input.jumps ?? []);
}

function cloneTables(ruleset: Ruleset): MutableTables {
  return { filter: new Map(ruleset.tables.filter), nat: new Map(ruleset.tables.nat) };
}

/** Applies one restore batch on top of `base`, as `iptables-restore --noflush` would. */
export function applyRestore(base: Ruleset, restore: string): Ruleset {
  const tables = cloneTables(base);
  let family = base.family;
  let table: IptablesTable | undefined;
  const lines = restore.split('\n');
  for (const [index, raw] of lines.entries()) {
    const origin = `restore line ${index + 1}`;
    const fail = (reason: string): TracerParseError => new TracerParseError(origin, reason);
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (table) throw fail(`*${line.slice(1)} before COMMIT of *${table}`);
      const name = line.slice(1);
      if (name !== 'filter' && name !== 'nat') throw fail(`unsupported table "${name}"`);
      table = name;
      continue;
    }
    if (!table) throw fail('rule outside a table (no *filter or *nat before it)');
    const chains = tables[table];
    if (line === 'COMMIT') {
      checkReferences(table, chains, origin);
      table = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      declareChain(chains, tokenize(line.slice(1), origin), fail);
      continue;
    }
    const [command, chainName, ...args] = tokenize(line, origin);
    if (command !== '-A' && command !== '-X') throw fail(`unsupported command "${command}"`);
    if (chainName === undefined) throw fail(`${command} needs a chain`);
    const chain = chains.get(chainName);
    if (!chain) throw fail(`chain ${chainName} does not exist in table ${table}`);
    if (command === '-X') {
      if (args.length > 0) throw fail('-X takes only a chain name');
      if (chain.builtin) throw fail(`cannot delete built-in chain ${chainName}`);
      if (chain.rules.length > 0) throw fail(`cannot delete non-empty chain ${chainName}`);
      chains.delete(chainName);
      continue;
    }
    const rule = parseRule(table, args, origin);
    family = mergeFamily(family, rule, origin);
    chains.set(chainName, { ...chain, rules: [...chain.rules, rule] });
  }
  if (table) throw new TracerParseError(`restore line ${lines.length}`, `missing COMMIT for *${table}`);
  return { family, tables };
}

/** Appends the jump rules, in order, to the chains they name. */
export function addJumpRules(base: Ruleset, jumps: readonly JumpRule[]): Ruleset {
  const tables = cloneTables(base);
  let family = base.family;
  for (const [index, jump] of jumps.entries()) {
    const origin = `jump rule ${index + 1} (${jump.table} ${jump.chain})`;
    const chains = tables[jump.table];
    const chain = chains.get(jump.chain);
    if (!chain) throw new TracerParseError(origin, `chain ${jump.chain} does not exist in table ${jump.table}`);
    const rule = parseRule(jump.table, jump.args, origin);
    family = mergeFamily(family, rule, origin);
    chains.set(jump.chain, { ...chain, rules: [...chain.rules, rule] });
    checkReferences(jump.table, chains, origin);
  }
  return { family, tables };
}

function declareChain(chains: Map<string, Chain>, words: readonly string[], fail: (reason: string) => TracerParseError): void {
  const [name = '', policy, counters, ...rest] = words;
  if (policy === undefined || rest.length > 0 || (counters !== undefined && !/^\[\d+:\d+\]$/.test(counters))) {
    throw fail('chain declaration must be ":NAME POLICY [packets:bytes]"');
  }
  const existing = chains.get(name);
  if (existing?.builtin) {
    if (policy !== 'ACCEPT' && policy !== 'DROP') throw fail(`built-in chain ${name} needs policy ACCEPT or DROP`);
    // With --noflush a built-in chain keeps its rules; only the policy is set.
    chains.set(name, { ...existing, policy });
    return;
  }
  if (policy !== '-') throw fail(`user-defined chain ${name} must have policy "-"`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) || name.length > MAX_CHAIN_NAME_LENGTH) throw fail(`invalid chain name "${name}"`);
  // Declaring an existing chain flushes it.
  chains.set(name, { name, builtin: false, policy: 'ACCEPT', rules: [] });
}

/** Every jump must name a chain that exists when the table is committed. */
function checkReferences(table: IptablesTable, chains: ReadonlyMap<string, Chain>, origin: string): void {
  for (const chain of chains.values()) {
    for (const rule of chain.rules) {
      if (rule.target.kind === 'jump' && !chains.has(rule.target.chain)) {
        throw new TracerParseError(origin, `${rule.origin} in ${table} ${chain.name} jumps to missing chain ${rule.target.chain}`);
      }
    }
  }
}

function ruleFamilies(rule: Rule): IPFamily[] {
  const families: IPFamily[] = [];
  for (const match of rule.matches) {
    if (match.kind === 'source' || match.kind === 'destination') families.push(match.cidr.family);
  }
  if (rule.target.kind === 'DNAT') {
    const family = ipFamily(rule.target.ip);
    if (family) families.push(family);
  }
  return families;
}

function mergeFamily(current: IPFamily | undefined, rule: Rule, origin: string): IPFamily | undefined {
  let family = current;
  for (const f of ruleFamilies(rule)) {
    if (family !== undefined && f !== family) throw new TracerParseError(origin, `${f} address in an ${family} ruleset`);
    family = f;
  }
  return family;
}
