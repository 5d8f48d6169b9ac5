import {
  type ApiObject,
  type Build,
  type BuildConfig,
  buildConfigKind,
  buildKind,
  type ImageStream,
  imageStreamImportKind,
  imageStreamKind,
  isApiError,
  type Pod,
  podKind,
  resourcePath,
  unlessNotFound,
} from '../../../src/api/index.js';
import type { ApiClient } from '../../../src/client/index.js';
import type { ScheduledImport } from './scheduled-imports.js';
import type { TriggerRequest } from './triggers.js';

/**
 * The reads and writes the build controllers make over the API: a narrow seam that unit tests
 * fake (testing.ts) and the controller-manager implements over HTTP. Deletes carry the uid as
 * a precondition; updates carry the cached resourceVersion (a stale cache is a Conflict).
 */
export interface BuildClient {
  createPod(pod: Pod, signal?: AbortSignal): Promise<Pod>;
  /** A pod that is already gone counts as deleted. */
  deletePod(pod: Pod, signal?: AbortSignal): Promise<void>;
  /** Live reads, for decisions a lagging cache must not make (is it really gone?). */
  getPod(namespace: string, name: string, signal?: AbortSignal): Promise<Pod | undefined>;
  getBuild(namespace: string, name: string, signal?: AbortSignal): Promise<Build | undefined>;
  getBuildConfig(
    namespace: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<BuildConfig | undefined>;
  /** PUT of the whole Build (its status is the controller's to write). */
  updateBuild(build: Build, signal?: AbortSignal): Promise<Build>;
  /** A build that is already gone counts as deleted. */
  deleteBuild(build: Build, signal?: AbortSignal): Promise<void>;
  updateImageStreamStatus(stream: ImageStream, signal?: AbortSignal): Promise<ImageStream>;
  /** `POST .../imagestreamimports` importing `images` into stream `name`. */
  importImages(request: ScheduledImport, signal?: AbortSignal): Promise<void>;
  /** `POST .../buildconfigs/NAME/instantiate`. */
  instantiate(
    namespace: string,
    name: string,
    request: TriggerRequest,
    signal?: AbortSignal,
  ): Promise<Build>;
}

async function deleteWithUid(
  client: ApiClient,
  path: string,
  obj: ApiObject,
  signal: AbortSignal | undefined,
): Promise<void> {
  const uid = obj.metadata.uid;
  try {
    await client.request('DELETE', path, {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', ...(uid ? { preconditions: { uid } } : {}) },
      signal,
    });
  } catch (err) {
    if (isApiError(err, 'NotFound')) return;
    throw err;
  }
}

export function httpBuildClient(client: ApiClient): BuildClient {
  return {
    createPod: (pod, signal) => client.create(podKind, pod, { signal }),
    deletePod: (pod, signal) =>
      deleteWithUid(
        client,
        resourcePath(podKind, { namespace: pod.metadata.namespace, name: pod.metadata.name }),
        pod,
        signal,
      ),
    getPod: (namespace, name, signal) =>
      unlessNotFound(client.get<Pod>(podKind, name, { namespace, signal })),
    getBuild: (namespace, name, signal) =>
      unlessNotFound(client.get<Build>(buildKind, name, { namespace, signal })),
    getBuildConfig: (namespace, name, signal) =>
      unlessNotFound(client.get<BuildConfig>(buildConfigKind, name, { namespace, signal })),
    updateBuild: (build, signal) => client.update(buildKind, build, { signal }),
    deleteBuild: (build, signal) =>
      deleteWithUid(
        client,
        resourcePath(buildKind, { namespace: build.metadata.namespace, name: build.metadata.name }),
        build,
        signal,
      ),
    updateImageStreamStatus: (stream, signal) =>
      client.updateStatus(imageStreamKind, stream, { signal }),
    importImages: async ({ namespace, name, images }, signal) => {
      await client.request<unknown>('POST', resourcePath(imageStreamImportKind, { namespace }), {
        body: {
          apiVersion: 'image.openshift.io/v1',
          kind: 'ImageStreamImport',
          metadata: { name },
          spec: { import: true, images },
        },
        signal,
      });
    },
    instantiate: (namespace, name, request, signal) =>
      client.request<Build>(
        'POST',
        resourcePath(buildConfigKind, { namespace, name, subresource: 'instantiate' }),
        {
          body: {
            apiVersion: 'build.openshift.io/v1',
            kind: 'BuildRequest',
            metadata: { name },
            ...request,
          },
          signal,
        },
      ),
  };
}
