// Privileged: `svcplane exec` end to end, from the build. A network namespace holds
// svcplane's own cluster DNS server (`svcplane dns`, checked with dig first); the
// command run under exec resolves a service by its short name through glibc and the
// generated /etc/resolv.conf, and sees the service variables in its environment,
// while the host's /etc/resolv.conf and mount table stay as they were.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { HOLDER_ENV } from '../../src/kernel/pod-exec.js';
import { addNetns, deleteNetns, ipIn } from '../../src/testbed/netns.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const NS = 'svcp-discovery-exec';
const DNS_IP = '10.253.53.10';

const SERVICES = `apiVersion: v1
kind: Service
metadata: {name: my-service, namespace: default}
spec:
  selector: {app: my-app}
  ports: [{name: http, protocol: TCP, port: 80, targetPort: 9376}]
---
apiVersion: v1
kind: Service
metadata: {name: redis-master, namespace: default}
spec:
  clusterIP: 10.96.0.11
  ports: [{port: 6379, targetPort: 6379}]
`;
const POD = `apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec:
  containers:
  - name: app
    env:
    - {name: MY_URL, value: "http://$(MY_SERVICE_SERVICE_HOST):$(MY_SERVICE_SERVICE_PORT_HTTP)/"}
`;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function svcplane(args: readonly string[], onStart?: (pid: number, stdout: NodeJS.ReadableStream) => void): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  if (onStart && child.pid !== undefined) onStart(child.pid, child.stdout);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const readEnviron = (pid: string): string => {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return ''; // gone meanwhile
  }
};
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const resolvMounts = (): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(' /etc/resolv.conf '));

