import { describe, expect, it } from 'vitest';
import { parseBenchModes } from '../cli/bench-command.js';
import { parseKernelApplyOutput } from './control-plane.js';

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

describe('--modes', () => {
  it('accepts known modes and names an unknown one', () => {
    expect(parseBenchModes('iptables, ebpf')).toEqual(['iptables', 'ebpf']);
    expect(() => parseBenchModes('iptables,ipvsx')).toThrow(/unknown mode "ipvsx"/);
  });
});
