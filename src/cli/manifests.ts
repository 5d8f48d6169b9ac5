import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { ApiObject } from '../api/index.js';
import { CliError } from './errors.js';
import { readAll } from './io.js';

/** One object from a `-f` source, with where it came from for messages. */
export interface Manifest {
  /** The file name, or `STDIN`. */
  source: string;
  /** 1-based document number within the source. */
  document: number;
  /** 1-based line where the document starts. */
  line: number;
  object: ApiObject;
}

const manifestExtensions = new Set(['.yaml', '.yml', '.json']);

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `FILE: document 2 (line 14)` */
export function where(m: Pick<Manifest, 'source' | 'document' | 'line'>): string {
  return `${m.source}: document ${m.document} (line ${m.line})`;
}

/**
 * Parses one source of multi-document YAML (or JSON). `kind: List` documents are expanded.
 * Problems name the source, the document number and the line.
 */
export function parseManifests(text: string, source: string): Manifest[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: Manifest[] = [];
  docs.forEach((doc, i) => {
    const document = i + 1;
    const docError = doc.errors[0];
    if (docError) {
      const offset = docError.pos[0];
      const { line } = lineCounter.linePos(offset);
      throw new CliError(
        `error parsing ${source}: document ${document}: line ${line}: ${docError.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
      );
    }
    const start = doc.contents?.range[0] ?? doc.range[0];
    const line = lineCounter.linePos(start).line;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // empty document, e.g. a trailing `---`
    const at = { source, document, line };
    if (!isMapping(value))
      throw new CliError(
        `error validating ${where(at)}: expected a mapping with apiVersion and kind`,
      );
    const objects = isListKind(value) ? (value.items as unknown[]) : [value];
    objects.forEach((item, j) => {
      const problem = objectProblem(item);
      if (problem) {
        const which = objects.length > 1 || isListKind(value) ? ` items[${j}]` : '';
        throw new CliError(`error validating ${where(at)}${which}: ${problem}`);
      }
      out.push({ ...at, object: item as ApiObject });
    });
  });
  return out;
}

function isListKind(value: Record<string, unknown>): boolean {
  return (
    typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)
  );
}

function objectProblem(value: unknown): string | undefined {
  if (!isMapping(value)) return 'expected a mapping with apiVersion and kind';
  const missing = ['apiVersion', 'kind'].filter(
    (k) => typeof value[k] !== 'string' || value[k] === '',
  );
  if (missing.length) return missing.map((k) => `${k} not set`).join(', ');
  if (value.metadata !== undefined && !isMapping(value.metadata))
    return 'metadata must be a mapping';
  return undefined;
}

/**
 * Everything `-f` names: files, directories (their *.yaml, *.yml and *.json files, not
 * recursive, in name order) and `-` for standard input.
 */
export async function readManifests(
  paths: readonly string[],
  stdin: AsyncIterable<string | Uint8Array>,
): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const path of paths) {
    if (path === '-') {
      out.push(...parseManifests(await readAll(stdin), 'STDIN'));
      continue;
    }
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new CliError(`the path "${path}" does not exist`);
    }
    const files = info.isDirectory()
      ? (await readdir(path))
          .filter((f) => manifestExtensions.has(extname(f).toLowerCase()))
          .sort()
          .map((f) => join(path, f))
      : [path];
    if (info.isDirectory() && files.length === 0) {
      throw new CliError(
        `error reading ${path}: no *.yaml, *.yml or *.json files in the directory`,
      );
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new CliError(`error reading ${file}: ${(err as Error).message}`);
      }
      out.push(...parseManifests(text, file));
    }
  }
  if (out.length === 0) throw new CliError('no objects passed to the command');
  return out;
}
