// The start-up scan for other modes' leftovers: it must tell "this kernel or node has no
// such thing" (no IPVS, no nft binary) from a failure, and the iptables mode must start on
// a node without nft.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupOtherModes, createBackend, ipvsIfPresent, type BackendDeps } from '../../src/agent/modes.js';
import { probeIpvs } from '../../src/backends/ipvs/probe.js';
import { SyscallError } from '../../src/kernel/errors.js';
import { CommandNotFoundError, runChecked, runCommand } from '../../src/kernel/exec.js';
import { defaultNodeContext } from '../../src/state/node-context.js';
import { addNetns, deleteNetns } from '../../src/testbed/netns.js';

const NS = `svcp-errors-scan-${process.pid}`;

function deps(netns: string, extra: Partial<BackendDeps> = {}): BackendDeps {
  return { ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.0.2.10'] }), logger: pino({ level: 'silent' }), netns, ...extra };
}

/** A directory of symlinks to every program on PATH but nft. */
function binWithoutNft(scratch: string): string {
  const bin = join(scratch, 'bin');
  mkdirSync(bin);
  for (const from of (process.env['PATH'] ?? '').split(':').filter((p) => p !== '' && existsSync(p))) {
    for (const name of readdirSync(from)) {
      if (name === 'nft' || existsSync(join(bin, name))) continue;
      symlinkSync(join(from, name), join(bin, name));
    }
  }
  return bin;
}

describe('leftover scan at start-up', () => {
  const savedPath = process.env['PATH'];
  let scratch = '';

  beforeAll(async () => {
    await addNetns(NS);
    // Only the namespace's own loopback may carry anything.
    await runChecked('ip', ['-n', NS, 'route', 'add', 'blackhole', 'default']);
    scratch = mkdtempSync(join(tmpdir(), 'sp-errors-scan-'));
  });

  afterAll(async () => {
    process.env['PATH'] = savedPath;
    await deleteNetns(NS);
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  it('IPVS is "absent" only when the kernel lacks it; a namespace that cannot be entered is an error', () => {
    const present = ipvsIfPresent(deps(NS));
    expect(present !== undefined).toBe(probeIpvs(`/run/netns/${NS}`).ok);
    expect(() => ipvsIfPresent(deps(`svcp-errors-missing-${process.pid}`))).toThrow(SyscallError);
  });

  it('the iptables mode starts and syncs on a node without nft', async () => {
    process.env['PATH'] = binWithoutNft(scratch);
    try {
      // The test means something only if nft really cannot be found now.
      await expect(runCommand('nft', ['--version'], { netns: NS })).rejects.toBeInstanceOf(CommandNotFoundError);
      await cleanupOtherModes('iptables', deps(NS));
      const backend = await createBackend('iptables', deps(NS));
      await backend.sync({ IPv4: new Map(), IPv6: new Map() });
      const { stdout } = await runChecked('iptables-save', ['-t', 'nat'], { netns: NS });
      expect(stdout).toContain(':KUBE-SERVICES');
      await backend.cleanup();
    } finally {
      process.env['PATH'] = savedPath;
    }
  });

  it('a leftover that cannot be removed now (xtables lock held elsewhere) is reported, and start-up goes on', async () => {
    // The lock of this test alone (iptables-legacy honours XTABLES_LOCKFILE), never the host's;
    // --close: held by flock itself, so killing flock frees it.
    const savedLock = process.env['XTABLES_LOCKFILE'];
    process.env['XTABLES_LOCKFILE'] = join(scratch, 'xtables.lock');
    const legacy = deps(NS, { iptablesVariant: 'legacy' });
    const leftover = await createBackend('iptables', legacy);
    await leftover.sync({ IPv4: new Map(), IPv6: new Map() });
    const holder = spawn('flock', ['--close', join(scratch, 'xtables.lock'), 'sleep', '60'], { stdio: 'ignore' });
    try {
      const warnings: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
      await new Promise((r) => setTimeout(r, 300)); // flock has the lock
      await cleanupOtherModes('nftables', { ...legacy, logger });
      expect(warnings.join('')).toContain('could not remove what another mode left');
      expect((await runChecked('iptables-legacy-save', ['-t', 'nat'], { netns: NS })).stdout).toContain(':KUBE-SERVICES');
      holder.kill();
      await once(holder, 'exit');
      // Once the lock is free, the next start removes them.
      await cleanupOtherModes('nftables', legacy);
      expect((await runChecked('iptables-legacy-save', ['-t', 'nat'], { netns: NS })).stdout).not.toContain('KUBE-');
    } finally {
      holder.kill();
      await leftover.cleanup().catch(() => undefined);
      if (savedLock === undefined) delete process.env['XTABLES_LOCKFILE'];
      else process.env['XTABLES_LOCKFILE'] = savedLock;
    }
  }, 60_000);
});
