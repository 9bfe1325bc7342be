import { describe, expect, it } from 'vitest';
import { ValidationError } from '../model/errors.js';
import { invalidObjectEvent, regardingOf } from './kubernetes-events.js';

const NOW = new Date('2026-12-04T05:10:00.123Z');

describe('invalidObjectEvent', () => {
  it('builds an events.k8s.io/v1 Warning referring to the object by kind, apiVersion, name, uid and version', () => {
    const regarding = regardingOf('EndpointSlice', { metadata: { namespace: 'shop', name: 'web-abc', uid: 'u-1', resourceVersion: '42' } });
    const error = new ValidationError({ kind: 'EndpointSlice', namespace: 'shop', name: 'web-abc' }, 'endpoints[0].addresses[0]', 'not an IPv4 address', 'kubernetes');
    const event = invalidObjectEvent(regarding, [error], 'node-a', NOW);
    expect(event).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'shop' },
      eventTime: '2026-12-04T05:10:00.123000Z',
      reportingController: 'svcplane.io/svcplane',
      reportingInstance: 'svcplane-node-a',
      action: 'Validate',
      reason: 'InvalidEndpointSlice',
      type: 'Warning',
      note: 'svcplane skips this EndpointSlice: endpoints[0].addresses[0]: not an IPv4 address',
      regarding: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', namespace: 'shop', name: 'web-abc', uid: 'u-1', resourceVersion: '42' },
    });
    expect(String((event['metadata'] as Record<string, unknown>)['name'])).toMatch(/^web-abc\.[0-9a-f]+$/);
  });

  it('keeps the note within 1 kB (never splitting a character) and the name within 253 characters', () => {
    const name = 'a'.repeat(253);
    const errors = Array.from({ length: 40 }, (_, i) => new ValidationError({ kind: 'Service', namespace: 'ns', name }, `spec.ports[${i}].name`, 'ungültiger Name ✗'));
    const event = invalidObjectEvent(regardingOf('Service', { metadata: { namespace: 'ns', name } }), errors, 'n'.repeat(200), NOW);
    const note = String(event['note']);
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
    expect(note.endsWith('...')).toBe(true);
    expect(note).not.toContain('\uFFFD');
    expect(String((event['metadata'] as Record<string, unknown>)['name']).length).toBeLessThanOrEqual(253);
    expect(String(event['reportingInstance']).length).toBeLessThanOrEqual(128);
    expect((event['regarding'] as Record<string, unknown>)['uid']).toBeUndefined();
  });
});
