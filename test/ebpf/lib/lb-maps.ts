// Writes services into the sandbox's maps the way the agent's planner will:
// a backend per id, slot 0 with the count, slots 1..n with backend ids, and
// the frontend's reverse-NAT entry; every byte comes from the codec. IPv6
// addresses and ranges go to the svcp_lb6_* maps, as the agent's applier sends them.
import {
  encodeLb4Backend,
  encodeLb4Key,
  encodeLb4ReverseNat,
  encodeLb4Service,
  encodeLb4SourceRangeKey,
  encodeLb6Backend,
  encodeLb6Key,
  encodeLb6ReverseNat,
  encodeLb6SourceRangeKey,
  encodeMaglevTable,
  encodeU32Key,
  SOURCE_RANGE_ALLOWED,
} from '../../../src/backends/ebpf/map-codec.js';
import { isIPv6Address } from '../../../src/backends/ebpf/maps-content.js';
import { LB_MAGLEV_LUT_SIZE, MAP_NAMES, type Lb4Backend, type LookupScope } from '../../../src/backends/ebpf/map-types.js';
import type { Protocol } from '../../../src/model/types.js';
import type { BpfSandbox } from './bpf-sandbox.js';

export interface TestFrontend {
  readonly address: string;
  readonly port: number;
  readonly proto: Protocol;
  readonly scope?: LookupScope;
  readonly flags: number;
  readonly revNatIndex: number;
  readonly backendIds: readonly number[];
  readonly affinityTimeout?: number;
  /** Default true: without it the socket programs will not reverse-translate. */
  readonly reverseNat?: boolean;
}

export async function addBackend(sandbox: BpfSandbox, id: number, backend: Lb4Backend): Promise<void> {
  if (isIPv6Address(backend.address)) await sandbox.updateMap(MAP_NAMES.backends6, encodeU32Key(id), encodeLb6Backend(backend));
  else await sandbox.updateMap(MAP_NAMES.backends, encodeU32Key(id), encodeLb4Backend(backend));
}

export async function addFrontend(sandbox: BpfSandbox, fe: TestFrontend): Promise<void> {
  const v6 = isIPv6Address(fe.address);
  const services = v6 ? MAP_NAMES.services6 : MAP_NAMES.services;
  const encodeKey = v6 ? encodeLb6Key : encodeLb4Key;
  const key = { address: fe.address, port: fe.port, proto: fe.proto, scope: fe.scope ?? 0 } as const;
  for (const [i, backendId] of fe.backendIds.entries()) {
    const slot = encodeLb4Service({ backendId, count: 0, flags: 0, revNatIndex: 0, affinityTimeout: 0 });
    await sandbox.updateMap(services, encodeKey({ ...key, slot: i + 1 }), slot);
  }
  const service = encodeLb4Service({
    backendId: 0,
    count: fe.backendIds.length,
    flags: fe.flags,
    revNatIndex: fe.revNatIndex,
    affinityTimeout: fe.affinityTimeout ?? 0,
  });
  await sandbox.updateMap(services, encodeKey({ ...key, slot: 0 }), service);
  if (fe.reverseNat ?? true) {
    const rnat = { address: fe.address, port: fe.port };
    if (v6) await sandbox.updateMap(MAP_NAMES.revNat6, encodeU32Key(fe.revNatIndex), encodeLb6ReverseNat(rnat));
    else await sandbox.updateMap(MAP_NAMES.revNat, encodeU32Key(fe.revNatIndex), encodeLb4ReverseNat(rnat));
  }
}

/** A Maglev table that sends every hash to one backend, so the test can tell Maglev was used. */
export async function addMaglevTable(sandbox: BpfSandbox, revNatIndex: number, backendId: number): Promise<void> {
  const table = new Uint32Array(LB_MAGLEV_LUT_SIZE).fill(backendId);
  await sandbox.updateMap(MAP_NAMES.maglev, encodeU32Key(revNatIndex), encodeMaglevTable(table));
}

export async function addSourceRange(sandbox: BpfSandbox, revNatIndex: number, cidr: string): Promise<void> {
  if (isIPv6Address(cidr)) await sandbox.updateMap(MAP_NAMES.sourceRanges6, encodeLb6SourceRangeKey({ revNatIndex, cidr }), SOURCE_RANGE_ALLOWED);
  else await sandbox.updateMap(MAP_NAMES.sourceRanges, encodeLb4SourceRangeKey({ revNatIndex, cidr }), SOURCE_RANGE_ALLOWED);
}
