/**
 * Dockerfile edits a Docker strategy build makes: the `from` of the strategy replaces the image
 * of the last stage's FROM (keeping `--platform=` flags and `AS name`), and the build's labels
 * are appended as one LABEL instruction, as OpenShift does. Pure.
 */

const FROM = /^(\s*FROM\s+(?:--[A-Za-z-]+=\S+\s+)*)(\S+)(.*)$/i;

/** The Dockerfile with its last FROM's image replaced; undefined when it has no FROM. */
export function replaceLastFrom(dockerfile: string, image: string): string | undefined {
  const lines = dockerfile.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = FROM.exec(lines[i]!);
    if (!m) continue;
    lines[i] = `${m[1]}${image}${m[3]}`;
    return lines.join('\n');
  }
  return undefined;
}

/** The escape character of a Dockerfile: `\`, or what its `# escape=` parser directive says. */
export function escapeCharOf(dockerfile: string): string {
  for (const line of dockerfile.split('\n')) {
    // Parser directives come first; any other line (a blank one too) ends them.
    const m = /^#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(\S*)\s*$/.exec(line.replace(/\r$/, ''));
    if (!m) break;
    if (m[1]!.toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) return m[2];
  }
  return '\\';
}

/**
 * The Dockerfile with one `LABEL` instruction for every label appended to its last stage: one
 * builder step instead of one per label (the engine's `labels` build option adds a step per
 * label, ~0.3 s each). Values are quoted for the file's escape character, `$` included, so
 * nothing in them is expanded.
 */
export function appendLabels(dockerfile: string, labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return dockerfile;
  const esc = escapeCharOf(dockerfile);
  const quote = (v: string): string =>
    `"${v
      .replace(/[\r\n]+/g, ' ')
      .split('')
      .map((ch) => (ch === esc || ch === '"' || ch === '$' ? `${esc}${ch}` : ch))
      .join('')}"`;
  const line = `LABEL ${entries.map(([k, v]) => `${quote(k)}=${quote(v)}`).join(' ')}`;
  return `${dockerfile}${dockerfile.endsWith('\n') ? '' : '\n'}${line}\n`;
}
