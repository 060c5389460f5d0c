/** Text for people: aligned tables, times in UTC, durations in the largest units that matter. */

export const count = new Intl.NumberFormat('en-US');

/** Columns padded to their widest cell; numbers right-aligned; no trailing spaces. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly boolean[] = [],
): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `2025-05-17T03:00:00Z`: UTC to the second, which is all a block's times need. */
export function utc(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `3h 50m`, `2d 4h`, `12m`, `<1m`: the two largest units of a span. */
export function span(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  if (minutes < 1) return '<1m';
  const units: [string, number][] = [
    ['d', Math.floor(minutes / 1440)],
    ['h', Math.floor(minutes / 60) % 24],
    ['m', minutes % 60],
  ];
  const first = units.findIndex(([, value]) => value > 0);
  return units
    .slice(first, first + 2)
    .filter(([, value], index) => index === 0 || value > 0)
    .map(([unit, value]) => `${value}${unit}`)
    .join(' ');
}

/** `in 3h 50m` or `2m ago`, seen from `now`. */
export function fromNow(epochMs: number, now: number): string {
  return epochMs >= now ? `in ${span(epochMs - now)}` : `${span(now - epochMs)} ago`;
}

/** "1 range", "2 ranges". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.format(n)} ${n === 1 ? singular : pluralForm}`;
}

/** Log lines and ledger fields may hold anything: no terminal control characters reach the screen. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
