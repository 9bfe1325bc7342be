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
 * Transactions an iptables-nft-restore of `text` commits: one per table block with anything in
 * it (an empty `*nat` ... `COMMIT` commits nothing), measured on iptables 1.8.9.
 */
export function restoreTransactions(text: string): number {
  let n = 0;
  let inBlock = false;
  let busy = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      inBlock = true;
      busy = false;
    } else if (line === 'COMMIT') {
      if (inBlock && busy) n++;
      inBlock = false;
    } else if (inBlock) {
      busy = true;
    }
  }
  return n;
}
