// Parses one iptables rule (the words after `-A CHAIN`) into the tracer's
// model. Only the options svcplane's planner uses are known; anything else is
// an error naming where the rule came from, so a rule is never misread.
import type { IptablesTable } from '../../kernel/iptables.js';
import { isPort, parseCidr, parseHostPort } from '../common/address.js';
import { MAX_CHAIN_NAME_LENGTH } from './chain-names.js';
import {
  BUILTIN_CHAINS,
  CONNTRACK_STATES,
  TracerParseError,
  type ConntrackState,
  type Match,
  type Rule,
  type Target,
  type TracerProtocol,
} from './tracer-model.js';

interface OptionSpec {
  readonly takesValue: boolean;
  readonly negatable: boolean;
  /** `--match-set NAME FLAGS` takes two words; they are kept joined by a space. */
  readonly twoValues?: boolean;
}

const VALUE: OptionSpec = { takesValue: true, negatable: false };
const NEGATABLE_VALUE: OptionSpec = { takesValue: true, negatable: true };
const FLAG: OptionSpec = { takesValue: false, negatable: false };

const PORT_OPTIONS = { '--dport': VALUE };

const MATCH_MODULES: Readonly<Record<string, Readonly<Record<string, OptionSpec>>>> = {
  tcp: PORT_OPTIONS,
  udp: PORT_OPTIONS,
  sctp: PORT_OPTIONS,
  comment: { '--comment': VALUE },
  addrtype: { '--src-type': NEGATABLE_VALUE, '--dst-type': NEGATABLE_VALUE },
  statistic: { '--mode': VALUE, '--probability': VALUE },
  // iptables-save also writes the defaults `--mask <all ones> --rsource`.
  recent: { '--name': VALUE, '--rcheck': FLAG, '--set': FLAG, '--seconds': VALUE, '--reap': FLAG, '--mask': VALUE, '--rsource': FLAG },
  mark: { '--mark': NEGATABLE_VALUE },
  conntrack: { '--ctstate': NEGATABLE_VALUE },
  set: { '--match-set': { takesValue: true, negatable: true, twoValues: true } },
};

const TARGET_OPTIONS: Readonly<Record<string, Readonly<Record<string, OptionSpec>>>> = {
  ACCEPT: {},
  DROP: {},
  // iptables-save writes the default `--reject-with icmp-port-unreachable`.
  REJECT: { '--reject-with': VALUE },
  RETURN: {},
  DNAT: { '--to-destination': VALUE },
  // iptables-save writes --or-mark X as --set-xmark X/X and --xor-mark X as --set-xmark X/0x0.
  MARK: { '--or-mark': VALUE, '--xor-mark': VALUE, '--set-xmark': VALUE },
  MASQUERADE: { '--random-fully': FLAG },
};

const PROTOCOLS: readonly TracerProtocol[] = ['tcp', 'udp', 'sctp'];
// xt_comment keeps 256 bytes including the terminating NUL; longer ones are cut silently.
const MAX_COMMENT_LENGTH = 255;

interface OptionValue {
  readonly value: string | undefined;
  readonly negated: boolean;
}

/** A loaded `-m` module or the `-j` target with the options given to it. */
interface Extension {
  readonly name: string;
  readonly options: Map<string, OptionValue>;
}

/**
 * Splits a restore line into words as iptables-restore does: double quotes group, and inside
 * them a backslash makes the next character literal (iptables-save writes `\"`, `\\` and `\'`
 * there: "type \'hash ip:port\'" is the comment `type 'hash ip:port'`).
 */
export function tokenize(line: string, origin: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length && (quoted || line[i + 1] === '"')) {
      current += line[i + 1];
      inToken = true;
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += c;
      inToken = true;
    }
  }
  if (quoted) throw new TracerParseError(origin, 'unterminated double quote');
  if (inToken) tokens.push(current);
  return tokens;
}

