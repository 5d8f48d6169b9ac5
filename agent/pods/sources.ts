/**
 * The ConfigMaps and Secrets a pod references (env, envFrom, volumes, imagePullSecrets), fetched from the API in
 * the pod's namespace. Missing ones are simply absent: planning turns that into the
 * CreateContainerConfigError or FailedMount Kubernetes reports.
 */
import {
  type ConfigMap,
  configMapKind,
  type Pod,
  type Secret,
  secretKind,
  unlessNotFound,
} from '../../src/api/index.js';
import type { ApiClient } from '../../src/client/index.js';

export interface PodSources {
  configMaps: Record<string, ConfigMap>;
  secrets: Record<string, Secret>;
}

/** Names of the ConfigMaps and Secrets the pod refers to. */
export function referencedSources(pod: Pod): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef?.name;
      const s = e.valueFrom?.secretKeyRef?.name;
      if (cm) configMaps.add(cm);
      if (s) secrets.add(s);
    }
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef?.name) configMaps.add(from.configMapRef.name);
      if (from.secretRef?.name) secrets.add(from.secretRef.name);
    }
  }
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
  }
  for (const ref of pod.spec.imagePullSecrets ?? []) if (ref.name) secrets.add(ref.name);
  return { configMaps: [...configMaps].sort(), secrets: [...secrets].sort() };
}

/** Fetches what the pod references; NotFound leaves it out, other errors throw. */
export async function fetchSources(
  client: Pick<ApiClient, 'get'>,
  pod: Pod,
  signal?: AbortSignal,
): Promise<PodSources> {
  const namespace = pod.metadata.namespace ?? 'default';
  const refs = referencedSources(pod);
  const out: PodSources = { configMaps: {}, secrets: {} };
  const fetch = async <T extends ConfigMap | Secret>(
    kind: typeof configMapKind | typeof secretKind,
    name: string,
  ): Promise<T | undefined> => {
    return unlessNotFound(client.get<T>(kind, name, { namespace, signal }));
  };
  await Promise.all([
    ...refs.configMaps.map(async (name) => {
      const cm = await fetch<ConfigMap>(configMapKind, name);
      if (cm) out.configMaps[name] = cm;
    }),
    ...refs.secrets.map(async (name) => {
      const s = await fetch<Secret>(secretKind, name);
      if (s) out.secrets[name] = s;
    }),
  ]);
  return out;
}
