/**
 * Who may change a project's security annotations: its UID block and MCS level (allocated by the
 * server) and its policy grant (`security.slipway.io/scc`). Only cluster administrators; a
 * project request may set none of them.
 */
import { ApiError, type StatusCause } from '../../src/api/errors.js';
import type { ApiObject } from '../../src/api/meta.js';
import {
  isSccName,
  parseIdBlock,
  PROJECT_SCC_ANNOTATION,
  PROJECT_SECURITY_ANNOTATIONS,
  SCC_NAMES,
  SUPPLEMENTAL_GROUPS_ANNOTATION,
  UID_RANGE_ANNOTATION,
} from '../../src/api/scc.js';
import { CLUSTER_ADMINS_GROUP } from '../auth/user.js';
import type { RequestContext } from '../server/resources.js';

/** Cluster administrators, and the server itself (no user: bootstrap and repairs). */
export function isClusterAdmin(ctx: RequestContext): boolean {
  return ctx.user === undefined || (ctx.groups ?? []).includes(CLUSTER_ADMINS_GROUP);
}

function changed(
  before: Readonly<Record<string, string>> | undefined,
  after: Readonly<Record<string, string>> | undefined,
): string[] {
  return PROJECT_SECURITY_ANNOTATIONS.filter((k) => before?.[k] !== after?.[k]);
}

function forbidden(project: string, user: string | undefined, keys: string[]): ApiError {
  return new ApiError(
    'Forbidden',
    `projects.project.openshift.io "${project}" is forbidden: User "${user ?? ''}" cannot change the annotation${keys.length > 1 ? 's' : ''} ${keys.join(', ')}: only cluster administrators may (slipway adm policy add-scc-to-project)`,
    { details: { name: project, group: 'project.openshift.io', kind: 'projects' } },
  );
}

/** 422 for values the server could not use. */
function validate(project: ApiObject, keys: readonly string[]): void {
  const annotations = project.metadata.annotations ?? {};
  const causes: StatusCause[] = [];
  for (const key of keys) {
    const value = annotations[key];
    if (value === undefined) continue;
    const field = `metadata.annotations[${key}]`;
    if (key === PROJECT_SCC_ANNOTATION && !isSccName(value)) {
      causes.push({
        field,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${value}": supported values: ${SCC_NAMES.map((n) => `"${n}"`).join(', ')}`,
      });
    }
    if (
      (key === UID_RANGE_ANNOTATION || key === SUPPLEMENTAL_GROUPS_ANNOTATION) &&
      !parseIdBlock(value)
    ) {
      causes.push({
        field,
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${value}": must be FIRST/COUNT, e.g. 1000650000/10000`,
      });
    }
  }
  if (causes.length > 0) throw ApiError.invalid('Project', project.metadata.name ?? '', causes);
}

/** A project request names its project and display fields; the security annotations are the
 * server's and the administrators'. */
export function assertRequestable(
  name: string,
  annotations: Readonly<Record<string, string>> | undefined,
): void {
  const keys = PROJECT_SECURITY_ANNOTATIONS.filter((k) => annotations?.[k] !== undefined);
  if (keys.length === 0) return;
  throw new ApiError(
    'Forbidden',
    `projectrequests.project.openshift.io "${name}" is forbidden: a project request may not set ${keys.join(', ')}; a cluster administrator grants policies with "slipway adm policy add-scc-to-project"`,
    { details: { name, group: 'project.openshift.io', kind: 'projectrequests' } },
  );
}

/** A new Project: only cluster administrators may grant a policy at creation. */
export function admitProjectCreate(project: ApiObject, ctx: RequestContext): void {
  const granted = project.metadata.annotations?.[PROJECT_SCC_ANNOTATION];
  if (granted !== undefined && !isClusterAdmin(ctx)) {
    throw forbidden(project.metadata.name ?? '', ctx.user, [PROJECT_SCC_ANNOTATION]);
  }
  validate(project, [PROJECT_SCC_ANNOTATION]);
}

/** An update of a Project: the security annotations change only by a cluster administrator. */
export function admitProjectUpdate(current: ApiObject, next: ApiObject, ctx: RequestContext): void {
  const keys = changed(current.metadata.annotations, next.metadata.annotations);
  if (keys.length === 0) return;
  if (!isClusterAdmin(ctx)) throw forbidden(current.metadata.name ?? '', ctx.user, keys);
  validate(next, keys);
}
