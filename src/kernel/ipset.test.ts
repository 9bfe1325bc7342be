import { describe, expect, it } from 'vitest';
import { Ipset, IpsetError, parseEntryCounts } from './ipset.js';
import type { CommandRunner } from './exec.js';

// `ipset list -t` as ipset 7.17 prints it (Debian 12): headers only, one block per set.
const TERSE = `Name: KUBE-CLUSTER-IP
Type: hash:ip,port
Revision: 6
Header: family inet hashsize 1024 maxelem 65536 comment bucketsize 12 initval 0x5f6b3a1c
Size in memory: 1208
References: 2
Number of entries: 3
Name: KUBE-NODE-PORT-TCP
Type: bitmap:port
Revision: 3
Header: range 0-65535 comment
Size in memory: 524432
References: 1
Number of entries: 0
`;

describe('Ipset.entryCounts', () => {
  it('reads each set\'s member count from one `ipset list -t`', async () => {
    const calls: string[][] = [];
    const run: CommandRunner = async (cmd, args) => (calls.push([cmd, ...args]), { code: 0, stdout: TERSE, stderr: '' });
    expect(await new Ipset({ run }).entryCounts()).toEqual(new Map([['KUBE-CLUSTER-IP', 3], ['KUBE-NODE-PORT-TCP', 0]]));
    expect(calls).toEqual([['ipset', 'list', '-t']]);
  });

  it('fails with the tool\'s message', async () => {
    const run: CommandRunner = async () => ({ code: 1, stdout: '', stderr: 'ipset v7.17: Kernel error received: Operation not permitted\n' });
    await expect(new Ipset({ run }).entryCounts()).rejects.toThrow(IpsetError);
    expect(parseEntryCounts('')).toEqual(new Map());
  });
});
