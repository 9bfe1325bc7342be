// A throwaway network namespace for tests that talk to the real nf_tables.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { NftNetlink } from '../../src/kernel/netlink/nftables.js';
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

/** A scratch namespace with an nf_tables netlink socket opened in it. */
export interface NftNetlinkNetns extends NftNetns {
  readonly netlink: NftNetlink;
}

/**
 * Registers, in the calling file or describe block, a beforeAll that makes a scratch namespace
 * and opens an NftNetlink in it, and an afterAll that closes the socket and deletes the
 * namespace. Returns the accessor tests use; it throws when the set-up did not finish, so a
 * test never runs against nothing.
 */
export function withNftNetlink(prefix?: string): () => NftNetlinkNetns {
  let ns: NftNetns | undefined;
  let ready: NftNetlinkNetns | undefined;
  beforeAll(async () => {
    ns = await createNftNetns(prefix);
    ready = { ...ns, netlink: NftNetlink.open({ netns: `/run/netns/${ns.name}` }) };
  });
  afterAll(async () => {
    ready?.netlink.close();
    await ns?.destroy();
  });
  return () => {
    if (ready === undefined) throw new Error('the scratch nf_tables namespace was not set up');
    return ready;
  };
}
