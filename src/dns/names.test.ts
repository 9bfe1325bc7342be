import { describe, expect, it } from 'vitest';
import { endpointLabel, podLabelAddress, reverseName } from './names.js';

describe('names', () => {
  it('reverse names for both families', () => {
    expect(reverseName('10.96.0.1')).toBe('1.0.96.10.in-addr.arpa');
    expect(reverseName('fd00::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa');
    expect(reverseName('nope')).toBeUndefined();
  });

  it('pod labels: dashed IPv4 and IPv6, nothing else', () => {
    expect(podLabelAddress('10-244-1-5')).toBe('10.244.1.5');
    expect(podLabelAddress('fd00--5')).toBe('fd00::5');
    expect(podLabelAddress('010-244-1-5')).toBeUndefined();
    expect(podLabelAddress('10-244-1-256')).toBeUndefined();
    expect(podLabelAddress('web')).toBeUndefined();
  });

  it('endpoint labels: the hostname, else the dashed address', () => {
    expect(endpointLabel('10.0.0.1', 'Busybox-1')).toBe('busybox-1');
    expect(endpointLabel('10.0.0.1', undefined)).toBe('10-0-0-1');
    expect(endpointLabel('fd00::1', undefined)).toBe('fd00--1');
  });
});
