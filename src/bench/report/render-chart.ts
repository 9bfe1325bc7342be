// Renders a vega-lite spec headless: vega's SVG renderer (no canvas, no browser), then resvg
// (Rust, bundled by @resvg/resvg-js) for a PNG of the same SVG, which people paste into issues.
import { existsSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Debian's fonts-dejavu-core (make system-deps): the specs name it, so SVG and PNG agree. */
export const CHART_FONT_FILES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'];
/** PNG pixels per SVG unit: sharp enough for slides. */
export const PNG_SCALE = 2;

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, scale = PNG_SCALE): Buffer {
  const fontFiles = CHART_FONT_FILES.filter((f) => existsSync(f));
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    // The bundled font files when present (fast, the same on every machine); else whatever the system has.
    font: { fontFiles, loadSystemFonts: fontFiles.length === 0, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
