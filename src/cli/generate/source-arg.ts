/**
 * The source arguments of `new-build` and `new-app`, read the way `oc` reads them:
 * `[BUILDER~]REPOSITORY[#REF]`. A builder is an image stream (`nodejs`, `nodejs:18`,
 * `openshift/nodejs:18`) or an image reference with a registry (`quay.io/org/img:tag`).
 */
import { CliError } from '../errors.js';

export interface SourceArg {
  /** What the user wrote before `~`, if anything. */
  builder: string | undefined;
  /** The repository URL without its `#ref`. */
  uri: string;
  /** Branch, tag or commit from the URL's fragment. */
  ref: string | undefined;
}

const URL_SCHEMES = /^(https?|ssh|git|file):\/\//i;
/** `git@host:path` (scp-like syntax). */
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]/;

/** Whether an argument names a git repository rather than an image or template. */
export function looksLikeRepository(arg: string): boolean {
  const uri = arg.includes('~') ? arg.slice(arg.indexOf('~') + 1) : arg;
  return URL_SCHEMES.test(uri) || SCP_LIKE.test(uri) || /\.git(#.*)?$/.test(uri);
}

export function parseSourceArg(arg: string): SourceArg {
  const tilde = arg.indexOf('~');
  const builder = tilde >= 0 ? arg.slice(0, tilde) : undefined;
  const rest = tilde >= 0 ? arg.slice(tilde + 1) : arg;
  if (builder !== undefined && builder.trim() === '')
    throw new CliError(`"${arg}": the builder before "~" is empty`);
  if (rest === '') throw new CliError(`"${arg}": the repository after "~" is empty`);
  const hash = rest.indexOf('#');
  const uri = hash >= 0 ? rest.slice(0, hash) : rest;
  const ref = hash >= 0 ? rest.slice(hash + 1) : undefined;
  if (ref !== undefined && ref === '') throw new CliError(`"${arg}": the ref after "#" is empty`);
  return { builder, uri, ref };
}

/**
 * The app's name from its repository, as `oc` derives it: the last path segment without `.git`,
 * lowercased, anything else than [a-z0-9-] turned into `-`, trimmed to a DNS-1035 label that
 * leaves room for the `-N-build` and `-N-xxxxx` suffixes.
 */
export function nameFromRepository(uri: string): string {
  const path = uri.replace(/[?#].*$/, '').replace(/\/+$/, '');
  const last = path.split(/[/:]/).pop() ?? '';
  const base = last.replace(/\.git$/i, '');
  return sanitizeName(base, uri);
}

export const MAX_GENERATED_NAME = 58;

export function sanitizeName(raw: string, from: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, MAX_GENERATED_NAME)
    .replace(/-+$/, '');
  if (!name) throw new CliError(`cannot derive a name from "${from}": use --name`);
  return name;
}

export interface ImageStreamRef {
  namespace: string | undefined;
  name: string;
  tag: string;
}

/**
 * `nodejs`, `nodejs:18`, `openshift/nodejs:18`: an image stream tag. Anything with a registry
 * host (a `.` or `:` before the first `/`, or `localhost`) or a digest is an image reference.
 */
export function parseImageStreamRef(value: string): ImageStreamRef | undefined {
  if (value.includes('@')) return undefined;
  const parts = value.split('/');
  if (parts.length > 2) return undefined;
  if (parts.length === 2 && /[.:]|^localhost$/.test(parts[0]!)) return undefined;
  const [namespace, nameTag] = parts.length === 2 ? [parts[0], parts[1]!] : [undefined, parts[0]!];
  const colon = nameTag.indexOf(':');
  const name = colon >= 0 ? nameTag.slice(0, colon) : nameTag;
  const tag = colon >= 0 ? nameTag.slice(colon + 1) : 'latest';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || !/^[\w][\w.-]{0,127}$/.test(tag))
    return undefined;
  return { namespace, name, tag };
}

/** `KEY=VALUE` pairs of `-e`/`--env` and `--build-env`. */
export function parseEnvPairs(
  pairs: readonly string[],
  flag: string,
): { name: string; value: string }[] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq > 0 ? pair.slice(0, eq) : '';
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name))
      throw new CliError(`${flag} "${pair}": expected NAME=VALUE with a valid variable name`);
    return { name, value: pair.slice(eq + 1) };
  });
}

/** `k=v` pairs of `-l`/`--labels`. */
export function parseLabelPairs(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs.flatMap((p) => p.split(','))) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--labels "${pair}": expected key=value`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}
