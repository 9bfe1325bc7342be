// Progress of a benchmark run on stderr: on a terminal one line redrawn in place with \r
// (nothing else, so it works on any terminal and in `script` logs); elsewhere, e.g. in CI,
// one plain "[3/12] label" line per step so the log reads top to bottom.

export interface Progress {
  /** Announces that the next step starts. */
  step(label: string): void;
  /** Ends the progress display (clears the redrawn line on a terminal). */
  done(): void;
}

export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const BAR_WIDTH = 24;

/** The bar line for `completed` of `total` steps: "[######..........]  25% (4/12) label". */
export function progressLine(completed: number, total: number, label: string, maxWidth?: number): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, completed / total)) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const percent = `${Math.round(fraction * 100)}%`.padStart(4);
  const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent} (${completed + 1}/${total}) ${label}`;
  // A line that wraps cannot be redrawn with \r: cut it to the terminal's width.
  return maxWidth !== undefined && maxWidth > 1 && line.length >= maxWidth ? line.slice(0, maxWidth - 1) : line;
}

export function createProgress(total: number, out: ProgressStream): Progress {
  let completed = 0;
  let lastLength = 0;
  const tty = out.isTTY === true;

  const redraw = (line: string): void => {
    // Spaces over whatever the previous, longer line left behind.
    out.write(`\r${line}${' '.repeat(Math.max(0, lastLength - line.length))}`);
    lastLength = line.length;
  };

  return {
    step(label: string): void {
      const oneLine = label.replace(/\s+/g, ' ').trim();
      if (tty) {
        redraw(progressLine(completed, total, oneLine, out.columns));
      } else {
        out.write(`[${completed + 1}/${total}] ${oneLine}\n`);
      }
      completed++;
    },
    done(): void {
      if (tty && lastLength > 0) {
        out.write(`\r${' '.repeat(lastLength)}\r`);
        lastLength = 0;
      }
    },
  };
}
