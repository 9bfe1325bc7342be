// Servers and clients for the eBPF tests (fixtures/*.mjs), started in test
// network namespaces with `nsenter --net`: `ip netns exec` would remount /sys
// and hide the cgroup2 mount the socket-LB client must join.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { runChecked } from '../../../src/kernel/exec.js';
import { ProcessGroup } from '../../../src/testbed/netns.js';

const CLIENT = fileURLToPath(new URL('../fixtures/lb-client.mjs', import.meta.url));
const SERVER = fileURLToPath(new URL('../fixtures/echo-server.mjs', import.meta.url));

export interface Listener {
  readonly proto: 'tcp' | 'udp';
  readonly ip: string;
  readonly port: number;
}

export interface ClientOp {
  readonly mode: 'tcp' | 'udp' | 'udp-connected';
  readonly ip: string;
  readonly port: number;
  readonly timeoutMs?: number;
}

export interface EchoReply {
  /** ip:port of the server socket that answered. */
  readonly server: string;
  /** ip:port the server saw as its peer. */
  readonly peer: string;
}

export type ClientResult =
  | { readonly ok: true; readonly reply: EchoReply; readonly remote?: string; readonly from?: string }
  | { readonly ok: false; readonly code: string; readonly elapsedMs: number };

/** Starts echo servers in `netns` and waits until they all listen. */
export async function startEchoServers(group: ProcessGroup, netns: string, listeners: readonly Listener[]): Promise<void> {
  const child = group.spawn(netns, process.execPath, [SERVER, JSON.stringify(listeners)]);
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('ready\n') && resolve());
    child.on('exit', (code) => reject(new Error(`echo server in ${netns} exited with ${code}`)));
  });
  await Promise.race([ready, once(child, 'error').then(([err]) => Promise.reject(err))]);
}

/** Runs the client in `netns` (inside `cgroup` if given) and returns one result per op. */
export async function runClient(netns: string, ops: readonly ClientOp[], cgroup?: string): Promise<ClientResult[]> {
  const spec = JSON.stringify({ cgroup: cgroup ?? null, ops });
  const { stdout } = await runChecked('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, CLIENT, spec], {
    timeoutMs: 30_000,
  });
  return JSON.parse(stdout) as ClientResult[];
}

/** The backend address ("ip:port") each successful result reached. */
export function servers(results: readonly ClientResult[]): string[] {
  return results.map((r) => (r.ok ? r.reply.server : `failed:${r.code}`));
}
