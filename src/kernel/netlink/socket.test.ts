import { describe, expect, it } from 'vitest';
import { NetlinkEncoder, type NetlinkMessage } from './codec.js';
import { NETLINK_ROUTE, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP } from './constants.js';
import { NetlinkDecodeError, NetlinkError, NetlinkUsageError } from './errors.js';
import { FakeLibc } from './fake-libc.js';
import { NetlinkSocket } from './socket.js';

const PORT = 4242;

function message(type: number, flags: number, seq: number, body?: (enc: NetlinkEncoder) => void, pid = PORT): Uint8Array {
  const enc = new NetlinkEncoder();
  const m = enc.beginMessage(type, flags, seq, pid);
  body?.(enc);
  enc.endMessage(m);
  return enc.finish();
}

function ack(req: NetlinkMessage, errno = 0, extack?: string): Uint8Array {
  return message(NLMSG_ERROR, NLM_F_CAPPED | (extack ? NLM_F_ACK_TLVS : 0), req.seq, (enc) => {
    enc.putI32(-errno);
    enc.putU32(16 + req.data.length);
    enc.putU16(req.type);
    enc.putU16(req.flags);
    enc.putU32(req.seq);
    enc.putU32(req.pid);
    if (extack) enc.string(1, extack);
  });
}

const data = (seq: number, value: number, flags = 0): Uint8Array => message(0x20, flags, seq, (enc) => enc.u32(1, value));
const done = (seq: number, errno = 0): Uint8Array => message(NLMSG_DONE, NLM_F_MULTI, seq, (enc) => enc.putI32(-errno));
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

function open(reply: (msgs: NetlinkMessage[]) => Uint8Array[]): { socket: NetlinkSocket; libc: FakeLibc } {
  const libc = new FakeLibc(reply, PORT);
  return { socket: NetlinkSocket.open({ protocol: NETLINK_ROUTE, libc }), libc };
}

function request(socket: NetlinkSocket, flags: number): Uint8Array {
  return message(0x20, NLM_F_REQUEST | flags, socket.nextSeq(), undefined, 0);
}

describe('NetlinkSocket.request', () => {
  it('returns the replies before the ack, skipping stale replies of other sequence numbers', () => {
    const { socket, libc } = open(([req]) => [data(req!.seq - 1, 99), concat(data(req!.seq, 1), ack(req!))]);
    libc.queue.push(ack({ type: 0x20, flags: 5, seq: 1, pid: 0, data: new Uint8Array(0), offset: 0 })); // stale
    const replies = socket.request(request(socket, NLM_F_ACK));
    expect(replies.map((m) => m.data[4])).toEqual([1]);
    expect(socket.portId).toBe(PORT);
  });

  it('collects a multi-part dump across datagrams until NLMSG_DONE', () => {
    const { socket } = open(([req]) => [
      concat(data(req!.seq, 1, NLM_F_MULTI), data(req!.seq, 2, NLM_F_MULTI)),
      concat(message(NLMSG_NOOP, 0, req!.seq), data(req!.seq, 3, NLM_F_MULTI)),
      done(req!.seq),
    ]);
    expect(socket.request(request(socket, NLM_F_DUMP)).map((m) => m.data[4])).toEqual([1, 2, 3]);
  });

  it('throws NetlinkError with errno name and extended ack from NLMSG_ERROR', () => {
    const { socket } = open(([req]) => [ack(req!, 17, 'Service already exists')]);
    let err: unknown;
    try {
      socket.request(request(socket, NLM_F_ACK), 'IPVS_CMD_NEW_SERVICE');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ errno: 17, errnoName: 'EEXIST', extackMessage: 'Service already exists', operation: 'IPVS_CMD_NEW_SERVICE' });
    expect((err as Error).message).toBe('netlink IPVS_CMD_NEW_SERVICE: EEXIST: Service already exists');
  });

  it('throws on a dump that fails in NLMSG_DONE, and on an interrupted dump after draining it', () => {
    const failing = open(([req]) => [concat(data(req!.seq, 1, NLM_F_MULTI), done(req!.seq, 90))]);
    expect(() => failing.socket.request(request(failing.socket, NLM_F_DUMP))).toThrow(/EMSGSIZE/);
    const interrupted = open(([req]) => [data(req!.seq, 1, NLM_F_MULTI | NLM_F_DUMP_INTR), done(req!.seq)]);
    expect(() => interrupted.socket.request(request(interrupted.socket, NLM_F_DUMP))).toThrow(/NLM_F_DUMP_INTR/);
    expect(interrupted.libc.queue).toHaveLength(0);
  });

  it('retries recv on EINTR and times out with ETIMEDOUT when the kernel stays silent', () => {
    const { socket, libc } = open(([req]) => [ack(req!)]);
    libc.queue.push('EINTR'); // before the ack
    expect(socket.request(request(socket, NLM_F_ACK))).toEqual([]);
    const silent = open(() => []);
    expect(() => silent.socket.request(request(silent.socket, NLM_F_ACK))).toThrow(expect.objectContaining({ errnoName: 'ETIMEDOUT' }));
  });

  it('reports a truncated datagram and grows its buffer for the next one', () => {
    const big = message(0x20, 0, 0, (enc) => {
      enc.bytes(1, new Uint8Array(35_000 - 4));
      enc.bytes(1, new Uint8Array(35_000 - 4));
    });
    const { socket } = open(([req]) => [patchSeq(big, req!.seq)]);
    expect(() => socket.request(request(socket, 0))).toThrow(expect.objectContaining({ errnoName: 'EMSGSIZE' }));
    expect(socket.request(request(socket, 0))[0]?.data.length).toBe(70_000);
  });

  it('passes on malformed replies as NetlinkDecodeError', () => {
    const { socket } = open(() => [new Uint8Array([1, 2, 3])]);
    expect(() => socket.request(request(socket, NLM_F_ACK))).toThrow(NetlinkDecodeError);
  });

  it('refuses more than one message, and use after close', () => {
    const { socket, libc } = open(([req]) => [ack(req!)]);
    expect(() => socket.request(concat(request(socket, NLM_F_ACK), request(socket, NLM_F_ACK)))).toThrow(NetlinkUsageError);
    socket.close();
    socket.close();
    expect(libc.closedFds).toEqual([7]);
    expect(() => socket.request(request(socket, NLM_F_ACK))).toThrow(NetlinkUsageError);
  });
});

