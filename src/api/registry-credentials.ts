/**
 * Registry credentials from Secrets, as the kubelet and OpenShift's image import read them:
 * `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`, an `auths` map) and
 * `kubernetes.io/dockercfg` (`.dockercfg`, the map itself). A key matches an image when its
 * registry host is the image's (Docker Hub under any of its names) and its path, if any, is a
 * prefix of the image's repository; the longest match wins. Pure.
 */
import { DOCKER_HUB, parseDockerImageReference } from './image-reference.js';
import type { Pod } from './kinds/pod.js';
import type { Secret } from './kinds/secret.js';

const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

interface DockerConfigEntry {
  auth?: string;
  username?: string;
  password?: string;
}

/** Credentials for one registry, in the form Docker's API takes them. */
export interface RegistryCredentials {
  username: string;
  password: string;
  /** The config key they came from. */
  serveraddress: string;
}

function normalHost(host: string): string {
  const lower = host.toLowerCase();
  return HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

/** A config key (`https://index.docker.io/v1/`, `quay.io/team`) as host and path. */
export function keyLocation(key: string): { host: string; path: string } {
  const bare = key.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  const slash = bare.indexOf('/');
  const host = normalHost(slash < 0 ? bare : bare.slice(0, slash));
  let path = slash < 0 ? '' : bare.slice(slash + 1);
  // Docker Hub's legacy key names its API version, not a repository.
  if (host === DOCKER_HUB && /^v[12]$/.test(path)) path = '';
  return { host, path };
}

function entriesOf(secret: Secret): Record<string, DockerConfigEntry> {
  const decode = (key: string): unknown => {
    const value = secret.data?.[key];
    if (value === undefined) return undefined;
    try {
      return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  };
  const json = decode('.dockerconfigjson') as { auths?: unknown } | undefined;
  const map = json?.auths ?? decode('.dockercfg');
  return typeof map === 'object' && map !== null ? (map as Record<string, DockerConfigEntry>) : {};
}

function credentials(
  entry: DockerConfigEntry,
  serveraddress: string,
): RegistryCredentials | undefined {
  if (entry.username !== undefined && entry.password !== undefined) {
    return { username: entry.username, password: entry.password, serveraddress };
  }
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      return {
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
        serveraddress,
      };
    }
  }
  return undefined;
}

/** The credentials among `secrets` for pulling `image`; undefined when none match. */
export function credentialsFor(
  image: string,
  secrets: readonly Secret[],
): RegistryCredentials | undefined {
  const parsed = parseDockerImageReference(image);
  if (!parsed.ok) return undefined;
  const target = { host: normalHost(parsed.reference.registry), path: parsed.reference.repository };
  let best: { auth: RegistryCredentials; length: number } | undefined;
  for (const secret of secrets) {
    for (const [key, entry] of Object.entries(entriesOf(secret))) {
      const at = keyLocation(key);
      if (at.host !== target.host) continue;
      if (at.path && target.path !== at.path && !target.path.startsWith(`${at.path}/`)) continue;
      const auth = credentials(entry, key);
      if (auth && (!best || at.path.length > best.length)) best = { auth, length: at.path.length };
    }
  }
  return best?.auth;
}

export interface PullCredentials {
  auth?: RegistryCredentials;
  /** Names in imagePullSecrets with no Secret (the kubelet warns and pulls anyway). */
  missing: string[];
}

/** The credentials for pulling `image` for `pod`, given the Secrets that exist. */
export function pullCredentials(
  pod: Pod,
  image: string,
  secrets: Readonly<Record<string, Secret>>,
): PullCredentials {
  const names = (pod.spec.imagePullSecrets ?? []).map((r) => r.name).filter((n) => !!n);
  const missing = names.filter((n) => !secrets[n]);
  const named = names.map((n) => secrets[n]).filter((s): s is Secret => s !== undefined);
  const auth = credentialsFor(image, named);
  return { ...(auth ? { auth } : {}), missing };
}
