import { ApiError } from '../../src/api/errors.js';
import type { AnyKindDefinition, KindRegistry } from '../../src/api/registry.js';

/** Discovery documents, so generic clients can find what this server serves. */

export function coreVersions(): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    apiVersion: 'v1',
    versions: ['v1'],
    serverAddressByClientCIDRs: [],
  };
}

function groupsOf(registry: KindRegistry): Map<string, Set<string>> {
  const groups = new Map<string, Set<string>>();
  for (const def of registry.all()) {
    if (!def.group) continue;
    const versions = groups.get(def.group) ?? new Set<string>();
    versions.add(def.version);
    groups.set(def.group, versions);
  }
  return groups;
}

function groupDoc(name: string, versions: Set<string>): Record<string, unknown> {
  const list = [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: list, preferredVersion: list[0] };
}

export function groupList(registry: KindRegistry): Record<string, unknown> {
  const groups = [...groupsOf(registry)].map(([name, versions]) => groupDoc(name, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(registry: KindRegistry, group: string): Record<string, unknown> {
  const versions = groupsOf(registry).get(group);
  if (!versions)
    throw new ApiError(
      'NotFound',
      `the server could not find the requested resource: no API group "${group}"`,
    );
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, versions) };
}

function resource(def: AnyKindDefinition): Record<string, unknown> {
  return {
    name: def.plural,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: def.verbs,
    ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
  };
}

export function resourceList(
  registry: KindRegistry,
  group: string,
  version: string,
): Record<string, unknown> {
  const defs = registry.all().filter((d) => d.group === group && d.version === version);
  const groupVersion = group ? `${group}/${version}` : version;
  if (defs.length === 0) {
    throw new ApiError(
      'NotFound',
      `the server could not find the requested resource: no API version "${groupVersion}"`,
    );
  }
  const resources: Record<string, unknown>[] = [];
  for (const def of defs) {
    resources.push(resource(def));
    if (def.statusSubresource) {
      resources.push({
        name: `${def.plural}/status`,
        singularName: '',
        namespaced: def.namespaced,
        kind: def.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    if (def.group === '' && def.plural === 'pods') {
      resources.push({
        name: 'pods/binding',
        singularName: '',
        namespaced: true,
        kind: 'Binding',
        verbs: ['create'],
      });
      resources.push(
        { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
        {
          name: 'pods/exec',
          singularName: '',
          namespaced: true,
          kind: 'PodExecOptions',
          verbs: ['create', 'get'],
        },
        {
          name: 'pods/portforward',
          singularName: '',
          namespaced: true,
          kind: 'PodPortForwardOptions',
          verbs: ['create', 'get'],
        },
      );
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}
