/**
 * Parameter values for `slipway process`, gathered as `oc process` gathers them: `-p KEY=VALUE`
 * and `KEY=VALUE` arguments, then `--param-file` files (env-file lines). A key given twice on
 * the command line is an error; a key from a file that the command line (or an earlier file)
 * already set is ignored with a warning.
 */
import { readFile } from 'node:fs/promises';
import { PARAMETER_NAME_RE } from '../api/kinds/template.js';
import { CliError } from './errors.js';
import { readAll } from './io.js';

export interface ParamFile {
  /** The file name, or `-` for standard input. */
  name: string;
  text: string;
}

function checkKey(key: string, where: string): void {
  if (!PARAMETER_NAME_RE.test(key)) {
    throw new CliError(
      `invalid parameter assignment in ${where}: "${key}" is not a parameter name (letters, digits and _ only)`,
    );
  }
}

/** `KEY=VALUE` pairs from the command line; the value may hold `=`. */
export function parseParamArgs(args: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  const duplicated = new Set<string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0) throw new CliError(`invalid parameter assignment in "${arg}": expected KEY=VALUE`);
    const key = arg.slice(0, eq);
    checkKey(key, `"${arg}"`);
    if (values.has(key)) duplicated.add(key);
    values.set(key, arg.slice(eq + 1));
  }
  if (duplicated.size > 0) {
    throw new CliError(
      `The following parameters were provided more than once: ${[...duplicated].sort().join(', ')}`,
    );
  }
  return values;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value
      .slice(1, -1)
      .replace(/\\(["\\nrt])/g, (_m, c: string) =>
        c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c,
      );
  }
  return value;
}

/**
 * An env file: `KEY=VALUE` lines, `#` comments and blank lines, an optional `export `, values
 * optionally in single quotes (literal) or double quotes (`\n`, `\t`, `\"`, `\\` escapes).
 * Later lines override earlier ones within one file.
 */
export function parseParamFile(file: ParamFile): Map<string, string> {
  const values = new Map<string, string>();
  file.text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.replace(/^export\s+/, '');
    const eq = body.indexOf('=');
    const where = `${file.name === '-' ? 'standard input' : file.name}, line ${i + 1}`;
    if (eq < 0) throw new CliError(`invalid parameter assignment in ${where}: expected KEY=VALUE`);
    const key = body.slice(0, eq).trim();
    checkKey(key, where);
    values.set(key, unquote(body.slice(eq + 1).trim()));
  });
  return values;
}

/** Command-line values first; a file's value only for keys not set yet (`warn` is told). */
export function combineParams(
  args: ReadonlyMap<string, string>,
  files: readonly ParamFile[],
  warn: (line: string) => void,
): Map<string, string> {
  const out = new Map(args);
  for (const file of files) {
    for (const [key, value] of parseParamFile(file)) {
      if (out.has(key)) {
        warn(
          `warning: Template parameter "${key}" already defined, ignoring value from file "${file.name}"`,
        );
        continue;
      }
      out.set(key, value);
    }
  }
  return out;
}

/** Reads `--param-file` files (`-` is standard input, read once). */
export async function readParamFiles(
  names: readonly string[],
  stdin: AsyncIterable<string | Uint8Array>,
): Promise<ParamFile[]> {
  const files: ParamFile[] = [];
  for (const name of names) {
    if (name === '-') {
      files.push({ name, text: await readAll(stdin) });
      continue;
    }
    try {
      files.push({ name, text: await readFile(name, 'utf8') });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(
        code === 'ENOENT'
          ? `the parameter file "${name}" does not exist`
          : `error reading ${name}: ${(err as Error).message}`,
      );
    }
  }
  return files;
}
