// Which proxy mode actually runs: the requested one if the kernel can do it, else the
// next best, said once and loudly (log, /healthz, metrics) — never a silent downgrade.
import type { ProbeResult } from '../backends/common/probe-result.js';
import { SvcplaneError } from '../util/errors.js';
import type { ProxyMode, RequestedMode } from './config.js';

export type { RequestedMode };

/** Probes a mode for real (e.g. IPVS: resolve the genetlink family, create and delete a virtual service). */
export type ModeProbe = (mode: ProxyMode) => Promise<ProbeResult>;

export interface ModeSelection {
  readonly requested: RequestedMode;
  readonly mode: ProxyMode;
  /** Why a requested mode was not used, one entry per mode tried; empty when the request was met. */
  readonly fallbacks: readonly { readonly mode: ProxyMode; readonly reason: string }[];
}

/** `auto` prefers the modes that scale best, as each becomes available. */
export const AUTO_PREFERENCE: readonly ProxyMode[] = ['ebpf', 'nftables', 'ipvs', 'iptables'];

/** A mode named (in --mode, the config) that this build does not have yet. */
export class ModeNotBuiltError extends SvcplaneError {
  override readonly code = 'SVCPLANE_MODE_NOT_BUILT';
}

/**
 * Why `mode` cannot be asked for in this build (undefined: it can). Falling back to
 * iptables would pass a node off as running a mode it is not, so it is an error.
 */
export function notBuiltReason(mode: RequestedMode, implemented: ReadonlySet<ProxyMode>): string | undefined {
  if (mode === 'auto' || implemented.has(mode)) return undefined;
  return `mode ${mode} is not in this build of svcplane yet; use one of: auto, ${[...implemented].join(', ')}`;
}

/**
 * `implemented` lists the modes this build has; iptables is the floor every Linux node can run.
 * A requested mode that is not implemented is refused (ModeNotBuiltError); one whose probe
 * fails falls back to iptables (for `auto`: to the next preferred mode).
 */
export async function selectMode(requested: RequestedMode, implemented: ReadonlySet<ProxyMode>, probe: ModeProbe): Promise<ModeSelection> {
  const notBuilt = notBuiltReason(requested, implemented);
  if (notBuilt !== undefined) throw new ModeNotBuiltError(notBuilt);
  const candidates = requested === 'auto' ? AUTO_PREFERENCE : [requested, 'iptables' as const];
  const fallbacks: { mode: ProxyMode; reason: string }[] = [];
  for (const mode of candidates) {
    if (mode === 'iptables') return { requested, mode, fallbacks };
    // auto passes over modes this build lacks quietly; an explicit request is probed, so the
    // kernel's own reason (e.g. no IPVS) is the one reported.
    if (requested === 'auto' && !implemented.has(mode)) continue;
    const result = await probe(mode);
    if (result.ok && implemented.has(mode)) return { requested, mode, fallbacks };
    fallbacks.push({ mode, reason: result.ok ? `mode ${mode} is not available in this build` : result.reason });
  }
  return { requested, mode: 'iptables', fallbacks };
}
