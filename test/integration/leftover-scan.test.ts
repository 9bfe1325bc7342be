// The start-up scan for other modes' leftovers: it must tell "this kernel or node has no
// such thing" (no IPVS, no nft binary) from a failure, and the iptables mode must start on
// a node without nft.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupOtherModes, createBackend, ipvsIfPresent, type BackendDeps } from '../../src/agent/modes.js';
import { probeIpvs } from '../../src/backends/ipvs/probe.js';
import { SyscallError } from '../../src/kernel/errors.js';
import { CommandNotFoundError, runChecked, runCommand } from '../../src/kernel/exec.js';
import { defaultNodeContext } from '../../src/state/node-context.js';
import { addNetns, deleteNetns } from '../../src/testbed/netns.js';

const NS = `svcp-errors-scan-${process.pid}`;

function deps(netns: string): BackendDeps {
  return { ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.0.2.10'] }), logger: pino({ level: 'silent' }), netns };
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
});
