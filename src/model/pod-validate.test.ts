import { describe, expect, it } from 'vitest';
import { validatePod } from './pod-validate.js';

const base = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p' }): unknown => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers: [{ name: 'c' }], ...spec } });
const problems = (raw: unknown): string[] => {
  const r = validatePod(raw, 'pod.yaml:1');
  return r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.reason}`);
};

describe('validatePod', () => {
  it('applies the API\'s defaults', () => {
    const r = validatePod(base({}));
    expect(r).toEqual({ ok: true, warnings: [], pod: { namespace: 'default', name: 'p', enableServiceLinks: true, hostNetwork: false, dnsPolicy: 'ClusterFirst', dnsConfig: undefined, containers: [{ name: 'c', env: [] }] } });
  });

  it('reads namespace, links, host network, policy, dnsConfig and env', () => {
    const r = validatePod(
      base(
        {
          enableServiceLinks: false,
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          dnsConfig: { nameservers: ['2001:db8::1'], searches: ['a.example.'], options: [{ name: 'ndots', value: '1' }, { name: 'edns0' }] },
          containers: [{ name: 'app', env: [{ name: 'A', value: 'x' }, { name: 'B' }, { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }] }],
        },
        { name: 'p', namespace: 'team' },
      ),
    );
    expect(r.ok && r.pod).toEqual({
      namespace: 'team', name: 'p', enableServiceLinks: false, hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet',
      dnsConfig: { nameservers: ['2001:db8::1'], searches: ['a.example.'], options: [{ name: 'ndots', value: '1' }, { name: 'edns0', value: undefined }] },
      containers: [{ name: 'app', env: [{ name: 'A', value: 'x' }, { name: 'B', value: '' }, { name: 'NS', fieldRef: 'metadata.namespace' }] }],
    });
  });

  it('dnsPolicy None without nameservers is refused, naming the field', () => {
    expect(problems(base({ dnsPolicy: 'None' }))).toEqual(['spec.dnsConfig: must provide at least one DNS nameserver when DNS policy is None']);
    expect(problems(base({ dnsPolicy: 'None', dnsConfig: { searches: ['a.example'] } }))).toEqual(['spec.dnsConfig.nameservers: must provide at least one DNS nameserver when DNS policy is None']);
  });

  it('an unknown dnsPolicy is ClusterFirst with a warning naming dnsPolicy', () => {
    const r = validatePod(base({ dnsPolicy: 'Clusterfirst' }));
    expect(r.ok && r.pod.dnsPolicy).toBe('ClusterFirst');
    expect(r.ok && r.warnings).toEqual([expect.stringContaining('spec.dnsPolicy: unsupported value "Clusterfirst"')]);
  });

  it('reports every bad field at once', () => {
    expect(
      problems(
        base({
          enableServiceLinks: 'yes',
          dnsConfig: { nameservers: ['1.2.3', 7], searches: ['Bad_Domain', 'ok.example'], options: [{ value: '1' }, { name: 'nd ots' }, { name: 'ndots', value: '1\nnameserver 6.6.6.6' }] },
          containers: [{ name: 'c', env: [{ value: 'x' }, { name: 'A=B' }, { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'F', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] }, { name: 'c' }],
        }),
      ),
    ).toEqual([
      'spec.enableServiceLinks: expected a boolean, got string "yes"',
      'spec.dnsConfig.nameservers[1]: expected a string, got number 7',
      'spec.dnsConfig.nameservers[0]: invalid value "1.2.3": must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)',
      expect.stringMatching(/^spec\.dnsConfig\.searches\[0\]: invalid value "Bad_Domain": a lowercase RFC 1123 subdomain/),
      'spec.dnsConfig.options[0].name: required value',
      'spec.dnsConfig.options[1].name: invalid value "nd ots": must not contain whitespace, \':\', \'#\' or \';\'',
      'spec.dnsConfig.options[2].value: invalid value "1\\nnameserver 6.6.6.6": must not contain whitespace, \'#\' or \';\'',
      'spec.containers[0].env[0].name: required value',
      'spec.containers[0].env[1].name: invalid value "A=B": must consist of printable ASCII characters except \'=\'',
      expect.stringMatching(/^spec\.containers\[0\]\.env\[2\]\.valueFrom\.secretKeyRef: not supported off-cluster/),
      expect.stringMatching(/^spec\.containers\[0\]\.env\[3\]\.valueFrom\.fieldRef\.fieldPath: unsupported value "status\.podIP"/),
      'spec.containers[1].name: duplicate value "c"',
    ]);
  });

  it('names the object in messages', () => {
    const r = validatePod(base({ containers: [] }, { name: 'web', namespace: 'team' }), 'pod.yaml:3');
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toEqual(['pod.yaml:3: Pod team/web: spec.containers: required value: a Pod has at least one container']);
  });

  it('refuses a document that is not a Pod, or has no spec or name', () => {
    expect(problems({ kind: 'Service', metadata: { name: 'x' }, spec: { containers: [{ name: 'c' }] } })).toEqual(['kind: expected "Pod", got string "Service"']);
    expect(problems({ kind: 'Pod', metadata: { name: 'x' } })).toContain('spec: required value');
    expect(problems({ kind: 'Pod', metadata: {}, spec: { containers: [{ name: 'c' }] } })).toEqual(['metadata.name: required value']);
  });
});
