import { describe, expect, it } from 'vitest';
import { Conntrack, ConntrackFilterError } from './conntrack.js';
import { CommandError, type CommandResult, type CommandRunner, type RunOptions } from './exec.js';

function fakeRunner(result: Partial<CommandResult> = {}): { run: CommandRunner; calls: Array<{ file: string; args: readonly string[]; opts?: RunOptions }> } {
  const calls: Array<{ file: string; args: readonly string[]; opts?: RunOptions }> = [];
  const run: CommandRunner = async (file, args, opts) => {
    calls.push({ file, args, opts });
    return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', code: result.code ?? 0 };
  };
  return { run, calls };
}

const deleted = (n: number): Partial<CommandResult> => ({ code: 0, stderr: `conntrack v1.4.7 (conntrack-tools): ${n} flow entries have been deleted.\n` });

describe('Conntrack argument lists', () => {
  it('service IP with and without a port', async () => {
    const fake = fakeRunner(deleted(2));
    const ct = new Conntrack({ netns: 'svcp-n', run: fake.run });
    expect(await ct.deleteByServiceIP('10.96.0.10', 'UDP', 53)).toBe(2);
    await ct.deleteByServiceIP('10.96.0.10', 'SCTP');
    expect(fake.calls).toEqual([
      { file: 'conntrack', args: ['-D', '--orig-dst', '10.96.0.10', '-p', 'udp', '--dport', '53'], opts: { netns: 'svcp-n' } },
      { file: 'conntrack', args: ['-D', '--orig-dst', '10.96.0.10', '-p', 'sctp'], opts: { netns: 'svcp-n' } },
    ]);
  });

  it('adds -f ipv6 for IPv6 filters', async () => {
    const fake = fakeRunner(deleted(1));
    const ct = new Conntrack({ run: fake.run });
    await ct.deleteByServiceIP('fd00::10', 'UDP', 53);
    await ct.deleteByNodePort(30053, 'UDP', 'IPv6');
    await ct.deleteByEndpoint('fd00::10', 'fd00:244::5', 'UDP');
    expect(fake.calls.map((c) => c.args)).toEqual([
      ['-D', '--orig-dst', 'fd00::10', '-p', 'udp', '--dport', '53', '-f', 'ipv6'],
      ['-D', '-p', 'udp', '--dport', '30053', '-f', 'ipv6'],
      ['-D', '--orig-dst', 'fd00::10', '--dst-nat', 'fd00:244::5', '-p', 'udp', '-f', 'ipv6'],
    ]);
  });

  it('node port, endpoint, and node port endpoint', async () => {
    const fake = fakeRunner(deleted(1));
    const ct = new Conntrack({ run: fake.run });
    await ct.deleteByNodePort(30053, 'UDP', 'IPv4');
    await ct.deleteByEndpoint('10.96.0.10', '10.244.1.5', 'UDP');
    await ct.deleteByNodePortEndpoint(30053, '10.244.1.5', 'UDP');
    expect(fake.calls.map((c) => c.args)).toEqual([
      ['-D', '-p', 'udp', '--dport', '30053'],
      ['-D', '--orig-dst', '10.96.0.10', '--dst-nat', '10.244.1.5', '-p', 'udp'],
      ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', '10.244.1.5'],
    ]);
  });
});

describe('Conntrack results', () => {
  it('treats exit 1 with "0 flow entries have been deleted" as success', async () => {
    const fake = fakeRunner({ code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' });
    expect(await new Conntrack({ run: fake.run }).deleteByServiceIP('10.96.0.10', 'UDP')).toBe(0);
  });

  it('throws CommandError on any other failure', async () => {
    const fake = fakeRunner({ code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters\n' });
    const err = await new Conntrack({ run: fake.run }).deleteByServiceIP('10.96.0.10', 'UDP').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ file: 'conntrack', exitCode: 1 });
  });

  it('rejects filters that are not addresses or ports without running anything', async () => {
    const fake = fakeRunner();
    const ct = new Conntrack({ run: fake.run });
    await expect(ct.deleteByServiceIP('--dump', 'UDP')).rejects.toBeInstanceOf(ConntrackFilterError);
    await expect(ct.deleteByServiceIP('10.0.0.1', 'UDP', 0)).rejects.toBeInstanceOf(ConntrackFilterError);
    await expect(ct.deleteByNodePort(70000, 'UDP', 'IPv4')).rejects.toBeInstanceOf(ConntrackFilterError);
    await expect(ct.deleteByEndpoint('10.96.0.10', 'fd00::1', 'UDP')).rejects.toMatchObject({ code: 'SVCPLANE_CONNTRACK_INVALID_FILTER' });
    expect(fake.calls).toEqual([]);
  });
});
