import { describe, expect, it } from 'vitest';
import { execInPodNamespaces, netnsPath, PodExecError } from './pod-exec.js';

describe('netnsPath', () => {
  it('refuses names that would leave /run/netns', () => {
    for (const name of ['..', '.', 'a/b', '../etc', '', 'a b']) expect(() => netnsPath(name)).toThrow(PodExecError);
  });

  it('names a missing namespace and how to create it', () => {
    expect(() => netnsPath('sp-discovery-no-such-ns')).toThrow('--netns sp-discovery-no-such-ns: no such network namespace (/run/netns/sp-discovery-no-such-ns); create it with `ip netns add sp-discovery-no-such-ns`');
  });
});

describe('execInPodNamespaces', () => {
  it('needs a command', async () => {
    await expect(execInPodNamespaces({ argv: [], env: {}, resolvConf: '' })).rejects.toThrow('no command given');
  });
});
