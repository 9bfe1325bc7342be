import { describe, expect, it } from 'vitest';
import type { Node } from './types.js';
import { validateNode } from './validate-node.js';

type Raw = Record<string, unknown>;

function node(status: unknown, metadata: Raw = {}): Raw {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', ...metadata }, status };
}

describe('validateNode', () => {
  it.each<[string, Raw, Node]>([
    ['no status', node(undefined), { name: 'node-a', addresses: [], zone: undefined, labels: {} }],
    [
      'addresses and zone',
      node(
        {
          addresses: [
            { type: 'InternalIP', address: '192.168.1.10' },
            { type: 'InternalIP', address: 'FD00::10' },
            { type: 'Hostname', address: 'node-a' },
            { type: 'ExternalDNS', address: 'node-a.example.com' },
          ],
        },
        { labels: { 'topology.kubernetes.io/zone': 'zone-a', 'kubernetes.io/os': 'linux' }, namespace: 'ignored' },
      ),
      {
        name: 'node-a',
        addresses: [
          { type: 'InternalIP', address: '192.168.1.10' },
          { type: 'InternalIP', address: 'fd00::10' },
          { type: 'Hostname', address: 'node-a' },
          { type: 'ExternalDNS', address: 'node-a.example.com' },
        ],
        zone: 'zone-a',
        labels: { 'topology.kubernetes.io/zone': 'zone-a', 'kubernetes.io/os': 'linux' },
      },
    ],
    [
      'being deleted',
      node(undefined, { deletionTimestamp: '2026-12-04T10:00:00+01:00' }),
      { name: 'node-a', addresses: [], zone: undefined, labels: {}, deletionTimestamp: '2026-12-04T09:00:00.000Z' },
    ],
    [
      'taint keys',
      { ...node(undefined), spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733300000', effect: 'NoSchedule' }, { key: 'x', effect: 'NoExecute' }] } },
      { name: 'node-a', addresses: [], zone: undefined, labels: {}, taintKeys: ['ToBeDeletedByClusterAutoscaler', 'x'] },
    ],
  ])('%s', (_name, raw, want) => {
    const result = validateNode(raw);
    if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
    expect(result.value).toEqual(want);
  });

  it.each<[string, Raw, string, RegExp]>([
    ['missing name', node(undefined, { name: undefined }), 'metadata.name', /required/],
    ['bad name', node(undefined, { name: 'Node_A' }), 'metadata.name', /subdomain/],
    ['addresses not a list', node({ addresses: 'x' }), 'status.addresses', /expected a list/],
    ['address without type', node({ addresses: [{ address: '192.168.1.10' }] }), 'status.addresses[0].type', /required/],
    ['address without address', node({ addresses: [{ type: 'InternalIP' }] }), 'status.addresses[0].address', /required/],
    ['InternalIP not an IP', node({ addresses: [{ type: 'InternalIP', address: 'node-a' }] }), 'status.addresses[0].address', /valid IP/],
    ['deletionTimestamp not a time', node(undefined, { deletionTimestamp: 'soon' }), 'metadata.deletionTimestamp', /RFC 3339/],
    ['deletionTimestamp not a string', node(undefined, { deletionTimestamp: 5 }), 'metadata.deletionTimestamp', /string/],
    ['taint without key', { ...node(undefined), spec: { taints: [{ effect: 'NoSchedule' }] } }, 'spec.taints[0].key', /required/],
    ['zone label not a string', node(undefined, { labels: { 'topology.kubernetes.io/zone': 1 } }), 'metadata.labels[topology.kubernetes.io/zone]', /string/],
  ])('%s -> %s', (_name, raw, field, reason) => {
    const result = validateNode(raw, 'nodes.yaml:2');
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    const error = errors.find((e) => e.field === field);
    expect(error, errors.map((e) => e.message).join('; ')).toBeDefined();
    expect(error?.reason).toMatch(reason);
    expect(error?.ref.kind).toBe('Node');
    expect(error?.ref.namespace).toBe('');
    expect(error?.message.startsWith('nodes.yaml:2: Node ')).toBe(true);
  });
});
