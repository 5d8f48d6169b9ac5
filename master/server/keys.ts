import type { AnyKindDefinition } from '../../src/api/registry.js';

/**
 * Store keys: `/registry/{group or 'core'}/{plural}/{namespace}/{name}`, cluster-scoped kinds
 * without the namespace. Every prefix ends in `/` so `pods/a/` never matches `pods/ab/...`.
 */
export function groupSegment(def: Pick<AnyKindDefinition, 'group'>): string {
  return def.group || 'core';
}

export function objectKey(
  def: AnyKindDefinition,
  namespace: string | undefined,
  name: string,
): string {
  const base = `/registry/${groupSegment(def)}/${def.plural}/`;
  return def.namespaced ? `${base}${namespace ?? ''}/${name}` : `${base}${name}`;
}

/** Everything of a kind, or (namespaced kinds) everything in one namespace. */
export function collectionPrefix(def: AnyKindDefinition, namespace?: string): string {
  const base = `/registry/${groupSegment(def)}/${def.plural}/`;
  return def.namespaced && namespace ? `${base}${namespace}/` : base;
}

/** `pods`, `projects.project.openshift.io`: how Kubernetes names a resource in messages. */
export function qualifiedResource(def: Pick<AnyKindDefinition, 'plural' | 'group'>): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}
