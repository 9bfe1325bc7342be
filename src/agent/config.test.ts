import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, nodeContextFrom, readConfigFile, resolveConfig } from './config.js';

function tmpFile(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'svcp-cfg-')), 'config.yaml');
  writeFileSync(p, text);
  return p;
}

describe('resolveConfig', () => {
  it('applies kube-proxy-like defaults', () => {
    const c = resolveConfig({ nodeName: 'n1' });
    expect(c).toMatchObject({ mode: 'iptables', minSyncPeriodMs: 1000, syncPeriodMs: 30_000, healthzBindAddress: '0.0.0.0:10256', metricsBindAddress: '127.0.0.1:10249', masqueradeBit: 14, logFormat: 'json' });
  });

  it('lets flags win over the file and the file over defaults', () => {
    const file = readConfigFile(tmpFile('mode: iptables\nsyncPeriod: 1m\nclusterCIDR: 10.244.0.0/16\niptables:\n  minSyncPeriod: 200ms\n  masqueradeAll: true\n'));
    const c = resolveConfig({ syncPeriod: '45s', nodeIP: '192.168.1.1,fd00::1' }, file);
    expect(c.syncPeriodMs).toBe(45_000);
    expect(c.minSyncPeriodMs).toBe(200);
    expect(c.masqueradeAll).toBe(true);
    expect(c.clusterCIDRs).toEqual(['10.244.0.0/16']);
    expect(c.nodeIPs).toEqual(['192.168.1.1', 'fd00::1']);
  });

  it('reads the source settings, including kube-proxy\'s clientConnection.kubeconfig', () => {
    expect(resolveConfig({}).source).toBe('files');
    const file = readConfigFile(tmpFile('source: kubernetes\nclientConnection:\n  kubeconfig: /var/lib/svcplane/kubeconfig\nserviceProxyName: svcplane\n'));
    const c = resolveConfig({ master: 'https://10.0.0.1:6443' }, file);
    expect(c).toMatchObject({ source: 'kubernetes', kubeconfig: '/var/lib/svcplane/kubeconfig', master: 'https://10.0.0.1:6443', serviceProxyName: 'svcplane' });
    expect(() => resolveConfig({ source: 'etcd' })).toThrow(/source: unsupported value "etcd"/);
  });

  it('names the bad setting', () => {
    expect(() => resolveConfig({ mode: 'ipchains' })).toThrow(/mode: unsupported value "ipchains"/);
    expect(() => resolveConfig({ syncPeriod: 'soon' })).toThrow(/syncPeriod: invalid duration/);
    expect(() => readConfigFile(tmpFile('syncPeriod: 1s\nbogus: 1\n'))).toThrow(ConfigError);
    expect(() => readConfigFile(tmpFile('a: [\n'))).toThrow(/config.yaml/);
  });

  it('localhost NodePorts: on by default as kube-proxy\'s, off by flag or by the file\'s iptables.localhostNodePorts', () => {
    expect(nodeContextFrom(resolveConfig({})).localhostNodePorts).toBe(true);
    expect(resolveConfig({ localhostNodePorts: 'false' }).localhostNodePorts).toBe(false);
    expect(resolveConfig({}, readConfigFile(tmpFile('iptables:\n  localhostNodePorts: false\n'))).localhostNodePorts).toBe(false);
    expect(() => resolveConfig({ localhostNodePorts: 'no' })).toThrow(/localhostNodePorts: expected true or false/);
  });

  it('the service range reaches the dataplane from manifests, or from the API server only when given on purpose', () => {
    expect(nodeContextFrom(resolveConfig({})).serviceCIDRs).toEqual(['10.96.0.0/12', 'fd00:10:96::/108']);
    expect(nodeContextFrom(resolveConfig({ source: 'kubernetes' })).serviceCIDRs).toEqual([]);
    expect(nodeContextFrom(resolveConfig({ source: 'kubernetes', serviceClusterIPRange: '10.100.0.0/16' })).serviceCIDRs).toEqual(['10.100.0.0/16']);
    expect(nodeContextFrom(resolveConfig({}, readConfigFile(tmpFile('source: kubernetes\nserviceClusterIPRange: 10.100.0.0/16\n')))).serviceCIDRs).toEqual(['10.100.0.0/16']);
  });
});
