import { describe, expect, it } from 'vitest';
import { rulesDiff } from './rules-diff.js';

const owned = (c: string): boolean => c.startsWith('KUBE-');
const PLANNED = {
  restore: `*nat
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-A - [0:0]
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SVC-A -m comment --comment "default/a -> 10.244.1.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-1
-A KUBE-SVC-A -m comment --comment "default/a -> 10.244.1.2:80" -j KUBE-SEP-2
COMMIT
`,
  jumps: [{ table: 'nat' as const, chain: 'PREROUTING', args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'] }],
};

// iptables-save's spelling of the same rules (and another program's rule, not ours).
const SAVED = `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-A - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -j DOCKER
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-SVC-A -m comment --comment "default/a -> 10.244.1.1:80" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-1
-A KUBE-SVC-A -m comment --comment "default/a -> 10.244.1.2:80" -j KUBE-SEP-2
COMMIT
`;

describe('rulesDiff', () => {
  it('finds nothing to change when the kernel holds the plan in iptables-save\'s spelling', () => {
    expect(rulesDiff(PLANNED, SAVED, owned)).toEqual([]);
  });

  it('names what a sync adds and removes, in the spelling of where it is', () => {
    const drifted = SAVED.replace(/-A PREROUTING -m comment .*\n/, '').replace('10.244.1.2:80" -j KUBE-SEP-2', '10.244.1.9:80" -j KUBE-SEP-9');
    expect(rulesDiff(PLANNED, drifted, owned)).toEqual([
      '*nat',
      '- -A KUBE-SVC-A -m comment --comment "default/a -> 10.244.1.9:80" -j KUBE-SEP-9',
      '+ -A KUBE-SVC-A -m comment --comment "default/a -> 10.244.1.2:80" -j KUBE-SEP-2',
      '+ -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    ]);
  });

  it("reads a comment iptables-save escaped (`\\'`) as the planned one: kube-proxy's SCTP NodePort comments have single quotes", () => {
    const planned = { restore: `*nat\n:KUBE-NODE-PORT - [0:0]\n-A KUBE-NODE-PORT -p sctp -m comment --comment "nodeport SCTP with type 'hash ip:port'" -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ\nCOMMIT\n`, jumps: [] };
    const saved = `*nat\n:KUBE-NODE-PORT - [0:0]\n-A KUBE-NODE-PORT -p sctp -m comment --comment "nodeport SCTP with type \\'hash ip:port\\'" -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ\nCOMMIT\n`;
    expect(rulesDiff(planned, saved, owned)).toEqual([]);
    expect(rulesDiff(planned, saved.replace("\\'hash ip:port\\'", "\\'hash ip\\'"), owned)).toHaveLength(3);
  });
});
