// Progress on stderr: a redrawn bar with ETA on a terminal, a line every 10% elsewhere (logs, CI).
// Reads the clock for display only; nothing here feeds back into training.
export interface Progress {
  update(done: number, extra?: string): void;
  finish(extra?: string): void;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60), r = Math.floor(s % 60);
  return `${m}:${String(r).padStart(2, '0')}`;
}

export function createProgress(label: string, total: number, opts: { quiet?: boolean } = {}): Progress {
  const tty = process.stderr.isTTY === true;
  const t0 = performance.now();
  let lastDraw = 0;
  let lastDecile = -1;
  const render = (done: number, extra: string) => {
    const elapsed = (performance.now() - t0) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = (total - done) / rate;
    const frac = total === 0 ? 1 : done / total;
    const width = 28;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    return `${label} ${bar} ${String(Math.floor(frac * 100)).padStart(3)}% ${done}/${total} ` +
      `${rate.toFixed(1)} it/s elapsed ${fmtTime(elapsed)} eta ${fmtTime(eta)}${extra ? ' ' + extra : ''}`;
  };
  return {
    update(done, extra = '') {
      if (opts.quiet) return;
      const now = performance.now();
      if (tty) {
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        process.stderr.write(`\r\x1b[2K${render(done, extra)}`);
      } else {
        const decile = Math.floor((done / Math.max(total, 1)) * 10);
        if (decile === lastDecile) return;
        lastDecile = decile;
        process.stderr.write(render(done, extra) + '\n');
      }
    },
    finish(extra = '') {
      if (opts.quiet) return;
      if (tty) process.stderr.write(`\r\x1b[2K${render(total, extra)}\n`);
      else process.stderr.write(render(total, extra) + '\n');
    },
  };
}
