// The eBPF mode's maps as the agent reads and writes them: a dump decoded into the
// planner's typed content, and a plan's ops applied in order. Both families share the
// content (addresses tell them apart); each op goes to its family's kernel map.
// Consecutive ops of one kind on one kernel map go in one batch call (10,000 writes:
// about 2 ms instead of 26 ms); batches never reorder ops, so the planner's ordering
// guarantee holds.
import type { BpfMap } from '../../kernel/bpf/index.js';
import {
  decodeLb4Backend, decodeLb4Key, decodeLb4ReverseNat, decodeLb4Service, decodeLb4SourceRangeKey, decodeLb6Backend, decodeLb6Key,
  decodeLb6ReverseNat, decodeLb6SourceRangeKey, decodeMaglevTable, decodeU32Key, encodeLb4Backend, encodeLb4Key, encodeLb4ReverseNat,
  encodeLb4Service, encodeLb4SourceRangeKey, encodeLb6Backend, encodeLb6Key, encodeLb6ReverseNat, encodeLb6SourceRangeKey,
  encodeMaglevTable, encodeU32Key, SOURCE_RANGE_ALLOWED,
} from './map-codec.js';
import {
  emptyMapsContent, isIPv6Address, lb4KeyString, sourceRangeKeyString, type EbpfMapsContent, type EbpfOp,
} from './maps-content.js';
import { MAP_NAMES } from './map-types.js';

/** The kernel maps the planner writes (the state maps belong to the programs): the content's, per family. */
export type LbMapKey = 'services' | 'backends' | 'revNat' | 'sourceRanges' | 'maglev' | 'services6' | 'backends6' | 'revNat6' | 'sourceRanges6';

export type LbMaps = Readonly<Record<LbMapKey, Pick<BpfMap, 'entries' | 'updateBatch' | 'deleteBatch'>>>;

export const LB_MAP_NAMES: Readonly<Record<LbMapKey, string>> = {
  services: MAP_NAMES.services,
  backends: MAP_NAMES.backends,
  revNat: MAP_NAMES.revNat,
  sourceRanges: MAP_NAMES.sourceRanges,
  maglev: MAP_NAMES.maglev,
  services6: MAP_NAMES.services6,
  backends6: MAP_NAMES.backends6,
  revNat6: MAP_NAMES.revNat6,
  sourceRanges6: MAP_NAMES.sourceRanges6,
};

/**
 * What the kernel holds, decoded. An entry that does not decode is dropped by the next plan (it is not ours);
 * so is an id found in both families' maps (the IPv4 record is kept, the other counted as undecodable).
 */
export function dumpMaps(maps: LbMaps): { content: EbpfMapsContent; undecodable: number } {
  const content = emptyMapsContent();
  let undecodable = 0;
  const each = (name: LbMapKey, f: (k: Uint8Array, v: Uint8Array) => void): void => {
    for (const [k, v] of maps[name].entries()) {
      try {
        f(k, v);
      } catch {
        undecodable++;
      }
    }
  };
  const byId = <T>(into: Map<number, T>, k: Uint8Array, value: T): void => {
    const id = decodeU32Key(k);
    if (into.has(id)) undecodable++;
    else into.set(id, value);
  };
  for (const [name, decode] of [['services', decodeLb4Key], ['services6', decodeLb6Key]] as const) {
    each(name, (k, v) => {
      const key = decode(k);
      content.services.set(lb4KeyString(key), { key, value: decodeLb4Service(v) });
    });
  }
  each('backends', (k, v) => byId(content.backends, k, decodeLb4Backend(v)));
  each('backends6', (k, v) => byId(content.backends, k, decodeLb6Backend(v)));
  each('revNat', (k, v) => byId(content.revNat, k, decodeLb4ReverseNat(v)));
  each('revNat6', (k, v) => byId(content.revNat, k, decodeLb6ReverseNat(v)));
  for (const [name, decode] of [['sourceRanges', decodeLb4SourceRangeKey], ['sourceRanges6', decodeLb6SourceRangeKey]] as const) {
    each(name, (k) => {
      const key = decode(k);
      content.sourceRanges.set(sourceRangeKeyString(key), key);
    });
  }
  each('maglev', (k, v) => content.maglev.set(decodeU32Key(k), decodeMaglevTable(v)));
  return { content, undecodable };
}

/** The kernel map an op goes to. */
export function targetMap(op: EbpfOp): LbMapKey {
  switch (op.map) {
    case 'services':
      return isIPv6Address(op.key.address) ? 'services6' : 'services';
    case 'backends':
    case 'revNat': {
      const v6 = op.op === 'update' ? isIPv6Address(op.value.address) : op.family === 'IPv6';
      return v6 ? (op.map === 'backends' ? 'backends6' : 'revNat6') : op.map;
    }
    case 'sourceRanges':
      return isIPv6Address(op.key.cidr) ? 'sourceRanges6' : 'sourceRanges';
    default:
      return op.map;
  }
}

function encodeKey(op: EbpfOp): Uint8Array {
  switch (op.map) {
    case 'services':
      return isIPv6Address(op.key.address) ? encodeLb6Key(op.key) : encodeLb4Key(op.key);
    case 'sourceRanges':
      return isIPv6Address(op.key.cidr) ? encodeLb6SourceRangeKey(op.key) : encodeLb4SourceRangeKey(op.key);
    default:
      return encodeU32Key(op.key);
  }
}

function encodeValue(op: EbpfOp & { op: 'update' }): Uint8Array {
  switch (op.map) {
    case 'services':
      return encodeLb4Service(op.value);
    case 'backends':
      return isIPv6Address(op.value.address) ? encodeLb6Backend(op.value) : encodeLb4Backend(op.value);
    case 'revNat':
      return isIPv6Address(op.value.address) ? encodeLb6ReverseNat(op.value) : encodeLb4ReverseNat(op.value);
    case 'sourceRanges':
      return SOURCE_RANGE_ALLOWED;
    case 'maglev':
      return encodeMaglevTable(op.value);
  }
}

export interface ApplyStats {
  readonly writes: number;
  readonly deletes: number;
  readonly batches: number;
}

/** Applies `ops` in order; throws on the first failure (the caller then plans fully from a dump). */
export function applyOps(maps: LbMaps, ops: readonly EbpfOp[]): ApplyStats {
  let writes = 0;
  let deletes = 0;
  let batches = 0;
  const targets = ops.map(targetMap);
  for (let i = 0; i < ops.length; ) {
    const first = ops[i] as EbpfOp;
    const target = targets[i] as LbMapKey;
    let j = i;
    while (j < ops.length && targets[j] === target && (ops[j] as EbpfOp).op === first.op) j++;
    const run = ops.slice(i, j);
    const map = maps[target];
    if (first.op === 'update') {
      map.updateBatch(run.map(encodeKey), run.map((op) => encodeValue(op as EbpfOp & { op: 'update' })));
      writes += run.length;
    } else {
      map.deleteBatch(run.map(encodeKey));
      deletes += run.length;
    }
    batches++;
    i = j;
  }
  return { writes, deletes, batches };
}
