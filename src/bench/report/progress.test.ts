import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, progressLine } from './progress.js';

class FakeStream extends Writable {
  text = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns?: number,
  ) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

describe('createProgress', () => {
  it('writes one plain line per step when not on a terminal', () => {
    const out = new FakeStream(false);
    const p = createProgress(12, out);
    p.step('iptables 100 services: full sync');
    p.step('iptables\n1000 services');
    p.done();
    expect(out.text).toBe('[1/12] iptables 100 services: full sync\n[2/12] iptables 1000 services\n');
  });

  it('redraws one line on a terminal, with \\r only and spaces over a longer previous line', () => {
    const out = new FakeStream(true);
    const p = createProgress(4, out);
    p.step('a long first label');
    p.step('short');
    const afterSteps = out.text;
    expect(afterSteps).not.toContain('\n');
    expect(afterSteps).not.toContain('\u001b');
    const frames = afterSteps.split('\r').slice(1);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toBe(`[${'.'.repeat(24)}]   0% (1/4) a long first label`);
    expect(frames[1]?.trimEnd()).toBe(`[${'#'.repeat(6)}${'.'.repeat(18)}]  25% (2/4) short`);
    // The second frame covers the first one entirely.
    expect(frames[1]?.length).toBe(frames[0]?.length);

    p.done();
    const cleared = out.text.slice(afterSteps.length);
    // Only the last label's characters remain on screen: spaces over exactly those.
    expect(cleared).toBe(`\r${' '.repeat(frames[1]?.trimEnd().length ?? 0)}\r`);
  });

  it('cuts the line to the terminal width so that \\r can redraw it', () => {
    const out = new FakeStream(true, 40);
    createProgress(3, out).step('x'.repeat(100));
    expect(out.text.length - 1).toBe(39);
  });

  it('writes nothing on done() when nothing was drawn', () => {
    const out = new FakeStream(true);
    createProgress(3, out).done();
    expect(out.text).toBe('');
  });
});

describe('progressLine', () => {
  it('fills the bar with completed steps and never past 100%', () => {
    expect(progressLine(3, 3, 'x')).toBe(`[${'#'.repeat(24)}] 100% (4/3) x`);
    expect(progressLine(1, 2, 'x')).toBe(`[${'#'.repeat(12)}${'.'.repeat(12)}]  50% (2/2) x`);
  });
});
