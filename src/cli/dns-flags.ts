// The DNS serving settings shared by `svcplane dns` (--cluster-domain, --pod-records, --ttl)
// and `svcplane run` (the same under --dns-*): parsed and checked in one place.
import { availableParallelism } from 'node:os';
import { POD_RECORD_MODES, type PodRecordMode } from '../dns/answer.js';

export interface DnsServingSettings {
  readonly clusterDomain: string;
  readonly podRecords: PodRecordMode;
  readonly ttl: number;
  /** UDP worker threads (0: UDP in the main thread). */
  readonly workers: number;
}

/** One UDP worker per core, at most 8 (each holds a copy of the record index). */
export function defaultDnsWorkers(): number {
  return Math.min(8, availableParallelism());
}

/** Defaults as a kubeadm cluster's CoreDNS; `workers` as defaultDnsWorkers() (filled in when parsing). */
export const DNS_SERVING_DEFAULTS: DnsServingSettings = { clusterDomain: 'cluster.local', podRecords: 'insecure', ttl: 5, workers: 0 };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Each argument is the flag's value as given (undefined: not given), `flag` its name for errors. */
export function parseDnsServing(
  given: { clusterDomain?: unknown; podRecords?: unknown; ttl?: unknown; workers?: unknown },
  flags: { clusterDomain: string; podRecords: string; ttl: string; workers: string },
  command: string,
): DnsServingSettings {
  const out = { ...DNS_SERVING_DEFAULTS, workers: defaultDnsWorkers() };
  if (given.clusterDomain !== undefined) {
    const domain = String(given.clusterDomain).toLowerCase().replace(/\.$/, '');
    if (domain.length === 0 || domain.length > 200 || !domain.split('.').every((l) => LABEL.test(l))) {
      throw new Error(`${command}: ${flags.clusterDomain} ${JSON.stringify(given.clusterDomain)}: expected a DNS name such as cluster.local`);
    }
    out.clusterDomain = domain;
  }
  if (given.podRecords !== undefined) {
    const mode = String(given.podRecords);
    if (!(POD_RECORD_MODES as readonly string[]).includes(mode)) throw new Error(`${command}: ${flags.podRecords} ${JSON.stringify(mode)}: expected ${POD_RECORD_MODES.join(', ')}`);
    out.podRecords = mode as PodRecordMode;
  }
  if (given.ttl !== undefined) {
    const ttl = Number(given.ttl);
    if (String(given.ttl).trim() === '' || !Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new Error(`${command}: ${flags.ttl} ${String(given.ttl)}: expected whole seconds from 0 to 3600`);
    out.ttl = ttl;
  }
  if (given.workers !== undefined) {
    const workers = Number(given.workers);
    if (String(given.workers).trim() === '' || !Number.isInteger(workers) || workers < 0 || workers > 64) throw new Error(`${command}: ${flags.workers} ${String(given.workers)}: expected a whole number from 0 (UDP in the main thread) to 64`);
    out.workers = workers;
  }
  return out;
}
