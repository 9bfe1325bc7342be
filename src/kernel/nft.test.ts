import { describe, expect, it } from 'vitest';
import { recordingRunner } from '../../test/lib/recording-runner.js';
import { Nft, NftError } from './nft.js';

const json = (...items: unknown[]): string => JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, ...items] });

describe('Nft', () => {
  it('applies a script on stdin with -f -, in the namespace; -c only checks', async () => {
    const fake = recordingRunner();
    const nft = new Nft({ netns: 'svcp-x', run: fake.run });
    await nft.apply('add table ip t\n');
    await nft.apply('add table ip t\n', { check: true });
    expect(fake.calls).toEqual([
      { file: 'nft', args: ['-f', '-'], opts: { input: 'add table ip t\n', netns: 'svcp-x' } },
      { file: 'nft', args: ['-c', '-f', '-'], opts: { input: 'add table ip t\n', netns: 'svcp-x' } },
    ]);
  });

  it('names the failing line of a script', async () => {
    const fake = recordingRunner([{ code: 1, stderr: '/dev/stdin:2:5-9: Error: No such file or directory\nadd chain ip t x\n    ^^^^^\n' }]);
    const err = await new Nft({ run: fake.run }).apply('add table ip t\nadd chain ip t x\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NftError);
    expect(err).toMatchObject({ code: 'SVCPLANE_NFT_FAILED', line: 2, lineText: 'add chain ip t x', exitCode: 1 });
  });

  it('reads chains and sets of one table back from JSON', async () => {
    const fake = recordingRunner([
      { stdout: json({ chain: { family: 'ip', table: 'svcplane', name: 'nat-output', type: 'nat', hook: 'output', prio: -100 } }, { chain: { family: 'ip', table: 'other', name: 'x' } }, { chain: { family: 'ip', table: 'svcplane', name: 'services' } }) },
      { stdout: json({ set: { family: 'ip', table: 'svcplane', name: 'affinity-a', type: 'ipv4_addr', flags: ['timeout'], timeout: 60 } }) },
      { stdout: json({ map: { family: 'ip', table: 'svcplane', name: 'service-ips', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict' } }) },
    ]);
    const nft = new Nft({ run: fake.run });
    expect(await nft.listChains('ip', 'svcplane')).toEqual([
      { table: 'svcplane', name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
      { table: 'svcplane', name: 'services' },
    ]);
    expect(await nft.listSets('ip', 'svcplane')).toEqual([
      { table: 'svcplane', name: 'affinity-a', type: 'ipv4_addr', flags: ['timeout'], timeout: 60 },
      { table: 'svcplane', name: 'service-ips', type: 'ipv4_addr . inet_proto . inet_service', map: 'verdict', flags: [] },
    ]);
    expect(fake.calls.map((c) => c.args)).toEqual([['-j', 'list', 'chains', 'ip'], ['-j', '-t', 'list', 'sets', 'ip'], ['-j', '-t', 'list', 'maps', 'ip']]);
  });

  it('finds a table by its maps, else by a quick `list table`; deletes it only when it exists', async () => {
    const absent = { code: 1, stderr: 'Error: No such file or directory\nlist table ip svcplane\n' };
    const fake = recordingRunner([
      { stdout: json({ map: { family: 'ip', table: 'other', name: 'm' } }) }, absent,
      { stdout: json({ map: { family: 'ip', table: 'svcplane', name: 'service-ips' } }) }, {},
      { stdout: json() }, { stdout: 'table ip svcplane {\n}\n' },
    ]);
    const nft = new Nft({ run: fake.run });
    expect(await nft.deleteTable('ip', 'svcplane')).toBe(false);
    expect(await nft.deleteTable('ip', 'svcplane')).toBe(true);
    expect(fake.calls.map((c) => c.args.join(' '))).toEqual([
      '-j -t list maps ip', '-t list table ip svcplane', '-j -t list maps ip', 'delete table ip svcplane',
    ]);
    expect(await nft.hasTable('ip', 'svcplane')).toBe(true);
  });

  it('does not mistake other failures for a missing table', async () => {
    const fake = recordingRunner([{ stdout: json() }, { code: 1, stderr: 'Error: Operation not permitted\n' }]);
    await expect(new Nft({ run: fake.run }).hasTable('ip', 'svcplane')).rejects.toBeInstanceOf(NftError);
  });

  it('reports output that is not nft JSON', async () => {
    const fake = recordingRunner([{ stdout: 'garbage' }]);
    await expect(new Nft({ run: fake.run }).hasTable('ip', 'svcplane')).rejects.toMatchObject({ code: 'SVCPLANE_NFT_BAD_OUTPUT' });
  });
});
