// The IPVS drift check (issue 20, item 1): one read of /proc/net/ip_vs compared with the dump
// cache instead of a netlink request per virtual server, plus kube-ipvs0's addresses, ipset
// member counts and the companion chains. The real kernel's side is test/vm/ipvs-agent.vm-test.ts.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defaultNodeContext } from '../../state/node-context.js';
import { endpoint, servicePort } from '../../../test/lib/state-fixtures.js';
import type { DesiredState, FamilyState, ServicePortState, StateChanges } from '../../state/types.js';
import { applyOps, destination, dump as kernelDump, fakeClients, fakeKernel, procTable, setCounts } from './fake-kernel.js';
import { IpvsBackend } from './ipvs-backend.js';
import { parseProcTable } from './ipvs-proc-table.js';
import { IpvsProcTableError } from './errors.js';
import { addressDrift, iptablesDrift } from './ipvs-drift.js';
import { renderIpvsIptables } from './ipvs-iptables.js';

const svc = (i: number, endpoints: readonly string[], extra: Partial<ServicePortState> = {}): ServicePortState =>
  servicePort({ serviceName: `s${i}`, clusterIP: `10.96.0.${i}`, clusterEndpoints: endpoints.map((ip) => endpoint(ip, 8080, { isLocal: true, nodeName: 'n1' })), ...extra });

const state = (ports: readonly ServicePortState[]): DesiredState => ({ IPv4: new Map(ports.map((p) => [p.key, p])) as FamilyState, IPv6: new Map() });
const changes = (...keys: string[]): StateChanges => ({ IPv4: new Set(keys), IPv6: new Set(), serviceChanges: 0, endpointChanges: keys.length });

function setup(gracePeriodMs = 0, now = () => 0) {
  const k = fakeKernel();
  const f = fakeClients(k);
  let reads = 0;
  const backend = new IpvsBackend({
    ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'] }), ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl,
    logger: pino({ level: 'silent' }), gracePeriodMs, now, readTable: () => (reads++, procTable(k)),
  });
  return { k, f, backend, reads: () => reads };
}

const base = Array.from({ length: 20 }, (_, i) => svc(i + 1, [`10.244.${i}.1`, `10.244.${i}.2`]));
const serviceOf = (k: ReturnType<typeof fakeKernel>, vip: string) => {
  const vs = kernelDump(k).services.find((v) => v.service.address === vip);
  if (vs === undefined) throw new Error(`no virtual server for ${vip}`);
  return vs.service;
};

describe('parseProcTable', () => {
  it('reads the kernel\'s lines: IPv4 with one-packet and persistence, IPv6, fwmark; connection counts kept apart from weights', () => {
    const text = [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
      'TCP  0A60000A:0050 rr ',
      '  -> 0AF40105:1F90      Masq    1      3          7         ',
      '  -> 0AF40106:1F90      Local   0      0          0         ',
      'UDP  0A60000A:0035 sh ops persistent 2700000 FFFFFFFF',
      'TCP  [fd00:0000:0000:0000:0000:0000:0000:000a]:01BB wrr ',
      '  -> [fd00:0000:0000:0000:0000:0000:0001:0005]:1F90      Masq    2      0          0         ',
      'FWM  00000007 rr ',
      '  -> 0A000001:0000      Route   1      0          0         ',
      '',
    ].join('\n');
    const t = parseProcTable(text);
    expect([...t.servers.keys()]).toEqual(['TCP/10.96.0.10:80', 'UDP/10.96.0.10:53', 'TCP/[fd00::a]:443']);
    expect(t.fwmarks).toEqual([7]);
    const web = t.servers.get('TCP/10.96.0.10:80');
    expect(web).toMatchObject({ scheduler: 'rr', onePacket: false, persistent: false });
    expect([...(web?.destinations ?? [])]).toEqual([
      ['TCP/10.96.0.10:80->10.244.1.5:8080', { weight: 1, active: 3 }],
      ['TCP/10.96.0.10:80->10.244.1.6:8080', { weight: 0, active: 0 }],
    ]);
    expect(t.servers.get('UDP/10.96.0.10:53')).toMatchObject({ scheduler: 'sh', onePacket: true, persistent: true });
    expect([...(t.servers.get('TCP/[fd00::a]:443')?.destinations.keys() ?? [])]).toEqual(['TCP/[fd00::a]:443->[fd00::1:5]:8080']);
  });

  it('refuses a line it cannot read (the agent then rewrites everything)', () => {
    const head = 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';
    expect(() => parseProcTable(`${head}TCP  10.96.0.10:80 rr\n`)).toThrow(IpvsProcTableError);
    expect(() => parseProcTable(`${head}TCP  0A60000A:0050 rr\n  -> 0AF40105:1F90 Masq\n`)).toThrow(/line 5: unreadable real server/);
  });

  it('reads what the fake kernel renders as the kernel would, for every shape the backend programs', async () => {
    const { k, backend } = setup();
    const v6 = servicePort({ serviceName: 'v6', family: 'IPv6', clusterIP: 'fd00::a', clusterEndpoints: [endpoint('fd00::1:5', 8080)] });
    await backend.sync({ IPv4: state([...base, svc(90, ['10.244.90.1'], { affinityTimeoutSeconds: 600 })]).IPv4, IPv6: new Map([[v6.key, v6]]) as FamilyState });
    const t = parseProcTable(procTable(k));
    expect(t.servers.size).toBe(k.services.size);
    expect(t.servers.get('TCP/[fd00::a]:80')?.destinations.size).toBe(1);
    expect(t.servers.get('TCP/10.96.0.90:80')?.persistent).toBe(true);
  });
});

