import { describe, expect, it } from 'vitest';
import { ClaimBook } from './claims.js';

describe('ClaimBook', () => {
  it('gives a key to the first claimant by owner key, whatever the order of claims', () => {
    const a = new ClaimBook<string>();
    a.add('203.0.113.7:80/TCP', 'default/b:http', 'B');
    a.add('203.0.113.7:80/TCP', 'default/a:http', 'A');
    const b = new ClaimBook<string>();
    b.add('203.0.113.7:80/TCP', 'default/a:http', 'A');
    b.add('203.0.113.7:80/TCP', 'default/b:http', 'B');
    for (const book of [a, b]) {
      expect(book.owner('203.0.113.7:80/TCP')).toBe('default/a:http');
      expect(book.winner('203.0.113.7:80/TCP')).toBe('A');
      expect(book.claimants('203.0.113.7:80/TCP')).toEqual(['default/a:http', 'default/b:http']);
      expect(book.contested).toBe(1);
    }
  });

  it('hands the key to the next claimant when the owner lets go, and counts contests as they come and go', () => {
    const book = new ClaimBook<number>();
    book.add('k', 'b', 2);
    book.add('k', 'a', 1);
    book.add('k', 'a', 10);
    expect(book.winner('k')).toBe(10);
    book.remove('k', 'a');
    expect(book.winner('k')).toBe(2);
    expect(book.contested).toBe(0);
    book.remove('k', 'b');
    expect(book.size).toBe(0);
    expect(book.winner('k')).toBeUndefined();
  });

  it('copies without sharing later changes', () => {
    const book = new ClaimBook<string>();
    book.add('k', 'a', 'A');
    const copy = new ClaimBook(book);
    copy.add('k', 'b', 'B');
    copy.remove('k', 'a');
    expect(book.winner('k')).toBe('A');
    expect(book.contested).toBe(0);
    expect(copy.winner('k')).toBe('B');
    expect([...copy.winners()]).toEqual(['B']);
  });
});
