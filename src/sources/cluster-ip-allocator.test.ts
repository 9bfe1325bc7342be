import { describe, expect, it } from 'vitest';
import type { IPFamily, Service } from '../model/types.js';
import { ClusterIPAllocator, InvalidServiceCIDRError } from './cluster-ip-allocator.js';
import { formatIP, parseIP, parseRange } from './cluster-ip-range.js';
import { makeService } from '../state/test-builders.js';

function service(name: string, overrides: Partial<Service> = {}): Service {
  return makeService({ name, clusterIPs: [], ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 }], selector: { app: name }, ...overrides });
}

function ipsOf(services: readonly Service[]): Record<string, readonly string[]> {
  return Object.fromEntries(services.map((s) => [s.name, s.clusterIPs]));
}

function inRange(cidr: string, ip: string): boolean {
  const range = parseRange(cidr);
  const value = parseIP(ip);
  if (range === undefined || value === undefined) return false;
  return value.family === range.family && value.value >= range.base && value.value < range.base + range.size;
}

describe('cluster-ip-range', () => {
  it.each([
    ['10.96.0.10', '10.96.0.10'],
    ['fd00:10:96::a', 'fd00:10:96::a'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['::', '::'],
  ])('round-trips %s as %s', (text, canonical) => {
    const ip = parseIP(text);
    expect(ip).toBeDefined();
    if (ip !== undefined) expect(formatIP(ip)).toBe(canonical);
  });

  it.each(['10.96.0', '10.96.0.256', '010.1.1.1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', ''])('rejects %s', (text) => {
    expect(parseIP(text)).toBeUndefined();
  });

  it('rejects CIDRs with host bits or bad prefixes', () => {
    expect(parseRange('10.96.0.0/12')?.size).toBe(1n << 20n);
    expect(parseRange('10.96.0.1/12')).toBeUndefined();
    expect(parseRange('10.96.0.0/33')).toBeUndefined();
    expect(parseRange('fd00:10:96::/108')?.size).toBe(1n << 20n);
  });
});

describe('ClusterIPAllocator', () => {
  it('allocates inside the range, never the network or first address, and deterministically', () => {
    const services = ['web', 'api', 'db', 'cache'].map((n) => service(n));
    const first = new ClusterIPAllocator(['10.96.0.0/12']).assign(services);
    const again = new ClusterIPAllocator(['10.96.0.0/12']).assign([...services].reverse());
    expect(first.errors).toEqual([]);
    expect(ipsOf(first.services)).toEqual(ipsOf(again.services));
    const all = first.services.flatMap((s) => s.clusterIPs);
    expect(new Set(all).size).toBe(4);
    for (const ip of all) {
      expect(inRange('10.96.0.0/12', ip)).toBe(true);
      expect(['10.96.0.0', '10.96.0.1', '10.111.255.255']).not.toContain(ip);
    }
  });

  it('skips headless, ExternalName and services that already have IPs', () => {
    const input = [
      service('headless', { headless: true }),
      service('ext', { type: 'ExternalName', externalName: 'example.com', ipFamilies: [] }),
      service('fixed', { clusterIPs: ['10.96.0.50'] }),
    ];
    const { services } = new ClusterIPAllocator().assign(input);
    expect(services).toEqual(input);
  });

  it('probes linearly past addresses in use, and explicit IPs take precedence', () => {
    // A /29 leaves offsets 2..6: five addresses.
    const cidr = '10.0.0.0/29';
    const alone = new ClusterIPAllocator([cidr]).assign([service('web')]).services[0]?.clusterIPs[0];
    expect(alone).toBeDefined();
    // Claim that address explicitly, in a service that sorts after and sits later in the input.
    const result = new ClusterIPAllocator([cidr]).assign([service('web'), service('zzz', { clusterIPs: [alone ?? ''] })]);
    const moved = result.services.find((s) => s.name === 'web')?.clusterIPs[0];
    const next = (Number(alone?.split('.')[3]) - 2 + 1) % 5 + 2;
    expect(moved).toBe(`10.0.0.${next}`);
  });

  it('fills a small range exactly and reports the service that does not fit', () => {
    const allocator = new ClusterIPAllocator(['10.0.0.0/29']);
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const { services, errors } = allocator.assign(names.map((n) => service(n)));
    expect(services).toHaveLength(5);
    const ips = services.map((s) => s.clusterIPs[0]).sort();
    expect(ips).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/Service default\/f: spec.clusterIP: service CIDR 10.0.0.0\/29 is full/);
  });

  it('keeps allocations stable across reloads while services exist', () => {
    const allocator = new ClusterIPAllocator(['10.0.0.0/28']);
    const before = ipsOf(allocator.assign([service('web'), service('api')]).services);
    // Newcomers sorting before the existing services do not displace them.
    const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    const after = ipsOf(allocator.assign([...names.map((n) => service(n)), service('web'), service('api')]).services);
    expect(after.web).toEqual(before.web);
    expect(after.api).toEqual(before.api);
    expect(new Set(Object.values(after).flat()).size).toBe(8);
  });

  it('forgets services that disappear', () => {
    const allocator = new ClusterIPAllocator(['10.0.0.0/30']); // exactly one allocatable address: .2
    expect(allocator.assign([service('web')]).services[0]?.clusterIPs).toEqual(['10.0.0.2']);
    expect(allocator.assign([service('api')]).services[0]?.clusterIPs).toEqual(['10.0.0.2']);
  });

  it('allocates one address per family for dual-stack services, in ipFamilies order', () => {
    const allocator = new ClusterIPAllocator();
    const families: IPFamily[][] = [['IPv6', 'IPv4'], ['IPv4', 'IPv6'], ['IPv6']];
    const { services, errors } = allocator.assign(families.map((f, i) => service(`s${i}`, { ipFamilies: f })));
    expect(errors).toEqual([]);
    for (const [i, s] of services.entries()) {
      expect(s.clusterIPs).toHaveLength(families[i]?.length ?? -1);
      s.clusterIPs.forEach((ip, j) => {
        const cidr = families[i]?.[j] === 'IPv4' ? '10.96.0.0/12' : 'fd00:10:96::/108';
        expect(inRange(cidr, ip)).toBe(true);
      });
    }
  });

  it('defaults to the first configured family when the service names none', () => {
    const [v6first] = new ClusterIPAllocator(['fd00::/120', '10.0.0.0/24']).assign([service('web', { ipFamilies: [] })]).services;
    expect(v6first?.ipFamilies).toEqual(['IPv6']);
    expect(v6first?.clusterIPs[0]).toMatch(/^fd00::[0-9a-f]+$/);
  });

  it('reports a family without a configured range', () => {
    const { services, errors } = new ClusterIPAllocator(['10.0.0.0/24']).assign([service('web', { ipFamilies: ['IPv6'] })]);
    expect(services).toEqual([]);
    expect(errors[0]?.field).toBe('spec.ipFamilies');
  });

  it('logs each allocation', () => {
    const lines: object[] = [];
    const logger = { info: (o: object) => lines.push(o), warn: () => undefined };
    const allocator = new ClusterIPAllocator(['10.0.0.0/24'], logger);
    allocator.assign([service('web'), service('api')]);
    allocator.assign([service('web'), service('api')]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ service: 'default/api', family: 'IPv4', serviceCIDR: '10.0.0.0/24' });
  });

  it('rejects malformed or too small service CIDRs', () => {
    expect(() => new ClusterIPAllocator(['10.0.0.0/40'])).toThrow(InvalidServiceCIDRError);
    expect(() => new ClusterIPAllocator(['10.0.0.0/31'])).toThrow(InvalidServiceCIDRError);
  });

  describe('update', () => {
    it('looks only at the services given, and keeps the others where they are', () => {
      const allocator = new ClusterIPAllocator(['10.0.0.0/24']);
      const first = allocator.update([service('web'), service('api')], []);
      expect([...first.services.keys()].sort()).toEqual(['default/api', 'default/web']);
      const webIP = first.services.get('default/web')?.clusterIPs;

      const next = allocator.update([service('api', { ports: [] }), service('db')], []);
      expect([...next.services.keys()].sort()).toEqual(['default/api', 'default/db']);
      expect(next.services.get('default/api')?.clusterIPs).toEqual(first.services.get('default/api')?.clusterIPs);
      // web was not given, so not returned; its address is still in use.
      expect(next.services.get('default/db')?.clusterIPs).not.toEqual(webIP);
      expect(allocator.assign([service('web'), service('api'), service('db')]).services.find((s) => s.name === 'web')?.clusterIPs).toEqual(webIP);
    });

    it('returns a service displaced by a new explicit claim with its new address', () => {
      const warnings: object[] = [];
      const allocator = new ClusterIPAllocator(['10.0.0.0/29'], { info: () => undefined, warn: (o) => warnings.push(o) });
      const webIP = allocator.update([service('web')], []).services.get('default/web')?.clusterIPs[0] ?? '';
      const claimed = allocator.update([service('claim', { clusterIPs: [webIP] })], []);
      expect(claimed.services.get('default/claim')?.clusterIPs).toEqual([webIP]);
      const moved = claimed.services.get('default/web')?.clusterIPs[0];
      expect(moved).toMatch(/^10\.0\.0\.[2-6]$/);
      expect(moved).not.toBe(webIP);
      expect(warnings).toEqual([{ service: 'default/web', family: 'IPv4' }]);
    });

    it('retries a service that did not fit once an address is freed', () => {
      const allocator = new ClusterIPAllocator(['10.0.0.0/30']); // one allocatable address
      allocator.update([service('web')], []);
      const full = allocator.update([service('api')], []);
      expect(full.services.get('default/api')).toBeUndefined();
      expect(full.errors[0]?.message).toMatch(/is full/);
      const freed = allocator.update([], ['default/web']);
      expect(freed.errors).toEqual([]);
      expect(freed.services.get('default/api')?.clusterIPs).toEqual(['10.0.0.2']);
    });

    it('frees an allocation when a service gets an explicit address, and releases claims on removal', () => {
      const allocator = new ClusterIPAllocator(['10.0.0.0/30']);
      allocator.update([service('web')], []);
      allocator.update([service('web', { clusterIPs: ['10.0.0.1'] })], []);
      expect(allocator.update([service('api')], []).services.get('default/api')?.clusterIPs).toEqual(['10.0.0.2']);
      allocator.update([], ['default/api']);
      allocator.update([service('fixed', { clusterIPs: ['10.0.0.2'] })], []);
      expect(allocator.update([service('db')], []).services.get('default/db')).toBeUndefined();
      expect(allocator.update([], ['default/fixed']).services.get('default/db')?.clusterIPs).toEqual(['10.0.0.2']);
    });
  });
});
