/**
 * Build pods are the build controller's alone. A node runs a pod that carries the build label
 * and a Build as its controller as a build: it clones, runs the builder and pushes with the
 * node's own reach. So nobody else may create such a pod, or turn a pod into one by update;
 * otherwise any pod author could make a node fetch and push on their behalf.
 */
import { ApiError } from '../../src/api/errors.js';
import { BUILD_NAME_LABEL } from '../../src/api/kinds/build.js';
import type { ApiObject } from '../../src/api/meta.js';
import { CONTROLLER_MANAGER_USER } from '../auth/user.js';
import type { RequestContext } from '../server/resources.js';

/** What makes a node treat a pod as a build: the label, or a Build controlling it. */
export function looksLikeBuildPod(pod: ApiObject): boolean {
  if (pod.metadata.labels?.[BUILD_NAME_LABEL] !== undefined) return true;
  return (pod.metadata.ownerReferences ?? []).some(
    (ref) => ref.kind === 'Build' && ref.controller === true,
  );
}

function refuse(pod: ApiObject): ApiError {
  return new ApiError(
    'Forbidden',
    `pods "${pod.metadata.name ?? ''}" is forbidden: only the build controller runs build pods ` +
      `(label ${BUILD_NAME_LABEL} or a controlling Build); start a build with "slipway start-build"`,
    { details: { kind: 'pods', ...(pod.metadata.name ? { name: pod.metadata.name } : {}) } },
  );
}

export function admitBuildPodCreate(pod: ApiObject, ctx: RequestContext): void {
  if (ctx.user !== CONTROLLER_MANAGER_USER && looksLikeBuildPod(pod)) throw refuse(pod);
}

export function admitBuildPodUpdate(
  current: ApiObject,
  next: ApiObject,
  ctx: RequestContext,
): void {
  if (ctx.user === CONTROLLER_MANAGER_USER) return;
  if (looksLikeBuildPod(next) && !looksLikeBuildPod(current)) throw refuse(next);
}
