// Strict (manifests) against lenient (objects the API server serves) reading of the same object:
// a manifest breaking an API server rule is rejected with its object and field; the same object
// from the API server is programmed, without only the parts that cannot be programmed safely.
import { describe, expect, it } from 'vitest';
import { validateObject } from './validate.js';
import { validateEndpointSlice } from './validate-endpoints.js';
import { validateService } from './validate-service.js';

type Raw = Record<string, unknown>;

function service(spec: Raw): Raw {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'prod' }, spec: { clusterIP: '10.96.0.20', ports: [{ port: 80 }], ...spec } };
}

function slice(endpoints: readonly Raw[], extra: Raw = {}): Raw {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'prod', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ port: 8080 }],
    ...extra,
  };
}

/** Relaxed: rules of the API server about fields the dataplane does not use (or uses only where they are allowed). */
const RELAXED: readonly [string, Raw, string][] = [
  ['healthCheckNodePort with externalTrafficPolicy Cluster', service({ type: 'LoadBalancer', healthCheckNodePort: 32000, externalTrafficPolicy: 'Cluster' }), 'spec.healthCheckNodePort'],
  ['healthCheckNodePort on a ClusterIP service', service({ healthCheckNodePort: 32000 }), 'spec.healthCheckNodePort'],
  ['sessionAffinityConfig with affinity None', service({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }), 'spec.sessionAffinityConfig'],
  ['a nodePort on a ClusterIP service', service({ ports: [{ port: 80, nodePort: 30080 }] }), 'spec.ports[0].nodePort'],
  ['loadBalancerSourceRanges on a NodePort service', service({ type: 'NodePort', loadBalancerSourceRanges: ['10.0.0.0/8'] }), 'spec.loadBalancerSourceRanges'],
  ['SingleStack with two cluster IPs', service({ clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20', 'fd00::20'], ipFamilyPolicy: 'SingleStack' }), 'spec.ipFamilyPolicy'],
];

describe('lenient reading (objects from the API server) against strict (manifests)', () => {
  it.each(RELAXED)('%s: rejected from a manifest with object and field, programmed from the API server', (_name, raw, field) => {
    const strict = validateObject(raw, 'web.yaml:1');
    expect(strict.objects).toEqual([]);
    expect(strict.errors.map((e) => [e.ref.kind, `${e.ref.namespace}/${e.ref.name}`, e.field])).toEqual([['Service', 'prod/web', field]]);
    expect(strict.errors[0]?.message).toMatch(new RegExp(`^web\\.yaml:1: Service prod/web: ${field.replace(/[[\].]/g, '\\$&')}: `));

    const lenient = validateService(raw, 'kubernetes', 'default', 'lenient');
    expect(lenient.ok).toBe(true);
    // Nothing dropped, nothing to report: kube-proxy ignores these fields too.
    if (lenient.ok) expect(lenient.skipped).toEqual([]);
  });

  it('drops an unusable nodePort on a ClusterIP service rather than carrying it', () => {
    const lenient = validateService(service({ ports: [{ port: 80, nodePort: 30080 }] }), 'kubernetes', 'default', 'lenient');
    expect(lenient.ok && lenient.value.ports[0]?.nodePort).toBe(0);
  });

  it('drops an external IP or a load-balancer IP it cannot parse alone, and reports it', () => {
    const raw = { ...service({ externalIPs: ['203.0.113.7', 'not-an-ip', '127.0.0.1'] }), status: { loadBalancer: { ingress: [{ ip: '198.51.100.9' }, { ip: '198.51.100.999' }] } } };
    const strict = validateObject(raw, 'web.yaml:1');
    expect(strict.errors.map((e) => e.field)).toEqual(['spec.externalIPs[1]', 'spec.externalIPs[2]', 'status.loadBalancer.ingress[1].ip']);

    const lenient = validateService(raw, 'kubernetes', 'default', 'lenient');
    if (!lenient.ok) throw new Error(lenient.errors.map((e) => e.message).join('\n'));
    expect(lenient.value.externalIPs).toEqual(['203.0.113.7']);
    expect(lenient.value.loadBalancerIngressIPs).toEqual(['198.51.100.9']);
    expect(lenient.skipped?.map((e) => e.message)).toEqual([
      'kubernetes: Service prod/web: spec.externalIPs[1]: invalid value "not-an-ip": must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)',
      'kubernetes: Service prod/web: spec.externalIPs[2]: invalid value "127.0.0.1": may not be in the loopback range (127.0.0.0/8)',
      'kubernetes: Service prod/web: status.loadBalancer.ingress[1].ip: invalid value "198.51.100.999": must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ]);
  });

  it('still refuses, even from the API server, what cannot be programmed safely', () => {
    for (const raw of [
      service({ ports: [{ port: 70000 }] }), // a port that cannot exist
      service({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/33'] }), // dropping a range would open the firewall wider
      service({ clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.21'] }), // which address is the service's?
      service({ sessionAffinity: 'Sticky' }), // a behaviour svcplane does not know
    ]) {
      const lenient = validateService(raw, 'kubernetes', 'default', 'lenient');
      expect(lenient.ok, JSON.stringify(raw)).toBe(false);
    }
  });

  it('EndpointSlice: an endpoint it cannot parse is dropped alone, the API server limits are not enforced', () => {
    const endpoints = [{ addresses: ['10.244.0.5'] }, { addresses: ['10.244.0.6'], hostname: 'Not_A_Label' }, ...Array.from({ length: 1000 }, (_, i) => ({ addresses: [`10.245.${i >> 8}.${i & 255}`] }))];
    const raw = slice(endpoints);
    const strict = validateObject(raw, 'web.yaml:1');
    expect(strict.errors.map((e) => `${e.ref.kind} ${e.ref.namespace}/${e.ref.name} ${e.field}`)).toEqual([
      'EndpointSlice prod/web-1 endpoints',
      'EndpointSlice prod/web-1 endpoints[1].hostname',
    ]);

    const lenient = validateEndpointSlice(raw, 'kubernetes', 'default', 'lenient');
    if (!lenient.ok) throw new Error(lenient.errors.map((e) => e.message).join('\n'));
    expect(lenient.value.endpoints).toHaveLength(1001);
    expect(lenient.value.endpoints.some((e) => e.addresses[0] === '10.244.0.6')).toBe(false);
    expect(lenient.skipped?.map((e) => e.field)).toEqual(['endpoints[1].hostname']);
    // A port every endpoint shares cannot be dropped alone: the slice is refused.
    expect(validateEndpointSlice(slice(endpoints, { ports: [{ port: 70000 }] }), 'kubernetes', 'default', 'lenient').ok).toBe(false);
  });
});