describe('IpvsBackend.checkDrift', () => {
  it('finds nothing after full and partial syncs, with one read of the table and no netlink request per virtual server', async () => {
    const { f, backend, reads } = setup();
    expect(await backend.checkDrift()).toEqual(['nothing committed since the last failure or context change']);
    await backend.sync(state(base));
    f.calls.getDestinations = 0;
    expect(await backend.checkDrift()).toEqual([]);
    await backend.sync(state(base.map((s, i) => (i === 2 ? svc(3, ['10.244.2.1', '10.244.2.9']) : s))), changes('default/s3:http'));
    await backend.sync(state([...base, svc(40, ['10.244.40.1'])]), changes('default/s3:http', 'default/s40:http'));
    f.calls.getDestinations = 0;
    expect(await backend.checkDrift()).toEqual([]);
    expect(f.calls.getDestinations).toBe(0);
    expect(reads()).toBe(2);
  });

  it('names a virtual server, a real server or a weight changed by hand, an extra virtual server, and a VIP unbound', async () => {
    const { k, f, backend } = setup();
    await backend.sync(state(base));
    const s5 = serviceOf(k, '10.96.0.5');
    const s6 = serviceOf(k, '10.96.0.6');
    const s7 = serviceOf(k, '10.96.0.7');
    const s9 = serviceOf(k, '10.96.0.9');
    const dest = (s: typeof s5, address: string) => destination(k, s, address, 8080) as NonNullable<ReturnType<typeof destination>>;
    applyOps(k, [
      { op: 'del-service', service: s5 },
      { op: 'del-dest', service: s6, dest: dest(s6, '10.244.5.2') },
      { op: 'update-dest', service: s7, dest: { ...dest(s7, '10.244.6.1'), weight: 5 } },
      { op: 'new-service', service: { ...s5, address: '10.96.9.9' } },
      { op: 'new-dest', service: s9, dest: { ...dest(s9, '10.244.8.1'), address: '10.244.99.9' } },
    ]);
    k.bound.delete('10.96.0.8');
    const drift = await backend.checkDrift();
    expect(drift).toEqual(expect.arrayContaining([
      'virtual server TCP/10.96.0.5:80 is missing',
      'real server TCP/10.96.0.6:80->10.244.5.2:8080 is missing',
      'real server TCP/10.96.0.7:80->10.244.6.1:8080: weight 5, synced 1',
      'virtual server TCP/10.96.9.9:80 was not synced',
      'real server TCP/10.96.0.9:80->10.244.99.9:8080 was not synced',
      'address 10.96.0.8 is not bound to kube-ipvs0',
    ]));
    expect(drift).toHaveLength(6);
    // The full sync the agent then runs repairs it all (the hand-made one is not svcplane's VIP: it stays).
    await backend.sync(state(base));
    expect(f.calls.getDestinations).toBeGreaterThan(0);
    expect(await backend.checkDrift()).toEqual([]);
  });

  it('lists at most 50 differences when the table was flushed, and counts the rest', async () => {
    const { k, backend } = setup();
    await backend.sync(state(Array.from({ length: 80 }, (_, i) => svc(i + 1, [`10.244.${i}.1`]))));
    k.services.clear();
    const drift = await backend.checkDrift();
    expect(drift).toHaveLength(51);
    expect(drift[50]).toBe('and 30 more differences');
  });

  it('deletes a drained real server itself, so that a clean check does not leave it for the hourly full sync', async () => {
    let now = 1_000;
    const { k, backend } = setup(3_600_000, () => now);
    await backend.sync(state(base));
    const s2 = serviceOf(k, '10.96.0.2');
    setCounts(k, s2, '10.244.1.2', 8080, 1, 0);
    const shrunk = base.map((s, i) => (i === 1 ? svc(2, ['10.244.1.1']) : s));
    expect((await backend.sync(state(shrunk), changes('default/s2:http'))).sent.draining).toBe(1);
    expect(destination(k, s2, '10.244.1.2', 8080)?.weight).toBe(0);
    // Still busy: it stays, and the weight-0 server is what the last sync left.
    expect(await backend.checkDrift()).toEqual([]);
    expect(destination(k, s2, '10.244.1.2', 8080)).toBeDefined();
    setCounts(k, s2, '10.244.1.2', 8080, 0, 4);
    now += 1_000;
    expect(await backend.checkDrift()).toEqual([]);
    expect(destination(k, s2, '10.244.1.2', 8080)).toBeUndefined();
    // Nothing left draining: the next partial sync has none to read back.
    expect((await backend.sync(state(shrunk), changes('default/s2:http'))).sent).toMatchObject({ draining: 0, netlinkMessages: 0 });
  });

  it('deletes a real server still busy once its grace period is over', async () => {
    let now = 0;
    const { k, backend } = setup(60_000, () => now);
    await backend.sync(state(base));
    const s2 = serviceOf(k, '10.96.0.2');
    setCounts(k, s2, '10.244.1.2', 8080, 2, 0);
    await backend.sync(state(base.map((s, i) => (i === 1 ? svc(2, ['10.244.1.1']) : s))), changes('default/s2:http'));
    now = 59_000;
    await backend.checkDrift();
    expect(destination(k, s2, '10.244.1.2', 8080)).toBeDefined();
    now = 61_000;
    expect(await backend.checkDrift()).toEqual([]);
    expect(destination(k, s2, '10.244.1.2', 8080)).toBeUndefined();
  });

  it('says that every periodic sync is full without a reader of the table', async () => {
    const k = fakeKernel();
    const f = fakeClients(k);
    const backend = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1' }), ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }) });
    await backend.sync(state(base));
    expect(await backend.checkDrift()).toEqual(['no reader of /proc/net/ip_vs: every periodic sync is full']);
  });

  it('compares ipset member counts with what the last sync left', async () => {
    const k = fakeKernel();
    const f = fakeClients(k);
    const counts = new Map<string, number>();
    const ipset = { restore: async () => undefined, destroy: async () => true, members: async () => [], entryCounts: async () => counts };
    const ctx = defaultNodeContext({ nodeName: 'n1', clusterCIDRs: ['10.244.0.0/16'] });
    const restored: string[] = [];
    const saved = { nat: '', filter: '' };
    const iptables = { restore: async (t: string) => void restored.push(t), save: async (t: 'nat' | 'filter') => saved[t], listChains: async () => new Set<string>(), ensureRule: async () => undefined, deleteRule: async () => undefined };
    const backend = new IpvsBackend({ ctx, ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), iptables: { IPv4: iptables }, ipset, readTable: () => procTable(k) });
    await backend.sync(state(base));
    const drift = await backend.checkDrift();
    expect(drift).toContain('ipset KUBE-CLUSTER-IP is missing');
    counts.set('KUBE-CLUSTER-IP', 19);
    expect(await backend.checkDrift()).toContain('ipset KUBE-CLUSTER-IP: 19 members, synced 20');
  });
});

