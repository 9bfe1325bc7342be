import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState } from '../../state/types.js';
import { hasRule, type IptablesKernel } from '../../kernel/iptables.js';
import { IptablesBackend, isOwnedChain, strayJumps } from './iptables-backend.js';
import type { IptablesTable } from './plan-types.js';

/** Records what the applier asks of the kernel; iptables-save output is scripted. */
class ScriptedKernel implements IptablesKernel {
  restores: string[] = [];
  ensured: string[] = [];
  deleted: string[] = [];
  failRestore = false;
  constructor(private readonly saves: Record<IptablesTable, string>) {}
  async restore(text: string): Promise<void> {
    if (this.failRestore) throw Object.assign(new Error('line 3 failed'), { code: 'SVCPLANE_IPTABLES_RESTORE_FAILED' });
    this.restores.push(text);
  }
  async save(table: IptablesTable): Promise<string> {
    return this.saves[table];
  }
  async listChains(table: IptablesTable): Promise<Set<string>> {
    return new Set([...this.saves[table].matchAll(/^:(\S+)/gm)].map((m) => m[1] as string));
  }
  async ensureRule(table: IptablesTable, chain: string, args: readonly string[]): Promise<boolean> {
    this.ensured.push(`${table} ${chain} ${args.join(' ')}`);
    return true;
  }
  async deleteRule(table: IptablesTable, chain: string, args: readonly string[]): Promise<boolean> {
    this.deleted.push(`${table} ${chain} ${args.join(' ')}`);
    return true;
  }
}

const empty: DesiredState = { IPv4: new Map(), IPv6: new Map() };
const NAT_SAVE = '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-STALESTALESTALE1 - [0:0]\n:DOCKER - [0:0]\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n';

/** A kernel parameter store: records writes, as Sysctl.ensure answers. */
function scriptedSysctl(values: Record<string, string>): { ensure(name: string, value: string | number): Promise<string | undefined>; writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    async ensure(name, value) {
      const previous = values[name] ?? '0';
      if (previous === String(value)) return undefined;
      values[name] = String(value);
      writes.push(`${name}=${value}`);
      return previous;
    },
  };
}

describe('IptablesBackend', () => {
  it('sets route_localnet once for localhost NodePorts, and not when they are off or IPv4 is not programmed', async () => {
    const on = scriptedSysctl({});
    const told: string[] = [];
    const backend = new IptablesBackend({
      ctx: defaultNodeContext(), kernels: { IPv4: new ScriptedKernel({ nat: NAT_SAVE, filter: '' }) }, sysctl: on, onSysctl: (n, from, to) => told.push(`${n} ${from}->${to}`),
    });
    await backend.sync(empty);
    await backend.sync(empty);
    expect(on.writes).toEqual(['net.ipv4.conf.all.route_localnet=1']);
    expect(told).toEqual(['net.ipv4.conf.all.route_localnet 0->1']);
    const off = scriptedSysctl({});
    await new IptablesBackend({ ctx: defaultNodeContext({ localhostNodePorts: false }), kernels: { IPv4: new ScriptedKernel({ nat: NAT_SAVE, filter: '' }) }, sysctl: off }).sync(empty);
    await new IptablesBackend({ ctx: defaultNodeContext({ nodePortAddresses: ['192.168.0.0/16'] }), kernels: { IPv4: new ScriptedKernel({ nat: NAT_SAVE, filter: '' }) }, sysctl: off }).sync(empty);
    await new IptablesBackend({ ctx: defaultNodeContext(), kernels: { IPv6: new ScriptedKernel({ nat: NAT_SAVE, filter: '' }) }, sysctl: off }).sync(empty);
    expect(off.writes).toEqual([]);
  });

  it('deletes stale chains of ours, never foreign ones, and ensures only missing jumps', async () => {
    const kernel = new ScriptedKernel({ nat: NAT_SAVE, filter: '*filter\nCOMMIT\n' });
    const backend = new IptablesBackend({ ctx: defaultNodeContext(), kernels: { IPv4: kernel } });
    await backend.sync(empty);
    expect(kernel.restores[0]).toContain('-X KUBE-SVC-STALESTALESTALE1');
    expect(kernel.restores[0]).not.toContain('DOCKER');
    expect(kernel.ensured.some((e) => e.startsWith('nat PREROUTING'))).toBe(false);
    expect(kernel.ensured.some((e) => e.startsWith('nat OUTPUT'))).toBe(true);
  });

  it('forgets its memo when a restore fails, so the next sync is full', async () => {
    const kernel = new ScriptedKernel({ nat: NAT_SAVE, filter: '' });
    const backend = new IptablesBackend({ ctx: defaultNodeContext(), kernels: { IPv4: kernel } });
    await backend.sync(empty);
    kernel.failRestore = true;
    const changes = { IPv4: new Set(['default/x:']), IPv6: new Set<string>(), serviceChanges: 1, endpointChanges: 0 };
    await expect(backend.sync(empty, changes)).rejects.toThrow(/line 3/);
    kernel.failRestore = false;
    const outcome = await backend.sync(empty, changes);
    expect(outcome.kind).toBe('full');
  });

  it('cleanup removes the jumps and every chain of ours in one restore', async () => {
    const kernel = new ScriptedKernel({ nat: NAT_SAVE, filter: '*filter\n:KUBE-FORWARD - [0:0]\n:f2b-sshd - [0:0]\nCOMMIT\n' });
    await new IptablesBackend({ ctx: defaultNodeContext(), kernels: { IPv4: kernel } }).cleanup();
    expect(kernel.deleted).toContain('nat PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES');
    expect(kernel.restores).toHaveLength(1);
    expect(kernel.restores[0]).toContain('-X KUBE-FORWARD');
    expect(kernel.restores[0]).toContain('-X KUBE-SVC-STALESTALESTALE1');
    expect(kernel.restores[0]).not.toMatch(/DOCKER|f2b-sshd/);
  });

  it('recognises owned chains by kube-proxy name only', () => {
    expect(isOwnedChain('nat', 'KUBE-SEP-ABC')).toBe(true);
    expect(isOwnedChain('nat', 'KUBE-KUBELET-CANARY')).toBe(false);
    expect(isOwnedChain('filter', 'KUBE-FORWARD')).toBe(true);
  });

  it('finds a jump in iptables-save output only when it is there verbatim', () => {
    const j = { table: 'nat' as const, chain: 'PREROUTING', args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'] };
    expect(hasRule(NAT_SAVE, j)).toBe(true);
    expect(hasRule(NAT_SAVE, { ...j, chain: 'OUTPUT' })).toBe(false);
  });
});

describe('strayJumps', () => {
  it('deletes jumps into our chains from chains not ours (another mode\'s, duplicates), nothing else', () => {
    const save = [
      '*filter', ':INPUT ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':DOCKER - [0:0]',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
      '-A DOCKER -g KUBE-SERVICES',
      '-A KUBE-SERVICES -j KUBE-SERVICES-X',
      '-A INPUT -j DOCKER',
      'COMMIT', '',
    ].join('\n');
    expect(strayJumps(save, new Set(['KUBE-SERVICES']))).toEqual([
      '-D INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-D DOCKER -g KUBE-SERVICES',
    ]);
  });
});
