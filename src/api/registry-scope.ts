/**
 * The access a token for the cluster registry grants, in Docker Distribution's terms: scopes
 * `TYPE:NAME:ACTIONS` (`repository:myproject/app:pull,push`, `registry:catalog:*`), as a client
 * asks for them and as the token's `access` claim lists them. Pure; shared by the master (which
 * grants) and the agent (which tells its images of the cluster registry from others).
 */
import { parseDockerImageReference } from './image-reference.js';

/** The project of the shared builder images and templates, which every project may read (and
 * pull from the cluster registry). */
export const SHARED_IMAGES_NAMESPACE = 'openshift';

/** Where the master's token endpoint answers (OpenShift's registry uses the same path). */
export const REGISTRY_TOKEN_PATH = '/openshift/token';
/** Where clients learn the cluster registry's address. */
export const CLUSTER_REGISTRY_PATH = '/openshift/registry';
/** The service name the cluster registry's tokens are issued for (their `aud`). */
export const CLUSTER_REGISTRY_SERVICE = 'slipway-registry';

/** Where the cluster registry is (`GET /openshift/registry`). */
export interface ClusterRegistryInfo {
  /** `host:port`, as image references name it. */
  address: string;
  /** The `service` its tokens are issued for. */
  service: string;
}

export interface RegistryAccess {
  /** `repository` or `registry`. */
  type: string;
  /** `PROJECT/NAME` for a repository; `catalog` for the registry. */
  name: string;
  /** `pull`, `push`, `delete` or `*`. */
  actions: string[];
}

/**
 * The scopes of a token request: each `scope` parameter holds one or more, separated by spaces.
 * A scope's type may carry a class (`repository(plugin)`), which is dropped; malformed scopes
 * are left out, so they are never granted.
 */
export function parseScopes(values: readonly string[]): RegistryAccess[] {
  const out: RegistryAccess[] = [];
  for (const value of values) {
    for (const scope of value.split(' ')) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first <= 0 || last === first) continue;
      const type = scope.slice(0, first).replace(/\(.*\)$/, '');
      const name = scope.slice(first + 1, last);
      const actions = scope
        .slice(last + 1)
        .split(',')
        .filter((a) => a !== '');
      if (name === '' || actions.length === 0) continue;
      const same = out.find((a) => a.type === type && a.name === name);
      if (same) same.actions = [...new Set([...same.actions, ...actions])];
      else out.push({ type, name, actions: [...new Set(actions)] });
    }
  }
  return out;
}

/**
 * The repository of `image` in the cluster registry at `registry` (`project/name`), or undefined
 * when the image lives in another registry or is no valid reference.
 */
export function clusterRepository(image: string, registry: string): string | undefined {
  const parsed = parseDockerImageReference(image);
  if (!parsed.ok || parsed.reference.registry !== registry) return undefined;
  return parsed.reference.repository;
}
