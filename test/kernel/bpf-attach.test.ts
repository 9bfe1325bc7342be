// Privileged: attaching the BPF loader's programs for real. cgroup/connect4
// through pinned links (a child process in a throwaway cgroup connects inside
// a throwaway network namespace and the program rewrites where it goes), and
// tc programs on a veth between two throwaway namespaces. Traffic stays inside
// the svcp-* namespaces this file creates.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCgroup,
  attachTc,
  BpfMap,
  BpfObject,
  detachPinnedLink,
  detachTc,
  ensureBpffs,
  interfaceIndex,
  Libbpf,
  pinnedLinkInfo,
  queryTc,
  unpinAll,
} from '../../src/kernel/bpf/index.js';
import { runChecked, runCommand } from '../../src/kernel/exec.js';
import { cgroup2Root, compileBpfFixture, randomSuffix, readU64, u32 } from '../lib/bpf-fixture.js';

const lib = Libbpf.open();
const suffix = randomSuffix();
const pinRoot = `/sys/fs/bpf/svcp-test-${suffix}`;
const linkPin = join(pinRoot, 'links', 'connect4');
const cgroup = join(cgroup2Root(), `svcp-test-${suffix}`);
const otherCgroup = join(cgroup2Root(), `svcp-test-${suffix}-b`);
const netns = `svcp-bpf-${suffix}`;
const tcA = `svcp-tca-${suffix}`;
const tcB = `svcp-tcb-${suffix}`;
const outDir = mkdtempSync(join(tmpdir(), 'svcp-bpf-'));
const opened: BpfObject[] = [];
let testObject = '';

/** 127.1.2.3:7777 (inside the throwaway namespace) is what the child asks for; the program sends it to 127.0.0.1:LISTEN_PORT. */
const MAGIC_ADDRESS = [127, 1, 2, 3] as const;
const MAGIC_PORT = 7777;
const LISTEN_PORT = 18080;

/** The child: joins the cgroup, serves on 127.0.0.1, connects to the magic address, prints what it got. */
const CHILD = `
const fs = require('node:fs');
const net = require('node:net');
const [procs, host, port, listenPort] = process.argv.slice(1);
fs.writeFileSync(procs, String(process.pid));
const server = net.createServer((s) => s.end('svcp-hello')).listen(Number(listenPort), '127.0.0.1', () => {
  const done = (result) => { console.log(JSON.stringify(result)); server.close(); };
  let data = '';
  const c = net.connect(Number(port), host);
  c.setTimeout(5000, () => { c.destroy(); done({ error: 'timeout' }); });
  c.on('data', (d) => { data += d; });
  c.on('end', () => done({ data }));
  c.on('error', (e) => done({ error: e.code }));
});
`;

function load(): BpfObject {
  const obj = BpfObject.open(lib, testObject, { pinRoot });
  opened.push(obj);
  obj.load();
  return obj;
}

/** Runs the child in the cgroup and the namespace; resolves with what its connect to the magic address got. */
function connectFromCgroup(): Promise<{ data?: string; error?: string }> {
  return new Promise((resolve, reject) => {
    const args = [`--net=/run/netns/${netns}`, '--', process.execPath, '-e', CHILD, join(cgroup, 'cgroup.procs'), MAGIC_ADDRESS.join('.'), String(MAGIC_PORT), String(LISTEN_PORT)];
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim()) as { data?: string; error?: string });
    });
  });
}

function calls(key: number): bigint {
  const map = BpfMap.openPinned(lib, join(pinRoot, 'test_calls'));
  try {
    return readU64(map.lookup(u32(key))) ?? 0n;
  } finally {
    map.close();
  }
}

/** struct rewrite_addr { __be32 address; __be16 port; __u16 pad; } */
function rewriteAddr(address: readonly number[], port: number): Uint8Array {
  const out = new Uint8Array(8);
  out.set(address, 0);
  new DataView(out.buffer).setUint16(4, port, false);
  return out;
}

