import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBenchModes } from '../cli/bench-command.js';
import { agentNodeFlags, parseKernelApplyOutput } from './control-plane.js';

describe('control-plane run output', () => {
  it('takes the last RESULT line, whatever was printed before it', () => {
    const row = { mode: 'ebpf', services: 3, endpoints: 2, fullMs: 12.5, fullSent: { mapWrites: 24 } };
    const out = `ebpf: 3 services ...\nRESULT {"rows":[],"maxRssMB":1}\nRESULT ${JSON.stringify({ rows: [row], maxRssMB: 71.5 })}\n`;
    expect(parseKernelApplyOutput(out)).toEqual({ rows: [row], maxRssMB: 71.5 });
  });

  it('says what the run printed when there is no result', () => {
    expect(() => parseKernelApplyOutput('Error: EPERM\n')).toThrow(/printed no result:\nError: EPERM/);
  });
});

describe('agentNodeFlags', () => {
  it('keeps the heap flags bin/svcplane gives the agent and drops the rest', () => {
    expect(agentNodeFlags(['--enable-source-maps', '--max-semi-space-size=8', '--conditions', 'x', '--max-old-space-size=512', '--inspect'])).toEqual(['--max-semi-space-size=8', '--max-old-space-size=512']);
  });

  it('bin/svcplane gives the agent a bounded young generation', () => {
    expect(readFileSync(fileURLToPath(new URL('../../bin/svcplane', import.meta.url)), 'utf8')).toMatch(/exec "\$node" .*--max-semi-space-size=\d+ /);
  });
});

describe('--modes', () => {
  it('accepts known modes and names an unknown one', () => {
    expect(parseBenchModes('iptables, ebpf')).toEqual(['iptables', 'ebpf']);
    expect(() => parseBenchModes('iptables,ipvsx')).toThrow(/unknown mode "ipvsx"/);
  });
});
