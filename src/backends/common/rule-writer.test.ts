import { describe, expect, it } from 'vitest';
import { RuleWriter, chainLine, markValue, probability, rule, safeComment } from './rule-writer.js';

describe('rule', () => {
  it('writes matches in one canonical order whatever the spec\'s key order', () => {
    const a = rule('KUBE-SVC-X', { jump: 'KUBE-MARK-MASQ', notSrc: '10.244.0.0/16', dport: 80, dst: '10.96.0.1/32', protocol: 'tcp', comment: 'c' });
    expect(a).toBe('-A KUBE-SVC-X -m comment --comment "c" -m tcp -p tcp -d 10.96.0.1/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ');
    expect(rule('KUBE-SEP-X', { protocol: 'udp', recent: { name: 'KUBE-SEP-X', mode: 'set' }, comment: 'c', jump: 'DNAT', targetArgs: ['--to-destination', '10.0.0.1:53'] }))
      .toBe('-A KUBE-SEP-X -m comment --comment "c" -m recent --name KUBE-SEP-X --set -m udp -p udp -j DNAT --to-destination 10.0.0.1:53');
    expect(rule('C', { jump: 'RETURN', mark: { value: '0x4000/0x4000', negated: true } })).toBe('-A C -m mark ! --mark 0x4000/0x4000 -j RETURN');
    expect(rule('C', { jump: 'X', recent: { name: 'X', mode: 'rcheck', seconds: 60 }, probability: '0.5000000000' }))
      .toBe('-A C -m recent --name X --rcheck --seconds 60 --reap -m statistic --mode random --probability 0.5000000000 -j X');
  });

  it('quotes comments and cannot be broken out of', () => {
    expect(safeComment('a "b"\n\\c')).toBe('a _b___c');
    expect(safeComment('x'.repeat(300))).toHaveLength(255);
    expect(rule('C', { comment: 'say "hi"\nCOMMIT', jump: 'ACCEPT' })).toBe('-A C -m comment --comment "say _hi__COMMIT" -j ACCEPT');
  });

  it('writes rules as newline-terminated blocks, chunk by chunk', () => {
    const w = new RuleWriter();
    expect(w.take()).toEqual({ text: '', count: 0 });
    w.add('A', { jump: 'ACCEPT' });
    w.add('B', { jump: 'DROP' });
    expect(w.pending).toBeGreaterThan(0);
    expect(w.take()).toEqual({ text: '-A A -j ACCEPT\n-A B -j DROP\n', count: 2 });
    // take() starts afresh.
    w.add('C', { jump: 'RETURN' });
    expect(w.take()).toEqual({ text: '-A C -j RETURN\n', count: 1 });
  });

  it('declares chains as iptables-save does', () => {
    expect(chainLine('KUBE-SERVICES')).toBe(':KUBE-SERVICES - [0:0]');
  });
});

describe('RuleWriter hot paths', () => {
  const viaAdd = (f: (w: RuleWriter) => void): string => {
    const w = new RuleWriter();
    f(w);
    return w.take().text;
  };

  it('addEndpointJump writes what add() writes', () => {
    for (const p of [undefined, '0.5000000000']) {
      for (const ep of ['10.0.0.1:80', '[fd00::1]:80', 'bad"ep']) {
        expect(viaAdd((w) => w.addEndpointJump('KUBE-SVC-X', 'ns/web:http', ep, 'KUBE-SEP-Y', p)))
          .toBe(viaAdd((w) => w.add('KUBE-SVC-X', { comment: `ns/web:http -> ${ep}`, ...(p === undefined ? {} : { probability: p }), jump: 'KUBE-SEP-Y' })));
      }
    }
    // Too long for one comment: falls back to add(), which truncates.
    const long = 'n'.repeat(254);
    expect(viaAdd((w) => w.addEndpointJump('C', long, '10.0.0.1:80', 'S', undefined)))
      .toBe(viaAdd((w) => w.add('C', { comment: `${long} -> 10.0.0.1:80`, jump: 'S' })));
  });

  it('addEndpointChain writes what two add() calls write', () => {
    for (const affinity of [false, true]) {
      expect(viaAdd((w) => w.addEndpointChain('KUBE-SEP-Y', 'ns/web:http', '10.0.0.1/32', 'udp', '10.0.0.1:53', affinity))).toBe(viaAdd((w) => {
        w.add('KUBE-SEP-Y', { comment: 'ns/web:http', src: '10.0.0.1/32', jump: 'KUBE-MARK-MASQ' });
        w.add('KUBE-SEP-Y', {
          comment: 'ns/web:http', ...(affinity ? { recent: { name: 'KUBE-SEP-Y', mode: 'set' as const } } : {}), protocol: 'udp',
          jump: 'DNAT', targetArgs: ['--to-destination', '10.0.0.1:53'],
        });
      }));
    }
  });
});

describe('probability', () => {
  it('prints 1/n like Go\'s %0.10f', () => {
    expect(probability(1)).toBe('1.0000000000');
    expect(probability(2)).toBe('0.5000000000');
    expect(probability(3)).toBe('0.3333333333');
    expect(probability(6)).toBe('0.1666666667');
    expect(probability(7)).toBe('0.1428571429');
    // 1/2048 = 0.00048828125 exactly: Go rounds the tie to even.
    expect(probability(2048)).toBe('0.0004882812');
    expect(probability(4096)).toBe('0.0002441406');
  });
});

describe('markValue', () => {
  it('is 1 << bit in hex', () => {
    expect(markValue(14)).toBe('0x4000');
    expect(markValue(0)).toBe('0x1');
  });
});
