import { describe, expect, it } from 'vitest';
import { makeService } from '../state/test-builders.js';
import { envVariableName, serviceEnvironment, serviceEnvVars, visibleServices } from './service-env.js';
import type { ServicePort } from '../model/types.js';

const port = (p: Partial<ServicePort>): ServicePort => ({ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0, ...p });
const lines = (env: { name: string; value: string }[]): string[] => env.map((e) => `${e.name}=${e.value}`);

describe('serviceEnvVars', () => {
  it('gives the document\'s redis-master variables, in its order', () => {
    const redis = makeService({ name: 'redis-master', clusterIPs: ['10.0.0.11'], ports: [port({ port: 6379, targetPort: 6379 })] });
    expect(lines(serviceEnvVars(redis))).toEqual([
      'REDIS_MASTER_SERVICE_HOST=10.0.0.11',
      'REDIS_MASTER_SERVICE_PORT=6379',
      'REDIS_MASTER_PORT=tcp://10.0.0.11:6379',
      'REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379',
      'REDIS_MASTER_PORT_6379_TCP_PROTO=tcp',
      'REDIS_MASTER_PORT_6379_TCP_PORT=6379',
      'REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11',
    ]);
  });

  it('names every named port, links every port, and takes the first port for _SERVICE_PORT and _PORT', () => {
    const dns = makeService({ name: 'kube-dns', clusterIPs: ['10.96.0.10'], ports: [port({ name: 'dns', protocol: 'UDP', port: 53 }), port({ name: 'dns-tcp', port: 53 }), port({ name: 'metrics', port: 9153 })] });
    expect(lines(serviceEnvVars(dns))).toEqual([
      'KUBE_DNS_SERVICE_HOST=10.96.0.10',
      'KUBE_DNS_SERVICE_PORT=53',
      'KUBE_DNS_SERVICE_PORT_DNS=53',
      'KUBE_DNS_SERVICE_PORT_DNS_TCP=53',
      'KUBE_DNS_SERVICE_PORT_METRICS=9153',
      'KUBE_DNS_PORT=udp://10.96.0.10:53',
      'KUBE_DNS_PORT_53_UDP=udp://10.96.0.10:53',
      'KUBE_DNS_PORT_53_UDP_PROTO=udp',
      'KUBE_DNS_PORT_53_UDP_PORT=53',
      'KUBE_DNS_PORT_53_UDP_ADDR=10.96.0.10',
      'KUBE_DNS_PORT_53_TCP=tcp://10.96.0.10:53',
      'KUBE_DNS_PORT_53_TCP_PROTO=tcp',
      'KUBE_DNS_PORT_53_TCP_PORT=53',
      'KUBE_DNS_PORT_53_TCP_ADDR=10.96.0.10',
      'KUBE_DNS_PORT_9153_TCP=tcp://10.96.0.10:9153',
      'KUBE_DNS_PORT_9153_TCP_PROTO=tcp',
      'KUBE_DNS_PORT_9153_TCP_PORT=9153',
      'KUBE_DNS_PORT_9153_TCP_ADDR=10.96.0.10',
    ]);
  });

  it('puts an IPv6 cluster IP in brackets inside URLs only, and uses the primary (first) cluster IP', () => {
    const v6 = makeService({ name: 'web', clusterIPs: ['fd00:10:96::a', '10.96.0.5'], ipFamilies: ['IPv6', 'IPv4'], ports: [port({ name: 'sctp', protocol: 'SCTP', port: 9 })] });
    expect(lines(serviceEnvVars(v6))).toEqual([
      'WEB_SERVICE_HOST=fd00:10:96::a',
      'WEB_SERVICE_PORT=9',
      'WEB_SERVICE_PORT_SCTP=9',
      'WEB_PORT=sctp://[fd00:10:96::a]:9',
      'WEB_PORT_9_SCTP=sctp://[fd00:10:96::a]:9',
      'WEB_PORT_9_SCTP_PROTO=sctp',
      'WEB_PORT_9_SCTP_PORT=9',
      'WEB_PORT_9_SCTP_ADDR=fd00:10:96::a',
    ]);
  });

  it('gives nothing for headless and ExternalName services', () => {
    expect(serviceEnvVars(makeService({ headless: true, clusterIPs: [] }))).toEqual([]);
    expect(serviceEnvVars(makeService({ type: 'ExternalName', clusterIPs: [], externalName: 'db.example.com' }))).toEqual([]);
  });

  it('upper-cases names, turns - into _, and prefixes a leading digit', () => {
    expect(envVariableName('redis-master')).toBe('REDIS_MASTER');
    expect(envVariableName('123-abc')).toBe('_123_ABC');
  });
});

describe('visibleServices', () => {
  const kube = makeService({ namespace: 'default', name: 'kubernetes', clusterIPs: ['10.96.0.1'], ports: [port({ name: 'https', port: 443 })] });
  const own = makeService({ namespace: 'team', name: 'kubernetes', clusterIPs: ['10.96.7.7'] });
  const web = makeService({ namespace: 'team', name: 'web', clusterIPs: ['10.96.0.20'] });
  const api = makeService({ namespace: 'team', name: 'api', clusterIPs: ['10.96.0.21'] });
  const other = makeService({ namespace: 'other', name: 'db', clusterIPs: ['10.96.0.30'] });
  const defaultWeb = makeService({ namespace: 'default', name: 'web', clusterIPs: ['10.96.0.40'] });
  const key = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;

  it('with links: the pod\'s namespace, sorted by name, and default/kubernetes', () => {
    expect(visibleServices([web, other, kube, api, defaultWeb], 'team', true).map(key)).toEqual(['team/api', 'default/kubernetes', 'team/web']);
  });

  it('without links: default/kubernetes alone', () => {
    expect(visibleServices([web, other, kube, api], 'team', false).map(key)).toEqual(['default/kubernetes']);
  });

  it('a kubernetes service in the pod\'s namespace overrides default/kubernetes only with links, whatever the listing order', () => {
    expect(visibleServices([own, kube], 'team', true).map(key)).toEqual(['team/kubernetes']);
    expect(visibleServices([kube, own], 'team', true).map(key)).toEqual(['team/kubernetes']);
    expect(visibleServices([own, kube], 'team', false).map(key)).toEqual(['default/kubernetes']);
  });

  it('a pod in default sees default\'s services with links', () => {
    expect(visibleServices([web, kube, defaultWeb], 'default', true).map(key)).toEqual(['default/kubernetes', 'default/web']);
    expect(visibleServices([web, kube, defaultWeb], 'default', false).map(key)).toEqual(['default/kubernetes']);
  });

  it('skips headless and ExternalName services, even a headless default/kubernetes', () => {
    const headless = makeService({ namespace: 'team', name: 'h', headless: true, clusterIPs: [] });
    const ext = makeService({ namespace: 'team', name: 'e', type: 'ExternalName', clusterIPs: [] });
    expect(serviceEnvironment([headless, ext, { ...kube, headless: true, clusterIPs: [] }], 'team', true)).toEqual([]);
  });
});
