// `svcplane cleanup --mode iptables` removes everything svcplane created and nothing else,
// and a SIGTERMed agent leaves its rules in place.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { cliEntry } from '../../src/testbed/agent-process.js';
import { addNetns, deleteNetns } from '../../src/testbed/netns.js';

const NS = `svcp-cleanup-${process.pid}`;
const examples = new URL('../../examples', import.meta.url).pathname;

async function save(cmd: 'iptables-save' | 'ip6tables-save'): Promise<string> {
  return (await runChecked(cmd, [], { netns: NS })).stdout;
}

function svcplane(args: string[], timeoutMs = 30_000) {
  return runChecked(process.execPath, [cliEntry(), ...args], { netns: NS, timeoutMs });
}

describe('iptables cleanup', () => {
  beforeAll(async () => {
    await addNetns(NS);
    // Somebody else's rules, which must survive both the agent and the cleanup.
    await runChecked('iptables', ['-w', '-t', 'nat', '-N', 'DOCKER'], { netns: NS });
    await runChecked('iptables', ['-w', '-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER'], { netns: NS });
    await runChecked('iptables', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'], { netns: NS });
  });
  afterAll(async () => {
    await deleteNetns(NS);
  });

  it('the agent leaves its rules on SIGTERM; cleanup removes exactly them', async () => {
    // SIGTERM once the first sync has programmed the examples (polled, not a fixed wait: a
    // loaded machine may take longer than any guess), then the agent must exit cleanly.
    const agent = spawn('ip', ['netns', 'exec', NS, process.execPath, cliEntry(), 'run', '--manifests', examples, '--node-name', 'node-a',
      '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/default\/my-service cluster IP/.test(await save('iptables-save'))) {
      if (Date.now() > deadline) {
        agent.kill('SIGKILL');
        throw new Error('the agent did not program the examples within 60 s');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    const afterRun = await save('iptables-save');
    expect(afterRun).toMatch(/^-A KUBE-SERVICES .*default\/my-service cluster IP/m);
    expect(afterRun).toMatch(/^-A PREROUTING .*-j KUBE-SERVICES$/m);
    expect(await save('ip6tables-save')).toMatch(/^:KUBE-SERVICES/m);

    const out = await svcplane(['cleanup', '--mode', 'iptables']);
    expect(out.stdout).toMatch(/removed/);
    const v4 = await save('iptables-save');
    expect(v4).not.toMatch(/KUBE-/);
    expect(v4).toMatch(/^:DOCKER/m);
    expect(v4).toMatch(/^-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER$/m);
    expect(v4).toMatch(/^-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT$/m);
    expect(await save('ip6tables-save')).not.toMatch(/KUBE-/);
    // Idempotent: a second cleanup finds nothing to do and succeeds.
    await svcplane(['cleanup', '--mode', 'iptables']);
  });
});
