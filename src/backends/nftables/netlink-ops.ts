// Lowers a partial sync's ops to nf_tables netlink messages: each typed rule
// to the expressions nft itself generates for its text (`nft --debug=netlink`),
// each element key to its concatenated bytes. Returns undefined for what is
// not lowered here (base chains, interval keys): the caller
// then sends the ops as `nft -f` text, which handles everything.
import type { NftExpr, NftMessage, NftVerdict } from '../../kernel/netlink/nftables-messages.js';
import {
  NFT_REG32_00, NFT_REG_1, NFT_REG_2, NFT_SET_EVAL, NFT_SET_MAP, NFT_SET_TIMEOUT, NFT_TYPE_BITS, NFT_TYPE_INET_SERVICE, NFT_TYPE_INTEGER,
  NFT_TYPE_IP6ADDR, NFT_TYPE_IPADDR, RTN_LOCAL,
} from '../../kernel/netlink/nftables-constants.js';
import { addressSetUserdata, numgenToAddrPortUserdata } from '../../kernel/netlink/nftables-userdata.js';
import { parseIP } from '../../model/ip.js';
import { safeComment } from './names.js';
import type { Action, L4Protocol, Match, NftElement, NftFamily, NftRule, NftSet, Verdict } from './objects.js';
import type { NftOp } from './partial-ops.js';

/** Elements per NEWSETELEM message: keeps each message's nested list far below 64 KiB. */
const ELEMENTS_PER_MESSAGE = 200;

const IPPROTO: Record<L4Protocol, number> = { tcp: 6, udp: 17, sctp: 132 };

function verdictOf(v: Verdict): NftVerdict {
  return v.kind === 'jump' || v.kind === 'goto' ? { code: v.kind, chain: v.chain } : { code: v.kind };
}

function addrOffset(family: NftFamily, dir: 'saddr' | 'daddr'): number {
  if (family === 'ip') return dir === 'saddr' ? 12 : 16;
  return dir === 'saddr' ? 8 : 24;
}

