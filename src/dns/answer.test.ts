// The answer table, in the manner of CoreDNS's kubernetes plugin tests: one case per
// record kind and per negative, checked against a store built from model objects.
import { describe, expect, it } from 'vitest';
import type { SourceEvent } from '../sources/source.js';
import { ObjectStore } from '../state/object-store.js';
import { makeEndpoint, makeService, makeSlice } from '../state/test-builders.js';
import { ZoneResponder, type PodRecordMode, type ZoneAnswer } from './answer.js';
import { ClusterRecords } from './cluster-records.js';
import { changedServices } from './records-from-store.js';

const ZONE = 'cluster.local';

function cluster(podRecords: PodRecordMode = 'insecure'): { responder: ZoneResponder; apply: (events: SourceEvent[]) => void; records: ClusterRecords } {
  const store = new ObjectStore();
  const records = new ClusterRecords(ZONE);
  const apply = (events: SourceEvent[]): void => {
    const changed = store.apply(events);
    records.update(store, changedServices(changed), changed.namespaces);
  };
  apply([
    { type: 'service-upsert', service: makeService({ name: 'svc1', namespace: 'testns', clusterIPs: ['10.0.0.1'], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }, { name: '', protocol: 'UDP', port: 53, targetPort: 53, nodePort: 0 }] }) },
    { type: 'service-upsert', service: makeService({ name: 'dual', namespace: 'testns', clusterIPs: ['10.0.0.2', 'fd00::2'], ipFamilies: ['IPv4', 'IPv6'] }) },
    { type: 'service-upsert', service: makeService({ name: 'hdls1', namespace: 'testns', clusterIPs: [], headless: true }) },
    { type: 'slice-upsert', slice: makeSlice({ name: 'hdls1-a', namespace: 'testns', serviceName: 'hdls1', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }], endpoints: [
      makeEndpoint('172.0.0.2', { hostname: 'dup-name' }),
      makeEndpoint('172.0.0.3'),
      makeEndpoint('172.0.0.4', { ready: false }),
      makeEndpoint('172.0.0.5', { ready: false, terminating: true }),
    ] }) },
    { type: 'service-upsert', service: makeService({ name: 'notready', namespace: 'testns', clusterIPs: [], headless: true, publishNotReadyAddresses: true }) },
    { type: 'slice-upsert', slice: makeSlice({ name: 'notready-a', namespace: 'testns', serviceName: 'notready', endpoints: [makeEndpoint('172.0.1.4', { ready: false })] }) },
    { type: 'service-upsert', service: makeService({ name: 'ext', namespace: 'testns', type: 'ExternalName', clusterIPs: [], externalName: 'Example.NET', ports: [] }) },
    { type: 'service-upsert', service: makeService({ name: 'empty', namespace: 'testns', clusterIPs: [], headless: true }) },
    { type: 'synced' },
  ]);
  return { responder: new ZoneResponder(records.index, { ttl: 5, podRecords }), apply, records };
}

function local(a: ZoneAnswer): Extract<ZoneAnswer, { kind: 'local' }> {
  if (a.kind !== 'local') throw new Error('expected a local answer, got a forward');
  return a;
}

/** `name type data` lines, sorted, as dig prints them (less TTL and class). */
function lines(records: readonly { name: string; type: string; data?: unknown }[]): string[] {
  return records
    .map((r) => `${r.name} ${r.type} ${typeof r.data === 'object' && r.data !== null && !Array.isArray(r.data) ? Object.values(r.data as object).join(' ') : String(r.data)}`)
    .sort();
}

