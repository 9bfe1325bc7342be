// Per-struct names for the codecs of map-table.ts, for tests that write or read one
// struct at a time (test/ebpf); the agent itself goes through EBPF_MAPS.
import { EBPF_MAPS as M } from './map-table.js';

export { MapCodecError, PROTOCOL_NUMBERS, protocolFromNumber } from './map-fields.js';
export { affinityClientIdForIPv4, affinityClientIdForIPv6 } from './map-special-codecs.js';

export const { encode: encodeU32Key, decode: decodeU32Key } = M.backends.key;
export const { encode: encodeLb4Key, decode: decodeLb4Key } = M.services.key;
export const { encode: encodeLb6Key, decode: decodeLb6Key } = M.services6.key;
export const { encode: encodeLb4Service, decode: decodeLb4Service } = M.services.value;
export const { encode: encodeLb4Backend, decode: decodeLb4Backend } = M.backends.value;
export const { encode: encodeLb6Backend, decode: decodeLb6Backend } = M.backends6.value;
export const { encode: encodeLb4ReverseNat, decode: decodeLb4ReverseNat } = M.revNat.value;
export const { encode: encodeLb6ReverseNat, decode: decodeLb6ReverseNat } = M.revNat6.value;
export const { encode: encodeLb4SourceRangeKey, decode: decodeLb4SourceRangeKey } = M.sourceRanges.key;
export const { encode: encodeLb6SourceRangeKey, decode: decodeLb6SourceRangeKey } = M.sourceRanges6.key;
export const { encode: encodeMaglevTable, decode: decodeMaglevTable } = M.maglev.value;
export const { encode: encodeLb4AffinityKey, decode: decodeLb4AffinityKey } = M.affinity.key;
export const { encode: encodeLbAffinityValue, decode: decodeLbAffinityValue } = M.affinity.value;
export const { encode: encodeCt4Key, decode: decodeCt4Key } = M.conntrack.key;
export const { encode: encodeCt4Value, decode: decodeCt4Value } = M.conntrack.value;
export const { encode: encodeCt6Key, decode: decodeCt6Key } = M.conntrack6.key;
export const { encode: encodeCt6Value, decode: decodeCt6Value } = M.conntrack6.value;
export const { encode: encodeSock4RevKey, decode: decodeSock4RevKey } = M.sockRevNat.key;
export const { encode: encodeSock4RevValue, decode: decodeSock4RevValue } = M.sockRevNat.value;
export const { encode: encodeSock6RevKey, decode: decodeSock6RevKey } = M.sockRevNat6.key;
export const { encode: encodeSock6RevValue, decode: decodeSock6RevValue } = M.sockRevNat6.value;

/** The value of every source-range entry: present means allowed. */
export const SOURCE_RANGE_ALLOWED = M.sourceRanges.value.encode(1);
