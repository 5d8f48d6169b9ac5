import type { AnyKindDefinition } from './registry.js';

export interface PathTarget {
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

/** The group/version prefix: `/api/v1` for core, `/apis/GROUP/VERSION` otherwise. */
export function groupVersionPrefix(def: Pick<AnyKindDefinition, 'group' | 'version'>): string {
  return def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`;
}

/**
 * Kubernetes-style resource paths:
 * `/api/v1/namespaces/NS/pods/NAME/status`, `/apis/project.openshift.io/v1/projects/NAME`.
 * A namespaced kind without a namespace addresses all namespaces (list/watch only).
 */
export function resourcePath(def: AnyKindDefinition, target: PathTarget = {}): string {
  let path = groupVersionPrefix(def);
  if (def.namespaced && target.namespace)
    path += `/namespaces/${encodeURIComponent(target.namespace)}`;
  path += `/${def.plural}`;
  if (target.name !== undefined) path += `/${encodeURIComponent(target.name)}`;
  if (target.subresource) path += `/${target.subresource}`;
  return path;
}
