// The eBPF mode's maps as the agent reads and writes them: a dump decoded into the
// planner's typed content, and a plan's ops applied in order. Both families share the
// content (addresses tell them apart); each op goes to its family's kernel map.
// Consecutive ops of one kind on one kernel map go in one batch call (10,000 writes:
// about 2 ms instead of 26 ms), encoded straight into the batch's buffer; batches never
// reorder ops, so the planner's ordering guarantee holds.
import type { BpfMap } from '../../kernel/bpf/index.js';
import {
  emptyMapsContent, isIPv6Address, sourceRangeKeyString, type EbpfMapName, type EbpfMapsContent, type EbpfOp,
} from './maps-content.js';
import { EBPF_MAPS, type MapKey, type MapKeyOf, type MapValueOf } from './map-table.js';

/** The kernel maps the planner writes (the state maps belong to the programs): the content's, per family. */
export const LB_MAP_KEYS = [
  'services', 'backends', 'revNat', 'sourceRanges', 'maglev', 'services6', 'backends6', 'revNat6', 'sourceRanges6',
] as const;

export type LbMapKey = (typeof LB_MAP_KEYS)[number];

export type LbMaps = Readonly<Record<LbMapKey, Pick<BpfMap, 'entries' | 'keys' | 'entryCount' | 'updatePacked' | 'deletePacked'>>>;

export const LB_MAP_NAMES: Readonly<Record<LbMapKey, string>> = openMaps(LB_MAP_KEYS, (name) => name);

/** The maps the programs write themselves (connections, affinity, socket reverse NAT): the agent only reads or flushes them. */
export const STATE_MAP_KEYS = ['conntrack', 'conntrack6', 'affinity', 'sockRevNat', 'sockRevNat6'] as const;

export type StateMapKey = (typeof STATE_MAP_KEYS)[number];

/** Opens each of `keys` by its kernel map name (a pinned path, an object's map). */
export function openMaps<K extends MapKey, M>(keys: readonly K[], open: (name: string) => M): Record<K, M> {
  return Object.fromEntries(keys.map((k) => [k, open(EBPF_MAPS[k].name)])) as Record<K, M>;
}

export interface StateMapCount {
  readonly name: string;
  readonly entries: number;
  readonly undecodable: number;
}

/** How many entries each state map holds, each decoded through the table (one that does not decode is counted apart). */
export function countStateMaps(maps: Readonly<Record<StateMapKey, Pick<BpfMap, 'entries'>>>): StateMapCount[] {
  return STATE_MAP_KEYS.map((k) => {
    const { name, key, value } = EBPF_MAPS[k];
    let entries = 0;
    let undecodable = 0;
    for (const [kb, vb] of maps[k].entries()) {
      try {
        key.decode(kb);
        value.decode(vb);
        entries++;
      } catch {
        undecodable++;
      }
    }
    return { name, entries, undecodable };
  });
}

/** Each content map's kernel maps by family. Maglev tables are keyed by rev_nat_index, one id space: one map serves both. */
const FAMILY_MAPS = {
  services: ['services', 'services6'],
  backends: ['backends', 'backends6'],
  revNat: ['revNat', 'revNat6'],
  sourceRanges: ['sourceRanges', 'sourceRanges6'],
  maglev: ['maglev', 'maglev'],
} as const satisfies Record<EbpfMapName, readonly [LbMapKey, LbMapKey]>;

/**
 * What the kernel holds, decoded. An entry that does not decode is dropped by the next plan (it is not ours);
 * so is an id found in both families' maps (the IPv4 record is kept, the other counted as undecodable).
 */
export function dumpMaps(maps: LbMaps): { content: EbpfMapsContent; undecodable: number } {
  const content = emptyMapsContent();
  let undecodable = 0;
  const each = <M extends LbMapKey>(name: M, f: (k: MapKeyOf<M>, v: MapValueOf<M>) => void): void => {
    const { key, value } = EBPF_MAPS[name];
    for (const [k, v] of maps[name].entries()) {
      try {
        f(key.decode(k), value.decode(v));
      } catch {
        undecodable++;
      }
    }
  };
  const byId = <T>(into: Map<number, T>, id: number, value: T): void => {
    if (into.has(id)) undecodable++;
    else into.set(id, value);
  };
  for (const name of FAMILY_MAPS.services) each(name, (key, value) => content.services.put(key, value));
  for (const name of FAMILY_MAPS.backends) each(name, (id, backend) => byId(content.backends, id, backend));
  for (const name of FAMILY_MAPS.revNat) each(name, (id, rnat) => byId(content.revNat, id, rnat));
  for (const name of FAMILY_MAPS.sourceRanges) each(name, (key) => content.sourceRanges.set(sourceRangeKeyString(key), key));
  each('maglev', (id, table) => content.maglev.set(id, table));
  return { content, undecodable };
}

