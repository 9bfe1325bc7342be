import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { execInPodNamespaces, netnsPath, PodExecError, runForwarding } from './pod-exec.js';

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

describe('runForwarding', () => {
  it('forwards a signal that arrives while the spawn is still returning (as a loaded machine orders it)', async () => {
    // The signal is raised at us right after the fork, before runForwarding's caller could
    // have done anything else: with handlers registered only after the spawn, SIGUSR2's
    // default action would end this test process.
    const result = await runForwarding(() => {
      const child = spawn('sh', ['-c', "trap 'exit 42' USR2; sleep 20 & wait"], { stdio: 'ignore' });
      process.kill(process.pid, 'SIGUSR2');
      return child;
    }, ['SIGUSR2']);
    // The first signal reached the child before sh set its trap (default action) or after
    // (exit 42); either way it went to the child, and this process lived to see it.
    expect(result.code === 42 || result.signal === 'SIGUSR2').toBe(true);
  });
});
