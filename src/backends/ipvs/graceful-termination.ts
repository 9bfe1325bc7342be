// Real servers leave gracefully, as kube-proxy's graceful_termination.go has
// them: weight 0 first (no new connections), deletion once the kernel counts
// show nothing uses them any more, or once the grace period is over. The
// "terminating since" times live in a map the caller carries between syncs; a
// weight-0 real server the map does not know (svcplane restarted while it was
// draining) starts its grace period anew rather than staying forever.
import type { IpvsDestination, IpvsService } from './ipvs-types.js';

export interface TerminationOptions {
  /** How long a draining real server may keep connections before it is deleted anyway. */
  readonly gracePeriodMs: number;
  /** The time of this plan (ms; Date.now() in the agent, anything monotonic in tests). */
  readonly now: number;
  /** Destination key (destinationKey()) -> when it started draining, as the previous plan returned it. */
  readonly terminating: ReadonlyMap<string, number>;
}

/**
 * The real server may be deleted now. UDP and SCTP never drain (kube-proxy's
 * IsRsGracefulTerminationNeeded): a UDP flow's IPVS entry is refreshed by every datagram, so a
 * draining server would keep a steady client for good; once deleted, expire_nodest_conn moves
 * the flow on its next packet. TCP: no active connections (inactive ones are in TIME_WAIT/FIN
 * states and end by themselves). Counts a dump did not carry are not taken as 0.
 */
export function isIdle(protocol: IpvsService['protocol'], d: IpvsDestination): boolean {
  if (protocol === 'UDP' || protocol === 'SCTP') return true;
  return d.activeConnections !== undefined && d.activeConnections === 0;
}

export type RetireDecision =
  | { readonly action: 'delete' }
  /** Keep draining; `zeroWeight` when the kernel still gives it a weight. */
  | { readonly action: 'drain'; readonly since: number; readonly zeroWeight: boolean };

/** What to do with a real server (as the kernel holds it) that is no longer wanted. */
export function retire(key: string, protocol: IpvsService['protocol'], current: IpvsDestination, opts: TerminationOptions): RetireDecision {
  if (isIdle(protocol, current)) return { action: 'delete' };
  // A start time after `now` (the clock went back) restarts the grace period rather than stretching it.
  const since = Math.min(opts.terminating.get(key) ?? opts.now, opts.now);
  if (opts.now - since >= opts.gracePeriodMs) return { action: 'delete' };
  return { action: 'drain', since, zeroWeight: current.weight !== 0 };
}
