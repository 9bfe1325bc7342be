// Answers one question from the cluster zone, or says it belongs upstream. Pure: no sockets,
// no clock; the server turns the result into a packet.
import type { Answer as WireRecord, SoaAnswer } from 'dns-packet';
import { isInZone, nameKey, podLabelAddress, relativeLabels, REVERSE_V4_ZONE, REVERSE_V6_ZONE } from './names.js';
import type { RecordIndex } from './record-index.js';
import type { ZoneRecord } from './service-records.js';

export type PodRecordMode = 'insecure' | 'verified' | 'disabled';
export const POD_RECORD_MODES: readonly PodRecordMode[] = ['insecure', 'verified', 'disabled'];

/** The schema version of the Kubernetes DNS specification followed (dns-version.<zone>). */
export const DNS_SCHEMA_VERSION = '1.1.0';
/** The longest presentation name (without the trailing dot) a query may carry. */
export const MAX_NAME_LENGTH = 253;

export interface AnswerOptions {
  readonly ttl: number;
  readonly podRecords: PodRecordMode;
}

export type ZoneAnswer =
  | {
      readonly kind: 'local';
      readonly rcode: 'NOERROR' | 'NXDOMAIN';
      readonly answers: WireRecord[];
      readonly authorities: WireRecord[];
      readonly additionals: WireRecord[];
      /** An ExternalName's target to resolve upstream and append (as CoreDNS chases it). */
      readonly chase?: string;
    }
  /** Not ours: forward to the upstreams. */
  | { readonly kind: 'forward' };

type QType = string;

export class ZoneResponder {
  private readonly zone: string;

  constructor(
    private readonly index: RecordIndex,
    private readonly options: AnswerOptions,
  ) {
    this.zone = index.zone;
  }

  /** The record index's serial: answers made at one serial hold until it changes. */
  get serial(): number {
    return this.index.serial;
  }

  /** `qname` as asked (its case is kept in the answer's owner names). */
  answer(qname: string, qtype: QType): ZoneAnswer {
    const key = nameKey(qname);
    const owner = qname.endsWith('.') ? qname.slice(0, -1) : qname;
    if (isInZone(key, REVERSE_V4_ZONE) || isInZone(key, REVERSE_V6_ZONE)) return this.reverse(key, owner, qtype);
    if (!isInZone(key, this.zone)) return { kind: 'forward' };
    if (key.length > MAX_NAME_LENGTH || key.split('.').some((l) => l === '')) return this.negative('NXDOMAIN');
    const labels = relativeLabels(key, this.zone);
    if (labels.length === 0) return this.apex(owner, qtype);
    if (labels.length === 1 && labels[0] === 'dns-version') {
      return qtype === 'TXT' || qtype === 'ANY'
        ? this.positive([{ name: owner, type: 'TXT', ttl: this.options.ttl, class: 'IN', data: [DNS_SCHEMA_VERSION] }])
        : this.negative('NOERROR');
    }
    const top = labels[labels.length - 1];
    if (top === 'pod') return this.pod(labels, owner, qtype);
    if (top !== 'svc') return this.negative('NXDOMAIN');
    return this.service(key, labels, owner, qtype);
  }

