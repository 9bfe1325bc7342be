import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// kube-proxy's metric names (subsystem "kubeproxy"), so existing dashboards work.
const BUCKETS = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384];

export class Metrics {
  readonly registry = new Registry();
  readonly syncDuration: Histogram;
  readonly syncFullDuration: Histogram;
  readonly syncPartialDuration: Histogram;
  readonly lastSyncTimestamp: Gauge;
  readonly serviceChanges: Counter;
  readonly endpointChanges: Counter;
  readonly iptablesTotal: Gauge<'table'>;
  readonly kernelObjects: Gauge<'mode' | 'kind'>;
  readonly restoreFailures: Counter;
  readonly invalidObjects: Counter<'kind'>;
  readonly proxyMode: Gauge<'mode' | 'requested'>;
  readonly modeFallbacks: Counter<'mode' | 'requested'>;
  readonly conntrackFailures: Counter<'code'>;
  readonly driftChecks: Counter<'result'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.syncDuration = new Histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds', buckets: BUCKETS, registers });
    this.syncFullDuration = new Histogram({ name: 'kubeproxy_sync_full_proxy_rules_duration_seconds', help: 'Full SyncProxyRules latency in seconds', buckets: BUCKETS, registers });
    this.syncPartialDuration = new Histogram({ name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds', help: 'Partial SyncProxyRules latency in seconds', buckets: BUCKETS, registers });
    this.lastSyncTimestamp = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', registers });
    this.serviceChanges = new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative proxy rules Service changes', registers });
    this.endpointChanges = new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative proxy rules Endpoint changes', registers });
    this.iptablesTotal = new Gauge({ name: 'kubeproxy_sync_proxy_rules_iptables_total', help: 'Total number of iptables rules owned by svcplane', labelNames: ['table'], registers });
    this.kernelObjects = new Gauge({ name: 'svcplane_kernel_objects', help: 'Objects svcplane owns in the kernel after the last sync, by mode and kind (rules per table, virtual servers, map entries)', labelNames: ['mode', 'kind'], registers });
    this.restoreFailures = new Counter({ name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total', help: 'Cumulative proxy iptables restore failures', registers });
    this.invalidObjects = new Counter({ name: 'svcplane_invalid_objects_total', help: 'Objects skipped because they failed validation', labelNames: ['kind'], registers });
    this.proxyMode = new Gauge({ name: 'svcplane_proxy_mode', help: 'The proxy mode in use (1), with the mode that was requested', labelNames: ['mode', 'requested'], registers });
    this.modeFallbacks = new Counter({ name: 'svcplane_proxy_mode_fallbacks_total', help: 'Requested proxy modes the kernel could not run, by requested mode and the mode used instead', labelNames: ['mode', 'requested'], registers });
    this.conntrackFailures = new Counter({ name: 'svcplane_conntrack_cleanup_failures_total', help: 'Stale conntrack entry deletions that failed, by error code (SVCPLANE_COMMAND_NOT_FOUND: the conntrack tool is missing)', labelNames: ['code'], registers });
    this.driftChecks = new Counter({ name: 'svcplane_drift_checks_total', help: 'Periodic read-backs of the kernel against the last committed sync, by result (clean: no rewrite; drift: a full sync followed; error: the check failed, a full sync followed)', labelNames: ['result'], registers });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
