import { describe, expect, it } from 'vitest';
import { chartSpecs, isWide, seriesName } from './chart-specs.js';
import type { BenchReport, DataPlaneResult } from './report-types.js';
import { controlPlane, run, sampleReport, stat } from './test-builders.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const VM = 'VM (emulated)';
const dp = (mode: string, services: number, vip: number, direct: number, where?: string): DataPlaneResult => ({
  mode, services, ...(where === undefined ? {} : { where }), viaVip: [run(vip, 1000), run(vip, 1000)], direct: [run(direct, 1000), run(direct, 1000)],
});

/** Host modes near 1 ms, IPVS in the VM near 100 ms: the case the old linear chart flattened. */
function hostAndVm(): BenchReport {
  return sampleReport({
    params: { modes: ['iptables', 'nftables', 'ipvs'], services: [10, 10_000], endpoints: 2, durationMs: 1000, runs: 2 },
    dataPlane: [
      dp('iptables', 10, 800, 700), dp('iptables', 10_000, 900, 700),
      dp('nftables', 10, 750, 700), dp('nftables', 10_000, 760, 700),
      dp('ipvs', 10, 60_000, 100_000, VM), dp('ipvs', 10_000, 150_000, 120_000, VM),
    ],
    controlPlane: [
      controlPlane('iptables', 10, stat(1000), { changeMs: stat(25), addMs: stat(20), peakRssMB: stat(70) }),
      controlPlane('iptables', 10_000, stat(31_000), { changeMs: stat(370), addMs: stat(2000), peakRssMB: stat(380) }),
      controlPlane('ipvs', 10, stat(12_000), { where: VM, changeMs: stat(40), peakRssMB: stat(72) }),
      controlPlane('ipvs', 10_000, stat(47_000), { where: VM, changeMs: stat(175), peakRssMB: stat(390) }),
    ],
  });
}

function spec(report: BenchReport, name: string): Json {
  const found = chartSpecs(report).find((c) => c.name === name);
  if (!found) throw new Error(`no chart ${name}`);
  return found.spec as Json;
}

/** Every unit (a spec with a mark) inside a spec, through hconcat and layer. */
function units(s: Json): Json[] {
  if (s['mark'] !== undefined) return [s];
  return [...(s['hconcat'] ?? []), ...(s['layer'] ?? [])].flatMap(units);
}

const seriesOf = (unit: Json): string[] => [...new Set((unit['data']['values'] as Json[]).map((r) => r['series'] as string))];

describe('isWide', () => {
  it('is true from a tenfold range on, ignoring zeros and lone values', () => {
    expect(isWide([1, 10])).toBe(true);
    expect(isWide([1, 9.9])).toBe(false);
    expect(isWide([0, 5, 20])).toBe(false);
    expect(isWide([3])).toBe(false);
  });
});

describe('chartSpecs', () => {
  it('draws the ratio, the latency, the syncs and memory, in that order', () => {
    expect(chartSpecs(hostAndVm()).map((c) => c.name)).toEqual(['latency-ratio-vs-services', 'latency-vs-services', 'sync-vs-services', 'memory-vs-services']);
    expect(chartSpecs(sampleReport({ dataPlane: [] })).map((c) => c.name)).toEqual(['sync-vs-services', 'memory-vs-services']);
  });

  it('latency ratio: host and VM in panels of their own, each mode its VIP/direct ratio, a rule at 1', () => {
    const s = spec(hostAndVm(), 'latency-ratio-vs-services');
    const panels = s['hconcat'] as Json[];
    expect(panels.map((p) => p['title'])).toEqual(['host', `${VM}: compare with itself only`]);
    expect(s['resolve']).toEqual({ scale: { y: 'independent' } });
    const [host, vm] = panels.map((p) => units(p)[0] as Json);
    expect(seriesOf(host as Json)).toEqual(['iptables', 'nftables']);
    expect(seriesOf(vm as Json)).toEqual([seriesName('ipvs', VM)]);
    const ratios = (host?.['data']['values'] as Json[]).map((r) => [r['series'], r['services'], r['ratio']]);
    expect(ratios).toContainEqual(['iptables', 10_000, 900 / 700]);
    expect(host?.['encoding']['x']['scale']['type']).toBe('log'); // 10..10,000 services
    expect(host?.['encoding']['y']['scale']['type']).toBe('linear'); // ratios within tenfold
    expect(units(panels[0] as Json)[1]).toMatchObject({ mark: { type: 'rule' }, encoding: { y: { datum: 1 } } });
  });

  it('latency: every mode and both direct lines on a log axis, direct and direct (VM) styled apart', () => {
    const s = spec(hostAndVm(), 'latency-vs-services');
    expect(seriesOf(s).sort()).toEqual(['direct', 'direct in VM (emulated)', 'iptables', 'ipvs in VM (emulated)', 'nftables']);
    expect(s['encoding']['y']['scale']['type']).toBe('log');
    const { domain, range } = s['encoding']['strokeDash']['scale'] as { domain: string[]; range: number[][] };
    const dash = (name: string): number[] | undefined => range[domain.indexOf(name)];
    expect(dash('direct')).not.toEqual(dash('direct in VM (emulated)'));
    expect(dash('ipvs in VM (emulated)')).not.toEqual(dash('iptables'));
    const colors = s['encoding']['color']['scale'] as { domain: string[]; range: string[] };
    expect(new Set(colors.range).size).toBe(colors.domain.length);
    // The direct reference lines are the median over the modes' direct runs, in ms.
    expect((s['data']['values'] as Json[]).filter((r) => r['series'] === 'direct')).toContainEqual({ series: 'direct', services: 10, ms: 0.7 });
  });

  it('sync: full sync, one endpoint change and one new service per mode, log axes where the range is tenfold', () => {
    const panels = spec(hostAndVm(), 'sync-vs-services')['hconcat'] as Json[];
    expect(panels.map((p) => p['title'])).toEqual(['full sync', 'one endpoint change', 'one new service']);
    expect(panels.map((p) => p['encoding']['y']['scale']['type'])).toEqual(['log', 'log', 'log']);
    expect(seriesOf(panels[0] as Json)).toEqual(['iptables', 'iptables', 'ipvs in VM (emulated)', 'ipvs in VM (emulated)'].filter((v, i, a) => a.indexOf(v) === i));
    // Only iptables measured a new service here.
    expect(seriesOf(panels[2] as Json)).toEqual(['iptables']);
    const narrow = spec(sampleReport(), 'sync-vs-services')['hconcat'] as Json[];
    expect(narrow[1]?.['encoding']['y']['scale']['type']).toBe('linear');
  });

  it('memory: peak RSS per mode, linear when within tenfold', () => {
    const s = spec(hostAndVm(), 'memory-vs-services');
    expect(seriesOf(s)).toEqual(['iptables', 'ipvs in VM (emulated)']);
    expect(s['encoding']['y']['scale']['type']).toBe('linear');
    expect(s['encoding']['y']['axis']['title']).toMatch(/peak RSS.*MB/);
  });
});
