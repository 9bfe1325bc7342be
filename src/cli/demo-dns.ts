// The demo's DNS step: the agent serves cluster DNS on the node IP (`run --dns-listen`), and a
// pod namespace resolves through it with a pod's resolv.conf (the kubelet's search path), by
// glibc (getent) and dig, next to the traffic checks.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { runCommand } from '../kernel/exec.js';

export const DEMO_DNS_PORT = 53;

export interface DnsLookup {
  readonly command: string;
  readonly output: string[];
  readonly ok: boolean;
}

/** `ip netns exec` bind-mounts this over /etc/resolv.conf for processes in the namespace. */
function resolvConfDir(netns: string): string {
  return `/etc/netns/${netns}`;
}

export async function podLookups(podNetns: string, nameserver: string): Promise<DnsLookup[]> {
  const dir = resolvConfDir(podNetns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/resolv.conf`, `nameserver ${nameserver}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5 timeout:2 attempts:3\n`);
  try {
    const lookups: [string, string[]][] = [
      ['getent', ['hosts', 'my-service']],
      ['getent', ['hosts', 'my-service.default']],
      ['dig', ['+short', '+tries=1', '+time=2', '_dns._udp.dns.default.svc.cluster.local', 'SRV']],
      ['dig', ['+short', '+tries=1', '+time=2', 'headless.default.svc.cluster.local', 'A']],
    ];
    const out: DnsLookup[] = [];
    for (const [file, args] of lookups) {
      const r = await runCommand(file, args, { netns: podNetns, timeoutMs: 10_000 });
      const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).join(' '));
      out.push({ command: `${file} ${args.filter((a) => !a.startsWith('+')).join(' ')}`, output: lines, ok: r.code === 0 && lines.length > 0 });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