function isIPv6Op(op: EbpfOp): boolean {
  switch (op.map) {
    case 'services':
      return isIPv6Address(op.key.address);
    case 'sourceRanges':
      return isIPv6Address(op.key.cidr);
    case 'backends':
    case 'revNat':
      return op.op === 'update' ? isIPv6Address(op.value.address) : op.family === 'IPv6';
    case 'maglev':
      return false;
  }
}

/** The kernel map an op goes to. */
export function targetMap(op: EbpfOp): LbMapKey {
  return FAMILY_MAPS[op.map][isIPv6Op(op) ? 1 : 0];
}
/** Buffers a run of ops is encoded into: key (and value) i at i times the size. */
interface RunBuffers {
  readonly keys: DataView;
  readonly values: DataView | undefined;
}

function encodeRecordInto<M extends LbMapKey>(target: M, key: MapKeyOf<M>, value: MapValueOf<M> | undefined, into: RunBuffers, i: number): void {
  const def = EBPF_MAPS[target];
  def.key.encodeInto(key, into.keys, i * def.key.size);
  if (value !== undefined && into.values !== undefined) def.value.encodeInto(value, into.values, i * def.value.size);
}

/** Encodes the op's key and (updates) value into slot i of `into`, by the codecs of its target map. */
function encodeOpInto(op: EbpfOp, family: 0 | 1, into: RunBuffers, i: number): void {
  // One case per content map so that tsc pairs each op's record types with its maps' codecs.
  switch (op.map) {
    case 'services':
      return encodeRecordInto(FAMILY_MAPS.services[family], op.key, op.op === 'update' ? op.value : undefined, into, i);
    case 'backends':
      return encodeRecordInto(FAMILY_MAPS.backends[family], op.key, op.op === 'update' ? op.value : undefined, into, i);
    case 'revNat':
      return encodeRecordInto(FAMILY_MAPS.revNat[family], op.key, op.op === 'update' ? op.value : undefined, into, i);
    case 'sourceRanges':
      return encodeRecordInto(FAMILY_MAPS.sourceRanges[family], op.key, op.op === 'update' ? op.value : undefined, into, i);
    case 'maglev':
      return encodeRecordInto('maglev', op.key, op.op === 'update' ? op.value : undefined, into, i);
  }
}

export interface ApplyStats {
  readonly writes: number;
  readonly deletes: number;
  readonly batches: number;
}

/**
 * Applies `ops` in order; throws on the first failure (the caller then plans fully from a dump).
 * Each run is encoded straight into one zeroed buffer per side (no bytes per record: at
 * 10,000 services that was most of a full sync's map-write time, and garbage).
 */
export function applyOps(maps: LbMaps, ops: readonly EbpfOp[]): ApplyStats {
  let writes = 0;
  let deletes = 0;
  let batches = 0;
  const families = ops.map((op) => (isIPv6Op(op) ? 1 : 0));
  const targets = ops.map((op, i) => FAMILY_MAPS[op.map][families[i] as 0 | 1]);
  for (let i = 0; i < ops.length; ) {
    const first = ops[i] as EbpfOp;
    const target = targets[i] as LbMapKey;
    let j = i;
    while (j < ops.length && targets[j] === target && (ops[j] as EbpfOp).op === first.op) j++;
    const count = j - i;
    const def = EBPF_MAPS[target];
    const keys = new Uint8Array(count * def.key.size);
    const values = first.op === 'update' ? new Uint8Array(count * def.value.size) : undefined;
    const into: RunBuffers = { keys: new DataView(keys.buffer), values: values === undefined ? undefined : new DataView(values.buffer) };
    for (let n = 0; n < count; n++) encodeOpInto(ops[i + n] as EbpfOp, families[i + n] as 0 | 1, into, n);
    const map = maps[target];
    if (values !== undefined) {
      map.updatePacked(keys, values, count);
      writes += count;
    } else {
      map.deletePacked(keys, count);
      deletes += count;
    }
    batches++;
    i = j;
  }
  return { writes, deletes, batches };
}