describe('addressDrift and iptablesDrift', () => {
  it('compares IPv6 addresses in canonical form', () => {
    expect(addressDrift(['fd00:0:0:0:0:0:0:a', '10.96.0.1'], new Set(['fd00::a', '10.96.0.1']))).toEqual([]);
    expect(addressDrift(['10.96.0.1', '10.96.0.2'], new Set(['10.96.0.1', '10.96.0.3']))).toEqual(['address 10.96.0.3 is not bound to kube-ipvs0', 'address 10.96.0.2 on kube-ipvs0 was not synced']);
  });

  it('counts each companion chain\'s rules, whatever order iptables-save prints a rule\'s matches in, and checks the jumps', () => {
    const ctx = defaultNodeContext({ nodeName: 'n1', clusterCIDRs: ['10.244.0.0/16'] });
    const restore = renderIpvsIptables('IPv4', ctx);
    const table = (t: 'nat' | 'filter'): string => {
      const block = restore.slice(restore.indexOf(`*${t}`), restore.indexOf('COMMIT', restore.indexOf(`*${t}`)));
      // iptables-save puts `! -s` first: a reordered rule counts the same.
      const lines = block.split('\n').slice(1).map((l) => l.replace(/^(-A \S+)(.*) (! -s \S+)(.*)$/, '$1 $3$2$4'));
      const jumps = { nat: ['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'], filter: ['-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'] };
      return ['*' + t, ...lines.filter((l) => l.startsWith(':')), ...jumps[t], ...lines.filter((l) => l.startsWith('-A ')), 'COMMIT', ''].join('\n');
    };
    const saved = { nat: table('nat'), filter: table('filter') };
    expect(saved.nat).toMatch(/-A KUBE-SERVICES ! -s 10\.244\.0\.0\/16 -m comment/);
    expect(iptablesDrift('IPv4', saved, restore)).toEqual([]);
    const oneLess = saved.nat.split('\n').filter((l) => !l.includes('KUBE-LOOP-BACK')).join('\n');
    const noJump = saved.filter.split('\n').filter((l) => !l.startsWith('-A INPUT')).join('\n');
    expect(iptablesDrift('IPv4', { nat: oneLess, filter: noJump }, restore)).toEqual([
      'IPv4: chain nat/KUBE-POSTROUTING has 3 rules, synced 4',
      'IPv4: jump filter/INPUT -> KUBE-SERVICES missing',
    ]);
    expect(iptablesDrift('IPv4', { nat: saved.nat.replace(/^:KUBE-NODE-PORT .*\n/m, '').replace(/^-A KUBE-NODE-PORT .*\n/gm, ''), filter: saved.filter }, restore)).toEqual(['IPv4: chain nat/KUBE-NODE-PORT is missing']);
  });
});