describe('ZoneResponder', () => {
  const { responder } = cluster();
  const ask = (name: string, type: string) => local(responder.answer(name, type));

  it.each([
    ['svc1.testns.svc.cluster.local.', 'A', ['svc1.testns.svc.cluster.local A 10.0.0.1']],
    ['dual.testns.svc.cluster.local.', 'A', ['dual.testns.svc.cluster.local A 10.0.0.2']],
    ['dual.testns.svc.cluster.local.', 'AAAA', ['dual.testns.svc.cluster.local AAAA fd00::2']],
    ['hdls1.testns.svc.cluster.local.', 'A', ['hdls1.testns.svc.cluster.local A 172.0.0.2', 'hdls1.testns.svc.cluster.local A 172.0.0.3']],
    ['notready.testns.svc.cluster.local.', 'A', ['notready.testns.svc.cluster.local A 172.0.1.4']],
    ['dup-name.hdls1.testns.svc.cluster.local.', 'A', ['dup-name.hdls1.testns.svc.cluster.local A 172.0.0.2']],
    ['172-0-0-3.hdls1.testns.svc.cluster.local.', 'A', ['172-0-0-3.hdls1.testns.svc.cluster.local A 172.0.0.3']],
    ['_http._tcp.svc1.testns.svc.cluster.local.', 'SRV', ['_http._tcp.svc1.testns.svc.cluster.local SRV 0 100 80 svc1.testns.svc.cluster.local']],
    ['svc1.testns.svc.cluster.local.', 'SRV', ['svc1.testns.svc.cluster.local SRV 0 50 53 svc1.testns.svc.cluster.local', 'svc1.testns.svc.cluster.local SRV 0 50 80 svc1.testns.svc.cluster.local']],
    ['_http._tcp.hdls1.testns.svc.cluster.local.', 'SRV', ['_http._tcp.hdls1.testns.svc.cluster.local SRV 0 50 8080 172-0-0-3.hdls1.testns.svc.cluster.local', '_http._tcp.hdls1.testns.svc.cluster.local SRV 0 50 8080 dup-name.hdls1.testns.svc.cluster.local']],
    ['1.0.0.10.in-addr.arpa.', 'PTR', ['1.0.0.10.in-addr.arpa PTR svc1.testns.svc.cluster.local']],
    ['2.0.0.172.in-addr.arpa.', 'PTR', ['2.0.0.172.in-addr.arpa PTR dup-name.hdls1.testns.svc.cluster.local']],
    ['2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.', 'PTR', ['2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa PTR dual.testns.svc.cluster.local']],
    ['ext.testns.svc.cluster.local.', 'CNAME', ['ext.testns.svc.cluster.local CNAME example.net']],
    ['dns-version.cluster.local.', 'TXT', ['dns-version.cluster.local TXT 1.1.0']],
    ['10-20-0-101.testns.pod.cluster.local.', 'A', ['10-20-0-101.testns.pod.cluster.local A 10.20.0.101']],
    ['fd00--101.testns.pod.cluster.local.', 'AAAA', ['fd00--101.testns.pod.cluster.local AAAA fd00::101']],
    ['cluster.local.', 'SOA', ['cluster.local SOA ns.dns.cluster.local hostmaster.cluster.local 1 7200 1800 86400 5'.replace(' 1 ', ` ${responder.soa().data.serial} `)]],
  ])('%s %s answers', (name, type, expected) => {
    const a = ask(name, type);
    expect(a.rcode).toBe('NOERROR');
    expect(lines(a.answers)).toEqual(expected);
    expect(a.authorities).toEqual([]);
  });

  it.each([
    // Names that do not exist.
    ['nosvc.testns.svc.cluster.local.', 'A'],
    ['svc1.nons.svc.cluster.local.', 'A'],
    ['nons.svc.cluster.local.', 'A'],
    ['_nope._tcp.svc1.testns.svc.cluster.local.', 'SRV'],
    ['172-0-0-4.hdls1.testns.svc.cluster.local.', 'A'], // not ready
    ['172-0-0-5.hdls1.testns.svc.cluster.local.', 'A'], // terminating
    ['x.svc1.testns.svc.cluster.local.', 'A'],
    ['other.cluster.local.', 'A'],
    // No wildcards (CoreDNS removed them).
    ['*.testns.svc.cluster.local.', 'A'],
    ['svc1.*.svc.cluster.local.', 'A'],
    ['any.svc1.testns.svc.cluster.local.', 'A'],
    // Pods: malformed address, unknown namespace.
    ['10-20-0-256.testns.pod.cluster.local.', 'A'],
    ['not-an-ip.testns.pod.cluster.local.', 'A'],
    ['10-20-0-1.nons.pod.cluster.local.', 'A'],
    ['a.10-20-0-1.testns.pod.cluster.local.', 'A'],
  ])('%s %s is NXDOMAIN with the SOA', (name, type) => {
    const a = ask(name, type);
    expect(a.rcode).toBe('NXDOMAIN');
    expect(a.answers).toEqual([]);
    expect(lines(a.authorities)).toEqual([expect.stringMatching(/^cluster\.local SOA ns\.dns\.cluster\.local hostmaster\.cluster\.local \d+ 7200 1800 86400 5$/)]);
    expect((a.authorities[0] as { ttl?: number } | undefined)?.ttl).toBe(5);
  });

  it.each([
    ['svc1.testns.svc.cluster.local.', 'AAAA'], // v4-only service
    ['svc1.testns.svc.cluster.local.', 'TXT'],
    ['testns.svc.cluster.local.', 'A'], // empty non-terminal: the namespace
    ['svc.cluster.local.', 'A'],
    ['cluster.local.', 'A'],
    ['pod.cluster.local.', 'A'],
    ['testns.pod.cluster.local.', 'A'],
    ['_tcp.svc1.testns.svc.cluster.local.', 'SRV'],
    ['empty.testns.svc.cluster.local.', 'A'], // headless without endpoints exists
    ['10-20-0-101.testns.pod.cluster.local.', 'AAAA'],
    ['dns-version.cluster.local.', 'A'],
  ])('%s %s is NODATA with the SOA', (name, type) => {
    const a = ask(name, type);
    expect(a.rcode).toBe('NOERROR');
    expect(a.answers).toEqual([]);
    expect(a.authorities.map((r) => `${r.name} ${r.type}`)).toEqual(['cluster.local SOA']);
  });

  it('keeps the question\'s case in owner names', () => {
    const a = ask('SVC1.TestNS.svc.Cluster.Local.', 'A');
    expect(lines(a.answers)).toEqual(['SVC1.TestNS.svc.Cluster.Local A 10.0.0.1']);
  });

  it('adds the targets\' addresses for SRV answers', () => {
    const a = ask('_http._tcp.hdls1.testns.svc.cluster.local.', 'SRV');
    expect(lines(a.additionals)).toEqual(['172-0-0-3.hdls1.testns.svc.cluster.local A 172.0.0.3', 'dup-name.hdls1.testns.svc.cluster.local A 172.0.0.2']);
    const b = ask('_http._tcp.svc1.testns.svc.cluster.local.', 'SRV');
    expect(lines(b.additionals)).toEqual(['svc1.testns.svc.cluster.local A 10.0.0.1']);
  });

  it('answers an ExternalName with its CNAME for A and asks for the chase', () => {
    const a = ask('ext.testns.svc.cluster.local.', 'A');
    expect(lines(a.answers)).toEqual(['ext.testns.svc.cluster.local CNAME example.net']);
    expect(a.chase).toBe('example.net');
  });

  it('forwards names outside the zone and unknown reverse names', () => {
    expect(responder.answer('example.com.', 'A').kind).toBe('forward');
    expect(responder.answer('cluster.local.example.com.', 'A').kind).toBe('forward');
    expect(responder.answer('9.9.9.9.in-addr.arpa.', 'PTR').kind).toBe('forward');
    expect(responder.answer('0.0.10.in-addr.arpa.', 'PTR').kind).toBe('forward');
  });

  it('answers names that are too long or have empty labels with NXDOMAIN', () => {
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.svc.cluster.local.`;
    expect(ask(long, 'A').rcode).toBe('NXDOMAIN');
    expect(ask('svc1..testns.svc.cluster.local.', 'A').rcode).toBe('NXDOMAIN');
    expect(ask('sv\u00e9.testns.svc.cluster.local.', 'A').rcode).toBe('NXDOMAIN');
  });
});

describe('pod record modes', () => {
  it('verified answers only addresses of endpoints in the namespace', () => {
    const { responder } = cluster('verified');
    expect(local(responder.answer('172-0-0-2.testns.pod.cluster.local', 'A')).answers).toHaveLength(1);
    expect(local(responder.answer('10-20-0-101.testns.pod.cluster.local', 'A')).rcode).toBe('NXDOMAIN');
  });

  it('disabled answers no pod names', () => {
    const { responder } = cluster('disabled');
    expect(local(responder.answer('172-0-0-2.testns.pod.cluster.local', 'A')).rcode).toBe('NXDOMAIN');
  });
});

describe('incremental updates', () => {
  it('a removed service and its namespace stop resolving; a changed one answers its new address', () => {
    const { responder, apply } = cluster();
    apply([{ type: 'service-upsert', service: makeService({ name: 'svc1', namespace: 'testns', clusterIPs: ['10.0.0.9'] }) }]);
    expect(lines(local(responder.answer('svc1.testns.svc.cluster.local', 'A')).answers)).toEqual(['svc1.testns.svc.cluster.local A 10.0.0.9']);
    expect(responder.answer('1.0.0.10.in-addr.arpa', 'PTR').kind).toBe('forward');
    apply(['svc1', 'dual', 'hdls1', 'notready', 'ext', 'empty'].map((name) => ({ type: 'service-delete', namespace: 'testns', name })));
    expect(local(responder.answer('svc1.testns.svc.cluster.local', 'A')).rcode).toBe('NXDOMAIN');
    expect(local(responder.answer('testns.svc.cluster.local', 'A')).rcode).toBe('NXDOMAIN');
    expect(local(responder.answer('svc.cluster.local', 'A')).rcode).toBe('NOERROR');
  });

  it('an endpoint change touches only its service', () => {
    const { records, apply } = cluster();
    const before = records.index.lookup('svc1.testns.svc.cluster.local');
    apply([{ type: 'slice-upsert', slice: makeSlice({ name: 'hdls1-a', namespace: 'testns', serviceName: 'hdls1', endpoints: [makeEndpoint('172.0.0.9')] }) }]);
    expect(records.index.lookup('svc1.testns.svc.cluster.local')).toBe(before);
    expect(records.index.lookup('hdls1.testns.svc.cluster.local')?.filter((r) => r.type === 'A')).toEqual([{ type: 'A', data: '172.0.0.9' }]);
    expect(records.index.lookup('dup-name.hdls1.testns.svc.cluster.local')).toBeUndefined();
  });
});

describe('Namespace objects', () => {
  it('make a namespace without services exist: NODATA for it, pod names in it; gone again when deleted', () => {
    const { responder, apply } = cluster();
    expect(local(responder.answer('quiet.svc.cluster.local', 'A')).rcode).toBe('NXDOMAIN');
    apply([{ type: 'namespace-upsert', namespace: { name: 'quiet' } }]);
    expect(local(responder.answer('quiet.svc.cluster.local', 'A'))).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(lines(local(responder.answer('10-1-2-3.quiet.pod.cluster.local', 'A')).answers)).toEqual(['10-1-2-3.quiet.pod.cluster.local A 10.1.2.3']);
    expect(local(responder.answer('web.quiet.svc.cluster.local', 'A')).rcode).toBe('NXDOMAIN');
    apply([{ type: 'namespace-delete', name: 'quiet' }]);
    expect(local(responder.answer('quiet.svc.cluster.local', 'A')).rcode).toBe('NXDOMAIN');
    expect(local(responder.answer('10-1-2-3.quiet.pod.cluster.local', 'A')).rcode).toBe('NXDOMAIN');
  });

  it('a namespace with services outlives its Namespace object\'s deletion (services still name it)', () => {
    const { responder, apply } = cluster();
    apply([{ type: 'namespace-upsert', namespace: { name: 'testns' } }, { type: 'namespace-delete', name: 'testns' }]);
    expect(local(responder.answer('testns.svc.cluster.local', 'A')).rcode).toBe('NOERROR');
  });
});
