// A loss curve in the terminal (asciichart), downsampled to the terminal width.
import asciichart from 'asciichart';

export function lossPlot(losses: number[], opts: { width?: number; height?: number; title?: string } = {}): string {
  const width = Math.max(20, Math.min(opts.width ?? 70, losses.length));
  const height = opts.height ?? 12;
  if (losses.length === 0) return '';
  // Mean of each bucket, so the curve is readable for any number of steps.
  const pts: number[] = [];
  for (let i = 0; i < width; i++) {
    const a = Math.floor((i * losses.length) / width), b = Math.max(a + 1, Math.floor(((i + 1) * losses.length) / width));
    let s = 0;
    for (let j = a; j < b; j++) s += losses[j];
    pts.push(s / (b - a));
  }
  const chart = asciichart.plot(pts, { height, format: (x: number) => x.toFixed(3).padStart(8) });
  const axis = `${' '.repeat(10)}step 1${' '.repeat(Math.max(1, width - 12))}step ${losses.length}`;
  return `${opts.title ? opts.title + '\n' : ''}${chart}\n${axis}`;
}
