/** kubectl's column layout: left-aligned, three spaces between columns, no trailing blanks. */
export const COLUMN_GAP = '   ';

export interface Table {
  lines: string[];
  /** The width of each column, to keep later rows (watch) aligned with the first print. */
  widths: number[];
}

export function formatTable(
  headers: readonly string[] | undefined,
  rows: readonly (readonly string[])[],
  minWidths: readonly number[] = [],
  gap = COLUMN_GAP,
): Table {
  const all = headers ? [headers, ...rows] : rows;
  const columns = Math.max(0, ...all.map((r) => r.length));
  const widths: number[] = [];
  for (let i = 0; i < columns; i++) {
    widths.push(Math.max(minWidths[i] ?? 0, ...all.map((r) => (r[i] ?? '').length)));
  }
  const lines = all.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join(gap)
      .trimEnd(),
  );
  return { lines, widths };
}
