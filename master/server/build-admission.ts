/**
 * Server-side rules for the build and image kinds, beyond their schemas:
 * - git sources: `file://` URLs and local paths only when the master allows them
 *   (`allowFileGitSources`), on BuildConfigs and Builds, at create and update;
 * - a Build's status belongs to the build controller: a build is created New, other writers
 *   may only set `status.cancelled: true` (OpenShift's `cancel-build`), and a Build's spec does
 *   not change after creation (OpenShift: "spec is immutable"); a BuildConfig is created at
 *   lastVersion 0;
 * - an ImageStream spec tag's `generation` is the stream's generation when the tag's `from`
 *   last changed (server-owned), so the image stream controller knows what to import.
 */
import { ApiError, type StatusCause } from '../../src/api/errors.js';
import { validateGitSource } from '../../src/api/git-source.js';
import { buildConfigKind, buildKind, imageStreamKind } from '../../src/api/kinds/index.js';
import type { Build, BuildStatus } from '../../src/api/kinds/build.js';
import type { BuildSource } from '../../src/api/kinds/build-spec.js';
import type { ImageStream, TagReference } from '../../src/api/kinds/image-stream.js';
import { jsonEqual } from '../../src/api/merge-patch.js';
import type { ApiObject } from '../../src/api/meta.js';
import { CONTROLLER_MANAGER_USER } from '../auth/user.js';
import type { RequestContext, ResourceStore } from './resources.js';

export interface BuildAdmissionOptions {
  allowFileGitSources: boolean;
}

/** Refuses local git sources unless allowed; names the field. */
export function checkSourceAllowed(
  kind: string,
  obj: ApiObject,
  options: BuildAdmissionOptions,
): void {
  if (options.allowFileGitSources) return;
  const spec = obj.spec as { source?: BuildSource } | undefined;
  const causes: StatusCause[] = validateGitSource(spec?.source, 'spec.source', {
    allowFile: false,
  }).filter((c) => c.reason === 'FieldValueForbidden');
  if (causes.length > 0) throw ApiError.invalid(kind, obj.metadata.name ?? '', causes);
}

/** What a writer other than the build controller may do to a Build's status: cancel it. */
function admitBuildUpdate(current: Build, next: Build, ctx: RequestContext): void {
  if (ctx.user === CONTROLLER_MANAGER_USER) return;
  const name = current.metadata.name ?? '';
  if (!jsonEqual(next.spec, current.spec)) {
    throw ApiError.invalid('Build', name, [
      {
        field: 'spec',
        message: 'Forbidden: a build cannot change after it is created; start a new build instead',
        reason: 'FieldValueForbidden',
      },
    ]);
  }
  const status: BuildStatus = { ...current.status };
  if (next.status?.cancelled === true || current.status?.cancelled === true) {
    status.cancelled = true;
  }
  if (Object.keys(status).length === 0) delete next.status;
  else next.status = status;
}

/** Spec tags keep their generation while their `from` is unchanged; a changed or new one gets
 * the stream's next generation. */
function stampTagGenerations(
  next: ImageStream,
  current: ImageStream | undefined,
  generation: number,
): void {
  const tags = next.spec?.tags;
  if (!tags) return;
  next.spec = {
    ...next.spec,
    tags: tags.map((tag): TagReference => {
      const before = current?.spec?.tags?.find((t) => t.name === tag.name);
      const same =
        before !== undefined &&
        jsonEqual(before.from ?? null, tag.from ?? null) &&
        typeof before.generation === 'number';
      return { ...tag, generation: same ? before.generation! : generation };
    }),
  };
}

/** The next metadata.generation of a stream whose spec changes. */
function nextGeneration(current: ImageStream, next: ImageStream): number {
  const gen = current.metadata.generation ?? 1;
  return jsonEqual(current.spec ?? null, next.spec ?? null) ? gen : gen + 1;
}

export function registerBuildAdmission(
  resources: ResourceStore,
  options: BuildAdmissionOptions,
): void {
  resources.registerHooks(buildConfigKind, {
    // As OpenShift: a new BuildConfig starts at lastVersion 0, whatever status it was sent with.
    prepareForCreate: (obj) => {
      obj.status = { lastVersion: 0 };
    },
    admitCreate: (obj) => {
      checkSourceAllowed('BuildConfig', obj, options);
      return Promise.resolve(undefined);
    },
    admitUpdate: (_current, next) => checkSourceAllowed('BuildConfig', next, options),
  });
  resources.registerHooks(buildKind, {
    // A build created directly starts New; its status is the build controller's from then on.
    prepareForCreate: (obj) => {
      const status = (obj as Build).status;
      obj.status = { phase: 'New', ...(status?.config ? { config: status.config } : {}) };
    },
    admitCreate: (obj) => {
      checkSourceAllowed('Build', obj, options);
      return Promise.resolve(undefined);
    },
    admitUpdate: (current, next, ctx) => admitBuildUpdate(current as Build, next as Build, ctx),
  });
  resources.registerHooks(imageStreamKind, {
    prepareForCreate: (obj) => stampTagGenerations(obj, undefined, 1),
    admitUpdate: (current, next) =>
      stampTagGenerations(next, current, nextGeneration(current, next)),
  });
}