export function parseRule(table: IptablesTable, args: readonly string[], origin: string): Rule {
  const fail = (reason: string): TracerParseError => new TracerParseError(origin, reason);
  const generic: { source?: OptionValue; destination?: OptionValue; protocol?: OptionValue } = {};
  const modules: Extension[] = [];
  let target: Extension | undefined;
  let negate = false;

  for (let i = 0; i < args.length; i++) {
    const token = args[i] ?? '';
    const value = (): string => {
      const next = args[++i];
      if (next === undefined) throw fail(`${token} needs a value`);
      return next;
    };
    if (token === '!') {
      if (negate) throw fail('"!" given twice');
      negate = true;
      continue;
    }
    const negated = negate;
    negate = false;
    switch (token) {
      case '-s':
      case '--source':
      case '-d':
      case '--destination':
      case '-p':
      case '--protocol': {
        const key = token === '-s' || token === '--source' ? 'source' : token === '-d' || token === '--destination' ? 'destination' : 'protocol';
        if (generic[key]) throw fail(`${token} given twice`);
        let text = value();
        let inverted = negated;
        // The old `-s ! cidr` spelling.
        if (text === '!') {
          if (inverted) throw fail('"!" given twice');
          inverted = true;
          text = value();
        }
        generic[key] = { value: text, negated: inverted };
        break;
      }
      case '-m':
      case '--match': {
        if (negated) throw fail(`"!" cannot apply to ${token}`);
        const name = value();
        if (!(name in MATCH_MODULES)) throw fail(`unsupported match module "${name}"`);
        modules.push({ name, options: new Map() });
        break;
      }
      case '-j':
      case '--jump': {
        if (negated) throw fail(`"!" cannot apply to ${token}`);
        if (target) throw fail(`${token} given twice`);
        target = { name: value(), options: new Map() };
        break;
      }
      default: {
        if (!token.startsWith('--')) throw fail(`unsupported token "${token}"`);
        // iptables offers an option to the target, then to loaded modules, latest first.
        const owners = [...(target ? [target] : []), ...[...modules].reverse()];
        const owner = owners.find((ext) => optionSpec(ext, target, token) !== undefined);
        const spec = owner && optionSpec(owner, target, token);
        if (!owner || !spec) throw fail(`unsupported option "${token}"`);
        if (negated && !spec.negatable) throw fail(`"!" cannot apply to ${token}`);
        if (owner.options.has(token)) throw fail(`${token} given twice`);
        owner.options.set(token, { value: spec.takesValue ? (spec.twoValues === true ? `${value()} ${value()}` : value()) : undefined, negated });
      }
    }
  }
  if (negate) throw fail('trailing "!"');
  if (!target) throw fail('rule has no target (-j)');

  const matches: Match[] = [];
  let protocol: { protocol: TracerProtocol; negated: boolean } | undefined;
  for (const key of ['source', 'destination'] as const) {
    const option = generic[key];
    if (!option) continue;
    const cidr = parseCidr(option.value ?? '');
    if (!cidr) throw fail(`invalid address "${option.value}" for ${key}`);
    matches.push({ kind: key, cidr, negated: option.negated });
  }
  if (generic.protocol) {
    const name = generic.protocol.value ?? '';
    if (!isProtocol(name)) throw fail(`unsupported protocol "${name}"`);
    protocol = { protocol: name, negated: generic.protocol.negated };
    matches.push({ kind: 'protocol', ...protocol });
  }
  let comment: string | undefined;
  for (const module of modules) {
    if (module.name === 'comment') {
      const text = module.options.get('--comment')?.value;
      if (text === undefined) throw fail('-m comment needs --comment');
      if (text.length > MAX_COMMENT_LENGTH) throw fail(`comment longer than ${MAX_COMMENT_LENGTH} characters`);
      if (comment !== undefined) throw fail('more than one comment');
      comment = text;
      continue;
    }
    matches.push(...moduleMatches(module, protocol, fail));
  }
  return { matches, target: parseTarget(table, target, protocol, fail), comment, origin };
}

function optionSpec(ext: Extension, target: Extension | undefined, option: string): OptionSpec | undefined {
  const specs = ext === target ? TARGET_OPTIONS[ext.name] : MATCH_MODULES[ext.name];
  return specs?.[option];
}

