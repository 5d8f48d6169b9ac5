type Entry =
  { type: 'kv'; indent: number; key: string; value: string } | { type: 'raw'; text: string };

/**
 * kubectl describe's layout: `Key:  value` lines whose values line up within each run of such
 * lines; multi-line values continue in the value column; `Key:` alone opens a nested block.
 */
export class DescribeWriter {
  private readonly entries: Entry[] = [];

  kv(indent: number, key: string, value: string | number | boolean | undefined): void {
    const text = value === undefined || value === '' ? '<none>' : String(value);
    this.entries.push({ type: 'kv', indent, key, value: text });
  }

  /** `Key:` with the block that follows indented below it. */
  heading(indent: number, key: string): void {
    this.raw(indent, `${key}:`);
  }

  raw(indent: number, text: string): void {
    for (const line of text.split('\n'))
      this.entries.push({ type: 'raw', text: line ? ' '.repeat(indent * 2) + line : '' });
  }

  render(): string {
    const out: string[] = [];
    let i = 0;
    while (i < this.entries.length) {
      const entry = this.entries[i]!;
      if (entry.type === 'raw') {
        out.push(entry.text);
        i++;
        continue;
      }
      let j = i;
      const run: Extract<Entry, { type: 'kv' }>[] = [];
      while (j < this.entries.length && this.entries[j]!.type === 'kv')
        run.push(this.entries[j++] as Extract<Entry, { type: 'kv' }>);
      const column = Math.max(...run.map((e) => e.indent * 2 + e.key.length + 1)) + 2;
      for (const e of run) {
        const label = `${' '.repeat(e.indent * 2)}${e.key}:`;
        const [first = '', ...rest] = e.value.split('\n');
        out.push(`${label.padEnd(column)}${first}`.trimEnd());
        for (const line of rest) out.push(`${' '.repeat(column)}${line}`.trimEnd());
      }
      i = j;
    }
    return `${out.join('\n')}\n`;
  }
}
