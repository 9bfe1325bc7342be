// Every bundled example must validate cleanly, and mean what its README says.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { cidrContains } from './ip.js';
import type { EndpointSlice, Service } from './types.js';
import { type ModelObject, validateObject } from './validate.js';

const EXAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml')).sort();

function load(file: string): ModelObject[] {
  const text = readFileSync(join(EXAMPLES_DIR, file), 'utf8');
  const objects: ModelObject[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (!('toJS' in doc)) return;
    expect(doc.errors, `${file}: YAML errors`).toEqual([]);
    const result = validateObject(doc.toJS(), `${file}#${i}`);
    expect(result.errors.map((e) => e.message)).toEqual([]);
    objects.push(...result.objects);
  });
  return objects;
}

function services(objects: ModelObject[]): Service[] {
  return objects.flatMap((o) => (o.kind === 'Service' ? [o.value] : []));
}

function slices(objects: ModelObject[]): EndpointSlice[] {
  return objects.flatMap((o) => (o.kind === 'EndpointSlice' ? [o.value] : []));
}

function theService(file: string): { service: Service; slices: EndpointSlice[] } {
  const objects = load(file);
  const found = services(objects);
  expect(found).toHaveLength(1);
  const service = found[0];
  if (!service) throw new Error(`${file}: no service`);
  return { service, slices: slices(objects) };
}

describe('examples', () => {
  it('has the README and every scenario', () => {
    const readme = readFileSync(join(EXAMPLES_DIR, 'README.md'), 'utf8');
    expect(files.length).toBeGreaterThanOrEqual(11);
    for (const file of files) expect(readme, `README lists ${file}`).toContain(`(${file})`);
  });

  it.each(files)('%s validates with zero errors, with consistent addresses', (file) => {
    const { service, slices } = theService(file);
    for (const ip of service.clusterIPs) expect(cidrContains('10.96.0.0/16', ip)).toBe(true);
    for (const slice of slices) {
      expect(slice.serviceName).toBe(service.name);
      expect(slice.namespace).toBe(service.namespace);
      for (const endpoint of slice.endpoints) {
        const [ip] = endpoint.addresses;
        if (endpoint.nodeName === 'node-a') expect(cidrContains('10.244.1.0/24', ip ?? '')).toBe(true);
        else if (endpoint.nodeName === 'node-b') expect(cidrContains('10.244.2.0/24', ip ?? '')).toBe(true);
        else expect(slice.origin).toBe('Endpoints');
      }
    }
  });

  it('names and cluster IPs are unique across files (the directory loads as one)', () => {
    const all = files.flatMap(load);
    const keys = all.map((o) => `${o.kind} ${'namespace' in o.value ? o.value.namespace : ''}/${o.value.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    const ips = services(all).flatMap((s) => s.clusterIPs);
    expect(new Set(ips).size).toBe(ips.length);
    // One pod per endpoint address in the demo: two services sharing one would share its pod.
    const endpoints = slices(all).flatMap((sl) => sl.endpoints.flatMap((e) => e.addresses));
    expect(endpoints.filter((ip, i) => endpoints.indexOf(ip) !== i)).toEqual([]);
  });

  it('selector.yaml: my-service TCP 80 -> 9376 with 3 endpoints on two nodes', () => {
    const { service, slices } = theService('selector.yaml');
    expect(service.name).toBe('my-service');
    expect(service.selector).toBeDefined();
    expect(service.ports).toEqual([{ name: '', protocol: 'TCP', port: 80, targetPort: 9376, nodePort: 0 }]);
    expect(slices.flatMap((s) => s.endpoints.map((e) => e.nodeName))).toEqual(['node-a', 'node-a', 'node-b']);
  });

  it('selectorless.yaml: no selector, Endpoints 192.0.2.42:9376', () => {
    const { service, slices } = theService('selectorless.yaml');
    expect(service.selector).toBeUndefined();
    expect(slices.map((s) => [s.origin, s.endpoints.flatMap((e) => e.addresses), s.ports.map((p) => p.port)])).toEqual([
      ['Endpoints', ['192.0.2.42'], [9376]],
    ]);
  });

  it.each<[string, (s: Service) => unknown, unknown]>([
    ['multi-port.yaml', (s) => s.ports.map((p) => `${p.name} ${p.port}->${p.targetPort}`), ['http 80->9376', 'https 443->9377']],
    ['nodeport.yaml', (s) => [s.type, s.ports[0]?.nodePort], ['NodePort', 30080]],
    ['loadbalancer.yaml', (s) => [s.type, s.loadBalancerIngressIPs, s.loadBalancerSourceRanges.length > 0], ['LoadBalancer', ['146.148.47.155'], true]],
    ['session-affinity.yaml', (s) => [s.sessionAffinity, s.affinityTimeoutSeconds], ['ClientIP', 600]],
    ['headless.yaml', (s) => [s.headless, s.clusterIPs], [true, []]],
    ['external-name.yaml', (s) => [s.type, s.externalName, s.clusterIPs], ['ExternalName', 'my.database.example.com', []]],
    ['dns.yaml', (s) => s.ports.map((p) => `${p.protocol}/${p.port}`), ['UDP/53', 'TCP/53']],
    ['local-traffic-policy.yaml', (s) => [s.externalTrafficPolicy, s.type], ['Local', 'NodePort']],
    ['named-target-port.yaml', (s) => s.ports[0]?.targetPort, 'http-web'],
  ])('%s shows its scenario', (file, pick, want) => {
    expect(pick(theService(file).service)).toEqual(want);
  });

  it('ingress.yaml: an Ingress for web.example.com / to web:80, whose endpoints serve 8080', () => {
    const objects = load('ingress.yaml');
    const ingress = objects.flatMap((o) => (o.kind === 'Ingress' ? [o.value] : []));
    expect(ingress.map((i) => i.rules.map((r) => [r.host, r.paths.map((p) => [p.path, p.pathType, p.backend])]))).toEqual([
      [['web.example.com', [['/', 'Prefix', { service: 'web', port: 80 }]]]],
    ]);
    expect(theService('ingress.yaml').service.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 }]);
  });
});
