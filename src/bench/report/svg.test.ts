import { describe, expect, it } from 'vitest';
import { benchCharts } from './bench-charts.js';
import { escapeXml, lineChart, PALETTE, tickLabel } from './svg.js';
import { controlPlane, run, sampleReport, stat } from './test-builders.js';

/** A tiny well-formedness check: tags balance, attributes are quoted, '&' only starts an entity. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let pos = 0;
  for (const m of svg.matchAll(tag)) {
    const between = svg.slice(pos, m.index);
    expect(between, `stray markup before ${m[0]}`).not.toMatch(/[<>]/);
    pos = m.index + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (closing) expect(stack.pop(), `closing ${name}`).toBe(name);
    else if (!selfClosing) stack.push(name as string);
  }
  expect(svg.slice(pos).trim()).toBe('');
  expect(stack).toEqual([]);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
}

function texts(svg: string, cls: string): string[] {
  return [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1] as string);
}

const base = { title: 'T', xLabel: 'services', yLabel: 'µs' };

describe('lineChart', () => {
  it('(the well-formedness check itself catches broken markup)', () => {
    const head = '<svg xmlns="http://www.w3.org/2000/svg">';
    expect(() => assertWellFormed(`${head}<g></svg>`)).toThrow();
    expect(() => assertWellFormed(`${head}<text>a & b</text></svg>`)).toThrow();
    expect(() => assertWellFormed(`${head}<text>a < b</text></svg>`)).toThrow();
    expect(() => assertWellFormed(`${head}<line x=1/></svg>`)).toThrow();
    assertWellFormed(`${head}<g><line x="1"/><text>a &amp; b</text></g></svg>`);
  });

  it('is well-formed and escapes every label', () => {
    const svg = lineChart({
      ...base,
      title: 'a < b & "c"',
      subtitle: "CPU 'x' <y>",
      series: [
        { name: 'iptables <legacy> & co', points: [[1, 2], [2, 3]] },
        { name: 'direct "ref"', points: [[1, 1]], dashed: true },
      ],
    });
    assertWellFormed(svg);
    expect(svg).toContain(escapeXml('iptables <legacy> & co'));
    expect(svg).toContain('iptables &lt;legacy&gt; &amp; co');
    expect(svg).toContain('direct &quot;ref&quot;');
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(svg).toContain('CPU &apos;x&apos; &lt;y&gt;');
    expect(svg).not.toContain('<legacy>');
  });

  it('gives each series its own palette colour, and dashes the dashed ones', () => {
    const svg = lineChart({
      ...base,
      series: ['a', 'b', 'c'].map((name, i) => ({ name, points: [[1, i], [2, i + 1]] as [number, number][], dashed: name === 'c' })),
    });
    for (const colour of PALETTE.slice(0, 3)) expect(svg).toContain(`<g class="series" stroke="${colour}"`);
    expect(svg.match(/<polyline[^>]*stroke-dasharray/g)).toHaveLength(1);
  });

  it('has no NaN or Infinity with one point, identical values, zeros on log axes or no data', () => {
    const cases = [
      { series: [{ name: 'one', points: [[100, 50]] as [number, number][] }] },
      { series: [{ name: 'flat', points: [[1, 7], [2, 7], [3, 7]] as [number, number][] }] },
      { series: [{ name: 'zeros', points: [[0, 0], [0, 0]] as [number, number][] }] },
      { series: [{ name: 'log', points: [[0, 0], [10, 0], [10, 5]] as [number, number][] }], logX: true, logY: true },
      { series: [{ name: 'bad', points: [[Number.NaN, 1], [1, Number.POSITIVE_INFINITY]] as [number, number][] }] },
      { series: [] },
    ];
    for (const c of cases) {
      const svg = lineChart({ ...base, ...c });
      assertWellFormed(svg);
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
  });

  it('marks a single point even though it draws no line', () => {
    const svg = lineChart({ ...base, series: [{ name: 'one', points: [[100, 50]] }] });
    expect(svg).not.toContain('<polyline');
    expect(svg.match(/<circle /g)).toHaveLength(1);
  });

  it('puts log-axis ticks on powers of ten', () => {
    const svg = lineChart({ ...base, logX: true, logY: true, series: [{ name: 's', points: [[10, 3], [100_000, 40_000]] }] });
    expect(texts(svg, 'x-tick')).toEqual(['10', '100', '1k', '10k', '100k']);
    expect(texts(svg, 'y-tick')).toEqual(['1', '10', '100', '1k', '10k', '100k']);
    expect(svg).toContain('services (log scale)');
    // Tick positions step evenly on a log axis.
    const xs = [...svg.matchAll(/<text class="x-tick" x="([\d.]+)"/g)].map((m) => Number(m[1]));
    const steps = xs.slice(1).map((x, i) => x - (xs[i] as number));
    for (const s of steps) expect(s).toBeCloseTo(steps[0] as number, 0);
  });

  it('adds 2× and 5× ticks when a log axis spans two decades or less', () => {
    const svg = lineChart({ ...base, logX: true, series: [{ name: 's', points: [[100, 1], [10_000, 2]] }] });
    expect(texts(svg, 'x-tick')).toEqual(['100', '200', '500', '1k', '2k', '5k', '10k']);
  });

  it('chooses nice linear ticks from zero', () => {
    const svg = lineChart({ ...base, series: [{ name: 's', points: [[0, 12], [1000, 87]] }] });
    expect(texts(svg, 'y-tick')).toEqual(['0', '20', '40', '60', '80', '100']);
    expect(texts(svg, 'x-tick')).toEqual(['0', '200', '400', '600', '800', '1k']);
  });

  it('labels ticks compactly', () => {
    expect(tickLabel(0.25)).toBe('0.25');
    expect(tickLabel(1500)).toBe('1.5k');
    expect(tickLabel(2_000_000)).toBe('2M');
    expect(tickLabel(0.1 + 0.2)).toBe('0.3');
  });
});

describe('benchCharts', () => {
  it('draws latency and sync charts, labelled with the machine', () => {
    const charts = benchCharts(sampleReport());
    expect(charts.map((c) => c.file)).toEqual(['latency-vs-services.svg', 'sync-vs-services.svg']);
    for (const { svg } of charts) {
      assertWellFormed(svg);
      expect(svg).toContain('Test CPU @ 3.0GHz, 8 cores, kernel 6.1.0-test');
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
    const latency = charts[0]?.svg as string;
    for (const name of ['iptables', 'nftables', 'direct']) expect(latency).toContain(`<title>${name}</title>`);
    // The direct series is the dashed one.
    expect(latency).toMatch(/<title>direct<\/title>\n<circle/);
    expect(latency.match(/<line [^>]*stroke-dasharray="6 4"/g)).toHaveLength(1);
  });

  it('uses log scales for the sync chart only when the range is wide', () => {
    const narrow = sampleReport({ controlPlane: [controlPlane('iptables', 100, stat(10)), controlPlane('iptables', 200, stat(15))] });
    const wide = sampleReport({
      controlPlane: [controlPlane('iptables', 100, stat(10)), controlPlane('iptables', 10_000, stat(2000))],
    });
    const sync = (r: ReturnType<typeof sampleReport>): string => benchCharts(r).find((c) => c.file === 'sync-vs-services.svg')?.svg ?? '';
    expect(sync(narrow)).not.toContain('log scale');
    expect(sync(wide)).toContain('services (log scale)');
    expect(sync(wide)).toContain('full sync, median (ms) (log scale)');
  });

  it('plots one point per services count for each mode, at the median across runs', () => {
    const report = sampleReport({
      dataPlane: [100, 1000, 10_000].map((services) => ({
        mode: 'ipvs',
        services,
        viaVip: [run(services / 10, 1), run(services / 10, 1), run(1e9, 1)],
        direct: [],
      })),
    });
    const latency = benchCharts(report)[0]?.svg as string;
    const ipvs = /<title>ipvs<\/title>\n<polyline points="([^"]+)"/.exec(latency);
    expect(ipvs?.[1]?.split(' ')).toHaveLength(3);
    // The outlier run (1e9 µs) does not move the median: the y axis tops out at 1k µs.
    expect(texts(latency, 'y-tick').at(-1)).toBe('1k');
    expect(latency).not.toContain('<title>direct</title>');
  });

  it('skips charts with no results', () => {
    expect(benchCharts(sampleReport({ controlPlane: [], dataPlane: [] }))).toEqual([]);
  });
});
