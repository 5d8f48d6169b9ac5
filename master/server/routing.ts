import { ApiError } from '../../src/api/errors.js';
import type { AnyKindDefinition, KindRegistry } from '../../src/api/registry.js';

/** What a request path addresses. */
export type Route =
  | { type: 'version' }
  | { type: 'discovery'; path: 'core-versions' | 'groups' }
  | { type: 'discovery-group'; group: string }
  | { type: 'discovery-resources'; group: string; version: string }
  | { type: 'current-user' }
  | {
      type: 'resource';
      def: AnyKindDefinition;
      /** The namespace segment of the URL, if any. */
      namespace?: string | undefined;
      name?: string | undefined;
      subresource?: Subresource | undefined;
    };

/** `status` for kinds with a status subresource; `binding` (the scheduler's), `log`, `exec` and
 * `portforward` for pods. */
export type Subresource = 'status' | 'binding' | 'log' | 'exec' | 'portforward';

export const USER_GROUP = 'user.openshift.io';

function notFound(what: string): ApiError {
  return new ApiError('NotFound', `the server could not find the requested resource: ${what}`);
}

function decodeSegments(path: string): string[] {
  const raw = path.split('/').filter((s, i, all) => s !== '' || (i > 0 && i < all.length - 1));
  try {
    return raw.map((s) => decodeURIComponent(s));
  } catch {
    throw ApiError.badRequest(`the request path "${path}" is not validly percent-encoded`);
  }
}

/**
 * Kubernetes paths: `/api/v1/...` for the core group, `/apis/GROUP/VERSION/...` for the rest;
 * below that `[namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE]]`.
 */
export function parseRoute(registry: KindRegistry, path: string): Route {
  const seg = decodeSegments(path);
  if (seg.length === 1 && seg[0] === 'version') return { type: 'version' };
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    if (seg.length === 1) return { type: 'discovery', path: 'core-versions' };
    group = '';
    version = seg[1]!;
    rest = seg.slice(2);
  } else if (seg[0] === 'apis') {
    if (seg.length === 1) return { type: 'discovery', path: 'groups' };
    group = seg[1]!;
    if (seg.length === 2) return { type: 'discovery-group', group };
    version = seg[2]!;
    rest = seg.slice(3);
  } else {
    throw notFound(`no handler for path "${path}"`);
  }
  if (rest.length === 0) return { type: 'discovery-resources', group, version };
  if (
    group === USER_GROUP &&
    version === 'v1' &&
    rest.length === 2 &&
    rest[0] === 'users' &&
    rest[1] === '~'
  ) {
    return { type: 'current-user' };
  }

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest as [string, string?, string?, ...string[]];
  const def = registry.forResource(group, version, plural);
  const gv = group ? `${group}/${version}` : version;
  if (!def) throw notFound(`no resource "${plural}" in API version "${gv}"`);
  if (namespace !== undefined && !def.namespaced) {
    throw notFound(
      `${plural} are not namespaced; use ${group ? `/apis/${gv}` : `/api/${gv}`}/${plural}`,
    );
  }
  if (def.namespaced && namespace === undefined && name !== undefined) {
    throw notFound(`${plural} are namespaced; use .../namespaces/NAMESPACE/${plural}/${name}`);
  }
  if (name === '') throw notFound(`an empty ${def.singular} name`);
  if (extra.length > 0) throw notFound(`path "${path}"`);
  if (subresource !== undefined) {
    if (subresource === 'status' && def.statusSubresource) {
      return { type: 'resource', def, namespace, name, subresource };
    }
    if (
      (subresource === 'binding' ||
        subresource === 'log' ||
        subresource === 'exec' ||
        subresource === 'portforward') &&
      def.group === '' &&
      def.plural === 'pods'
    ) {
      return { type: 'resource', def, namespace, name, subresource };
    }
    throw notFound(`${plural} have no subresource "${subresource}"`);
  }
  return { type: 'resource', def, namespace, name };
}