function u32host(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

function be16(value: number): Uint8Array {
  return new Uint8Array([value >> 8, value & 0xff]);
}

/** An address or CIDR of the table's family: its bytes and prefix length. */
function prefixOf(family: NftFamily, text: string): { bytes: Uint8Array; bits: number } | undefined {
  const [addr, len] = text.split('/');
  const parsed = addr === undefined ? undefined : parseIP(addr);
  if (parsed === undefined || (parsed.family === 'IPv6') !== (family === 'ip6')) return undefined;
  const max = parsed.bytes.length * 8;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  return { bytes: parsed.bytes, bits };
}

/** `ip saddr [!=] X[/N]`: as nft, a whole-byte prefix loads only its bytes; others are masked. */
function addrMatch(family: NftFamily, dir: 'saddr' | 'daddr', negated: boolean, value: string): NftExpr[] | undefined {
  const p = prefixOf(family, value);
  if (p === undefined || p.bits === 0) return undefined;
  const offset = addrOffset(family, dir);
  const op = negated ? 'neq' : 'eq';
  if (p.bits % 8 === 0) {
    const len = p.bits / 8;
    return [
      { type: 'payload', base: 'network', offset, len, dreg: NFT_REG_1 },
      { type: 'cmp', sreg: NFT_REG_1, op, data: p.bytes.slice(0, len) },
    ];
  }
  const mask = new Uint8Array(p.bytes.length);
  for (let i = 0; i < mask.length; i++) mask[i] = 0xff & (0xff << Math.max(0, Math.min(8, (i + 1) * 8 - p.bits)));
  const net = p.bytes.map((b, i) => b & (mask[i] ?? 0));
  return [
    { type: 'payload', base: 'network', offset, len: p.bytes.length, dreg: NFT_REG_1 },
    { type: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, mask, xor: new Uint8Array(mask.length) },
    { type: 'cmp', sreg: NFT_REG_1, op, data: net },
  ];
}

function l4protoIs(protocol: L4Protocol): NftExpr[] {
  return [
    { type: 'meta-l4proto', dreg: NFT_REG_1 },
    { type: 'cmp', sreg: NFT_REG_1, op: 'eq', data: new Uint8Array([IPPROTO[protocol]]) },
  ];
}

function lowerMatch(family: NftFamily, m: Match): NftExpr[] | undefined {
  switch (m.kind) {
    case 'addr':
      return addrMatch(family, m.dir, m.negated, m.value);
    case 'addr-set':
      return [
        { type: 'payload', base: 'network', offset: addrOffset(family, m.dir), len: family === 'ip' ? 4 : 16, dreg: NFT_REG_1 },
        { type: 'lookup', set: m.set, sreg: NFT_REG_1 },
      ];
    case 'dport':
      return [
        ...l4protoIs(m.protocol),
        { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: NFT_REG_1 },
        { type: 'cmp', sreg: NFT_REG_1, op: 'eq', data: be16(m.port) },
      ];
    case 'fib-local':
      return [
        { type: 'fib-addrtype', dir: m.dir, dreg: NFT_REG_1 },
        { type: 'cmp', sreg: NFT_REG_1, op: 'eq', data: u32host(RTN_LOCAL) },
      ];
    case 'numgen':
      return [
        { type: 'numgen-random', modulus: m.mod, dreg: NFT_REG_1 },
        { type: 'cmp', sreg: NFT_REG_1, op: 'eq', data: u32host(0) },
      ];
    // The base chains' matches: left to nft.
    case 'ct-state':
    case 'mark-clear':
    case 'ct-status-dnat':
    case 'addr-pair-set':
      return undefined;
  }
}

function lowerAction(family: NftFamily, a: Action): NftExpr[] | undefined {
  switch (a.kind) {
    case 'verdict':
      return [{ type: 'verdict', verdict: verdictOf(a.verdict) }];
    case 'dnat': {
      const p = prefixOf(family, a.ip);
      if (p === undefined || p.bits !== p.bytes.length * 8) return undefined;
      return [
        ...l4protoIs(a.protocol),
        { type: 'immediate', dreg: NFT_REG_1, data: p.bytes },
        { type: 'immediate', dreg: NFT_REG_2, data: be16(a.port) },
        { type: 'dnat', addrReg: NFT_REG_1, protoReg: NFT_REG_2 },
      ];
    }
    case 'update-saddr':
      return [
        { type: 'payload', base: 'network', offset: addrOffset(family, 'saddr'), len: family === 'ip' ? 4 : 16, dreg: NFT_REG_1 },
        { type: 'dynset-update', set: a.set, sreg: NFT_REG_1 },
      ];
    case 'dnat-map':
      // The element's data lands in NFT_REG_1 from its first byte: the address, then the port
      // in the next 4-byte register (the second word for IPv4, the fifth for IPv6), as nft does.
      return [
        ...l4protoIs(a.protocol),
        { type: 'numgen-random', modulus: a.mod, dreg: NFT_REG_1 },
        { type: 'lookup', set: a.map, sreg: NFT_REG_1, dreg: NFT_REG_1 },
        { type: 'dnat', addrReg: NFT_REG_1, protoReg: family === 'ip' ? NFT_REG32_00 + 1 : NFT_REG_2 },
      ];
    case 'reject':
    case 'vmap':
    case 'mark':
    case 'masquerade':
      return undefined;
  }
}

export function lowerRule(family: NftFamily, r: NftRule): NftExpr[] | undefined {
  const exprs: NftExpr[] = [];
  for (const m of r.match) {
    const e = lowerMatch(family, m);
    if (e === undefined) return undefined;
    exprs.push(...e);
  }
  const action = lowerAction(family, r.action);
  if (action === undefined) return undefined;
  exprs.push(...action);
  return exprs;
}

/** A set or map key: concatenated parts, each padded to 4 bytes (addresses, protocols, ports). */
export function elementKeyBytes(family: NftFamily, key: readonly (string | number)[]): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  for (const part of key) {
    if (typeof part === 'number') {
      if (!Number.isInteger(part) || part < 0 || part > 0xffff) return undefined;
      parts.push(new Uint8Array([part >> 8, part & 0xff, 0, 0]));
    } else if (part === 'tcp' || part === 'udp' || part === 'sctp') {
      parts.push(new Uint8Array([IPPROTO[part], 0, 0, 0]));
    } else {
      const p = prefixOf(family, part);
      if (p === undefined || p.bits !== p.bytes.length * 8) return undefined;
      parts.push(p.bytes);
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The sets a partial sync creates: endpoint maps and affinity sets. */
function lowerSet(family: NftFamily, s: NftSet): NftMessage | undefined {
  const flags = s.flags ?? [];
  const addrType = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const addrId = family === 'ip' ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;
  const addrLen = family === 'ip' ? 4 : 16;
  if (s.autoMerge === true || s.comment !== undefined || flags.includes('interval')) return undefined;
  if (s.map === 'endpoints' && s.protocol !== undefined && s.data === `${addrType} . inet_service` && flags.length === 0) {
    return {
      kind: 'newset', set: s.name, flags: NFT_SET_MAP, keyType: NFT_TYPE_INTEGER, keyLen: 4,
      dataType: (addrId << NFT_TYPE_BITS) | NFT_TYPE_INET_SERVICE, dataLen: addrLen + 4,
      userdata: numgenToAddrPortUserdata(family, s.protocol, 1),
    };
  }
  if (s.map !== undefined || s.type !== addrType || !flags.includes('dynamic') || !flags.includes('timeout') || s.timeout === undefined) return undefined;
  return { kind: 'newset', set: s.name, flags: NFT_SET_TIMEOUT | NFT_SET_EVAL, keyType: addrId, keyLen: addrLen, timeoutMs: s.timeout * 1000, userdata: addressSetUserdata() };
}

/** An endpoint map element: key numgen's value (host order), data address . port. */
function endpointElementBytes(family: NftFamily, e: NftElement): { key: Uint8Array; data: Uint8Array } | undefined {
  const [index] = e.key;
  const p = e.data === undefined ? undefined : prefixOf(family, e.data[0]);
  if (e.data === undefined || typeof index !== 'number' || e.key.length !== 1 || p === undefined || p.bits !== p.bytes.length * 8) return undefined;
  const port = e.data[1];
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) return undefined;
  // address . inet_service: the port big-endian, padded to 4 bytes like every concatenated part.
  const data = new Uint8Array(p.bytes.length + 4);
  data.set(p.bytes, 0);
  data.set(be16(port), p.bytes.length);
  return { key: u32host(index), data };
}

function lowerElements(family: NftFamily, set: string, elements: readonly NftElement[], add: boolean): NftMessage[] | undefined {
  const out: NftMessage[] = [];
  for (let i = 0; i < elements.length; i += ELEMENTS_PER_MESSAGE) {
    const specs = [];
    for (const e of elements.slice(i, i + ELEMENTS_PER_MESSAGE)) {
      const endpoint = e.data === undefined ? undefined : endpointElementBytes(family, e);
      const key = endpoint?.key ?? elementKeyBytes(family, e.key);
      if (key === undefined || (e.data !== undefined && endpoint === undefined)) return undefined;
      specs.push({
        key, ...(endpoint === undefined ? {} : { data: endpoint.data }), ...(e.verdict === undefined ? {} : { verdict: verdictOf(e.verdict) }),
        ...(e.comment === undefined ? {} : { comment: safeComment(e.comment) }),
      });
    }
    out.push(add ? { kind: 'newsetelem', set, elements: specs } : { kind: 'delsetelem', set, keys: specs.map((s) => s.key) });
  }
  return out;
}

/** The ops as netlink messages, or undefined when one of them is not lowered here. */
export function lowerOps(family: NftFamily, ops: readonly NftOp[]): NftMessage[] | undefined {
  const out: NftMessage[] = [];
  for (const o of ops) {
    switch (o.op) {
      case 'delete-elements':
      case 'add-elements': {
        const msgs = lowerElements(family, o.set, o.elements, o.op === 'add-elements');
        if (msgs === undefined) return undefined;
        out.push(...msgs);
        break;
      }
      case 'flush-chain':
        out.push({ kind: 'flushchain', chain: o.chain });
        break;
      case 'delete-chain':
        out.push({ kind: 'delchain', chain: o.chain });
        break;
      case 'delete-set':
        out.push({ kind: 'delset', set: o.set.name });
        break;
      case 'add-set': {
        const msg = lowerSet(family, o.set);
        if (msg === undefined) return undefined;
        out.push(msg);
        break;
      }
      case 'add-chain':
        if (o.chain.base !== undefined) return undefined;
        out.push({ kind: 'newchain', chain: o.chain.name });
        break;
      case 'add-rules':
        for (const r of o.chain.rules) {
          const exprs = lowerRule(family, r);
          if (exprs === undefined) return undefined;
          out.push({ kind: 'newrule', chain: o.chain.name, exprs, ...(r.comment === undefined ? {} : { comment: safeComment(r.comment) }) });
        }
        break;
    }
  }
  return out;
}
