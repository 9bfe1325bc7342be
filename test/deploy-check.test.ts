// deploy/: the checker behind `make deploy-check` passes the shipped artefacts and fails
// broken copies of them; and the artefacts hold what a service proxy's deployment needs.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readConfigFile, resolveConfig } from '../src/agent/config.js';
import { execStartArgs, lintDockerfile, lintUnit, parseUnit, unitValue } from './lib/deploy-file-lint.js';
import { checkManifestDir, configProblems, loadManifestDir, SchemaRegistry, settingsFromArgs, type K8sObject } from './lib/k8s-manifest-check.js';

const ROOT = resolve(import.meta.dirname, '..');
const DEPLOY = join(ROOT, 'deploy');
const K8S = join(DEPLOY, 'kubernetes');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const parser = { readConfigFile, resolveConfig };
const registry = new SchemaRegistry();
const scratch: string[] = [];
afterAll(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of deploy/ to break, with `edit` applied to one file's text. */
function brokenCopy(file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'svcp-deploy-'));
  scratch.push(dir);
  cpSync(DEPLOY, dir, { recursive: true });
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  expect(after, `the edit of ${file} changed nothing`).not.toBe(before);
  writeFileSync(path, after);
  return dir;
}

const objects = (): Map<string, K8sObject> => new Map(loadManifestDir(K8S).docs.map((d) => [String(d.object.kind), d.object]));
const at = (o: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], o);

describe('make deploy-check (scripts/deploy-check.mjs)', () => {
  const run = (...args: string[]) => promisify(execFile)(NODE, [join(ROOT, 'scripts', 'deploy-check.mjs'), ...args]).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
  );

  it('passes the shipped deploy/ folder', async () => {
    const { code, out } = await run();
    expect(out).toContain('kubernetes: 5 objects (ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, DaemonSet)');
    expect(out).toContain('deploy-check: all 4 checks passed');
    expect(code).toBe(0);
  });

  it('fails a copy whose DaemonSet has a wrong field type, naming the field', async () => {
    const dir = brokenCopy('kubernetes/daemon-set.yaml', (t) => t.replace('hostNetwork: true', 'hostNetwork: "yes"'));
    const { code, out } = await run('--deploy', dir);
    expect(out).toContain('FAIL kubernetes');
    expect(out).toContain('daemon-set.yaml DaemonSet svcplane: /spec/template/spec/hostNetwork: must be boolean');
    expect(code).toBe(1);
  });

  it('fails a copy whose systemd config.yaml svcplane cannot parse', async () => {
    const dir = brokenCopy('systemd/config.yaml', (t) => t.replace('syncPeriod: 30s', 'syncPeriod: soon'));
    const { code, out } = await run('--deploy', dir);
    expect(out).toMatch(/FAIL systemd\/config\.yaml.*\n.*syncPeriod/);
    expect(code).toBe(1);
  });
});

