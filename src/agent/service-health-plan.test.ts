import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../state/node-context.js';
import type { DesiredState, EndpointInfo, ServicePortState } from '../state/types.js';
import { healthCheckAddresses, planHealthChecks } from './service-health-plan.js';

function ep(ip: string, ready = true): EndpointInfo {
  return { ip, port: 8080, ready, serving: true, terminating: !ready, isLocal: true, nodeName: 'node-a', zone: undefined };
}

function sp(name: string, over: Partial<ServicePortState> = {}): ServicePortState {
  const family = over.family ?? 'IPv4';
  return {
    key: `default/${name}:${over.portName ?? ''}`, namespace: 'default', serviceName: name, portName: '', family, protocol: 'TCP', port: 80,
    clusterIP: undefined, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], nodePort: 30080, healthCheckNodePort: 0,
    affinityTimeoutSeconds: 0, externalPolicyLocal: true, internalPolicyLocal: false, clusterEndpoints: [], localEndpoints: [], hasEndpoints: true,
    ...over,
  };
}

function state(...ports: ServicePortState[]): DesiredState {
  const v4 = new Map<string, ServicePortState>();
  const v6 = new Map<string, ServicePortState>();
  for (const p of ports) (p.family === 'IPv4' ? v4 : v6).set(p.key, p);
  return { IPv4: v4, IPv6: v6 };
}

describe('planHealthChecks', () => {
  it('makes one check per service with a health check node port, counting ready local addresses once', () => {
    const plan = planHealthChecks(state(
      sp('web', { portName: 'http', healthCheckNodePort: 31000, localEndpoints: [ep('10.244.1.1'), ep('10.244.1.2')] }),
      sp('web', { portName: 'https', healthCheckNodePort: 31000, localEndpoints: [ep('10.244.1.1')] }),
      sp('web', { family: 'IPv6', portName: 'http', healthCheckNodePort: 31000, localEndpoints: [ep('fd00::1')] }),
      sp('plain', { healthCheckNodePort: 0, localEndpoints: [ep('10.244.1.9')] }),
    ));
    expect([...plan.checks]).toEqual([[31000, { namespace: 'default', name: 'web', localEndpoints: 3 }]]);
    expect(plan.conflicts).toEqual([]);
  });

  it('does not count terminating endpoints (the Local fallback) as healthy', () => {
    const plan = planHealthChecks(state(sp('web', { healthCheckNodePort: 31000, localEndpoints: [ep('10.244.1.1', false)] })));
    expect(plan.checks.get(31000)?.localEndpoints).toBe(0);
  });

  it('gives a port two services name to the first by name and reports the other', () => {
    const plan = planHealthChecks(state(sp('b', { healthCheckNodePort: 31000 }), sp('a', { healthCheckNodePort: 31000 })));
    expect(plan.checks.get(31000)?.name).toBe('a');
    expect(plan.conflicts).toEqual([{ port: 31000, kept: 'default/a', refused: 'default/b' }]);
  });
});

describe('healthCheckAddresses', () => {
  it('is the node IPs of both families inside nodePortAddresses', () => {
    const ctx = defaultNodeContext({ nodeIPs: ['192.168.77.1', '10.0.0.5', 'fd77::1'] });
    expect(healthCheckAddresses(ctx)).toEqual(['10.0.0.5', '192.168.77.1', 'fd77::1']);
    expect(healthCheckAddresses({ ...ctx, nodePortAddresses: ['192.168.77.0/24'] })).toEqual(['192.168.77.1']);
  });
});
