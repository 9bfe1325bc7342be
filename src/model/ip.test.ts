import { describe, expect, it } from 'vitest';
import { canonicalIP, cidrContains, isIPv4, isIPv6, normaliseCIDR, parseCIDR, parseIP, parseIPv4Uint32, specialIPReason } from './ip.js';

describe('isIPv4 / isIPv6', () => {
  it.each([
    ['10.0.0.1', true, false],
    ['0.0.0.0', true, false],
    ['255.255.255.255', true, false],
    ['256.0.0.1', false, false],
    ['10.0.0', false, false],
    ['10.0.0.1.2', false, false],
    ['010.0.0.1', false, false],
    ['10.0.0.-1', false, false],
    ['10.0.0.1 ', false, false],
    ['', false, false],
    ['::', false, true],
    ['::1', false, true],
    ['2001:db8::1', false, true],
    ['2001:DB8::1', false, true],
    ['1:2:3:4:5:6:7:8', false, true],
    ['1:2:3:4:5:6:7::', false, true],
    ['::2:3:4:5:6:7:8', false, true],
    ['1:2:3:4:5:6:7:8:9', false, false],
    ['1:2:3:4::5:6:7:8', false, false],
    ['1::2::3', false, false],
    [':1', false, false],
    ['1:', false, false],
    ['12345::1', false, false],
    ['fe80::1%eth0', false, false],
    ['::ffff:10.0.0.1', false, true],
    ['::10.0.0.256', false, false],
    ['1.2.3.4::', false, false],
    ['g::1', false, false],
  ])('%s: v4=%s v6=%s', (s, v4, v6) => {
    expect(isIPv4(s)).toBe(v4);
    expect(isIPv6(s)).toBe(v6);
  });

  it.each(['10.0.0.1', '0.0.0.0', '255.255.255.255', '192.168.7.77', '256.0.0.1', '10.0.0', '10.0.0.1.2', '010.0.0.1', '10.00.0.1', '10..0.1', '.10.0.0', '10.0.0.', '1000.0.0.1', '10.0.0.1 ', '', '::1', '1.2.3.4::'])(
    'parseIPv4Uint32(%j) takes what parseIP takes as IPv4, as the same number', (s) => {
      const ip = parseIP(s);
      const bytes = ip?.family === 'IPv4' ? ip.bytes : undefined;
      expect(parseIPv4Uint32(s)).toBe(bytes === undefined ? undefined : new DataView(bytes.buffer).getUint32(0, false));
    });
});

describe('canonicalIP', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['fd00::', 'fd00::'],
    ['::ffff:0a00:0001', '::ffff:10.0.0.1'],
    ['::1.2.3.4', '::102:304'],
    ['nope', undefined],
  ])('%s -> %s', (s, want) => {
    expect(canonicalIP(s)).toBe(want);
  });
});

describe('parseCIDR / normaliseCIDR', () => {
  it('parses both families and keeps host bits', () => {
    expect(parseCIDR('10.1.2.3/8')).toEqual({ family: 'IPv4', bytes: new Uint8Array([10, 1, 2, 3]), prefix: 8 });
    expect(parseCIDR('2001:db8::/32')?.prefix).toBe(32);
    expect(parseCIDR('2001:db8::/32')?.family).toBe('IPv6');
  });

  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '2001:db8::/129', '10.0.0.0', 'x/8', '10.0.0.0/8/8'])(
    'rejects %s',
    (s) => {
      expect(parseCIDR(s)).toBeUndefined();
    },
  );

  it.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['10.1.2.3/32', '10.1.2.3/32'],
    ['10.1.2.3/0', '0.0.0.0/0'],
    ['192.168.1.130/25', '192.168.1.128/25'],
    ['192.168.1.130/26', '192.168.1.128/26'],
    ['192.168.1.130/27', '192.168.1.128/27'],
    ['192.168.1.130/31', '192.168.1.130/31'],
    ['203.0.113.9', '203.0.113.9/32'],
    ['2001:DB8::17/64', '2001:db8::/64'],
    ['2001:db8:abcd:ef12::1/52', '2001:db8:abcd:e000::/52'],
    ['2001:db8::1', '2001:db8::1/128'],
    ['bad', undefined],
    ['10.0.0.0/40', undefined],
  ])('%s -> %s', (s, want) => {
    expect(normaliseCIDR(s)).toBe(want);
  });
});

describe('cidrContains', () => {
  it.each([
    ['10.244.1.0/24', '10.244.1.7', true],
    ['10.244.1.0/24', '10.244.2.7', false],
    ['10.244.1.9/24', '10.244.1.200', true],
    ['0.0.0.0/0', '203.0.113.1', true],
    ['10.0.0.1/32', '10.0.0.1', true],
    ['10.0.0.1/32', '10.0.0.2', false],
    ['192.168.0.0/23', '192.168.1.255', true],
    ['192.168.0.0/23', '192.168.2.0', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/33', '2001:db8:8000::1', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '10.0.0.1', false],
    ['10.0.0.0/8', '2001:db8::1', false],
    ['bad', '10.0.0.1', false],
    ['10.0.0.0/8', 'bad', false],
  ])('%s contains %s: %s', (cidr, ip, want) => {
    expect(cidrContains(cidr, ip)).toBe(want);
  });
});

describe('specialIPReason', () => {
  it.each([
    ['0.0.0.0', /unspecified/],
    ['::', /unspecified/],
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['::1', /loopback/],
    ['169.254.169.254', /link-local/],
    ['fe80::1', /link-local/],
    ['febf::1', /link-local/],
    ['224.0.0.251', /multicast/],
    ['ff02::1', /multicast/],
  ])('%s is refused', (s, reason) => {
    const ip = parseIP(s);
    expect(ip).toBeDefined();
    if (ip) expect(specialIPReason(ip)).toMatch(reason);
  });

  it.each(['10.244.1.5', '192.0.2.42', '224.0.1.1', 'fec0::1', '2001:db8::1', '::2'])('%s is usable', (s) => {
    const ip = parseIP(s);
    expect(ip).toBeDefined();
    if (ip) expect(specialIPReason(ip)).toBeUndefined();
  });
});
