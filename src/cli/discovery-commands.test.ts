// pod-env and resolv-conf as the command line runs them: flags, manifests read by
// the agent's own source (cluster IPs allocated as `plan` allocates them), output.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerPodEnv } from './pod-env-command.js';
import { registerResolvConf } from './resolv-conf-command.js';
import { loadManifests } from './load-manifests.js';

const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sp-discovery-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

async function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command('svcplane').exitOverride();
  registerPodEnv(program);
  registerResolvConf(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await program.parseAsync(['node', 'svcplane', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}

// The document's example: a service "redis-master" exposing TCP port 6379 at cluster IP 10.0.0.11.
const REDIS = write('redis.yaml', `apiVersion: v1
kind: Service
metadata: {name: redis-master}
spec:
  clusterIP: 10.0.0.11
  selector: {app: redis}
  ports: [{protocol: TCP, port: 6379, targetPort: 6379}]
`);

describe('svcplane pod-env', () => {
  it('prints the document\'s redis-master variables exactly', async () => {
    const { stdout, stderr } = await run(['pod-env', '--manifests', REDIS, '--namespace', 'default']);
    expect(stderr).toBe('');
    expect(stdout).toBe(`REDIS_MASTER_SERVICE_HOST=10.0.0.11
REDIS_MASTER_SERVICE_PORT=6379
REDIS_MASTER_PORT=tcp://10.0.0.11:6379
REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379
REDIS_MASTER_PORT_6379_TCP_PROTO=tcp
REDIS_MASTER_PORT_6379_TCP_PORT=6379
REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11
`);
  });

  it('gives an allocated cluster IP the address the agent allocates', async () => {
    const file = write('unset.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: no-ip, namespace: team}\nspec:\n  ports: [{port: 8080}]\n');
    const { events } = await loadManifests([file]);
    const agentIP = events.flatMap((e) => (e.type === 'service-upsert' ? e.service.clusterIPs : []))[0];
    expect(agentIP).toMatch(/^10\./);
    const { stdout } = await run(['pod-env', '--manifests', file, '--namespace', 'team']);
    expect(stdout.split('\n')[0]).toBe(`NO_IP_SERVICE_HOST=${agentIP}`);
  });

  it('with --pod: the pod\'s namespace and env (expanded), headless and ExternalName examples give nothing', async () => {
    const { stdout } = await run(['pod-env', '--manifests', EXAMPLES, '--pod', join(EXAMPLES, 'pods', 'client.yaml')]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['MY_SERVICE_URL=http://10.96.0.100:80/', 'POD_NAMESPACE=default']);
    expect(lines).toContain('MY_SERVICE_SERVICE_HOST=10.96.0.100');
    expect(lines).toContain('DNS_PORT=udp://10.96.0.10:53');
    expect(lines.filter((l) => /^(HEADLESS|MY_DATABASE|EXTERNAL)/.test(l))).toEqual([]);
    // selectorless.yaml's my-service is in another namespace: one MY_SERVICE_SERVICE_HOST only.
    expect(lines.filter((l) => l.startsWith('MY_SERVICE_SERVICE_HOST='))).toHaveLength(1);
  });

  it('--enable-service-links false keeps only default/kubernetes (none here)', async () => {
    const { stdout } = await run(['pod-env', '--manifests', REDIS, '--namespace', 'default', '--enable-service-links', 'false']);
    expect(stdout).toBe('');
  });

  it('refuses --namespace with --pod, and a bad namespace, naming the flag', async () => {
    await expect(run(['pod-env', '--manifests', REDIS])).rejects.toThrow('give exactly one of --namespace or --pod');
    await expect(run(['pod-env', '--manifests', REDIS, '--namespace', 'Bad_NS'])).rejects.toThrow('--namespace "Bad_NS"');
  });

  it('a bad pod file fails with every problem named by field', async () => {
    const file = write('bad-pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  dnsPolicy: None\n  containers: [{name: c, env: [{name: "A=B"}]}]\n');
    await expect(run(['pod-env', '--manifests', REDIS, '--pod', file])).rejects.toThrow(
      `${file}:1: Pod default/p: spec.dnsConfig: must provide at least one DNS nameserver when DNS policy is None\n${file}:1: Pod default/p: spec.containers[0].env[0].name: invalid value "A=B"`,
    );
  });
});

describe('svcplane resolv-conf', () => {
  it('prints the document\'s dns-example resolv.conf exactly', async () => {
    const { stdout, stderr } = await run(['resolv-conf', '--pod', join(EXAMPLES, 'pods', 'dns-example.yaml')]);
    expect(stderr).toBe('');
    expect(stdout).toBe('nameserver 1.2.3.4\nsearch ns1.svc.cluster-domain.example my.dns.search.suffix\noptions ndots:2 edns0\n');
  });

  it('ClusterFirst with --cluster-dns (repeated or comma-separated) and the host file\'s search path', async () => {
    const host = write('host-resolv.conf', 'nameserver 192.0.2.53\nsearch corp.example.\noptions rotate\n');
    const pod = join(EXAMPLES, 'pods', 'client.yaml');
    const { stdout } = await run(['resolv-conf', '--pod', pod, '--cluster-dns', '10.96.0.10,10.96.0.11', '--cluster-dns', '10.96.0.12', '--host-resolv-conf', host, '--cluster-domain', 'k8s.example']);
    expect(stdout).toBe('nameserver 10.96.0.10\nnameserver 10.96.0.11\nnameserver 10.96.0.12\nsearch default.svc.k8s.example svc.k8s.example k8s.example corp.example\noptions ndots:5\n');
  });

  it('without --cluster-dns: warns and falls back to the host file; --host-resolv-conf \'\' means none', async () => {
    const pod = join(EXAMPLES, 'pods', 'client.yaml');
    const { stdout, stderr } = await run(['resolv-conf', '--pod', pod, '--host-resolv-conf', '']);
    expect(stdout).toBe('nameserver 127.0.0.1\nsearch .\n');
    expect(stderr).toMatch(/^svcplane: warning: Pod default\/client: no cluster DNS server configured \(--cluster-dns\)/);
  });

  it('refuses a bad --cluster-dns and a host file with a bare nameserver line', async () => {
    const pod = join(EXAMPLES, 'pods', 'client.yaml');
    await expect(run(['resolv-conf', '--pod', pod, '--cluster-dns', '10.96.0.300'])).rejects.toThrow('--cluster-dns "10.96.0.300": not an IP address');
    const bad = write('bad-resolv.conf', 'nameserver\n');
    await expect(run(['resolv-conf', '--pod', pod, '--cluster-dns', '10.96.0.10', '--host-resolv-conf', bad])).rejects.toThrow(`${bad}: line 1: nameserver list is empty`);
  });
});
