// The IPVS drift check's reading of /proc/net/ip_vs (src/kernel/ipvs-proc.ts), compared with the
// dump cache: what the agent last read and wrote. Only what a sync sets is compared: virtual
// servers, their scheduler and persistence (on or off: the kernel prints the timeout in jiffies),
// their real servers and weights (never connection counts). The kernel's text (net/netfilter/ipvs/ip_vs_ctl.c, ip_vs_info_seq_show):
//   TCP  0A60000A:0050 rr [ops ][persistent 10800 FFFFFFFF]
//     -> 0AF40105:1F90      Masq    1      0          0
//   TCP  [fd00:0000:...:000a]:0050 rr
//   FWM  00000007 rr
// A fwmark line names no family, and fwmark services are never svcplane's: they are compared by
// mark alone, their real servers not at all.
import { IpvsProcTableError } from './errors.js';
import type { IpvsDumpCache } from './ipvs-dump-cache.js';
import { destinationKey, ipvsAddress, virtualServerKey } from './ipvs-keys.js';
import { IP_VS_SVC_F_PERSISTENT, type IpvsOp, type IpvsService } from './ipvs-types.js';
import { retire, type TerminationOptions } from './graceful-termination.js';
import { terminationServer } from './ipvs-incremental.js';
import { withoutCounts } from './ipvs-planner.js';

/** include/uapi/linux/ip_vs.h */
const IP_VS_SVC_F_ONEPACKET = 0x0004;

export interface ProcVirtualServer {
  readonly scheduler: string;
  readonly onePacket: boolean;
  /** Whether persistent. The kernel prints the timeout in jiffies (HZ unknown here): not compared. */
  readonly persistent: boolean;
  /** Destination key -> weight and active connections. */
  readonly destinations: Map<string, { readonly weight: number; readonly active: number }>;
}

export interface ProcTable {
  readonly servers: Map<string, ProcVirtualServer>;
  /** Marks of the fwmark services, sorted (one per service). */
  readonly fwmarks: number[];
}