describe('svcplane exec (privileged)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-discovery-exec-'));
  const manifests = join(dir, 'services.yaml');
  const podFile = join(dir, 'pod.yaml');
  let server: ReturnType<typeof spawn> | undefined;
  let clusterIP = '';
  const hostResolv = { sha: '', mounts: [] as string[] };
  const execArgs = (): string[] => ['exec', '--pod', podFile, '--manifests', manifests, '--cluster-dns', DNS_IP, '--netns', NS, '--'];

  beforeAll(async () => {
    writeFileSync(manifests, SERVICES);
    writeFileSync(podFile, POD);
    hostResolv.sha = sha('/etc/resolv.conf');
    hostResolv.mounts = resolvMounts();
    await deleteNetns(NS);
    await addNetns(NS);
    // The server's address lives on the namespace's loopback (no dummy module needed).
    await ipIn(NS, ['addr', 'add', `${DNS_IP}/32`, 'dev', 'lo']);
    // Nothing leaves the namespace.
    await ipIn(NS, ['route', 'add', 'blackhole', 'default']);

    // The allocated cluster IP as pod-env reports it must be the one `plan` programs.
    const env = await svcplane(['pod-env', '--manifests', manifests, '--namespace', 'default']);
    expect(env.code, env.stderr).toBe(0);
    clusterIP = /^MY_SERVICE_SERVICE_HOST=(\S+)$/m.exec(env.stdout)?.[1] ?? '';
    expect(clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    const plan = await svcplane(['plan', '--mode', 'iptables', '--manifests', manifests, '--cluster-cidr', '10.244.0.0/16']);
    expect(plan.stdout).toContain(`-d ${clusterIP}/32 --dport 80`);

    // The cluster DNS server serves the same manifests; other names go to an upstream inside
    // the namespace where nothing listens (SERVFAIL at once, nothing leaves the namespace).
    server = spawn('ip', ['netns', 'exec', NS, process.execPath, CLI, 'dns', '--manifests', manifests, '--listen', `${DNS_IP}:53`, '--upstream', '127.0.0.1:9'],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const dig = await runChecked('dig', ['+short', '+time=1', '+tries=1', `@${DNS_IP}`, 'my-service.default.svc.cluster.local', 'A'], { netns: NS }).catch(() => undefined);
      if (dig?.stdout.trim() === clusterIP) break;
      if (Date.now() > deadline) throw new Error(`svcplane dns did not answer my-service with ${clusterIP} within 30 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    server?.kill('SIGTERM');
    await deleteNetns(NS);
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves a service by its short name through glibc and the generated resolv.conf, in the namespace', async () => {
    const run = await svcplane([...execArgs(), 'getent', 'hosts', 'my-service']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Only the full name exists: the search path of the generated file found it.
    expect(run.stdout.trim().split(/\s+/)).toEqual([clusterIP, 'my-service.default.svc.cluster.local']);
    const withNamespace = await svcplane([...execArgs(), 'getent', 'hosts', 'my-service.default']);
    expect(withNamespace.stdout.trim().split(/\s+/)).toEqual([clusterIP, 'my-service.default.svc.cluster.local']);
  });

  it('an unknown name is not found (NXDOMAIN through every search domain)', async () => {
    const run = await svcplane([...execArgs(), 'getent', 'hosts', 'no-such-service']);
    expect(run.code).toBe(2);
  });

  it('the command sees the resolv.conf that `svcplane resolv-conf` prints, and runs in the namespace', async () => {
    const expected = await svcplane(['resolv-conf', '--pod', podFile, '--cluster-dns', DNS_IP]);
    expect(expected.stdout).toMatch(/^nameserver 10\.253\.53\.10\nsearch default\.svc\.cluster\.local svc\.cluster\.local cluster\.local( |\n)/);
    const cat = await svcplane([...execArgs(), 'cat', '/etc/resolv.conf']);
    expect(cat.stdout).toBe(expected.stdout);
    const addrs = await svcplane([...execArgs(), 'ip', '-o', 'addr', 'show', 'dev', 'lo']);
    expect(addrs.stdout).toContain(`inet ${DNS_IP}/32`);
  });

  it('the environment holds the service variables and the pod\'s expanded env', async () => {
    const run = await svcplane([...execArgs(), 'env']);
    expect(run.code).toBe(0);
    const env = run.stdout.split('\n');
    expect(env).toContain(`MY_SERVICE_SERVICE_HOST=${clusterIP}`);
    expect(env).toContain('MY_SERVICE_SERVICE_PORT_HTTP=80');
    expect(env).toContain(`MY_SERVICE_PORT_80_TCP=tcp://${clusterIP}:80`);
    expect(env).toContain(`MY_URL=http://${clusterIP}:80/`);
    expect(env).toContain('REDIS_MASTER_SERVICE_HOST=10.96.0.11');
    expect(env).toContain('REDIS_MASTER_PORT=tcp://10.96.0.11:6379');
  });

  it('passes the exit status and signals through', async () => {
    expect((await svcplane([...execArgs(), 'sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await svcplane([...execArgs(), 'no-such-command-sp-discovery'])).code).toBe(127);
    // The command says when it runs, so the signal is sent to a running command and not to a
    // svcplane still starting (which would die of it without passing anything through).
    const signalled = async (script: string): Promise<Run> => {
      let pid = 0;
      let started: () => void = () => {};
      const isRunning = new Promise<void>((r) => (started = r));
      const running = svcplane([...execArgs(), 'sh', '-c', script], (p, stdout) => {
        pid = p;
        stdout.on('data', (b: Buffer) => b.toString().includes('started') && started());
      });
      await isRunning;
      process.kill(pid, 'SIGTERM');
      return running;
    };
    // A command that handles TERM: the signal reached it and its exit status came back.
    const handled = await signalled("trap 'kill $!; exit 42' TERM; echo started; sleep 30 & wait");
    expect({ code: handled.code, signal: handled.signal }).toEqual({ code: 42, signal: null });
    // A command that dies of TERM: svcplane dies of the same signal.
    const killed = await signalled('echo started; exec sleep 30');
    expect({ code: killed.code, signal: killed.signal }).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('without --netns: the same private resolv.conf in the host\'s network namespace', async () => {
    const expected = await svcplane(['resolv-conf', '--pod', podFile, '--cluster-dns', DNS_IP]);
    const cat = await svcplane(['exec', '--pod', podFile, '--manifests', manifests, '--cluster-dns', DNS_IP, '--', 'cat', '/etc/resolv.conf']);
    expect(cat.code).toBe(0);
    expect(cat.stdout).toBe(expected.stdout);
  });

  it('leaves no holder process and no temporary file behind', async () => {
    const holders = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && readEnviron(pid).includes(`${HOLDER_ENV}=`));
    expect(holders).toEqual([]);
    const leftovers = await runChecked('find', [tmpdir(), '-maxdepth', '1', '-name', 'svcplane-exec-*']);
    expect(leftovers.stdout).toBe('');
  });

  it('leaves the host\'s /etc/resolv.conf and mount table as they were', () => {
    expect(sha('/etc/resolv.conf')).toBe(hostResolv.sha);
    expect(resolvMounts()).toEqual(hostResolv.mounts);
  });
});
