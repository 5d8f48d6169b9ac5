/**
 * Which pods are build pods and what they ask for. The master's build controller writes a pod
 * `BUILD-build` owned by the Build, labelled `openshift.io/build.name`, with one container
 * `sti-build` (Source) or `docker-build` (Docker) whose env carries the Build as JSON (`BUILD`)
 * and the push target (`OUTPUT_IMAGE`); see docs/builds-contract.md. Pure.
 */
import { BUILD_NAME_LABEL, buildKind, type Container, type Pod } from '../../src/api/index.js';
import { BuildFailure, type Build } from './types.js';

export { BUILD_NAME_LABEL };
export const SOURCE_BUILD_CONTAINER = 'sti-build';
export const DOCKER_BUILD_CONTAINER = 'docker-build';
/** The pod volume naming the source secret. */
export const SOURCE_SECRET_VOLUME = 'source-secret';

export type BuildStrategyType = 'Source' | 'Docker';

export interface BuildPodSpec {
  namespace: string;
  podName: string;
  podUid: string;
  /** `sti-build` or `docker-build`: the container whose status and log are the build's. */
  containerName: string;
  strategy: BuildStrategyType;
  build: Build;
  /** The resolved builder image (Source) or `from` of a Docker build. */
  image: string;
  /** `REGISTRY/NS/IS:TAG`; undefined when the build has no output. */
  outputImage: string | undefined;
  /** The Secret for the source (from the pod's `source-secret` volume or the Build). */
  sourceSecretName: string | undefined;
  resources: Container['resources'];
}

function buildContainer(pod: Pod): Container | undefined {
  const [c, ...rest] = pod.spec.containers;
  if (!c || rest.length > 0) return undefined;
  return c.name === SOURCE_BUILD_CONTAINER || c.name === DOCKER_BUILD_CONTAINER ? c : undefined;
}

/**
 * A build pod: the build label, owned by a Build as its controller, and exactly one container
 * named `sti-build` or `docker-build`. Anything else runs as a plain pod.
 */
export function isBuildPod(pod: Pod): boolean {
  if (!pod.metadata.labels?.[BUILD_NAME_LABEL]) return false;
  const owned = (pod.metadata.ownerReferences ?? []).some(
    (o) => o.kind === 'Build' && o.controller === true,
  );
  return owned && buildContainer(pod) !== undefined;
}

function envValue(c: Container, name: string): string | undefined {
  const value = c.env?.find((e) => e.name === name)?.value;
  return value === undefined || value === '' ? undefined : value;
}

/** Reads what the build pod asks for; BuildFailure('Error') when it is not a valid build pod. */
export function parseBuildPod(pod: Pod): BuildPodSpec {
  const c = buildContainer(pod);
  if (!c) throw new BuildFailure('Error', 'the pod is not a build pod');
  const raw = envValue(c, 'BUILD');
  if (!raw)
    throw new BuildFailure('Error', `the build container has no BUILD environment variable`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new BuildFailure('Error', 'the BUILD environment variable is not valid JSON');
  }
  const parsed = buildKind.schema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'build'}: ${i.message}`)
      .join('; ');
    throw new BuildFailure(
      'Error',
      `the BUILD environment variable is not a valid Build: ${where}`,
    );
  }
  const build = parsed.data as Build;
  if (!build.metadata?.name) throw new BuildFailure('Error', 'the BUILD has no metadata.name');
  const strategy: BuildStrategyType = c.name === DOCKER_BUILD_CONTAINER ? 'Docker' : 'Source';
  const volumeSecret = pod.spec.volumes?.find((v) => v.name === SOURCE_SECRET_VOLUME)?.secret
    ?.secretName;
  return {
    namespace: pod.metadata.namespace ?? build.metadata.namespace ?? 'default',
    podName: pod.metadata.name ?? '',
    podUid: pod.metadata.uid ?? '',
    containerName: c.name,
    strategy,
    build,
    image: c.image,
    outputImage: envValue(c, 'OUTPUT_IMAGE'),
    sourceSecretName: volumeSecret ?? build.spec.source?.sourceSecret?.name,
    resources: c.resources,
  };
}
