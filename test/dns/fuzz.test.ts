// Thousands of mangled packets at the real server (UDP and TCP), then it must still answer:
// truncated headers, pointer loops, oversized labels, QDCOUNT 0 and > 1, unknown classes and
// opcodes, random bit flips of good queries, and plain noise. Seeded, so a failure reproduces.
import dgram from 'node:dgram';
import net from 'node:net';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterDocs } from './cluster-manifests.js';
import { cleanup, dig, DnsProcess, requireTool, rrs, tempDir, TEST_NET, writeManifests } from './dns-fixture.js';
import { seededRandom } from '../../src/util/seeded-random.js';

const SERVER = `${TEST_NET}.20`;
const PORT = 5353;
const SEED = 0x5eed;


function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

/** Hand-made malformed messages, one of each kind the issue lists. */
function malformed(): Buffer[] {
  const q = (name: string, type = 'A', klass = 'IN') => dnsPacket.encode({ type: 'query', id: 700, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: klass as 'IN' }] });
  const good = q('web.dnstest.svc.cluster.local');
  const loop = Buffer.concat([header(1, 0x0100, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]); // pointer to itself
  const loop2 = Buffer.concat([header(2, 0x0100, 1), Buffer.from([1, 0x61, 0xc0, 14, 0, 1, 0, 1])]); // forward pointer
  const longLabel = Buffer.concat([header(3, 0x0100, 1), Buffer.from([0x3f + 1]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
  const badLen = Buffer.concat([header(4, 0x0100, 1), Buffer.from([0x80, 0x61, 0, 0, 1, 0, 1])]); // reserved label type
  const tooLongName = Buffer.concat([header(5, 0x0100, 1), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x62)])), Buffer.from([0, 0, 1, 0, 1])]);
  const qd0 = header(6, 0x0100, 0);
  const qd2 = Buffer.concat([header(7, 0x0100, 2), good.subarray(12), good.subarray(12)]);
  const qdHuge = Buffer.concat([header(8, 0x0100, 65535), good.subarray(12)]);
  const arLies = Buffer.concat([header(9, 0x0100, 1, 0, 0, 40), good.subarray(12)]);
  const opcodes = [1, 2, 3, 4, 5, 15].map((op) => { const b = Buffer.from(good); b.writeUInt16BE((op << 11) | 0x0100, 2); return b; });
  const response = Buffer.from(good); response.writeUInt16BE(0x8100, 2);
  const nonAscii = Buffer.concat([header(10, 0x0100, 1), Buffer.from([4, 0xff, 0xfe, 0x00, 0xc3, 7]), Buffer.from('dnstest'), Buffer.from([3]), Buffer.from('svc'), Buffer.from([7]), Buffer.from('cluster'), Buffer.from([5]), Buffer.from('local'), Buffer.from([0, 0, 1, 0, 1])]);
  return [
    Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(11), good.subarray(0, 12), good.subarray(0, 20), good.subarray(0, good.length - 1),
    loop, loop2, longLabel, badLen, tooLongName, qd0, qd2, qdHuge, arLies, ...opcodes, response, nonAscii,
    q('web.dnstest.svc.cluster.local', 'A', 'CH'), q('web.dnstest.svc.cluster.local', 'A', 'HS'), q('web.dnstest.svc.cluster.local', 'A', 'ANY'),
    q('cluster.local', 'AXFR'), q('cluster.local', 'IXFR'), q('a..b.cluster.local'),
  ];
}

function mutate(rand: () => number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const kind = Math.floor(rand() * 4);
  if (kind === 0) {
    const flips = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < flips; i++) { const at = Math.floor(rand() * b.length); b[at] = (b[at] ?? 0) ^ (1 << Math.floor(rand() * 8)); }
    return b;
  }
  if (kind === 1) return b.subarray(0, Math.floor(rand() * b.length));
  if (kind === 2) {
    for (let i = 12; i < b.length; i++) if (rand() < 0.1) b[i] = Math.floor(rand() * 256);
    return b;
  }
  return Buffer.from(Array.from({ length: Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)));
}

describe('svcplane dns under mangled input', () => {
  let dir: string;
  let server: DnsProcess;

  beforeAll(async () => {
    requireTool('dig');
    dir = tempDir('fuzz');
    writeManifests(join(dir, 'cluster.yaml'), clusterDocs());
    server = await DnsProcess.start(['--manifests', join(dir, 'cluster.yaml'), '--listen', `${SERVER}:${PORT}`, '--upstream', `${TEST_NET}.21:${PORT}`]);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) cleanup(dir);
  });

  it('answers the malformed kinds with FORMERR, NOTIMP or silence, never a crash', async () => {
    const socket = dgram.createSocket('udp4');
    const replies = new Map<number, number>();
    socket.on('message', (m) => { if (m.length >= 4) replies.set(m.readUInt16BE(0), m.readUInt16BE(2) & 0xf); });
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    for (const p of malformed()) socket.send(p, PORT, SERVER);
    await new Promise((r) => setTimeout(r, 1000));
    socket.close();
    expect(replies.get(6)).toBe(1); // QDCOUNT 0: FORMERR
    expect(replies.get(7)).toBe(1); // QDCOUNT 2: FORMERR
    expect(replies.get(1)).toBe(1); // pointer loop: FORMERR
    expect(replies.get(3)).toBe(1); // label over 63 bytes: FORMERR
    expect(server.child.exitCode).toBeNull();
  });

  it('still answers after 5,000 mangled UDP packets and 300 mangled TCP messages', async () => {
    const rand = seededRandom(SEED);
    const bases = [
      ...malformed(),
      ...['web.dnstest.svc.cluster.local', '_pg._tcp.db.dnstest.svc.cluster.local', 'big.dnstest.svc.cluster.local', '1.50.96.10.in-addr.arpa', '10-1-2-3.dnstest.pod.cluster.local'].map((name) =>
        dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'ANY' as 'A' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as never] })),
    ];
    const socket = dgram.createSocket('udp4');
    let answered = 0;
    socket.on('message', () => answered++);
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < 5000; i++) {
      const base = bases[Math.floor(rand() * bases.length)] ?? Buffer.alloc(0);
      socket.send(mutate(rand, base), PORT, SERVER);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5)); // let the socket buffers drain
    }
    for (let c = 0; c < 30; c++) {
      const conn = net.connect(PORT, SERVER);
      conn.on('error', () => undefined);
      conn.on('data', () => undefined);
      await new Promise<void>((r) => conn.once('connect', () => r()));
      for (let i = 0; i < 10; i++) {
        const body = mutate(rand, bases[Math.floor(rand() * bases.length)] ?? Buffer.alloc(0));
        const len = Buffer.alloc(2);
        // Some frames lie about their length; the connection must not wedge the server.
        len.writeUInt16BE(rand() < 0.1 ? Math.floor(rand() * 65536) : body.length, 0);
        conn.write(Buffer.concat([len, body]));
      }
      conn.destroy();
    }
    await new Promise((r) => setTimeout(r, 1000));
    socket.close();
    expect(answered).toBeGreaterThan(500); // the rest were too short or marked as responses: dropped by design
    expect(server.child.exitCode).toBeNull();
    const r = await dig(SERVER, PORT, ['web.dnstest.svc.cluster.local', 'A']);
    expect(rrs(r.answer)).toEqual(['web.dnstest.svc.cluster.local. A 10.96.50.1']);
    const t = await dig(SERVER, PORT, ['big.dnstest.svc.cluster.local', 'A', '+tcp']);
    expect(t.answer).toHaveLength(1000);
  });
});
