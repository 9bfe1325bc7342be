// What status.loadBalancer.ingress of each Ingress should say, pure. The
// controller publishes this node's addresses (--publish-status-address, else
// the Node's ExternalIPs, else its InternalIPs, as ingress-nginx does without a
// publish service) on the Ingresses it serves, and removes them from the ones
// it stops serving. Entries other nodes or controllers wrote are kept, so
// several nodes running the controller add up instead of overwriting each other.
import { isIP } from 'node:net';
import type { Node } from '../model/types.js';

export type LoadBalancerEntry = Readonly<Record<string, unknown>>;

/** The addresses this node publishes. */
export function publishAddresses(flag: readonly string[], node: Node | undefined): string[] {
  if (flag.length > 0) return [...flag];
  const of = (type: string): string[] => (node?.addresses ?? []).filter((a) => a.type === type && isIP(a.address) !== 0).map((a) => a.address);
  const external = of('ExternalIP');
  return external.length > 0 ? external : of('InternalIP');
}

function entryIp(entry: LoadBalancerEntry): string | undefined {
  return typeof entry['ip'] === 'string' ? entry['ip'] : undefined;
}

/** The new list, or undefined when `current` is already right. */
export function desiredLoadBalancer(current: readonly LoadBalancerEntry[], ours: readonly string[], served: boolean): LoadBalancerEntry[] | undefined {
  const mine = new Set(ours);
  const others = current.filter((e) => {
    const ip = entryIp(e);
    return ip === undefined || !mine.has(ip);
  });
  const want: LoadBalancerEntry[] = served ? [...others, ...ours.map((ip) => ({ ip }))] : others;
  want.sort((a, b) => {
    const x = entryIp(a) ?? String(a['hostname'] ?? '');
    const y = entryIp(b) ?? String(b['hostname'] ?? '');
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const same = want.length === current.length && want.every((e, i) => JSON.stringify(e) === JSON.stringify(current[i]));
  return same ? undefined : want;
}
