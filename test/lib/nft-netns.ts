// A throwaway network namespace for tests that talk to the real nf_tables.
import { randomBytes } from 'node:crypto';
import { runChecked } from '../../src/kernel/exec.js';
import { Nft } from '../../src/kernel/nft.js';

export interface NftNetns {
  readonly name: string;
  readonly nft: Nft;
  destroy(): Promise<void>;
}

export async function createNftNetns(prefix = 'svcp-nft'): Promise<NftNetns> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await runChecked('ip', ['netns', 'add', name]);
  return {
    name,
    nft: new Nft({ netns: name, timeoutMs: 120_000 }),
    destroy: async () => {
      await runChecked('ip', ['netns', 'del', name]);
    },
  };
}
