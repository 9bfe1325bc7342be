import { describe, expect, it } from 'vitest';
import type { Node } from '../model/types.js';
import { desiredLoadBalancer, publishAddresses } from './ingress-status.js';

const node = (addresses: Node['addresses']): Node => ({ name: 'n', addresses, zone: undefined, labels: {} });

describe('ingress status', () => {
  it('publishes the flag, else ExternalIPs, else InternalIPs', () => {
    const both = node([{ type: 'InternalIP', address: '10.0.0.5' }, { type: 'ExternalIP', address: '203.0.113.5' }, { type: 'Hostname', address: 'n' }]);
    expect(publishAddresses(['198.51.100.1'], both)).toEqual(['198.51.100.1']);
    expect(publishAddresses([], both)).toEqual(['203.0.113.5']);
    expect(publishAddresses([], node([{ type: 'InternalIP', address: '10.0.0.5' }]))).toEqual(['10.0.0.5']);
    expect(publishAddresses([], undefined)).toEqual([]);
  });

  it('adds our addresses to served Ingresses, keeping other entries, sorted', () => {
    expect(desiredLoadBalancer([], ['10.0.0.5'], true)).toEqual([{ ip: '10.0.0.5' }]);
    expect(desiredLoadBalancer([{ ip: '10.0.0.9' }, { hostname: 'lb.example' }], ['10.0.0.5'], true)).toEqual([{ ip: '10.0.0.5' }, { ip: '10.0.0.9' }, { hostname: 'lb.example' }]);
  });

  it('says nothing when the status is already right', () => {
    expect(desiredLoadBalancer([{ ip: '10.0.0.5' }], ['10.0.0.5'], true)).toBeUndefined();
    expect(desiredLoadBalancer([{ ip: '10.0.0.9' }], ['10.0.0.5'], false)).toBeUndefined();
    expect(desiredLoadBalancer([], ['10.0.0.5'], false)).toBeUndefined();
  });

  it('takes only our addresses off an Ingress no longer served', () => {
    expect(desiredLoadBalancer([{ ip: '10.0.0.5' }, { ip: '10.0.0.9' }], ['10.0.0.5'], false)).toEqual([{ ip: '10.0.0.9' }]);
    expect(desiredLoadBalancer([{ ip: '10.0.0.5' }], ['10.0.0.5'], false)).toEqual([]);
  });
});
