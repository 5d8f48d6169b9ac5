/**
 * The environment a build gives assemble and writes into the output image: the source's
 * `.s2i/environment` (KEY=VALUE lines, `#` comments), OpenShift's OPENSHIFT_BUILD_* variables
 * and the strategy's `env`, later ones winning. Variables taken from Secrets or ConfigMaps
 * (`valueFrom`) are not resolved on the node yet and are left out, with a line in the log, so a
 * secret never lands in an image. Pure.
 */
import type { BuildEnvVar } from './types.js';

export interface EnvEntry {
  name: string;
  value: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `.s2i/environment`: KEY=VALUE per line; blank lines and `#` comments skipped. */
export function parseEnvironmentFile(text: string): { entries: EnvEntry[]; problems: string[] } {
  const entries: EnvEntry[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq === -1 ? line : line.slice(0, eq).trim();
    if (eq <= 0 || !NAME.test(name)) {
      problems.push(`.s2i/environment line ${i + 1}: "${line.slice(0, 60)}" is not KEY=VALUE`);
      return;
    }
    entries.push({ name, value: line.slice(eq + 1) });
  });
  return { entries, problems };
}

export interface BuildEnvInput {
  buildName: string;
  namespace: string;
  sourceUri?: string | undefined;
  ref?: string | undefined;
  commit?: string | undefined;
  fromFile?: EnvEntry[];
  strategyEnv?: readonly BuildEnvVar[] | undefined;
}

/** The merged environment (one entry per name, in first-seen order) and what was left out. */
export function buildEnvironment(input: BuildEnvInput): { env: EnvEntry[]; skipped: string[] } {
  const merged = new Map<string, string>();
  const set = (name: string, value: string): void => {
    merged.delete(name);
    merged.set(name, value);
  };
  for (const e of input.fromFile ?? []) set(e.name, e.value);
  set('OPENSHIFT_BUILD_NAME', input.buildName);
  set('OPENSHIFT_BUILD_NAMESPACE', input.namespace);
  if (input.sourceUri) set('OPENSHIFT_BUILD_SOURCE', input.sourceUri);
  if (input.ref) set('OPENSHIFT_BUILD_REFERENCE', input.ref);
  if (input.commit) set('OPENSHIFT_BUILD_COMMIT', input.commit);
  const skipped: string[] = [];
  for (const e of input.strategyEnv ?? []) {
    if (e.valueFrom !== undefined) {
      skipped.push(e.name);
      continue;
    }
    if (!NAME.test(e.name)) {
      skipped.push(e.name);
      continue;
    }
    set(e.name, e.value ?? '');
  }
  return { env: [...merged].map(([name, value]) => ({ name, value })), skipped };
}

/** `NAME=value` strings for Docker. */
export function dockerEnv(env: readonly EnvEntry[]): string[] {
  return env.map((e) => `${e.name}=${e.value}`);
}
