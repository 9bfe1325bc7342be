// The user data nft attaches to sets (libnftnl's TLVs: { u8 type; u8 len;
// value }, integers in host order). The kernel keeps it opaque; nft reads it
// back to print a set as it was declared (key byte order, `typeof`), so sets
// created over netlink carry what `nft -f` would have written.

// enum nftnl_udata_set_types
const NFTNL_UDATA_SET_KEYBYTEORDER = 0;
const NFTNL_UDATA_SET_DATABYTEORDER = 1;
const NFTNL_UDATA_SET_KEY_TYPEOF = 3;
const NFTNL_UDATA_SET_DATA_TYPEOF = 4;
const NFTNL_UDATA_SET_DATA_INTERVAL = 6;
// nft's typeof encoding: an expression id, then its own attributes.
const NFTNL_UDATA_SET_TYPEOF_EXPR = 0;
const NFTNL_UDATA_SET_TYPEOF_DATA = 1;
// nft's enum expr_types / proto_desc_id and its header field indexes.
const EXPR_PAYLOAD = 7;
const EXPR_CONCAT = 13;
const EXPR_NUMGEN = 23;
const NFT_NG_RANDOM = 1;
const PROTO_DESC = { udp: 6, tcp: 8, sctp: 10, ip: 12, ip6: 13 } as const;
const DADDR_FIELD = { ip: 12, ip6: 9 } as const; // IPHDR_DADDR, IP6HDR_DADDR
const DPORT_FIELD = 2; // TCPHDR_DPORT, UDPHDR_DPORT, SCTPHDR_DPORT
// enum byteorder
const BYTEORDER_INVALID = 0;
const BYTEORDER_HOST_ENDIAN = 1;
const BYTEORDER_BIG_ENDIAN = 2;

type Tlv = readonly [number, Uint8Array | readonly Tlv[]];

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

function encode(tlvs: readonly Tlv[]): Uint8Array {
  const parts: number[] = [];
  for (const [type, value] of tlvs) {
    const bytes = value instanceof Uint8Array ? value : encode(value);
    if (bytes.length > 255) throw new RangeError(`user data attribute of ${bytes.length} bytes`);
    parts.push(type, bytes.length, ...bytes);
  }
  return new Uint8Array(parts);
}

/** A plain set of addresses (`type ipv4_addr`): its key is big-endian. */
export function addressSetUserdata(): Uint8Array {
  return encode([[NFTNL_UDATA_SET_KEYBYTEORDER, u32(BYTEORDER_BIG_ENDIAN)]]);
}

/** `typeof numgen random mod M : ip daddr . tcp dport` (or ip6, udp, sctp). */
export function numgenToAddrPortUserdata(family: 'ip' | 'ip6', protocol: 'tcp' | 'udp' | 'sctp', modulus: number): Uint8Array {
  const payload = (desc: number, field: number): Tlv[] => [
    [NFTNL_UDATA_SET_TYPEOF_EXPR, u32(EXPR_PAYLOAD)],
    [NFTNL_UDATA_SET_TYPEOF_DATA, [[0, u32(desc)], [1, u32(field)]]],
  ];
  return encode([
    [NFTNL_UDATA_SET_KEYBYTEORDER, u32(BYTEORDER_HOST_ENDIAN)],
    [NFTNL_UDATA_SET_DATABYTEORDER, u32(BYTEORDER_INVALID)],
    [NFTNL_UDATA_SET_KEY_TYPEOF, [
      [NFTNL_UDATA_SET_TYPEOF_EXPR, u32(EXPR_NUMGEN)],
      [NFTNL_UDATA_SET_TYPEOF_DATA, [[0, u32(NFT_NG_RANDOM)], [1, u32(modulus)], [2, u32(0)]]],
    ]],
    [NFTNL_UDATA_SET_DATA_TYPEOF, [
      [NFTNL_UDATA_SET_TYPEOF_EXPR, u32(EXPR_CONCAT)],
      [NFTNL_UDATA_SET_TYPEOF_DATA, [
        [0, payload(PROTO_DESC[family], DADDR_FIELD[family])],
        [1, payload(PROTO_DESC[protocol], DPORT_FIELD)],
      ]],
    ]],
    [NFTNL_UDATA_SET_DATA_INTERVAL, u32(0)],
  ]);
}
