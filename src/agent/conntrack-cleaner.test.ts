import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Conntrack } from '../kernel/conntrack.js';
import { CommandError, runCommand } from '../kernel/exec.js';
import type { StaleFlows } from '../state/stale-conntrack.js';
import { ConntrackCleanupError, ConntrackFlowCleaner, type ConntrackOps } from './conntrack-cleaner.js';

const silent = pino({ level: 'silent' });

const flows: StaleFlows = {
  serviceIPs: [
    { family: 'IPv4', protocol: 'UDP', ip: '10.96.0.10', port: 53 },
    { family: 'IPv4', protocol: 'UDP', ip: '10.96.0.11', port: 53 },
  ],
  nodePorts: [{ family: 'IPv4', protocol: 'UDP', port: 30053 }],
  endpoints: [{ family: 'IPv4', protocol: 'UDP', serviceIP: '10.96.0.10', port: 53, endpointIP: '10.244.1.2' }],
  nodePortEndpoints: [{ family: 'IPv4', protocol: 'UDP', nodePort: 30053, endpointIP: '10.244.1.2' }],
};

describe('ConntrackFlowCleaner', () => {
  it('makes every deletion after one failed, then reports the failures', async () => {
    const done: string[] = [];
    const ops: ConntrackOps = {
      deleteByServiceIP: async (ip) => {
        if (ip === '10.96.0.10') throw new CommandError('conntrack', ['-D'], 2, 'conntrack v1.4.7: Operation failed: invalid parameters');
        done.push(`svc ${ip}`);
      },
      deleteByNodePort: async (port) => void done.push(`np ${port}`),
      deleteByEndpoint: async (_s, ep) => void done.push(`ep ${ep}`),
      deleteByNodePortEndpoint: async (port, ep) => void done.push(`npep ${port} ${ep}`),
    };
    const err = await new ConntrackFlowCleaner(ops, silent).clear(flows).then(() => undefined, (e: unknown) => e);
    expect(done).toEqual(['svc 10.96.0.11', 'np 30053', 'ep 10.244.1.2', 'npep 30053 10.244.1.2']);
    expect(err).toBeInstanceOf(ConntrackCleanupError);
    expect(err).toMatchObject({ code: 'SVCPLANE_CONNTRACK_CLEANUP', wanted: 5, toolMissing: false });
    expect((err as ConntrackCleanupError).failures).toHaveLength(1);
    expect((err as ConntrackCleanupError).cause).toBeInstanceOf(CommandError);
  });

  it('stops at once when the conntrack tool is missing (a real spawn of a program that does not exist)', async () => {
    let runs = 0;
    const ct = new Conntrack({ run: (_file, args, opts) => (runs++, runCommand('sp-errors-no-such-conntrack', args, opts)) });
    const err = await new ConntrackFlowCleaner(ct, silent).clear(flows).then(() => undefined, (e: unknown) => e);
    expect(runs).toBe(1);
    expect(err).toBeInstanceOf(ConntrackCleanupError);
    expect(err).toMatchObject({ toolMissing: true, wanted: 5 });
    expect((err as ConntrackCleanupError).failures).toEqual([expect.objectContaining({ code: 'SVCPLANE_COMMAND_NOT_FOUND' })]);
  });

  it('succeeds quietly when every deletion does', async () => {
    const ops: ConntrackOps = { deleteByServiceIP: async () => 0, deleteByNodePort: async () => 0, deleteByEndpoint: async () => 0, deleteByNodePortEndpoint: async () => 0 };
    await expect(new ConntrackFlowCleaner(ops, silent).clear(flows)).resolves.toBeUndefined();
  });
});
