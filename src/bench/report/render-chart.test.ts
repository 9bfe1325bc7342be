import { compile } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { chartSpecs } from './chart-specs.js';
import { PNG_SCALE, renderSvg, svgToPng } from './render-chart.js';
import { controlPlane, run, sampleReport, stat } from './test-builders.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const report = sampleReport({
  dataPlane: [
    { mode: 'iptables', services: 100, viaVip: [run(800, 1)], direct: [run(700, 1)] },
    { mode: 'ipvs', services: 100, where: 'VM (emulated)', viaVip: [run(90_000, 1)], direct: [run(100_000, 1)] },
  ],
  controlPlane: [controlPlane('iptables', 100, stat(10), { peakRssMB: stat(70) }), controlPlane('iptables', 10_000, stat(1500), { peakRssMB: stat(300) })],
});

/** Records what vega-lite warns about while compiling (an unknown field, a channel it dropped...). */
function compileWarnings(spec: Parameters<typeof compile>[0]): string[] {
  const warnings: string[] = [];
  const logger = {
    level: () => logger, info: () => logger, debug: () => logger,
    warn: (...args: unknown[]) => (warnings.push(args.join(' ')), logger),
    error: (...args: unknown[]) => (warnings.push(args.join(' ')), logger),
  };
  compile(spec, { logger: logger as never });
  return warnings;
}

describe('rendering the charts', () => {
  it('vega-lite compiles every spec without a warning', () => {
    for (const { name, spec } of chartSpecs(report)) expect(compileWarnings(spec), name).toEqual([]);
  });

  it('renders each to an SVG with its series in the legend, and a PNG of it at twice the size', async () => {
    for (const { name, spec } of chartSpecs(report)) {
      const svg = await renderSvg(spec);
      expect(svg, name).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^]*<\/svg>\n$/);
      expect(svg).toContain('>iptables</text>');
      const width = Number(/^<svg [^>]*width="(\d+)"/.exec(svg)?.[1]);
      const height = Number(/^<svg [^>]*height="(\d+)"/.exec(svg)?.[1]);
      expect(width).toBeGreaterThan(300);
      expect(height).toBeGreaterThan(200);

      const png = svgToPng(svg);
      expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      expect(png.toString('latin1', 12, 16)).toBe('IHDR');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([width * PNG_SCALE, height * PNG_SCALE]);
    }
  });

  it('the PNG has its lines and its text drawn (a font was found): each adds much to the image', async () => {
    const [first] = chartSpecs(report);
    const svg = await renderSvg(first?.spec as never);
    const blank = svgToPng(svg.replace(/<svg([^>]*)>[^]*<\/svg>/, '<svg$1></svg>')).length;
    const noText = svgToPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, '')).length;
    expect(noText).toBeGreaterThan(blank * 1.5);
    expect(svgToPng(svg).length).toBeGreaterThan(noText * 2);
  });
});