function isProtocol(name: string): name is TracerProtocol {
  return (PROTOCOLS as readonly string[]).includes(name);
}

type Fail = (reason: string) => TracerParseError;

function moduleMatches(module: Extension, protocol: { protocol: TracerProtocol; negated: boolean } | undefined, fail: Fail): Match[] {
  const opt = (name: string): OptionValue | undefined => module.options.get(name);
  switch (module.name) {
    case 'tcp':
    case 'udp':
    case 'sctp': {
      if (!protocol || protocol.negated || protocol.protocol !== module.name) throw fail(`-m ${module.name} needs -p ${module.name}`);
      // Without --dport the module only asserts the protocol (the DNAT rules use it so).
      const text = opt('--dport')?.value;
      if (text === undefined) return [];
      const port = Number(text);
      if (!/^\d+$/.test(text) || !isPort(port)) throw fail(`invalid --dport "${text}"`);
      return [{ kind: 'dport', port }];
    }
    case 'addrtype': {
      const matches: Match[] = [];
      for (const [option, direction] of [['--src-type', 'src'], ['--dst-type', 'dst']] as const) {
        const given = opt(option);
        if (!given) continue;
        if (given.value !== 'LOCAL') throw fail(`unsupported address type "${given.value}"`);
        matches.push({ kind: 'addrtype', direction, negated: given.negated });
      }
      if (matches.length === 0) throw fail('-m addrtype needs --src-type or --dst-type');
      return matches;
    }
    case 'statistic': {
      if (opt('--mode')?.value !== 'random') throw fail('-m statistic needs --mode random');
      const text = opt('--probability')?.value ?? '';
      const probability = Number(text);
      if (!/^\d+(\.\d+)?$/.test(text) || probability > 1) throw fail(`invalid probability "${text}"`);
      return [{ kind: 'statistic', probability }];
    }
    case 'recent': {
      const name = opt('--name')?.value;
      if (!name) throw fail('-m recent needs --name');
      const rcheck = opt('--rcheck') !== undefined;
      const set = opt('--set') !== undefined;
      if (rcheck === set) throw fail('-m recent needs exactly one of --rcheck and --set');
      const secondsText = opt('--seconds')?.value;
      const reap = opt('--reap') !== undefined;
      if (set && (secondsText !== undefined || reap)) throw fail('--seconds and --reap only go with --rcheck');
      if (reap && secondsText === undefined) throw fail('--reap needs --seconds');
      if (secondsText !== undefined && !/^[1-9]\d*$/.test(secondsText)) throw fail(`invalid --seconds "${secondsText}"`);
      const mask = opt('--mask')?.value;
      if (mask !== undefined && mask !== '255.255.255.255' && mask !== 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff') throw fail(`unsupported --mask "${mask}"`);
      return [{ kind: 'recent', name, mode: rcheck ? 'rcheck' : 'set', seconds: secondsText === undefined ? undefined : Number(secondsText), reap }];
    }
    case 'mark': {
      const given = opt('--mark');
      if (!given) throw fail('-m mark needs --mark');
      const [valueText = '', maskText] = (given.value ?? '').split('/');
      const value = parseMarkNumber(valueText);
      const mask = maskText === undefined ? 0xffffffff : parseMarkNumber(maskText);
      if (value === undefined || mask === undefined) throw fail(`invalid mark "${given.value}"`);
      return [{ kind: 'mark', value, mask, negated: given.negated }];
    }
    case 'conntrack': {
      const given = opt('--ctstate');
      if (!given) throw fail('-m conntrack needs --ctstate');
      const states = (given.value ?? '').split(',');
      if (!states.every((s): s is ConntrackState => (CONNTRACK_STATES as readonly string[]).includes(s))) {
        throw fail(`invalid --ctstate "${given.value}"`);
      }
      return [{ kind: 'ctstate', states, negated: given.negated }];
    }
    case 'set': {
      const given = opt('--match-set');
      if (!given) throw fail('-m set needs --match-set');
      const [name = '', flags = ''] = (given.value ?? '').split(' ');
      const directions = flags.split(',');
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw fail(`invalid set name "${name}"`);
      if (directions.length > 3 || !directions.every((d): d is 'src' | 'dst' => d === 'src' || d === 'dst')) throw fail(`invalid --match-set flags "${flags}"`);
      return [{ kind: 'set', name, directions, negated: given.negated }];
    }
    default:
      throw fail(`unsupported match module "${module.name}"`);
  }
}

function parseTarget(table: IptablesTable, target: Extension, protocol: { protocol: TracerProtocol; negated: boolean } | undefined, fail: Fail): Target {
  const opt = (name: string): string | undefined => target.options.get(name)?.value;
  switch (target.name) {
    case 'ACCEPT':
    case 'RETURN':
      return { kind: target.name };
    case 'DROP':
    case 'REJECT': {
      // iptables refuses filtering in the nat table.
      if (table !== 'filter') throw fail(`${target.name} is only valid in the filter table`);
      const reply = opt('--reject-with');
      if (reply !== undefined && reply !== 'icmp-port-unreachable' && reply !== 'icmp6-port-unreachable') throw fail(`unsupported --reject-with "${reply}"`);
      return { kind: target.name };
    }
    case 'DNAT': {
      if (table !== 'nat') throw fail('DNAT is only valid in the nat table');
      const text = opt('--to-destination');
      const hostPort = text === undefined ? undefined : parseHostPort(text);
      if (!hostPort) throw fail(`DNAT needs --to-destination ip:port or [ip6]:port, got "${text}"`);
      if (!protocol || protocol.negated) throw fail('DNAT to a port needs -p tcp, udp or sctp');
      return { kind: 'DNAT', ...hostPort };
    }
    case 'MARK': {
      const xmark = opt('--set-xmark');
      if (xmark !== undefined) return setXmark(xmark, target, fail);
      const or = opt('--or-mark');
      const xor = opt('--xor-mark');
      if ((or === undefined) === (xor === undefined)) throw fail('MARK needs exactly one of --or-mark and --xor-mark');
      const value = parseMarkNumber(or ?? xor ?? '');
      if (value === undefined) throw fail(`invalid mark "${or ?? xor}"`);
      return { kind: 'MARK', op: or !== undefined ? 'or' : 'xor', value };
    }
    case 'MASQUERADE':
      if (table !== 'nat') throw fail('MASQUERADE is only valid in the nat table');
      return { kind: 'MASQUERADE', randomFully: target.options.has('--random-fully') };
    default: {
      const chain = target.name;
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(chain) || chain.length > MAX_CHAIN_NAME_LENGTH) throw fail(`invalid target "${chain}"`);
      if (BUILTIN_CHAINS[table].includes(chain)) throw fail(`cannot jump to built-in chain ${chain}`);
      return { kind: 'jump', chain };
    }
  }
}

/** `--set-xmark V/M` (mark = (mark & ~M) ^ V) in the two shapes svcplane's --or-mark and --xor-mark save as. */
function setXmark(text: string, target: Extension, fail: Fail): Target {
  if (target.options.has('--or-mark') || target.options.has('--xor-mark')) throw fail('MARK needs exactly one of --or-mark, --xor-mark and --set-xmark');
  const [valueText = '', maskText = ''] = text.split('/');
  const value = parseMarkNumber(valueText);
  const mask = parseMarkNumber(maskText);
  if (value === undefined || mask === undefined) throw fail(`invalid mark "${text}"`);
  if (mask === value) return { kind: 'MARK', op: 'or', value };
  if (mask === 0) return { kind: 'MARK', op: 'xor', value };
  throw fail(`unsupported --set-xmark "${text}" (only the shapes of --or-mark and --xor-mark)`);
}

function parseMarkNumber(text: string): number | undefined {
  if (!/^(0x[0-9a-fA-F]{1,8}|\d+)$/.test(text)) return undefined;
  const value = Number(text);
  return value <= 0xffffffff ? value : undefined;
}
