/**
 * Container environment as Kubernetes builds it: `envFrom` sources in order (with prefixes), then
 * `env` entries (which override), `valueFrom` references resolved from the data passed in, and
 * `$(VAR)` references expanded in values, command and args. Pure.
 */
import type { ConfigMap, Container, Pod, Secret } from '../../src/api/index.js';
import { divideCeil } from '../../src/api/quantity.js';

export interface EnvSources {
  pod: Pod;
  nodeName: string;
  /** ConfigMaps and Secrets of the pod's namespace, by name. */
  configMaps: Readonly<Record<string, ConfigMap>>;
  secrets: Readonly<Record<string, Secret>>;
  podIP?: string | undefined;
  hostIP?: string | undefined;
  /** Used by resourceFieldRef when the container sets no limit. */
  nodeCapacity?: { cpu?: string; memory?: string } | undefined;
}

export type EnvResult =
  { ok: true; env: [string, string][]; warnings: string[] } | { ok: false; message: string };

/** What Kubernetes reports as a CreateContainerConfigError. */
class ConfigError extends Error {}

/** Env names Kubernetes accepts from envFrom keys: printable ASCII without '='. */
const envNameRe = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Expands `$(NAME)` from `lookup`; `$$` is a literal `$`; unknown or malformed references are
 * left as written (Kubernetes' expansion rules).
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = name ? lookup(name) : undefined;
      out += value ?? input.slice(i, close + 1);
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

function decodeSecret(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

function configMapValue(src: EnvSources, name: string, key: string): string | undefined {
  const cm = src.configMaps[name];
  if (!cm) throw new ConfigError(`configmap "${name}" not found`);
  const text = cm.data?.[key];
  if (text !== undefined) return text;
  const bin = cm.binaryData?.[key];
  return bin === undefined ? undefined : Buffer.from(bin, 'base64').toString('utf8');
}

function secretValue(src: EnvSources, name: string, key: string): string | undefined {
  const s = src.secrets[name];
  if (!s) throw new ConfigError(`secret "${name}" not found`);
  const value = s.data?.[key];
  if (value !== undefined) return decodeSecret(value);
  return s.stringData?.[key];
}

function fieldValue(src: EnvSources, path: string): string {
  const meta = src.pod.metadata;
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label)
    return (label[1] === 'labels' ? meta.labels : meta.annotations)?.[label[2] ?? ''] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return src.pod.spec.nodeName ?? src.nodeName;
    case 'spec.serviceAccountName':
      return src.pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return src.podIP ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return src.hostIP ?? '';
    default:
      throw new ConfigError(`unsupported fieldPath: ${path}`);
  }
}

function resourceValue(
  src: EnvSources,
  container: Container,
  ref: { resource: string; containerName?: string | undefined; divisor?: unknown },
): string {
  const target = ref.containerName
    ? [...src.pod.spec.containers, ...(src.pod.spec.initContainers ?? [])].find(
        (c) => c.name === ref.containerName,
      )
    : container;
  if (!target)
    throw new ConfigError(`container "${ref.containerName}" not found for resourceFieldRef`);
  const [kind, resource] = ref.resource.split('.') as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || (resource !== 'cpu' && resource !== 'memory')) {
    throw new ConfigError(`unsupported resource: ${ref.resource}`);
  }
  const value =
    target.resources?.[kind]?.[resource] ??
    (kind === 'requests' ? target.resources?.limits?.[resource] : undefined) ??
    src.nodeCapacity?.[resource];
  if (value === undefined) {
    if (kind === 'requests') return '0';
    throw new ConfigError(
      `no ${ref.resource} set for container "${target.name}" and the node capacity is unknown`,
    );
  }
  const divisor =
    typeof ref.divisor === 'string' || typeof ref.divisor === 'number' ? ref.divisor : '1';
  return String(divideCeil(value, divisor));
}

/** Builds the container's environment, or the CreateContainerConfigError message. */
export function resolveEnv(src: EnvSources, container: Container): EnvResult {
  try {
    return { ok: true, ...build(src, container) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, message: err.message };
    throw err;
  }
}

function build(
  src: EnvSources,
  container: Container,
): { env: [string, string][]; warnings: string[] } {
  const env = new Map<string, string>();
  const warnings: string[] = [];
  const ns = src.pod.metadata.namespace ?? '';

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    let data: Record<string, string> | undefined;
    if (from.configMapRef) {
      const cm = src.configMaps[from.configMapRef.name];
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      data = cm.data ?? {};
    } else if (from.secretRef) {
      const s = src.secrets[from.secretRef.name];
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      }
      data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, decodeSecret(v)]));
    }
    for (const [key, value] of Object.entries(data ?? {})) {
      const name = prefix + key;
      if (!envNameRe.test(name)) {
        warnings.push(`skipped invalid environment variable name "${name}" from envFrom`);
        continue;
      }
      env.set(name, value);
    }
  }

  for (const e of container.env ?? []) {
    if (e.name.includes('='))
      throw new ConfigError(`invalid environment variable name "${e.name}"`);
    const vf = e.valueFrom;
    let value: string | undefined;
    if (vf?.configMapKeyRef) {
      const { name, key, optional } = vf.configMapKeyRef;
      if (optional && !src.configMaps[name]) continue;
      value = configMapValue(src, name, key);
      if (value === undefined) {
        if (optional) continue;
        throw new ConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
      }
    } else if (vf?.secretKeyRef) {
      const { name, key, optional } = vf.secretKeyRef;
      if (optional && !src.secrets[name]) continue;
      value = secretValue(src, name, key);
      if (value === undefined) {
        if (optional) continue;
        throw new ConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
      }
    } else if (vf?.fieldRef) {
      value = fieldValue(src, vf.fieldRef.fieldPath);
    } else if (vf?.resourceFieldRef) {
      value = resourceValue(src, container, vf.resourceFieldRef);
    } else {
      value = expandVars(e.value ?? '', (n) => env.get(n));
    }
    env.set(e.name, value);
  }
  return { env: [...env.entries()], warnings };
}
