/**
 * S2I's script lookup, per script, first hit wins:
 *
 *   1. the build's scripts URL (`strategy.sourceStrategy.scripts`);
 *   2. the source's `.s2i/bin/` (inside the context directory);
 *   3. the builder image's `io.openshift.s2i.scripts-url` label (or the older
 *      `io.s2i.scripts-url`), else S2I's default `image:///usr/libexec/s2i`.
 *
 * URLs: `image:///PATH` is a directory inside the builder image (checked to exist), `http(s)://`
 * is downloaded on the node (script-download.ts), `file:///PATH` is a directory on the node,
 * allowed only where the agent allows local sources (tests, administrators). Downloaded and
 * source scripts are copied into the injected `scripts/` directory; image scripts run in place.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redactCredentials } from '../../src/api/git-source.js';
import { readInside, UnsafePathError } from './pack-tree.js';
import { BuildFailure } from './types.js';

export const SCRIPTS_URL_LABEL = 'io.openshift.s2i.scripts-url';
export const LEGACY_SCRIPTS_URL_LABEL = 'io.s2i.scripts-url';
export const DESTINATION_LABEL = 'io.openshift.s2i.destination';
export const DEFAULT_SCRIPTS_URL = 'image:///usr/libexec/s2i';
export const DEFAULT_DESTINATION = '/tmp';

export type ScriptName = 'assemble' | 'run' | 'save-artifacts';

export type ScriptLocation =
  /** Copied into the injected `scripts/` directory: runs as DEST/scripts/NAME. */
  | { kind: 'injected'; origin: string }
  /** Already in the image at `path`. */
  | { kind: 'image'; path: string; origin: string };

export type ScriptSet = Partial<Record<ScriptName, ScriptLocation>>;

export interface ScriptLookupInput {
  names: readonly ScriptName[];
  /** The build's scripts URL. */
  scriptsUrl?: string | undefined;
  /** The source's context directory (for `.s2i/bin`); undefined without source. */
  sourceDir?: string | undefined;
  imageLabels: Record<string, string>;
  /** Where injected scripts are written (created by the caller). */
  scriptsDir: string;
  allowLocal: boolean;
  download: (url: string) => Promise<Buffer | undefined>;
  /** Which of these absolute paths exist (as files) in the builder image. */
  existInImage: (paths: string[]) => Promise<Set<string>>;
}

/** The builder's destination directory (label, default /tmp), absolute, without a trailing '/'. */
export function destinationOf(labels: Record<string, string>): string {
  const raw = labels[DESTINATION_LABEL]?.trim() || DEFAULT_DESTINATION;
  if (!raw.startsWith('/') || /[\s'"`$\\;&|<>(){}]/.test(raw) || raw.split('/').includes('..')) {
    throw new BuildFailure(
      'GenericBuildFailed',
      `the builder image's ${DESTINATION_LABEL} label "${raw}" is not an absolute, plain path`,
    );
  }
  return raw.replace(/\/+$/, '') || '/';
}

interface Candidate {
  origin: string;
  resolve: (name: ScriptName) => Promise<ScriptLocation | undefined>;
  imagePath?: (name: ScriptName) => string;
}

function plainPath(path: string, what: string): string {
  if (!path.startsWith('/') || /[\s'"`$\\;&|<>(){}]/.test(path) || path.split('/').includes('..')) {
    throw new BuildFailure(
      'GenericBuildFailed',
      `${what} "${path}" is not an absolute, plain path`,
    );
  }
  return path.replace(/\/+$/, '');
}

/** The places a URL names, as a lookup candidate. */
function urlCandidate(
  url: string,
  origin: string,
  input: ScriptLookupInput,
  existing: () => Set<string>,
): Candidate {
  const shown = redactCredentials(url);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const inject = async (name: ScriptName, data: Buffer): Promise<ScriptLocation> => {
    const target = join(input.scriptsDir, name);
    await writeFile(target, data, { mode: 0o755 });
    await chmod(target, 0o755);
    return { kind: 'injected', origin: `${origin} (${shown})` };
  };
  if (scheme === 'image') {
    const dir = plainPath(url.slice('image://'.length), `${origin} ${shown}:`);
    const imagePath = (name: ScriptName): string => `${dir}/${name}`;
    return {
      origin,
      imagePath,
      resolve: (name) =>
        Promise.resolve(
          existing().has(imagePath(name))
            ? { kind: 'image', path: imagePath(name), origin: `${origin} (${shown})` }
            : undefined,
        ),
    };
  }
  if (scheme === 'http' || scheme === 'https') {
    const base = url.replace(/\/+$/, '');
    return {
      origin,
      resolve: async (name) => {
        const data = await input.download(`${base}/${name}`);
        return data ? inject(name, data) : undefined;
      },
    };
  }
  if (scheme === 'file') {
    if (!input.allowLocal) {
      throw new BuildFailure(
        'GenericBuildFailed',
        `${origin} ${shown} is a file:// URL, which this node does not allow; use image://, http(s):// or the source's .s2i/bin`,
      );
    }
    const dir = plainPath(decodeURIComponent(url.slice('file://'.length)), `${origin} ${shown}:`);
    return {
      origin,
      resolve: async (name) => {
        try {
          return await inject(name, await readFile(`${dir}/${name}`));
        } catch {
          return undefined;
        }
      },
    };
  }
  throw new BuildFailure(
    'GenericBuildFailed',
    `${origin} "${shown}" has an unsupported scheme (use image://, http(s):// or file://)`,
  );
}

/** Finds every named script; the result lacks the ones found nowhere. */
export async function lookupScripts(input: ScriptLookupInput): Promise<ScriptSet> {
  let existing = new Set<string>();
  const candidates: Candidate[] = [];
  if (input.scriptsUrl) {
    candidates.push(
      urlCandidate(input.scriptsUrl, "the build's scripts URL", input, () => existing),
    );
  }
  if (input.sourceDir) {
    const sourceDir = input.sourceDir;
    candidates.push({
      origin: "the source's .s2i/bin",
      resolve: async (name) => {
        let data: Buffer | undefined;
        try {
          data = await readInside(sourceDir, `.s2i/bin/${name}`);
        } catch (err) {
          if (err instanceof UnsafePathError) {
            throw new BuildFailure(
              'GenericBuildFailed',
              `cannot use .s2i/bin/${name}: ${err.message}`,
            );
          }
          throw err;
        }
        if (!data) return undefined;
        const target = join(input.scriptsDir, name);
        await writeFile(target, data, { mode: 0o755 });
        await chmod(target, 0o755);
        return { kind: 'injected', origin: "the source's .s2i/bin" };
      },
    });
  }
  const label =
    input.imageLabels[SCRIPTS_URL_LABEL]?.trim() ||
    input.imageLabels[LEGACY_SCRIPTS_URL_LABEL]?.trim() ||
    DEFAULT_SCRIPTS_URL;
  candidates.push(urlCandidate(label, "the builder image's scripts URL", input, () => existing));

  const imagePaths = candidates.flatMap((c) =>
    c.imagePath ? input.names.map((n) => c.imagePath!(n)) : [],
  );
  if (imagePaths.length > 0) existing = await input.existInImage([...new Set(imagePaths)]);

  const found: ScriptSet = {};
  for (const name of input.names) {
    for (const c of candidates) {
      const location = await c.resolve(name);
      if (location) {
        found[name] = location;
        break;
      }
    }
  }
  return found;
}

/** Where a found script runs inside the container. */
export function scriptPath(
  location: ScriptLocation,
  name: ScriptName,
  destination: string,
): string {
  return location.kind === 'image' ? location.path : `${destination}/scripts/${name}`;
}