describe('NetlinkSocket.requestBatch', () => {
  it('sends in chunks and maps each ack to its message', () => {
    const libc = new FakeLibc((msgs) => msgs.map((m) => ack(m, m.seq % 3 === 0 ? 2 : 0)), PORT);
    const socket = NetlinkSocket.open({ protocol: NETLINK_ROUTE, libc, maxBatchMessages: 4 });
    const enc = new NetlinkEncoder();
    const seqs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const seq = socket.nextSeq();
      seqs.push(seq);
      enc.endMessage(enc.beginMessage(0x20, NLM_F_REQUEST | NLM_F_ACK, seq));
    }
    const results = socket.requestBatch(enc.peek(), (i) => `op ${i}`);
    expect(libc.sent.map((d) => d.length / 16)).toEqual([4, 4, 2]);
    expect(results.map((r) => r?.errnoName)).toEqual(seqs.map((s) => (s % 3 === 0 ? 'ENOENT' : undefined)));
    expect(results.find((r) => r)?.operation).toMatch(/^op \d$/);
  });

  it('splits by bytes too', () => {
    const libc = new FakeLibc((msgs) => msgs.map((m) => ack(m)), PORT);
    const socket = NetlinkSocket.open({ protocol: NETLINK_ROUTE, libc, maxBatchBytes: 100 });
    const enc = new NetlinkEncoder();
    for (let i = 0; i < 5; i++) {
      const m = enc.beginMessage(0x20, NLM_F_REQUEST | NLM_F_ACK, socket.nextSeq());
      enc.bytes(1, new Uint8Array(24)); // 44-byte messages: two per 100-byte send
      enc.endMessage(m);
    }
    expect(socket.requestBatch(enc.peek())).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(libc.sent.map((d) => d.length)).toEqual([88, 88, 44]);
  });

  it('refuses dumps, unacked messages and repeated sequence numbers', () => {
    const { socket } = open(() => []);
    expect(() => socket.requestBatch(request(socket, NLM_F_DUMP | NLM_F_ACK))).toThrow(NetlinkUsageError);
    expect(() => socket.requestBatch(request(socket, 0))).toThrow(NetlinkUsageError);
    const twice = message(0x20, NLM_F_REQUEST | NLM_F_ACK, 5);
    expect(() => socket.requestBatch(concat(twice, twice))).toThrow(/share seq 5/);
  });
});

describe('NetlinkSocket on this kernel', () => {
  it('times out on a request the kernel does not answer (NLMSG_NOOP without NLM_F_ACK)', () => {
    const socket = NetlinkSocket.open({ protocol: NETLINK_ROUTE, timeoutMs: 200 });
    try {
      const started = Date.now();
      expect(() => socket.request(message(NLMSG_NOOP, NLM_F_REQUEST, socket.nextSeq(), undefined, 0))).toThrow(
        expect.objectContaining({ errnoName: 'ETIMEDOUT' }),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      // The kernel acks control messages when asked: the socket is still fine.
      expect(socket.request(message(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, socket.nextSeq(), undefined, 0))).toEqual([]);
      expect(socket.portId).toBeGreaterThan(0);
    } finally {
      socket.close();
    }
  });

  it('fails to open in a namespace that does not exist', () => {
    expect(() => NetlinkSocket.open({ protocol: NETLINK_ROUTE, netns: '/var/run/netns/svcp-does-not-exist' })).toThrow(
      expect.objectContaining({ errnoName: 'ENOENT' }),
    );
  });
});

function patchSeq(msg: Uint8Array, seq: number): Uint8Array {
  const out = msg.slice();
  new DataView(out.buffer).setUint32(8, seq, true);
  new DataView(out.buffer).setUint32(12, PORT, true);
  return out;
}