  private service(key: string, labels: string[], owner: string, qtype: QType): ZoneAnswer {
    const records = this.index.lookup(key);
    if (!records) {
      const exists = labels.length === 1 || this.index.hasNamesBelow(key) || (labels.length === 2 && this.index.namespaceExists(labels[0] ?? ''));
      return this.negative(exists ? 'NOERROR' : 'NXDOMAIN');
    }
    const cname = records.find((r) => r.type === 'CNAME');
    if (cname && qtype !== 'CNAME') {
      const answers = [this.wire(owner, cname)];
      return { kind: 'local', rcode: 'NOERROR', answers, authorities: [], additionals: [], ...(qtype === 'A' || qtype === 'AAAA' ? { chase: cname.data as string } : {}) };
    }
    const matching = qtype === 'ANY' ? records : records.filter((r) => r.type === qtype);
    if (matching.length === 0) return this.negative('NOERROR');
    const answers = matching.map((r) => this.wire(owner, r));
    const additionals: WireRecord[] = [];
    const seen = new Set<string>();
    for (const r of matching) {
      if (r.type !== 'SRV' || seen.has(r.data.target)) continue;
      seen.add(r.data.target);
      for (const t of this.index.lookup(r.data.target) ?? []) if (t.type === 'A' || t.type === 'AAAA') additionals.push(this.wire(r.data.target, t));
    }
    return { kind: 'local', rcode: 'NOERROR', answers, authorities: [], additionals };
  }

  /** `<a-b-c-d>.<ns>.pod.<zone>`; `pod.<zone>` and `<ns>.pod.<zone>` exist without records. */
  private pod(labels: string[], owner: string, qtype: QType): ZoneAnswer {
    if (labels.length === 1) return this.negative('NOERROR');
    const namespace = labels[labels.length - 2] ?? '';
    if (this.options.podRecords === 'disabled' || labels.length > 3 || !this.index.namespaceExists(namespace)) return this.negative('NXDOMAIN');
    if (labels.length === 2) return this.negative('NOERROR');
    const address = podLabelAddress(labels[0] ?? '');
    if (!address) return this.negative('NXDOMAIN');
    if (this.options.podRecords === 'verified' && !this.index.namespaceHasAddress(namespace, address)) return this.negative('NXDOMAIN');
    const type = address.includes(':') ? 'AAAA' : 'A';
    if (qtype !== type && qtype !== 'ANY') return this.negative('NOERROR');
    return this.positive([this.wire(owner, { type, data: address })]);
  }

  /** PTRs for known addresses; every other reverse name goes upstream (CoreDNS's fallthrough). */
  private reverse(key: string, owner: string, qtype: QType): ZoneAnswer {
    const records = this.index.lookup(key);
    if (!records) return { kind: 'forward' };
    const matching = records.filter((r) => r.type === 'PTR' && (qtype === 'PTR' || qtype === 'ANY'));
    if (matching.length === 0) return { kind: 'local', rcode: 'NOERROR', answers: [], authorities: [], additionals: [] };
    return this.positive(matching.map((r) => this.wire(owner, r)));
  }

  private apex(owner: string, qtype: QType): ZoneAnswer {
    if (qtype === 'SOA') return this.positive([{ ...this.soa(), name: owner }]);
    if (qtype === 'NS') return this.positive([{ name: owner, type: 'NS', ttl: this.options.ttl, class: 'IN', data: `ns.dns.${this.zone}` }]);
    return this.negative('NOERROR');
  }

  private positive(answers: WireRecord[]): ZoneAnswer {
    return { kind: 'local', rcode: 'NOERROR', answers, authorities: [], additionals: [] };
  }

  /** NXDOMAIN or NODATA, with the zone's SOA so resolvers can cache the negative for its TTL. */
  private negative(rcode: 'NOERROR' | 'NXDOMAIN'): ZoneAnswer {
    return { kind: 'local', rcode, answers: [], authorities: [this.soa()], additionals: [] };
  }

  soa(): SoaAnswer {
    const ttl = this.options.ttl;
    return {
      name: this.zone,
      type: 'SOA',
      ttl,
      class: 'IN',
      data: { mname: `ns.dns.${this.zone}`, rname: `hostmaster.${this.zone}`, serial: this.index.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
    };
  }

  private wire(owner: string, r: ZoneRecord): WireRecord {
    const base = { name: owner, ttl: this.options.ttl, class: 'IN' as const };
    switch (r.type) {
      case 'SRV':
        return { ...base, type: 'SRV', data: { ...r.data } };
      default:
        return { ...base, type: r.type, data: r.data };
    }
  }
}
