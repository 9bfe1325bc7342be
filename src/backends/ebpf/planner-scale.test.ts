// Scale: 10,000 service ports x 10 endpoints. Measures (printed, no thresholds)
// and checks that a one-endpoint change costs O(1) ops, full or partial.
import { describe, expect, it } from 'vitest';
import { endpointIP, serviceIP } from '../../bench/synthetic.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, ServicePortState } from '../../state/types.js';
import { endpoint, servicePort } from '../../../test/lib/state-fixtures.js';
import { emptyMapsContent } from './maps-content.js';
import { planEbpf } from './planner.js';
import type { EbpfAlgorithm } from './frontends.js';

const CTX = defaultNodeContext({ nodeName: 'node-0', nodeIPs: ['10.0.0.5'] });

function port(i: number, endpoints: number, generation = 0): ServicePortState {
  const eps = Array.from({ length: endpoints }, (_, j) => endpoint(endpointIP(i, j, j === 0 ? generation : 0), 8080, { isLocal: j % 3 === 0 }));
  eps.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  return servicePort({ namespace: `ns-${i % 50}`, serviceName: `svc-${i}`, clusterIP: serviceIP(i), nodePort: i % 10 === 0 ? 30000 + ((i / 10) % 2768) : 0, clusterEndpoints: eps });
}

function cluster(services: number, endpoints: number): DesiredState {
  const v4 = new Map<string, ServicePortState>();
  for (let i = 0; i < services; i++) {
    const sp = port(i, endpoints);
    v4.set(sp.key, sp);
  }
  return { IPv4: v4, IPv6: new Map() };
}

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const out = f();
  return [out, performance.now() - t0];
}

function scale(services: number, algorithm: EbpfAlgorithm): void {
  const desired = cluster(services, 10);
  const label = `${services} x 10 (${algorithm})`;
  const [first, tFull] = time(() => planEbpf(desired, CTX, emptyMapsContent(), { algorithm }));
  const [again, tResync] = time(() => planEbpf(desired, CTX, first.content, { algorithm }));
  expect(again.ops.length).toBe(0);

  // One endpoint of one (non-NodePort) service replaced.
  const i = Math.floor(services / 2) + 1;
  const changed = port(i, 10, 1);
  const next: DesiredState = { IPv4: new Map(desired.IPv4).set(changed.key, changed), IPv6: desired.IPv6 };
  const [full1, tFull1] = time(() => planEbpf(next, CTX, first.content, { algorithm }));
  const [part1, tPart1] = time(() => planEbpf(next, CTX, first.content, { algorithm, changed: new Set([changed.key]), memo: first.memo }));
  const expected = ['backends:update', ...(algorithm === 'maglev' ? ['maglev:update'] : []), 'services:update', 'backends:delete'];
  expect(full1.ops.map((o) => `${o.map}:${o.op}`)).toEqual(expected);
  expect(part1.ops).toEqual(full1.ops);
  expect(part1.content.services.size).toBe(first.content.services.size);
  // In place: O(changes), the copy of the maps is what the other partial plan spends its time on.
  const [part2, tPart2] = time(() => planEbpf(next, CTX, first.content, { algorithm, changed: new Set([changed.key]), memo: first.memo, inPlace: true }));
  expect(part2.ops).toEqual(full1.ops);
  expect(part2.content).toBe(first.content);

  const f = first.stats;
  console.log([
    `ebpf plan ${label}: from empty ${tFull.toFixed(0)} ms (${f.ops} ops, ${f.frontends} frontends, ${first.content.services.size} service entries, ${first.content.backends.size} backends, ${f.maglevTables} Maglev tables)`,
    `  full resync, no change: ${tResync.toFixed(0)} ms`,
    `  one-endpoint change: full ${tFull1.toFixed(1)} ms, partial ${tPart1.toFixed(1)} ms (copying), partial in place ${tPart2.toFixed(2)} ms; ${full1.ops.length} ops`,
  ].join('\n'));
}

describe('planEbpf at scale', () => {
  it('10,000 service ports x 10 endpoints, random', () => {
    scale(10_000, 'random');
  });

  it('1,000 service ports x 10 endpoints, Maglev', () => {
    scale(1_000, 'maglev');
  });
});