describe('Kubernetes manifests', () => {
  it('validate against the schemas, with no unknown fields, and are wired together', () => {
    expect(checkManifestDir(K8S, parser, registry).problems).toEqual([]);
  });

  it('reject wrong types, unknown fields and unknown kinds', () => {
    const role = objects().get('ClusterRole') as K8sObject;
    expect(registry.problems(role)).toEqual([]);
    expect(registry.problems({ ...role, rules: [{ apiGroups: [''], resources: ['services'], verbs: 'list' }] })).toEqual(['/rules/0/verbs: must be array']);
    expect(registry.problems({ ...role, rules: [{ apiGroups: [''], resources: ['services'], verb: ['list'] }] })).toEqual([
      '/rules/0: must have required property verbs',
      '/rules/0/verb: unknown field (kubectl apply rejects it)',
    ]);
    expect(registry.problems({ ...role, kind: 'ClusterRoll' })).toEqual(['unknown apiVersion/kind "rbac.authorization.k8s.io/v1/ClusterRoll"']);
  });

  it('find a ConfigMap config that svcplane rejects, probes off the healthz port and a missing binding', () => {
    const cm = brokenCopy('kubernetes/config-map.yaml', (t) => t.replace('    logFormat: json', '    logFormat: json\n    nodeNmae: a'));
    expect(checkManifestDir(join(cm, 'kubernetes'), parser, registry).problems).toEqual(['config-map.yaml config.yaml: config.yaml: unknown setting "nodeNmae"']);
    const port = brokenCopy('kubernetes/config-map.yaml', (t) => t.replace('healthzBindAddress: 0.0.0.0:10256', 'healthzBindAddress: 0.0.0.0:10266'));
    expect(checkManifestDir(join(port, 'kubernetes'), parser, registry).problems).toEqual([
      'daemon-set.yaml DaemonSet: readinessProbe port 10256 is not healthzBindAddress\'s port 10266',
      'daemon-set.yaml DaemonSet: livenessProbe port 10256 is not healthzBindAddress\'s port 10266',
    ]);
    const sa = brokenCopy('kubernetes/cluster-role-binding.yaml', (t) => t.replace('    name: svcplane\n    namespace: kube-system', '    name: default\n    namespace: kube-system'));
    expect(checkManifestDir(join(sa, 'kubernetes'), parser, registry).problems).toEqual(['daemon-set.yaml DaemonSet: no ClusterRoleBinding binds ServiceAccount kube-system/svcplane']);
  });

  it('flag a manifest the kustomization leaves out', () => {
    const dir = brokenCopy('kubernetes/kustomization.yaml', (t) => t.replace('  - config-map.yaml\n', ''));
    expect(loadManifestDir(join(dir, 'kubernetes')).problems).toEqual(['config-map.yaml: not listed in kustomization.yaml\'s resources, so kubectl apply -k leaves it out']);
  });

  it('grant the ClusterRole exactly the reads and writes a service proxy (with its cluster DNS and Ingress controller) needs', () => {
    const grants = (at(objects().get('ClusterRole'), 'rules') as { apiGroups: string[]; resources: string[]; verbs: string[] }[])
      .flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'}/${res}:${v}`))))
      .sort();
    expect(grants).toEqual([
      'core/events:create', 'core/events:patch', 'core/namespaces:list', 'core/namespaces:watch', 'core/nodes:get', 'core/nodes:list', 'core/nodes:watch',
      'core/secrets:get', 'core/secrets:list', 'core/secrets:watch',
      'core/services:list', 'core/services:watch', 'discovery.k8s.io/endpointslices:list', 'discovery.k8s.io/endpointslices:watch',
      'events.k8s.io/events:create', 'events.k8s.io/events:patch',
      'networking.k8s.io/ingressclasses:get', 'networking.k8s.io/ingressclasses:list', 'networking.k8s.io/ingressclasses:watch',
      'networking.k8s.io/ingresses/status:update',
      'networking.k8s.io/ingresses:get', 'networking.k8s.io/ingresses:list', 'networking.k8s.io/ingresses:watch',
    ]);
  });

  it('run the DaemonSet in the host network on every node, from the ConfigMap, with the host paths it programs through', () => {
    const ds = objects().get('DaemonSet');
    const pod = at(ds, 'spec', 'template', 'spec') as K8sObject;
    expect([pod.hostNetwork, pod.dnsPolicy, pod.priorityClassName, pod.tolerations]).toEqual([true, 'ClusterFirstWithHostNet', 'system-node-critical', [{ operator: 'Exists' }]]);
    expect(at(ds, 'spec', 'updateStrategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    const c = at(pod, 'containers', 0) as K8sObject;
    expect(settingsFromArgs(c.args as string[])).toEqual({ command: 'run', settings: { source: 'kubernetes' }, config: '/etc/svcplane/config.yaml' });
    expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(at(c, 'resources', 'requests')).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    const hostPaths = Object.fromEntries((pod.volumes as K8sObject[]).filter((v) => v.hostPath).map((v) => [at(v, 'hostPath', 'path'), at(v, 'hostPath', 'type') ?? '']));
    expect(hostPaths).toEqual({ '/run/xtables.lock': 'FileOrCreate', '/lib/modules': '', '/sys/fs/bpf': 'DirectoryOrCreate', '/sys/fs/cgroup': 'Directory' });
    const mounts = Object.fromEntries((c.volumeMounts as K8sObject[]).map((m) => [m.mountPath, m.readOnly === true]));
    expect(mounts).toMatchObject({ '/run/xtables.lock': false, '/lib/modules': true, '/etc/svcplane': true });
    // The embedded config is a kubernetes-source config once the args are applied.
    const data = parseYaml(String(at(objects().get('ConfigMap'), 'data', 'config.yaml'))) as K8sObject;
    expect(data.source).toBe('kubernetes');
  });
});

describe('systemd unit and config', () => {
  const text = readFileSync(join(DEPLOY, 'systemd', 'svcplane.service'), 'utf8');
  const { unit } = parseUnit(text);

  it('runs the files source as a restarting service that SIGTERM stops without cleanup', () => {
    expect(lintUnit(text)).toEqual([]);
    expect(settingsFromArgs(execStartArgs(unit).slice(1))).toEqual({
      command: 'run', settings: { source: 'files', manifests: ['/etc/svcplane/services'] }, config: '/etc/svcplane/config.yaml',
    });
    expect(['Restart', 'KillSignal'].map((k) => unitValue(unit, 'Service', k))).toEqual(['always', 'SIGTERM']);
    expect(unitValue(unit, 'Unit', 'After')).toContain('network-online.target');
    expect(unitValue(unit, 'Service', 'CapabilityBoundingSet')?.split(' ')).toEqual(expect.arrayContaining(['CAP_NET_ADMIN', 'CAP_NET_RAW']));
    expect(Number(unitValue(unit, 'Service', 'LimitNOFILE'))).toBeGreaterThanOrEqual(65536);
  });

  it('lint finds a bad Restart value, a relative ExecStart and a missing [Install]', () => {
    const broken = text.replace('Restart=always', 'Restart=sometimes').replace('ExecStart=/opt/', 'ExecStart=opt/').replace(/\[Install\][^]*$/, '');
    expect(lintUnit(broken)).toEqual([
      'no [Install] section',
      'ExecStart must start with an absolute path, not opt/svcplane/bin/svcplane',
      'Restart=sometimes is not a systemd value',
      '[Install] has no WantedBy, so systemctl enable does nothing',
    ]);
  });

  it('config.yaml resolves with the unit\'s flags through svcplane\'s parser, and a bad value does not', () => {
    const config = readFileSync(join(DEPLOY, 'systemd', 'config.yaml'), 'utf8');
    const { settings } = settingsFromArgs(execStartArgs(unit).slice(1));
    expect(configProblems('config.yaml', config, settings, parser)).toEqual({ problems: [], healthzBindAddress: '0.0.0.0:10256' });
    expect(configProblems('config.yaml', config.replace('iptablesBackend: auto', 'iptablesBackend: both'), settings, parser).problems).toEqual([
      'config.yaml: iptablesBackend: unsupported value "both": supported values: auto, nft, legacy',
    ]);
  });
});

describe('Dockerfile lint', () => {
  const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const dockerignore = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8');
  const lint = (text: string) => lintDockerfile(text, ROOT, { dockerignore, requiredPackages: ['iptables', 'nftables', 'conntrack', 'iproute2', 'kmod'] });

  it('passes the shipped Dockerfile', () => {
    expect(lint(dockerfile)).toEqual([]);
  });

  it('finds a shell-form ENTRYPOINT, an unknown stage, a file outside the context and a missing tool', () => {
    const broken = dockerfile
      .replace('ENTRYPOINT ["/opt/svcplane/bin/svcplane"]', 'ENTRYPOINT /opt/svcplane/bin/svcplane')
      .replace('COPY --from=deps ', 'COPY --from=dep ')
      .replace('COPY bin ./bin', 'COPY bin-missing ./bin')
      .replace('COPY examples ./examples', 'COPY dist ./dist')
      .replace('nftables conntrack', 'nftables');
    expect(lint(broken)).toEqual([
      expect.stringMatching(/^line \d+: --from=dep names no earlier stage$/),
      expect.stringMatching(/^line \d+: bin-missing is not in the build context$/),
      expect.stringMatching(/^line \d+: dist is excluded by the .dockerignore$/),
      expect.stringMatching(/^line \d+: ENTRYPOINT must be in exec form/),
      'the final stage does not apt-get install conntrack',
    ]);
  });
});
