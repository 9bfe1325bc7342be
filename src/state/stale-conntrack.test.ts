import { describe, expect, it } from 'vitest';
import { staleFlows } from './stale-conntrack.js';
import type { DesiredState, EndpointInfo, ServicePortState } from './types.js';

function ep(ip: string, port = 53): EndpointInfo {
  return { ip, port, ready: true, serving: true, terminating: false, isLocal: false, nodeName: undefined, zone: undefined };
}

function sp(eps: EndpointInfo[], over: Partial<ServicePortState> = {}): ServicePortState {
  return {
    key: 'kube-system/dns:dns', namespace: 'kube-system', serviceName: 'dns', portName: 'dns', family: 'IPv4', protocol: 'UDP', port: 53,
    clusterIP: '10.96.0.10', externalIPs: ['203.0.113.5'], loadBalancerIPs: [], loadBalancerSourceRanges: [], nodePort: 0, healthCheckNodePort: 0,
    affinityTimeoutSeconds: 0, externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: eps, localEndpoints: [], hasEndpoints: eps.length > 0, ...over,
  };
}

function state(...ports: ServicePortState[]): DesiredState {
  return { IPv4: new Map(ports.map((p) => [p.key, p])), IPv6: new Map() };
}

describe('staleFlows', () => {
  it('clears the service IPs and node port when a UDP service goes from no endpoints to some', () => {
    const f = staleFlows(state(sp([], { nodePort: 30053 })), state(sp([ep('10.244.1.2')], { nodePort: 30053 })));
    expect(f.serviceIPs.map((s) => s.ip)).toEqual(['10.96.0.10', '203.0.113.5']);
    expect(f.nodePorts).toEqual([{ family: 'IPv4', protocol: 'UDP', port: 30053 }]);
    expect(f.endpoints).toEqual([]);
  });

  it('clears flows DNATed to a removed endpoint, for every service IP', () => {
    const f = staleFlows(state(sp([ep('10.244.1.2'), ep('10.244.1.3')])), state(sp([ep('10.244.1.3'), ep('10.244.1.4')])));
    expect(f.endpoints.map((e) => `${e.serviceIP}->${e.endpointIP}`)).toEqual(['10.96.0.10->10.244.1.2', '203.0.113.5->10.244.1.2']);
    expect(f.serviceIPs).toEqual([]);
    expect(f.nodePortEndpoints).toEqual([]);
  });

  it('clears NodePort flows DNATed to a removed endpoint', () => {
    const f = staleFlows(state(sp([ep('10.244.1.2')], { nodePort: 30053 })), state(sp([ep('10.244.1.4')], { nodePort: 30053 })));
    expect(f.nodePortEndpoints).toEqual([{ family: 'IPv4', protocol: 'UDP', nodePort: 30053, endpointIP: '10.244.1.2' }]);
  });

  it('treats a deleted service like the removal of all its endpoints', () => {
    const f = staleFlows(state(sp([ep('10.244.1.2')])), state());
    expect(f.endpoints.map((e) => e.endpointIP)).toEqual(['10.244.1.2', '10.244.1.2']);
  });

  it('ignores TCP services and unchanged keys', () => {
    expect(staleFlows(state(sp([ep('10.244.1.2')], { protocol: 'TCP' })), state(sp([], { protocol: 'TCP' })))).toEqual({ serviceIPs: [], nodePorts: [], endpoints: [], nodePortEndpoints: [] });
    const f = staleFlows(state(sp([ep('10.244.1.2')])), state(sp([])), { IPv4: new Set(), IPv6: new Set() });
    expect(f.endpoints).toEqual([]);
  });
});
