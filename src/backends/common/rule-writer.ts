// One way to write a rule: every rule goes through RuleWriter.add(), which
// emits its matches in a single canonical order with a single quoting style,
// so equal rules are equal text (partial plans compare text) and the packet
// tracer reads back exactly what was written.
import { MAX_COMMENT_LENGTH, limitComment } from './iptables-chains.js';

/**
 * Complete `-A CHAIN ...` lines, each ending in a newline ('' when none).
 * Rules are kept as one flat string per block, not one string per line: a
 * full plan at 10,000 services writes ~300,000 rules, and per-line strings
 * cost the garbage collector (and RSS) more than everything else together.
 */
export interface RuleBlock {
  readonly text: string;
  readonly count: number;
}

export interface RuleSpec {
  readonly comment?: string;
  /** `-m addrtype --src-type LOCAL` / `--dst-type LOCAL`. */
  readonly srcTypeLocal?: boolean;
  readonly dstTypeLocal?: boolean;
  /** `-m recent --name N --rcheck --seconds S --reap` or `-m recent --name N --set`. */
  readonly recent?: { readonly name: string; readonly mode: 'rcheck'; readonly seconds: number } | { readonly name: string; readonly mode: 'set' };
  /** Lower-case protocol: `-m P -p P`. */
  readonly protocol?: string;
  readonly dst?: string;
  readonly notDst?: string;
  readonly dport?: number;
  readonly src?: string;
  readonly notSrc?: string;
  /** `-m mark [!] --mark VALUE/MASK`. */
  readonly mark?: { readonly value: string; readonly negated: boolean };
  /** `-m conntrack --ctstate S`. */
  readonly ctstate?: string;
  /** `-m conntrack ! --ctstate S`. */
  readonly notCtstate?: string;
  /** `-m statistic --mode random --probability P`, P already formatted. */
  readonly probability?: string;
  readonly jump: string;
  /** Target options, e.g. ['--to-destination', '10.0.0.1:80']. */
  readonly targetArgs?: readonly string[];
}

