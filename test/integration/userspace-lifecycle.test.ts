// Userspace mode's life cycle in a network namespace of its own: `svcplane cleanup --mode
// userspace` removes exactly its rules; switching to and from iptables mode leaves one
// mode's chains; and `--userspace-no-redirect` runs without root, touching no table.
import { spawn } from 'node:child_process';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { cliEntry } from '../../src/testbed/agent-process.js';
import { addNetns, deleteNetns, killChild, netnsArgv } from '../../src/testbed/netns.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';

const NS = `svcp-userspace-life-${process.pid}`;
const examples = new URL('../../examples', import.meta.url).pathname;
const USERSPACE_CHAIN = /^:KUBE-(PORTALS-(CONTAINER|HOST|FILTER)|NODEPORT-(CONTAINER|HOST)) /m;
const IPTABLES_MODE_CHAIN = /^:KUBE-(SERVICES|SVC-|SEP-) ?/m;

async function saveAll(): Promise<string> {
  return (await runChecked('iptables-save', [], { netns: NS })).stdout;
}

/** Runs the agent until its first sync is logged, then SIGTERM (which leaves rules in place). */
async function runUntilSynced(args: string[]): Promise<void> {
  const argv = [cliEntry(), 'run', '--manifests', examples, '--node-name', 'node-a', '--node-ip', '10.250.0.1', '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', ...args];
  const agent = spawn(...netnsArgv(NS, process.execPath, argv), { stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sync within 45 s:\n${logs}`)), 45_000);
      const onData = (d: Buffer): void => {
        logs += d.toString();
        if (logs.includes('"msg":"synced proxy rules"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      // The logger writes to stderr.
      agent.stdout?.on('data', onData);
      agent.stderr?.on('data', onData);
      agent.once('exit', (code) => reject(new Error(`agent exited (${code}):\n${logs}`)));
    });
  } finally {
    await killChild(agent);
  }
}

describe('userspace mode life cycle', () => {
  beforeAll(async () => {
    await addNetns(NS);
    await runChecked('ip', ['link', 'set', 'lo', 'up'], { netns: NS });
    await runChecked('ip', ['addr', 'add', '10.250.0.1/32', 'dev', 'lo'], { netns: NS });
    await runChecked('iptables', ['-w', '-t', 'nat', '-N', 'DOCKER'], { netns: NS });
    await runChecked('iptables', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'], { netns: NS });
  });
  afterAll(async () => {
    await deleteNetns(NS);
  });

  it('cleanup removes the redirects and chains, and nothing else; twice is fine', async () => {
    await runUntilSynced(['--mode', 'userspace']);
    const after = await saveAll();
    expect(after).toMatch(USERSPACE_CHAIN);
    expect(after).toMatch(/^-A KUBE-PORTALS-HOST -d 10\.\d+\.\d+\.\d+\/32 -p tcp -m tcp --dport \d+ .*-j DNAT --to-destination 10\.250\.0\.1:\d+$/m);
    await runChecked(process.execPath, [cliEntry(), 'cleanup', '--mode', 'userspace'], { netns: NS });
    const clean = await saveAll();
    expect(clean).not.toMatch(/KUBE-|svcplane/);
    expect(clean).toMatch(/^:DOCKER/m);
    expect(clean).toMatch(/^-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT$/m);
    await runChecked(process.execPath, [cliEntry(), 'cleanup', '--mode', 'userspace'], { netns: NS });
  }, 90_000);

  it('userspace -> iptables -> userspace: each start removes the other mode\'s chains', async () => {
    await runUntilSynced(['--mode', 'userspace']);
    await runUntilSynced(['--mode', 'iptables']);
    let now = await saveAll();
    expect(now).not.toMatch(USERSPACE_CHAIN);
    expect(now).not.toMatch(/svcplane userspace/);
    expect(now).toMatch(IPTABLES_MODE_CHAIN);
    await runUntilSynced(['--mode', 'userspace']);
    now = await saveAll();
    expect(now).toMatch(USERSPACE_CHAIN);
    expect(now).not.toMatch(IPTABLES_MODE_CHAIN);
    await runChecked(process.execPath, [cliEntry(), 'cleanup', '--mode', 'userspace'], { netns: NS });
  }, 120_000);

  it('--userspace-no-redirect runs as nobody: listeners on the service ports, no table touched', async () => {
    const manifests = new ManifestDir();
    const backend = spawn(...netnsArgv(NS, process.execPath, ['-e', "require('net').createServer((s) => s.end('from-backend')).listen(8080, '10.250.0.1', () => console.log('up'))"]), { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((r) => backend.stdout?.once('data', r));
      manifests.write('svc.yaml', [serviceDoc({ name: 'dev', clusterIP: '10.96.30.1', ports: [{ port: 8081, targetPort: 8080 }] }), sliceDoc('dev', [{ ip: '10.250.0.1', node: 'node-a' }])]);
      // The agent runs as nobody: it must be able to read the manifests.
      chmodSync(manifests.path, 0o755);
      for (const f of readdirSync(manifests.path)) chmodSync(join(manifests.path, f), 0o644);
      const before = await saveAll();
      const args = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliEntry(), 'run', '--mode', 'userspace', '--userspace-no-redirect', '--userspace-listen-address', '127.0.0.1', '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', '10.250.0.1', '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0'];
      const agent = spawn(...netnsArgv(NS, 'setpriv', args), { stdio: ['ignore', 'pipe', 'pipe'] });
      let logs = '';
      agent.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
      agent.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
      try {
        const probe = "require('net').connect(8081, '127.0.0.1').on('data', (d) => process.stdout.write(d)).on('error', (e) => { console.log(e.code); })";
        let answer = '';
        for (let i = 0; i < 50 && answer !== 'from-backend'; i++) {
          await new Promise((r) => setTimeout(r, 200));
          answer = (await runChecked(process.execPath, ['-e', probe], { netns: NS })).stdout.trim();
        }
        expect(answer, logs).toBe('from-backend');
        expect(logs).toMatch(/"mode":"userspace"/);
        expect((await saveAll()).replace(/^#.*\n/gm, '')).toBe(before.replace(/^#.*\n/gm, ''));
      } finally {
        await killChild(agent);
      }
    } finally {
      await killChild(backend);
      manifests.destroy();
    }
  }, 60_000);
});