beforeAll(async () => {
  ensureBpffs(lib);
  testObject = await compileBpfFixture('loader-test', outDir);
  mkdirSync(cgroup);
  mkdirSync(otherCgroup);
  await runChecked('ip', ['netns', 'add', netns]);
  await runChecked('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await runChecked('ip', ['netns', 'add', tcA]);
  await runChecked('ip', ['netns', 'add', tcB]);
  await runChecked('ip', ['-n', tcA, 'link', 'add', 'svcp0', 'type', 'veth', 'peer', 'name', 'svcp1', 'netns', tcB]);
  await runChecked('ip', ['-n', tcA, 'addr', 'add', '10.253.0.1/30', 'dev', 'svcp0']);
  await runChecked('ip', ['-n', tcB, 'addr', 'add', '10.253.0.2/30', 'dev', 'svcp1']);
  await runChecked('ip', ['-n', tcA, 'link', 'set', 'svcp0', 'up']);
  await runChecked('ip', ['-n', tcB, 'link', 'set', 'svcp1', 'up']);
});

afterAll(async () => {
  try {
    detachPinnedLink(lib, linkPin);
  } catch {
    // the pin root goes below anyway
  }
  for (const obj of opened) obj.close();
  for (const name of [netns, tcA, tcB]) await runCommand('ip', ['netns', 'del', name]);
  for (const dir of [cgroup, otherCgroup]) if (existsSync(dir)) rmdirSync(dir);
  try {
    unpinAll(pinRoot);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    lib.close();
  }
});

describe('attachCgroup', () => {
  it('attaches through a pinned link that outlives the object, updates it in place, and detaches', async () => {
    const first = load();
    first.map('test_rewrite').update(rewriteAddr(MAGIC_ADDRESS, MAGIC_PORT), rewriteAddr([127, 0, 0, 1], LISTEN_PORT));
    const v1 = first.program('test_connect4');
    expect(attachCgroup(lib, v1, cgroup, linkPin)).toBe('attached');
    const info = pinnedLinkInfo(lib, linkPin);
    expect(info?.progId).toBe(v1.id);
    expect(info?.cgroupId).toBe(statSync(cgroup, { bigint: true }).ino);

    expect(await connectFromCgroup()).toEqual({ data: 'svcp-hello' });
    const afterFirst = calls(0);
    expect(afterFirst).toBeGreaterThanOrEqual(1n);

    // The object's fds close; the pinned link and maps keep the program working.
    first.close();
    expect(await connectFromCgroup()).toEqual({ data: 'svcp-hello' });
    expect(calls(0)).toBeGreaterThan(afterFirst);

    // An upgrade: a new object reuses the pinned maps and swaps the program in the link.
    const second = load();
    const v2 = second.program('test_connect4_v2');
    const before = calls(0);
    expect(attachCgroup(lib, v2, cgroup, linkPin)).toBe('updated');
    expect(pinnedLinkInfo(lib, linkPin)?.progId).toBe(v2.id);
    expect(await connectFromCgroup()).toEqual({ data: 'svcp-hello' });
    expect(calls(1)).toBeGreaterThanOrEqual(1n);
    expect(calls(0)).toBe(before);

    expect(detachPinnedLink(lib, linkPin)).toBe(true);
    expect(existsSync(linkPin)).toBe(false);
    expect(detachPinnedLink(lib, linkPin)).toBe(false);
    const v2Calls = calls(1);
    expect(await connectFromCgroup()).toEqual({ error: 'ECONNREFUSED' });
    expect(calls(1)).toBe(v2Calls);
  });

  it('replaces a pinned link that is attached to another cgroup', () => {
    const obj = load();
    const prog = obj.program('test_connect4');
    expect(attachCgroup(lib, prog, otherCgroup, linkPin)).toBe('attached');
    expect(attachCgroup(lib, prog, cgroup, linkPin)).toBe('replaced');
    expect(pinnedLinkInfo(lib, linkPin)?.cgroupId).toBe(statSync(cgroup, { bigint: true }).ino);
    expect(detachPinnedLink(lib, linkPin)).toBe(true);
  });
});

describe('attachTc', () => {
  const filter = { handle: 1, priority: 1, netns: `/run/netns/${tcA}` };

  /** count UDP datagrams from tcB to 10.253.0.1:9 (inside tcA): each crosses svcp0's ingress. */
  async function ping(count: number): Promise<void> {
    const send = `const s = require('node:dgram').createSocket('udp4');
      let n = ${count}; const next = () => n-- > 0 ? s.send('svcp', 9, '10.253.0.1', () => setTimeout(next, 20)) : s.close(); next();`;
    await runChecked(process.execPath, ['-e', send], { netns: tcB });
  }

  function packets(obj: BpfObject, key: number): bigint {
    return readU64(obj.map('test_tc_count').lookup(u32(key))) ?? 0n;
  }

  it('attaches on ingress, replaces in place, and detaches', async () => {
    const obj = load();
    const ifindex = interfaceIndex(lib, 'svcp0', filter.netns);
    expect(ifindex).toBeGreaterThan(0);
    expect(queryTc(lib, ifindex, 'ingress', filter)).toBeUndefined();

    const v1 = obj.program('test_tc');
    expect(attachTc(lib, v1, ifindex, 'ingress', filter)).toBe(v1.id);
    expect(queryTc(lib, ifindex, 'ingress', filter)).toBe(v1.id);
    expect(queryTc(lib, ifindex, 'egress', filter)).toBeUndefined();
    await ping(3);
    const v1Packets = packets(obj, 0);
    expect(v1Packets).toBeGreaterThanOrEqual(3n);

    const v2 = obj.program('test_tc_v2');
    expect(attachTc(lib, v2, ifindex, 'ingress', filter)).toBe(v2.id);
    expect(queryTc(lib, ifindex, 'ingress', filter)).toBe(v2.id);
    await ping(2);
    expect(packets(obj, 1)).toBeGreaterThanOrEqual(2n);
    expect(packets(obj, 0)).toBe(v1Packets);

    expect(detachTc(lib, ifindex, 'ingress', filter)).toBe(true);
    expect(queryTc(lib, ifindex, 'ingress', filter)).toBeUndefined();
    expect(detachTc(lib, ifindex, 'ingress', filter)).toBe(false);
    const v2Packets = packets(obj, 1);
    await ping(2);
    expect(packets(obj, 1)).toBe(v2Packets);
  });

  it('acts in the caller namespace without netns: the interface is not there', () => {
    expect(() => interfaceIndex(lib, 'svcp0')).toThrow(/if_nametoindex/);
  });
});
