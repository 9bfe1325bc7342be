// A minimal authoritative DNS responder for the pod-exec test (UDP only, hand-encoded):
// A records for the names given, NODATA for their other types, NXDOMAIN for anything
// else. Usage: node tiny-dns-responder.mjs ADDRESS '{"name.":"10.0.0.1"}'.
// Prints "ready" once bound, then one line per query: "query <name> <type>".
import dgram from 'node:dgram';

const [address, recordsJSON] = process.argv.slice(2);
const records = new Map(Object.entries(JSON.parse(recordsJSON ?? '{}')).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v]));
const TYPE_A = 1;

function parseQuestion(msg) {
  let offset = 12;
  const labels = [];
  for (;;) {
    const len = msg[offset];
    if (len === undefined || len > 63) return undefined;
    offset += 1;
    if (len === 0) break;
    labels.push(msg.subarray(offset, offset + len).toString('latin1'));
    offset += len;
  }
  if (offset + 4 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(offset), end: offset + 4 };
}

function answer(query) {
  const q = parseQuestion(query);
  if (query.length < 12 || query.readUInt16BE(4) !== 1 || !q) return undefined;
  process.stdout.write(`query ${q.name} ${q.type}\n`);
  const ip = records.get(q.name);
  const rcode = ip === undefined ? 3 : 0;
  const answers = ip !== undefined && q.type === TYPE_A ? 1 : 0;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // id
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | rcode, 2); // QR AA, RD echoed
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers, 6);
  const parts = [header, query.subarray(12, q.end)];
  if (answers === 1) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(30, 6); // TTL
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
    parts.push(rr);
  }
  return Buffer.concat(parts);
}

const socket = dgram.createSocket('udp4');
socket.on('message', (msg, rinfo) => {
  const reply = answer(msg);
  if (reply) socket.send(reply, rinfo.port, rinfo.address);
});
socket.bind(53, address, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
