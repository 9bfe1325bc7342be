// The eBPF mode's maps as the agent reads and writes them: a dump decoded into the
// planner's typed content, and a plan's ops applied in order. Consecutive ops of one
// kind on one map go in one batch call (10,000 writes: about 2 ms instead of 26 ms);
// batches never reorder ops, so the planner's ordering guarantee holds.
import type { BpfMap } from '../../kernel/bpf/index.js';
import {
  decodeLb4Backend, decodeLb4Key, decodeLb4ReverseNat, decodeLb4Service, decodeLb4SourceRangeKey, decodeMaglevTable, decodeU32Key,
  encodeLb4Backend, encodeLb4Key, encodeLb4ReverseNat, encodeLb4Service, encodeLb4SourceRangeKey, encodeMaglevTable, encodeU32Key,
  SOURCE_RANGE_ALLOWED,
} from './map-codec.js';
import { lb4KeyString, sourceRangeKeyString, type EbpfMapName, type EbpfMapsContent, type EbpfOp } from './maps-content.js';
import { MAP_NAMES } from './map-types.js';

/** The load-balancer maps the planner writes (the state maps belong to the programs). */
export type LbMaps = Readonly<Record<EbpfMapName, Pick<BpfMap, 'entries' | 'updateBatch' | 'deleteBatch'>>>;

export const LB_MAP_NAMES: Readonly<Record<EbpfMapName, string>> = {
  services: MAP_NAMES.services,
  backends: MAP_NAMES.backends,
  revNat: MAP_NAMES.revNat,
  sourceRanges: MAP_NAMES.sourceRanges,
  maglev: MAP_NAMES.maglev,
};

/** What the kernel holds, decoded. An entry that does not decode is dropped by the next plan (it is not ours). */
export function dumpMaps(maps: LbMaps): { content: EbpfMapsContent; undecodable: number } {
  const content: EbpfMapsContent = { services: new Map(), backends: new Map(), revNat: new Map(), sourceRanges: new Map(), maglev: new Map() };
  let undecodable = 0;
  const each = (name: EbpfMapName, f: (k: Uint8Array, v: Uint8Array) => void): void => {
    for (const [k, v] of maps[name].entries()) {
      try {
        f(k, v);
      } catch {
        undecodable++;
      }
    }
  };
  each('services', (k, v) => {
    const key = decodeLb4Key(k);
    content.services.set(lb4KeyString(key), { key, value: decodeLb4Service(v) });
  });
  each('backends', (k, v) => content.backends.set(decodeU32Key(k), decodeLb4Backend(v)));
  each('revNat', (k, v) => content.revNat.set(decodeU32Key(k), decodeLb4ReverseNat(v)));
  each('sourceRanges', (k) => {
    const key = decodeLb4SourceRangeKey(k);
    content.sourceRanges.set(sourceRangeKeyString(key), key);
  });
  each('maglev', (k, v) => content.maglev.set(decodeU32Key(k), decodeMaglevTable(v)));
  return { content, undecodable };
}

function encodeKey(op: EbpfOp): Uint8Array {
  switch (op.map) {
    case 'services':
      return encodeLb4Key(op.key);
    case 'sourceRanges':
      return encodeLb4SourceRangeKey(op.key);
    default:
      return encodeU32Key(op.key);
  }
}

function encodeValue(op: EbpfOp & { op: 'update' }): Uint8Array {
  switch (op.map) {
    case 'services':
      return encodeLb4Service(op.value);
    case 'backends':
      return encodeLb4Backend(op.value);
    case 'revNat':
      return encodeLb4ReverseNat(op.value);
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
  for (let i = 0; i < ops.length; ) {
    const first = ops[i] as EbpfOp;
    let j = i;
    while (j < ops.length && (ops[j] as EbpfOp).map === first.map && (ops[j] as EbpfOp).op === first.op) j++;
    const run = ops.slice(i, j);
    const map = maps[first.map];
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
