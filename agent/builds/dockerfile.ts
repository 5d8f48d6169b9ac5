/**
 * Dockerfile edits a Docker strategy build makes: the `from` of the strategy replaces the image
 * of the last stage's FROM (keeping `--platform=` flags and `AS name`), and the build's labels
 * are appended as one LABEL instruction, as OpenShift does. Also what the engine's parser reads
 * as instructions and the base image of every stage, so the node can check the images a build
 * will use before the engine looks for them. Pure.
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

export interface Instruction {
  /** Upper case: `FROM`, `ARG`. */
  keyword: string;
  /** The rest of the logical line, continuations joined. */
  args: string;
  /** Where it starts (1-based). */
  line: number;
}

/**
 * The instructions as the engine's parser reads them: lines whose first non-blank character is
 * `#` (parser directives and comments) and blank lines are skipped, also inside a continuation;
 * a line ending with the escape character continues on the next.
 */
export function instructions(dockerfile: string): Instruction[] {
  const esc = escapeCharOf(dockerfile);
  const out: Instruction[] = [];
  let text: string | undefined;
  let start = 0;
  const finish = (): void => {
    const m = /^\s*(\S+)\s*([\s\S]*?)\s*$/.exec(text ?? '');
    if (m) out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, line: start });
    text = undefined;
  };
  const lines = dockerfile.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const content = raw.trimStart();
    if (content === '' || content.startsWith('#')) continue;
    const trimmed = raw.trimEnd();
    const continues = trimmed.endsWith(esc);
    if (text === undefined) start = i + 1;
    text = (text ?? '') + (continues ? trimmed.slice(0, -esc.length) : raw);
    if (!continues) finish();
  }
  if (text !== undefined) finish();
  return out;
}

/** `NAME` or `NAME=value` pairs of an ARG instruction (quotes around a value removed). */
function argDeclarations(args: string): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|'[^']*'|\S*))?/g)) {
    const value = m[2];
    out.push([m[1]!, value === undefined ? undefined : value.replace(/^(["'])(.*)\1$/, '$2')]);
  }
  return out;
}

/**
 * `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` expanded from `vars` (unset: empty, as
 * the engine does); undefined for any other form of `$`.
 */
function expand(text: string, vars: ReadonlyMap<string, string>): string | undefined {
  let unsupported = false;
  const out = text.replace(
    /\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|(.?))/g,
    (
      _all,
      bare: string | undefined,
      name: string | undefined,
      op: string | undefined,
      word: string | undefined,
      other: string | undefined,
    ) => {
      if (other !== undefined) {
        unsupported = true;
        return '';
      }
      const value = vars.get((bare ?? name)!);
      if (op === ':-') return value ? value : (word ?? '');
      if (op === ':+') return value ? (word ?? '') : '';
      return value ?? '';
    },
  );
  return unsupported ? undefined : out;
}

export interface BaseImage {
  image: string;
  line: number;
}

/**
 * The image each stage starts from, as the engine resolves it: ARGs declared before the first
 * FROM expanded (build arguments win over their defaults), `scratch` and the names of earlier
 * stages left out. `problems` names FROMs whose image cannot be worked out here.
 */
export function baseImages(
  dockerfile: string,
  buildArgs: Readonly<Record<string, string>>,
): { images: BaseImage[]; problems: string[] } {
  const vars = new Map<string, string>();
  const stages = new Set<string>();
  const images: BaseImage[] = [];
  const problems: string[] = [];
  let seenFrom = false;
  for (const ins of instructions(dockerfile)) {
    if (ins.keyword === 'ARG' && !seenFrom) {
      for (const [name, value] of argDeclarations(ins.args)) {
        const given = Object.hasOwn(buildArgs, name) ? buildArgs[name] : value;
        if (given !== undefined) vars.set(name, given);
      }
      continue;
    }
    if (ins.keyword !== 'FROM') continue;
    seenFrom = true;
    const words = ins.args.split(/\s+/).filter((w) => w !== '' && !w.startsWith('--'));
    const raw = words[0] ?? '';
    const image = expand(raw, vars);
    if (image === undefined || image === '') {
      problems.push(`line ${ins.line}: cannot work out the image of "FROM ${raw}"`);
    } else if (image.toLowerCase() !== 'scratch' && !stages.has(image.toLowerCase())) {
      images.push({ image, line: ins.line });
    }
    if (words[1]?.toLowerCase() === 'as' && words[2]) stages.add(words[2].toLowerCase());
  }
  return { images, problems };
}
