/**
 * The data of `create configmap` and `create secret generic`, as kubectl reads it:
 * `--from-literal=KEY=VALUE`, `--from-file=[KEY=]PATH` (a file, or a directory's regular files
 * each under its own name) and `--from-env-file=PATH` (KEY=VALUE lines). Keys must be valid
 * config keys and unique across all sources; the whole must stay under the API's size limit.
 * Values of secrets never appear in an error.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CliError } from '../errors.js';

/** Kubernetes caps a ConfigMap's or Secret's data at 1 MiB. */
export const MAX_DATA_BYTES = 1024 * 1024;

const KEY = /^[-._a-zA-Z0-9]+$/;

export interface DataSources {
  literals: readonly string[];
  files: readonly string[];
  envFiles: readonly string[];
}

/** Each key's bytes, in the order the sources gave them. */
export type DataEntries = Map<string, Buffer>;

function checkKey(key: string, from: string): void {
  if (!KEY.test(key) || key.length > 253 || key === '.' || key === '..') {
    throw new CliError(
      `${from}: "${key}" is not a valid key: alphanumeric characters, '-', '_' or '.'`,
    );
  }
}

function add(entries: DataEntries, key: string, value: Buffer, from: string): void {
  checkKey(key, from);
  if (entries.has(key)) throw new CliError(`${from}: the key "${key}" is given more than once`);
  entries.set(key, value);
}

/** KEY=VALUE lines of an env file: blank lines and `#` comments skipped, as kubectl does. */
export function parseEnvFile(text: string, path: string): [string, string][] {
  const out: [string, string][] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\uFEFF/, '').trimStart();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq);
    if (eq === -1) {
      throw new CliError(`--from-env-file ${path}: line ${i + 1} is not KEY=VALUE`);
    }
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(key)) {
      throw new CliError(
        `--from-env-file ${path}: line ${i + 1}: "${key}" is not a valid environment variable name`,
      );
    }
    out.push([key, line.slice(eq + 1)]);
  });
  return out;
}

/** A file a flag names; a missing or unreadable one is an error naming the flag and path. */
export async function readFlagFile(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new CliError(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** Reads every source; refuses bad keys, duplicates, unreadable files and oversized data. */
export async function readDataSources(sources: DataSources): Promise<DataEntries> {
  const entries: DataEntries = new Map();
  for (const literal of sources.literals) {
    const eq = literal.indexOf('=');
    if (eq <= 0) throw new CliError(`--from-literal "${literal.slice(0, 40)}": expected KEY=VALUE`);
    add(entries, literal.slice(0, eq), Buffer.from(literal.slice(eq + 1)), '--from-literal');
  }
  for (const spec of sources.files) {
    const eq = spec.indexOf('=');
    const key = eq > 0 ? spec.slice(0, eq) : undefined;
    const path = eq > 0 ? spec.slice(eq + 1) : spec;
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      throw new CliError(
        `--from-file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
    if (info.isDirectory()) {
      if (key !== undefined) {
        throw new CliError(`--from-file ${spec}: a key cannot be given for a directory`);
      }
      const names = (await readdir(path, { withFileTypes: true }))
        .filter((d) => d.isFile())
        .map((d) => d.name)
        .sort();
      for (const name of names) {
        // kubectl skips the files whose names are not valid keys.
        if (!KEY.test(name)) continue;
        add(entries, name, await readFlagFile('--from-file', join(path, name)), '--from-file');
      }
    } else {
      add(entries, key ?? basename(path), await readFlagFile('--from-file', path), '--from-file');
    }
  }
  for (const path of sources.envFiles) {
    const text = (await readFlagFile('--from-env-file', path)).toString('utf8');
    for (const [k, v] of parseEnvFile(text, path))
      add(entries, k, Buffer.from(v), '--from-env-file');
  }
  let size = 0;
  for (const value of entries.values()) size += value.length;
  if (size > MAX_DATA_BYTES) {
    throw new CliError(`the data is ${size} bytes; at most ${MAX_DATA_BYTES} are allowed`);
  }
  return entries;
}

/** A ConfigMap's data (UTF-8 text) and binaryData (anything else, base64). */
export function configMapData(entries: DataEntries): {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
} {
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const [key, value] of entries) {
    const text = value.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(value)) data[key] = text;
    else binaryData[key] = value.toString('base64');
  }
  return {
    ...(Object.keys(data).length > 0 ? { data } : {}),
    ...(Object.keys(binaryData).length > 0 ? { binaryData } : {}),
  };
}

/** A Secret's data: every value base64. */
export function secretData(entries: DataEntries): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [key, value] of entries) data[key] = value.toString('base64');
  return data;
}
