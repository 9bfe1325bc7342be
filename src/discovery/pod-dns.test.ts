import { describe, expect, it } from 'vitest';
import type { Pod } from '../model/pod.js';
import { formatResolvConf, mergeOptions, podDNSConfig, type NodeDNSSettings } from './pod-dns.js';
import { podFromText } from './pod-file.js';

const pod = (p: Partial<Pod> = {}): Pod => ({
  namespace: 'team', name: 'p', enableServiceLinks: true, hostNetwork: false, dnsPolicy: 'ClusterFirst', dnsConfig: undefined, containers: [{ name: 'c', env: [] }], ...p,
});
const host = { nameservers: ['192.0.2.1', '192.0.2.2'], searches: ['corp.example'], options: ['timeout:1'] };
const node: NodeDNSSettings = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', host };
const file = (p: Pod, n: NodeDNSSettings = node): string => formatResolvConf(podDNSConfig(p, n).config);

// The document's pod with custom DNS (service/networking/custom-dns.yaml), as printed there.
const DNS_EXAMPLE = `apiVersion: v1
kind: Pod
metadata:
  namespace: default
  name: dns-example
spec:
  containers:
    - name: test
      image: nginx
  dnsPolicy: "None"
  dnsConfig:
    nameservers:
      - 1.2.3.4
    searches:
      - ns1.svc.cluster-domain.example
      - my.dns.search.suffix
    options:
      - name: ndots
        value: "2"
      - name: edns0
`;

describe('podDNSConfig', () => {
  it('the document\'s dns-example pod gives exactly the document\'s resolv.conf', () => {
    const { pod: p } = podFromText(DNS_EXAMPLE, 'custom-dns.yaml');
    expect(file(p)).toBe('nameserver 1.2.3.4\nsearch ns1.svc.cluster-domain.example my.dns.search.suffix\noptions ndots:2 edns0\n');
  });

  it('ClusterFirst: the cluster DNS servers, the cluster search path before the host\'s, ndots:5 (host options dropped)', () => {
    expect(file(pod())).toBe('nameserver 10.96.0.10\nsearch team.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n');
  });

  it('ClusterFirst removes a host search domain that repeats the cluster\'s', () => {
    expect(file(pod(), { ...node, host: { ...host, searches: ['cluster.local', 'corp.example'] } })).toContain('search team.svc.cluster.local svc.cluster.local cluster.local corp.example\n');
  });

  it('ClusterFirst with no cluster domain keeps the host search path', () => {
    expect(file(pod(), { ...node, clusterDomain: '' })).toBe('nameserver 10.96.0.10\nsearch corp.example\noptions ndots:5\n');
  });

  it('hostNetwork with ClusterFirst falls back to Default; ClusterFirstWithHostNet stays on the cluster', () => {
    expect(file(pod({ hostNetwork: true }))).toBe('nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch corp.example\noptions timeout:1\n');
    expect(file(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }))).toContain('nameserver 10.96.0.10\n');
    expect(file(pod({ dnsPolicy: 'ClusterFirstWithHostNet' }))).toContain('nameserver 10.96.0.10\n');
  });

  it('Default uses the host\'s file as parsed', () => {
    expect(file(pod({ dnsPolicy: 'Default' }))).toBe('nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch corp.example\noptions timeout:1\n');
  });

  it('without a host file (--resolv-conf=""), Default points at the local resolver with search "."', () => {
    expect(file(pod({ dnsPolicy: 'Default' }), { ...node, host: undefined })).toBe('nameserver 127.0.0.1\nsearch .\n');
    expect(file(pod(), { ...node, host: undefined })).toBe('nameserver 10.96.0.10\nsearch team.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  });

  it('ClusterFirst without cluster DNS falls back to Default with a warning', () => {
    const r = podDNSConfig(pod(), { ...node, clusterDNS: [] });
    expect(formatResolvConf(r.config)).toBe('nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch corp.example\noptions timeout:1\n');
    expect(r.warnings).toEqual([expect.stringMatching(/Pod team\/p: no cluster DNS server configured .*falling back to Default/)]);
  });

  it('None starts empty: only dnsConfig counts', () => {
    expect(file(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['9.9.9.9'], searches: [], options: [] } }))).toBe('nameserver 9.9.9.9\n');
  });

  it('dnsConfig merges without duplicates; options by name, the pod\'s value winning', () => {
    const p = pod({ dnsConfig: { nameservers: ['10.96.0.10', '192.0.2.9'], searches: ['cluster.local', 'extra.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0', value: undefined }] } });
    expect(file(p)).toBe('nameserver 10.96.0.10\nnameserver 192.0.2.9\nsearch team.svc.cluster.local svc.cluster.local cluster.local corp.example extra.example\noptions ndots:2 edns0\n');
  });

  it('mergeOptions: name-only and name:value options, a later value replaces in place', () => {
    expect(mergeOptions(['ndots:5', 'rotate', 'timeout:2'], [{ name: 'rotate', value: undefined }, { name: 'timeout', value: '1' }, { name: 'attempts', value: '3' }])).toEqual(['ndots:5', 'rotate', 'timeout:1', 'attempts:3']);
  });

  it('cuts nameservers to 3 with a warning', () => {
    const r = podDNSConfig(pod({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['192.0.2.3', '192.0.2.4'], searches: [], options: [] } }), node);
    expect(r.config.nameservers).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(r.warnings).toEqual([expect.stringContaining('nameserver limits were exceeded (at most 3)')]);
  });

  it('cuts the search path to 32 domains, drops domains over 253 characters, trims from the end to 2048 characters', () => {
    const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
    const r1 = podDNSConfig(pod({ dnsPolicy: 'Default' }), { ...node, host: { ...host, searches: many } });
    expect(r1.config.searches).toEqual(many.slice(0, 32));
    expect(r1.warnings).toHaveLength(1);

    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`; // 255 characters
    const r2 = podDNSConfig(pod({ dnsPolicy: 'Default' }), { ...node, host: { ...host, searches: ['ok.example', long, 'also.example'] } });
    expect(r2.config.searches).toEqual(['ok.example', 'also.example']);
    expect(r2.warnings).toHaveLength(1);

    const d248 = (c: string): string => `${c.repeat(61)}.${c.repeat(61)}.${c.repeat(61)}.${c.repeat(62)}`;
    const big = 'abcdefghij'.split('').map(d248); // 10 x 248 characters: 2,489 with spaces
    const r3 = podDNSConfig(pod({ dnsPolicy: 'Default' }), { ...node, host: { ...host, searches: big } });
    expect(r3.config.searches).toEqual(big.slice(0, 8)); // 8 x 248 + 7 = 1,991; a ninth would make 2,240
    expect(r3.config.searches.join(' ').length).toBeLessThanOrEqual(2048);
    expect(r3.warnings).toEqual([expect.stringContaining('search line limits were exceeded')]);
  });

  it('within limits, no warnings', () => {
    expect(podDNSConfig(pod(), node).warnings).toEqual([]);
  });
});
