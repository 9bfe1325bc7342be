// What the userspace mode does to the first packet of a connection after its redirect
// rules (traced by the iptables tracer over the redirect batch): a packet DNATed to a
// listener is accepted by svcplane's proxy, which opens its own connection to one backend
// in turn (round robin: an even share each) from the node, so the backend sees the node's
// address (masqueraded). Without redirects (--userspace-no-redirect) only packets sent to
// a listener's own address and port reach it.
import { formatHostPort } from '../common/address.js';
import type { TraceOutcome } from '../common/trace.js';
import type { ListenerWant } from './planner.js';

/** Where a listener is bound: its planned port, or (kernel-chosen) the port it got. */
export type ListenerPorts = ReadonlyMap<string, number>;

function listenerAt(wants: readonly ListenerWant[], ports: ListenerPorts, destination: string, protocol: string): ListenerWant | undefined {
  return wants.find((w) => w.protocol === protocol && formatHostPort(w.host, ports.get(w.id) ?? w.port) === destination);
}

/** The outcomes after the proxy of the outcomes of the redirect rules (or of an unredirected packet). */
export function traceListeners(wants: readonly ListenerWant[], ports: ListenerPorts, before: readonly TraceOutcome[], protocol: string, dst: string, dport: number, planned = false): TraceOutcome[] {
  return before.flatMap((o): TraceOutcome[] => {
    if (o.verdict === 'DROP' || o.verdict === 'REJECT') return [o];
    const at = o.verdict === 'DNAT' ? o.destination : formatHostPort(dst, dport);
    const w = at === undefined ? undefined : listenerAt(wants, ports, at, protocol);
    if (w === undefined) return [o];
    const port = ports.get(w.id) ?? w.port;
    // A plan stands in a port for a kernel-chosen one (`planned`): name it as such.
    const bound = planned && w.port === 0 ? `${formatHostPort(w.host, 0).replace(/:0$/, '')}:(kernel-chosen port)` : formatHostPort(w.host, port);
    const chains = [...o.chains, `listener ${w.servicePort} ${w.path} ${bound}`];
    // A listener without backends closes what it accepts (the rules normally refuse first).
    if (w.backends.length === 0) return [{ probability: o.probability, verdict: 'REJECT', masqueraded: false, chains, affinityUpdates: o.affinityUpdates }];
    return w.backends.map((b) => ({
      probability: o.probability / w.backends.length,
      verdict: 'DNAT',
      destination: formatHostPort(b.ip, b.port),
      masqueraded: true,
      chains: [...chains, 'round-robin'],
      affinityUpdates: o.affinityUpdates,
    }));
  });
}
