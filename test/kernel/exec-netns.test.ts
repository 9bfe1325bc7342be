// Privileged: runCommand's `netns` option.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandNotFoundError, runChecked, runCommand } from '../../src/kernel/exec.js';
import { addNetns, deleteNetns } from '../../src/testbed/netns.js';

const NS = 'svcp-exec-netns';

describe('runCommand in a network namespace', () => {
  beforeAll(async () => {
    await deleteNetns(NS);
    await addNetns(NS);
  });
  afterAll(async () => {
    await deleteNetns(NS);
  });

  it('runs inside the namespace, with stdin', async () => {
    const links = await runChecked('ip', ['-o', 'link', 'show'], { netns: NS });
    expect(links.stdout.trim().split('\n')).toHaveLength(1); // only lo: not the host's interfaces
    expect((await runCommand('cat', [], { netns: NS, input: 'in the namespace' })).stdout).toBe('in the namespace');
  });

  it('throws CommandNotFoundError for a tool missing inside `ip netns exec`', async () => {
    const err = await runCommand('svcplane-no-such-tool', [], { netns: NS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandNotFoundError);
    expect(err).toMatchObject({ file: 'svcplane-no-such-tool', netns: NS });
  });

  it('reports a missing namespace as a failed command', async () => {
    const result = await runCommand('true', [], { netns: 'svcp-exec-no-such-ns' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/svcp-exec-no-such-ns/);
  });
});
