// Random and mangled buffers through every decoder: the only acceptable
// failure is NetlinkDecodeError, and every call must return (a 0-length
// attribute or a 0 nlmsg_len must not loop). Seeded, so failures reproduce.

import { describe, expect, it } from 'vitest';
import { AttributeDecoder, parseAck, parseDone, parseMessages, type NetlinkMessage } from './codec.js';
import { NetlinkDecodeError } from './errors.js';
import { decodeFamily, encodeGetFamily } from './genl.js';
import { encodeGetInfo, encodeNewDestination, encodeNewService } from './ipvs-messages.js';
import { decodeDestinationMessage, decodeInfo, decodeServiceMessage } from './ipvs-replies.js';
import { decodeAddress, decodeLink, encodeNewAddress, encodeNewLink } from './rtnetlink-messages.js';
import { seededRandom } from '../../util/seeded-random.js';


/** Walks attributes recursively, reading each as every type would. */
function walk(ad: AttributeDecoder, depth: number): void {
  while (ad.next()) {
    for (const read of [() => ad.u8(), () => ad.u16(), () => ad.u32(), () => ad.u64(), () => ad.string(), () => ad.address(), () => ad.inetAddr(true)]) {
      tolerate(read);
    }
    if (depth < 4) tolerate(() => walk(ad.nested(), depth + 1));
  }
}

const DECODERS: ((m: NetlinkMessage) => unknown)[] = [
  parseAck,
  parseDone,
  decodeFamily,
  (m) => decodeServiceMessage(m),
  (m) => decodeDestinationMessage(m),
  (m) => decodeDestinationMessage(m, 'IPv6'),
  decodeInfo,
  decodeLink,
  decodeAddress,
  (m) => walk(new AttributeDecoder(m.data), 0),
  (m) => walk(new AttributeDecoder(m.data.subarray(4)), 0),
];

function tolerate(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof NetlinkDecodeError)) throw err;
  }
}

function decodeAll(buf: Uint8Array): void {
  let msgs: NetlinkMessage[];
  try {
    msgs = parseMessages(buf);
  } catch (err) {
    if (err instanceof NetlinkDecodeError) return;
    throw err;
  }
  for (const m of msgs) for (const decode of DECODERS) tolerate(() => decode(m));
}

const svc = { af: 'IPv4' as const, protocol: 'TCP' as const, address: '10.0.0.1', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
const SEEDS: Uint8Array[] = [
  encodeGetFamily(1, 'IPVS'),
  encodeNewService(0x20, 1, svc),
  encodeNewDestination(0x20, 2, svc, { address: '2001:db8::1', port: 8080, forwardMethod: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }),
  encodeGetInfo(0x20, 3),
  encodeNewLink(4, 'kube-ipvs0', 'dummy'),
  encodeNewAddress(5, 1, '2001:db8::10'),
];

describe('decoders under random and mangled input', () => {
  it('survive random buffers', () => {
    const rand = seededRandom(1);
    for (let i = 0; i < 3000; i++) {
      const buf = new Uint8Array(Math.floor(rand() * 200));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
      if (buf.length >= 16 && rand() < 0.7) new DataView(buf.buffer).setUint32(0, buf.length - Math.floor(rand() * 8), true);
      expect(() => decodeAll(buf)).not.toThrow();
    }
  });

  it('survive truncation, byte flips and length tampering of real messages', () => {
    const rand = seededRandom(2);
    for (let i = 0; i < 3000; i++) {
      const seed = SEEDS[i % SEEDS.length]!;
      const buf = seed.slice(0, rand() < 0.3 ? Math.floor(rand() * seed.length) : seed.length);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips && buf.length > 0; f++) {
        const at = Math.floor(rand() * buf.length);
        buf[at] = rand() < 0.5 ? Math.floor(rand() * 256) : 0; // zeros make 0-length attributes
      }
      // Re-fix nlmsg_len half the time, so that attribute damage gets past framing.
      if (buf.length >= 16 && rand() < 0.5) new DataView(buf.buffer).setUint32(0, buf.length, true);
      expect(() => decodeAll(buf)).not.toThrow();
    }
  });

  it('reject a 0-length attribute and a 0 nlmsg_len', () => {
    const zeroAttr = new Uint8Array(24);
    new DataView(zeroAttr.buffer).setUint32(0, 24, true);
    const [msg] = parseMessages(zeroAttr);
    expect(() => new AttributeDecoder(msg!.data).next()).toThrow(NetlinkDecodeError);
    expect(() => parseMessages(new Uint8Array(16))).toThrow(NetlinkDecodeError);
  });
});
