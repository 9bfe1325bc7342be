import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildKubeConfig } from './kubernetes-config.js';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    insecure-skip-tls-verify: false
users:
- name: agent
  user:
    token: secret-token
contexts:
- name: prod
  context: {cluster: prod, user: agent}
current-context: prod
`;

describe('buildKubeConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'svcp-kubeconfig-'));
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads an explicit kubeconfig, even in a cluster, and --master overrides its server', () => {
    const file = join(dir, 'config');
    writeFileSync(file, KUBECONFIG);
    const kc = buildKubeConfig({ kubeconfig: file, env: { KUBERNETES_SERVICE_HOST: 'kubernetes.default.svc' } });
    expect(kc.getCurrentCluster()?.server).toBe('https://prod.example:6443');
    expect(kc.getCurrentUser()?.token).toBe('secret-token');
    const overridden = buildKubeConfig({ kubeconfig: file, master: 'https://other.example:443' });
    expect(overridden.getCurrentCluster()?.server).toBe('https://other.example:443');
    expect(overridden.getCurrentCluster()?.skipTLSVerify).toBe(false);
    expect(overridden.getCurrentUser()?.token).toBe('secret-token');
  });

  it('uses the service account in a cluster', () => {
    vi.stubEnv('KUBERNETES_SERVICE_HOST', 'kubernetes.default.svc');
    vi.stubEnv('KUBERNETES_SERVICE_PORT', '443');
    const kc = buildKubeConfig({ env: { KUBERNETES_SERVICE_HOST: 'kubernetes.default.svc' } });
    expect(kc.getCurrentCluster()?.server).toBe('https://kubernetes.default.svc:443');
    expect(kc.getCurrentCluster()?.caFile).toBe('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
  });

  it('talks to --master alone without credentials; plain http needs skipTLSVerify in client-node', () => {
    const kc = buildKubeConfig({ master: 'http://127.0.0.1:8001', env: {} });
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'http://127.0.0.1:8001', skipTLSVerify: true });
    expect(kc.getCurrentUser()?.token).toBeUndefined();
  });

  it('rejects a master that is not a URL and a missing kubeconfig file', () => {
    expect(() => buildKubeConfig({ master: '127.0.0.1:8001', env: {} })).toThrow(/--master must be/);
    expect(() => buildKubeConfig({ kubeconfig: join(dir, 'missing'), env: {} })).toThrow(expect.objectContaining({ code: 'SVCPLANE_KUBECONFIG' }));
  });
});