/** `0A60000A:0050` or `[fd00:0000:...]:0050` -> address and port. */
function hostPort(text: string): { address: string; port: number } | undefined {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = text.slice(0, colon);
  const port = Number.parseInt(text.slice(colon + 1), 16);
  if (host.startsWith('[') && host.endsWith(']')) return { address: ipvsAddress(host.slice(1, -1)), port };
  if (!/^[0-9A-Fa-f]{8}$/.test(host)) return undefined;
  const n = Number.parseInt(host, 16);
  return { address: `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, port };
}

/** Hex digit value of a character code, -1 for anything else. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * The common real server line, `  -> 0AF40105:1F90      Masq    1      3          7`, read in
 * place: at 10,000 services the table has ~110,000 of them, and a general split per line was
 * most of an idle IPVS agent's CPU. Undefined for any other shape (IPv6; the general path).
 */
function fastRealServer(text: string, at: number, end: number): { hostPort: string; weight: number; active: number } | undefined {
  let n = 0;
  for (let i = at; i < at + 8; i++) {
    const d = hexDigit(text.charCodeAt(i));
    if (d < 0) return undefined;
    n = n * 16 + d;
  }
  if (text.charCodeAt(at + 8) !== 58 /* : */) return undefined;
  let port = 0;
  for (let i = at + 9; i < at + 13; i++) {
    const d = hexDigit(text.charCodeAt(i));
    if (d < 0) return undefined;
    port = port * 16 + d;
  }
  let i = at + 13;
  const skip = (space: boolean): void => {
    while (i < end && (text.charCodeAt(i) === 32) === space) i++;
  };
  const integer = (): number => {
    const from = i;
    let v = 0;
    for (; i < end && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57; i++) v = v * 10 + text.charCodeAt(i) - 48;
    return i === from ? NaN : v;
  };
  skip(true);
  skip(false); // the forwarding method
  skip(true);
  const weight = integer();
  skip(true);
  const active = integer();
  if (Number.isNaN(weight) || Number.isNaN(active)) return undefined;
  return { hostPort: `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:${port}`, weight, active };
}

/** What the scan of the table reports, line by line. */
export interface ProcTableVisitor {
  server(key: string, scheduler: string, onePacket: boolean, persistent: boolean): void;
  /** A real server of the last server() (none follow a fwmark service). */
  realServer(destKey: string, weight: number, active: number): void;
  fwmark(mark: number): void;
}

/** Reads the table line by line into `visitor`, keeping nothing itself (at 10,000 services it is ~7 MB of text). */
export function scanProcTable(text: string, visitor: ProcTableVisitor): void {
  let prefix: string | undefined;
  let lineNo = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const from = start;
    start = end + 1;
    // Three header lines: the version, then the two column legends.
    if (++lineNo <= 3) continue;
    if (text.startsWith('  -> ', from)) {
      const fast = fastRealServer(text, from + 5, end);
      if (fast !== undefined) {
        if (prefix !== undefined) visitor.realServer(prefix + fast.hostPort, fast.weight, fast.active);
        continue;
      }
    }
    const line = text.slice(from, end);
    const words = line.trim().split(/\s+/);
    const [first, second, third] = words;
    if (first === undefined || first === '') continue;
    if (first === '->') {
      const dest = second === undefined ? undefined : hostPort(second);
      if (dest === undefined || words.length < 6) throw new IpvsProcTableError(`line ${lineNo}: unreadable real server: ${line}`);
      if (prefix !== undefined) visitor.realServer(destinationKey(prefix.slice(0, -2), dest), Number(words[3]), Number(words[4]));
      continue;
    }
    if (first === 'FWM') {
      visitor.fwmark(Number.parseInt(second ?? '', 16));
      prefix = undefined;
      continue;
    }
    const vs = second === undefined ? undefined : hostPort(second);
    if (vs === undefined || third === undefined) throw new IpvsProcTableError(`line ${lineNo}: unreadable virtual server: ${line}`);
    const key = virtualServerKey({ protocol: first, address: vs.address, port: vs.port } as IpvsService);
    // destinationKey(key, d) for IPv4 real servers, without a call per line.
    prefix = `${key}->`;
    visitor.server(key, third, words.includes('ops'), words.includes('persistent'));
  }
}

/** The whole table, kept (tests and tools; the drift check compares as it scans). */
export function parseProcTable(text: string): ProcTable {
  const servers = new Map<string, ProcVirtualServer>();
  const fwmarks: number[] = [];
  let current: ProcVirtualServer | undefined;
  scanProcTable(text, {
    server: (key, scheduler, onePacket, persistent) => {
      current = { scheduler, onePacket, persistent, destinations: new Map() };
      servers.set(key, current);
    },
    realServer: (destKey, weight, active) => void current?.destinations.set(destKey, { weight, active }),
    fwmark: (mark) => void fwmarks.push(mark),
  });
  fwmarks.sort((a, b) => a - b);
  return { servers, fwmarks };
}

/** Differences past this many are counted, not listed (a flushed table would list every entry). */
const MAX_LISTED = 50;

export interface ProcTableDrift {
  /** The differences, in words; empty when the kernel holds what the cache says. */
  readonly drift: string[];
  /** Weight and active connections of the real servers in `watched`, as the kernel holds them. */
  readonly watched: Map<string, { readonly weight: number; readonly active: number }>;
}

/**
 * Compares the table with the cache as it scans it, keeping only what differs and the real
 * servers in `watched` (the draining ones, whose connection counts decide).
 */
export function procTableDrift(text: string, cache: IpvsDumpCache, watched: { has(destKey: string): boolean }): ProcTableDrift {
  const out: string[] = [];
  let more = 0;
  const say = (line: string): void => {
    if (out.length < MAX_LISTED) out.push(line);
    else more++;
  };
  const held = new Map<string, { readonly weight: number; readonly active: number }>();
  const seen = new Set<string>();
  const marks: number[] = [];
  let server: { readonly service: IpvsService; readonly destinations: ReadonlyMap<string, { readonly weight: number }> } | undefined;
  const matched: string[] = [];
  const close = (): void => {
    if (server === undefined || matched.length === server.destinations.size) return;
    const found = new Set(matched);
    for (const dk of server.destinations.keys()) if (!found.has(dk)) say(`real server ${dk} is missing`);
  };
  scanProcTable(text, {
    server: (key, scheduler, onePacket, persistent) => {
      close();
      seen.add(key);
      matched.length = 0;
      server = cache.peek(key);
      if (server === undefined) return say(`virtual server ${key} was not synced`);
      const { service } = server;
      const wantPersistent = (service.flags & IP_VS_SVC_F_PERSISTENT) !== 0;
      if (scheduler !== service.scheduler) say(`virtual server ${key}: scheduler ${scheduler}, synced ${service.scheduler}`);
      if (persistent !== wantPersistent) say(`virtual server ${key}: persistence ${persistent ? 'on' : 'off'}, synced ${wantPersistent ? 'on' : 'off'}`);
      // The kernel prints no one-packet flag for IPv6 virtual servers.
      if (onePacket !== ((service.flags & IP_VS_SVC_F_ONEPACKET) !== 0) && !key.includes('[')) say(`virtual server ${key}: one-packet scheduling differs`);
    },
    realServer: (destKey, weight, active) => {
      if (watched.has(destKey)) held.set(destKey, { weight, active });
      if (server === undefined) return;
      const want = server.destinations.get(destKey);
      if (want === undefined) return say(`real server ${destKey} was not synced`);
      matched.push(destKey);
      if (weight !== want.weight) say(`real server ${destKey}: weight ${weight}, synced ${want.weight}`);
    },
    fwmark: (mark) => {
      close();
      server = undefined;
      marks.push(mark);
    },
  });
  close();
  const cachedMarks: number[] = [];
  for (const [key, { service }] of cache.servers()) {
    if (service.fwmark !== undefined && service.fwmark > 0) cachedMarks.push(service.fwmark);
    else if (!seen.has(key)) say(`virtual server ${key} is missing`);
  }
  const sorted = (m: number[]): string => m.sort((a, b) => a - b).join(',');
  const [have, want] = [sorted(marks), sorted(cachedMarks)];
  if (have !== want) say(`fwmark services ${have || 'none'}, synced ${want || 'none'}`);
  if (more > 0) out.push(`and ${more} more differences`);
  return { drift: out, watched: held };
}

/**
 * The draining real servers (`options.terminating`) that may go now, by the kernel's counts in `held`:
 * their deletions, and their destination keys.
 */
export function drainedRealServers(held: ProcTableDrift['watched'], cache: IpvsDumpCache, options: TerminationOptions): { ops: IpvsOp[]; retired: string[] } {
  const ops: IpvsOp[] = [];
  const retired: string[] = [];
  for (const key of options.terminating.keys()) {
    const serverKey = terminationServer(key);
    const cached = cache.peek(serverKey);
    const kernel = held.get(key);
    const dest = cached?.destinations.get(key);
    // Gone from the kernel or the cache: the comparison reports it.
    if (cached === undefined || kernel === undefined || dest === undefined) continue;
    if (retire(key, cached.service.protocol, { ...dest, weight: kernel.weight, activeConnections: kernel.active }, options).action !== 'delete') continue;
    ops.push({ op: 'del-dest', service: cached.service, dest: withoutCounts(dest, kernel.weight) });
    retired.push(key);
  }
  return { ops, retired };
}