const UNSAFE_IN_COMMENT = /[^\x20-\x7e]|["\\]/;
const UNSAFE_IN_COMMENT_ALL = /[^\x20-\x7e]|["\\]/g;

/**
 * Make comment text safe inside double quotes in a restore batch: printable
 * ASCII except `"` and `\`, at most what xt_comment stores. User-derived parts
 * are sanitised more strictly before they get here (sanitizeCommentPart);
 * this is the last line of defence.
 */
export function safeComment(text: string): string {
  return limitComment(UNSAFE_IN_COMMENT.test(text) ? text.replace(UNSAFE_IN_COMMENT_ALL, '_') : text);
}

export const EMPTY_BLOCK: RuleBlock = Object.freeze({ text: '', count: 0 });

/**
 * Writes rules, each terminated by a newline. Every rule the planner emits
 * goes through `add()`, so equal rules are equal text. Pieces are collected
 * and joined once per block (or per chunk, see `take()`): no per-line
 * strings, which at ~300,000 rules per full plan would dominate time and
 * memory.
 */
export class RuleWriter {
  readonly #parts: string[] = [];
  #count = 0;
  #taken = 0;

  /** Rules written since the last take(). */
  get count(): number {
    return this.#count - this.#taken;
  }

  /** Pieces held since the last take(), to decide when to take a chunk. */
  get pending(): number {
    return this.#parts.length;
  }

  add(chain: string, r: RuleSpec): void {
    const p = this.#parts;
    this.#count++;
    p.push('-A ', chain);
    if (r.comment !== undefined) p.push(' -m comment --comment "', safeComment(r.comment), '"');
    if (r.srcTypeLocal === true) p.push(' -m addrtype --src-type LOCAL');
    if (r.dstTypeLocal === true) p.push(' -m addrtype --dst-type LOCAL');
    if (r.recent !== undefined) {
      p.push(' -m recent --name ', r.recent.name);
      if (r.recent.mode === 'rcheck') p.push(' --rcheck --seconds ', String(r.recent.seconds), ' --reap');
      else p.push(' --set');
    }
    if (r.protocol !== undefined) p.push(' -m ', r.protocol, ' -p ', r.protocol);
    if (r.dst !== undefined) p.push(' -d ', r.dst);
    if (r.notDst !== undefined) p.push(' ! -d ', r.notDst);
    if (r.dport !== undefined) p.push(' --dport ', String(r.dport));
    if (r.src !== undefined) p.push(' -s ', r.src);
    if (r.notSrc !== undefined) p.push(' ! -s ', r.notSrc);
    if (r.mark !== undefined) p.push(r.mark.negated ? ' -m mark ! --mark ' : ' -m mark --mark ', r.mark.value);
    if (r.ctstate !== undefined) p.push(' -m conntrack --ctstate ', r.ctstate);
    if (r.notCtstate !== undefined) p.push(' -m conntrack ! --ctstate ', r.notCtstate);
    if (r.probability !== undefined) p.push(' -m statistic --mode random --probability ', r.probability);
    p.push(' -j ', r.jump);
    if (r.targetArgs !== undefined) for (const a of r.targetArgs) p.push(' ', a);
    p.push('\n');
  }

  /**
   * The hot rule of a plan (one per endpoint per policy chain), written
   * without building a RuleSpec or a comment string: exactly what
   * `add(chain, { comment: `${svc} -> ${ep}`, probability, jump: sep })` writes
   * (rule-writer.test.ts checks). `svc` must already be safe comment text.
   */
  addEndpointJump(chain: string, svc: string, ep: string, sep: string, probability: string | undefined): void {
    if (svc.length + 4 + ep.length > MAX_COMMENT_LENGTH || UNSAFE_IN_COMMENT.test(ep)) {
      this.add(chain, probability === undefined ? { comment: `${svc} -> ${ep}`, jump: sep } : { comment: `${svc} -> ${ep}`, probability, jump: sep });
      return;
    }
    this.#count++;
    this.#parts.push('-A ', chain, ' -m comment --comment "', svc, ' -> ', ep, '"');
    if (probability !== undefined) this.#parts.push(' -m statistic --mode random --probability ', probability);
    this.#parts.push(' -j ', sep, '\n');
  }

  /**
   * A KUBE-SEP chain's two rules (hairpin masquerade, DNAT), the other hot
   * path: the same text as the two add() calls service-rules would make.
   * `svc` must already be safe comment text (see safeComment).
   */
  addEndpointChain(chain: string, svc: string, src: string, protocol: string, ep: string, affinity: boolean): void {
    this.#count += 2;
    this.#parts.push(
      '-A ', chain, ' -m comment --comment "', svc, '" -s ', src, ' -j KUBE-MARK-MASQ\n',
      '-A ', chain, ' -m comment --comment "', svc, '"',
    );
    if (affinity) this.#parts.push(' -m recent --name ', chain, ' --set');
    this.#parts.push(' -m ', protocol, ' -p ', protocol, ' -j DNAT --to-destination ', ep, '\n');
  }

  /**
   * The rules written since the last take() as a block, and start afresh.
   * Full plans take a chunk every few thousand pieces, so that the pieces die
   * young and the retained text is a few hundred flat strings.
   */
  take(): RuleBlock {
    const block = this.count === 0 ? EMPTY_BLOCK : { text: this.#parts.join(''), count: this.count };
    // Reuse the array (and its capacity): the text was copied out by join().
    this.#parts.length = 0;
    this.#taken = this.#count;
    return block;
  }
}

/** One rule as a line, without the newline (for tests and messages). */
export function rule(chain: string, r: RuleSpec): string {
  const w = new RuleWriter();
  w.add(chain, r);
  return w.take().text.slice(0, -1);
}

/** Several rules as one block. */
export function ruleBlock(rules: readonly (readonly [string, RuleSpec])[]): RuleBlock {
  const w = new RuleWriter();
  for (const [chain, r] of rules) w.add(chain, r);
  return w.take();
}

/** `:NAME - [0:0]`: declares (and, with --noflush, flushes) a chain. */
export function chainLine(name: string): string {
  return `:${name} - [0:0]`;
}

/**
 * 1/n printed like Go's `%0.10f` (kube-proxy's probability()), computed in
 * integers so that ties round half to even as Go does.
 */
export function probability(n: number): string {
  const scale = 10_000_000_000;
  let q = Math.floor(scale / n);
  let rem = scale - q * n;
  while (rem < 0) { q -= 1; rem += n; }
  while (rem >= n) { q += 1; rem -= n; }
  if (2 * rem > n || (2 * rem === n && q % 2 === 1)) q += 1;
  const whole = Math.floor(q / scale);
  return `${whole}.${String(q - whole * scale).padStart(10, '0')}`;
}

/** The masquerade mark as iptables writes it: `0x4000`. */
export function markValue(bit: number): string {
  return `0x${(2 ** bit).toString(16)}`;
}
