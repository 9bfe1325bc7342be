// The services the DNS tests resolve: one of each kind the specification names.
import { service, slice } from './dns-fixture.js';

type Doc = Record<string, unknown>;

export function clusterDocs(): Doc[] {
  const big = Array.from({ length: 1000 }, (_, i) => ({ addresses: [`10.245.${Math.floor(i / 250)}.${(i % 250) + 1}`] }));
  return [
    service('web', 'dnstest', { clusterIP: '10.96.50.1', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'dns', protocol: 'UDP', port: 53 }] }),
    slice('web', 'dnstest', 'IPv4', [{ addresses: ['10.244.5.1'] }], [{ name: 'http', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 53 }]),
    service('dual', 'dnstest', { clusterIPs: ['10.96.50.2', 'fd00:10:96::50:2'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack', selector: { app: 'dual' }, ports: [{ port: 80 }] }),
    // No clusterIP in the manifest: allocated from the service range, as `run` allocates it.
    service('auto', 'dnstest', { selector: { app: 'auto' }, ports: [{ port: 80 }] }),
    service('db', 'dnstest', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] }),
    slice('db', 'dnstest', 'IPv4', [
      { addresses: ['10.244.6.1'], hostname: 'db-0' },
      { addresses: ['10.244.6.2'], hostname: 'db-1' },
      { addresses: ['10.244.6.3'] },
      { addresses: ['10.244.6.4'], conditions: { ready: false } },
      { addresses: ['10.244.6.5'], conditions: { ready: false, serving: true, terminating: true } },
    ], [{ name: 'pg', port: 5432 }]),
    slice('db', 'dnstest', 'IPv6', [{ addresses: ['fd00:10:244::6:1'], hostname: 'db-0' }], [{ name: 'pg', port: 5432 }]),
    // The document's example: a pod with hostname busybox-1 and subdomain default-subdomain.
    service('default-subdomain', 'dnstest', { clusterIP: 'None', selector: { name: 'busybox' }, ports: [{ name: 'foo', port: 1234 }] }),
    slice('default-subdomain', 'dnstest', 'IPv4', [{ addresses: ['10.244.7.1'], hostname: 'busybox-1' }], [{ name: 'foo', port: 1234 }]),
    service('big', 'dnstest', { clusterIP: 'None', selector: { app: 'big' }, ports: [{ port: 80 }] }),
    slice('big', 'dnstest', 'IPv4', big, [{ port: 80 }]),
    // 24 endpoints: 600 bytes uncompressed, under 512 with name compression.
    service('wide', 'dnstest', { clusterIP: 'None', selector: { app: 'wide' }, ports: [{ port: 80 }] }),
    slice('wide', 'dnstest', 'IPv4', Array.from({ length: 24 }, (_, i) => ({ addresses: [`10.246.0.${i + 1}`] })), [{ port: 80 }]),
    service('ext', 'dnstest', { type: 'ExternalName', externalName: 'ext-target.example.test' }),
    // A namespace with no services: it exists because its Namespace object does.
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quiet' } },
    service('my-service', 'my-ns', { clusterIP: '10.96.60.1', selector: { app: 'my' }, ports: [{ name: 'http', port: 80 }] }),
  ];
}
