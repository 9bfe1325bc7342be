import { describe, expect, it } from 'vitest';
import { RulesetWitness, restoreTransactions } from './ruleset-generation.js';

function kernel() {
  let gen = 100;
  return { bump: (n = 1) => { gen += n; }, witness: new RulesetWitness(() => gen), get gen() { return gen; } };
}

describe('RulesetWitness', () => {
  it('carries a full sync over when the generation moved by exactly its own commits', () => {
    const k = kernel();
    k.witness.begin(true);
    k.bump(3);
    k.witness.committed(3);
    k.witness.end();
    expect(k.witness.unchanged(k.witness.read())).toBe(true);
    k.bump(); // anyone's commit
    expect(k.witness.unchanged(k.witness.read())).toBe(false);
  });

  it('does not when someone else committed during the sync', () => {
    const k = kernel();
    k.witness.begin(true);
    k.bump(2);
    k.witness.committed(1);
    k.witness.end();
    expect(k.witness.unchanged(k.witness.read())).toBe(false);
  });

  it('a partial sync keeps it only if the kernel was vouched for before it', () => {
    const k = kernel();
    k.witness.begin(false); // nothing vouched for yet: drift it did not touch may be there
    k.bump();
    k.witness.committed();
    k.witness.end();
    expect(k.witness.unchanged(k.witness.read())).toBe(false);
    k.witness.vouch(k.gen); // a read-back matched
    k.witness.begin(false);
    k.bump();
    k.witness.committed();
    k.witness.end();
    expect(k.witness.unchanged(k.witness.read())).toBe(true);
    k.bump(); // a hand edit, then a partial sync before any check: the edit is still there
    k.witness.begin(false);
    k.bump();
    k.witness.committed();
    k.witness.end();
    expect(k.witness.unchanged(k.witness.read())).toBe(false);
  });

  it('an unsure write, a failure or no generation at all vouch for nothing', () => {
    const k = kernel();
    k.witness.begin(true);
    k.witness.unsure();
    k.witness.end();
    expect(k.witness.unchanged(k.witness.read())).toBe(false);
    k.witness.begin(true);
    k.witness.forget();
    k.witness.end();
    expect(k.witness.unchanged(k.witness.read())).toBe(false);
    const none = new RulesetWitness(undefined);
    none.begin(true);
    none.end();
    expect(none.unchanged(none.read())).toBe(false);
  });

  it('the generation wraps at 2^32', () => {
    let gen = 0xffffffff;
    const w = new RulesetWitness(() => gen);
    w.begin(true);
    gen = 1;
    w.committed(2);
    w.end();
    expect(w.unchanged(1)).toBe(true);
  });
});

describe('restoreTransactions', () => {
  it('counts table blocks with something in them', () => {
    expect(restoreTransactions('*nat\n:KUBE-X - [0:0]\n-A KUBE-X -j RETURN\nCOMMIT\n*filter\nCOMMIT\n')).toBe(1);
    expect(restoreTransactions('*nat\n# only a comment\nCOMMIT\n')).toBe(0);
    expect(restoreTransactions('*nat\n:KUBE-Y - [0:0]\n-X KUBE-Y\nCOMMIT\n*filter\n-A INPUT -j KUBE-Z\nCOMMIT\n')).toBe(2);
    expect(restoreTransactions('')).toBe(0);
  });

  it('does not know what a block that only declares chains commits (one if it empties or creates a chain, else none)', () => {
    expect(restoreTransactions('*filter\n:KUBE-PORTALS-FILTER - [0:0]\nCOMMIT\n*nat\n-A KUBE-X -j RETURN\nCOMMIT\n')).toBeUndefined();
  });

  it('makes the witness unsure of such a restore: the next check reads back', () => {
    const k = kernel();
    k.witness.begin(true);
    k.witness.committedRestore('*filter\n:KUBE-F - [0:0]\nCOMMIT\n');
    k.witness.end();
    expect(k.witness.unchanged(k.gen)).toBe(false);
    k.witness.begin(true);
    k.bump(1);
    k.witness.committedRestore('*nat\n-A KUBE-X -j RETURN\nCOMMIT\n');
    k.witness.end();
    expect(k.witness.unchanged(k.gen)).toBe(true);
  });
});
