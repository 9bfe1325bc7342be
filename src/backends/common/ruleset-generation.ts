// When the drift check may skip reading nf_tables back. nf_tables' ruleset generation moves by
// one with every committed transaction, by anyone, in the namespace. A read-back that matched the
// memo vouches for its generation; a sync carries that on only when the generation moved by
// exactly the transactions the sync committed itself (so nobody else committed in between) and
// the kernel matched the memo before it (a full sync rewrites everything; a partial one only
// what changed, so it keeps drift it did not touch). Otherwise the next check reads back, as
// every check after a sync used to: at 10,000 services that read-back was most of an idle
// iptables node's CPU, and under churn it came after every change.

export class RulesetWitness {
  /** The generation at which the kernel is known to hold what the memo says. */
  private clean: number | undefined;
  private open: { readonly start: number | undefined; readonly wasClean: boolean; commits: number; unsure: boolean } | undefined;

  constructor(private readonly generation: (() => number) | undefined) {}

  /** Whether the kernel still holds what was last vouched for (nothing committed since). */
  unchanged(now: number | undefined): boolean {
    return now !== undefined && now === this.clean;
  }

  read(): number | undefined {
    return this.generation?.();
  }

  /** A read-back at `generation` matched the memo. */
  vouch(generation: number | undefined): void {
    this.clean = generation;
  }

  forget(): void {
    this.clean = undefined;
    this.open = undefined;
  }

  /** Before a sync's first write. */
  begin(full: boolean): void {
    const start = this.read();
    this.open = { start, wasClean: full || this.unchanged(start), commits: 0, unsure: false };
    this.clean = undefined;
  }

  /** `n` transactions this sync committed (each moves the generation by one). */
  committed(n = 1): void {
    if (this.open) this.open.commits += n;
  }

  /** An iptables-restore of `text` (restoreTransactions; a count it cannot know makes the sync unsure). */
  committedRestore(text: string): void {
    const n = restoreTransactions(text);
    if (n === undefined) this.unsure();
    else this.committed(n);
  }

  /** A write whose number of transactions is not known (it may have found nothing to do). */
  unsure(): void {
    if (this.open) this.open.unsure = true;
  }

  /** After a sync that succeeded; a failed one calls forget(). */
  end(): void {
    const open = this.open;
    this.open = undefined;
    if (open === undefined || open.start === undefined || !open.wasClean || open.unsure) return;
    const now = this.read();
    if (now !== undefined && ((now - open.start) >>> 0) === open.commits) this.clean = now;
  }
}

/**
 * Transactions an iptables-nft-restore (--noflush) of `text` commits, measured on iptables 1.8.9:
 * one per table block with a rule or command in it; none for an empty `*nat` ... `COMMIT`. A
 * block that only declares chains commits one when that flushes a chain with rules or creates
 * one, and none when its chains exist and are empty: not known from the text, so undefined.
 */
export function restoreTransactions(text: string): number | undefined {
  let n = 0;
  let known = true;
  let inBlock = false;
  let rules = false;
  let declarations = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      inBlock = true;
      rules = false;
      declarations = false;
    } else if (line === 'COMMIT') {
      if (inBlock && rules) n++;
      else if (inBlock && declarations) known = false;
      inBlock = false;
    } else if (inBlock) {
      if (line.startsWith(':')) declarations = true;
      else rules = true;
    }
  }
  return known ? n : undefined;
}
