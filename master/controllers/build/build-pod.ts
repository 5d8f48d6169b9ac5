/**
 * The build pod, as docs/builds-contract.md fixes it: `BUILD-build`, owned by its Build, one
 * container (`sti-build` or `docker-build`) running the resolved builder image, the Build as
 * JSON in `BUILD`, the push target in `OUTPUT_IMAGE`, the source in `SOURCE_*`, and the
 * source secret as a pod volume that no container mounts: the agent reads it to fetch the
 * source; the builder never sees it.
 */
import {
  BUILD_GROUP,
  BUILD_NAME_ANNOTATION,
  BUILD_NAME_LABEL,
  buildPodName,
  strategyType,
  type Build,
  type BuildStrategy,
  type Container,
  type Pod,
} from '../../../src/api/index.js';

export const SOURCE_BUILD_CONTAINER = 'sti-build';
export const DOCKER_BUILD_CONTAINER = 'docker-build';
/** The image a Docker build without `from` runs in (the agent builds from the Dockerfile). */
export const PLACEHOLDER_BUILDER_IMAGE = 'slipway/pause:1';
export const SOURCE_SECRET_VOLUME = 'source-secret';

export interface BuildPodInputs {
  /** The resolved builder image (a pull spec). */
  builderImage: string;
  /** `REGISTRY/NS/IS:TAG` or a DockerImage output; undefined when the build does not push. */
  outputImage: string | undefined;
}

function labelValue(value: string): string {
  return value.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
}

/** The strategy with its `from` replaced by the resolved image, as the agent should use it. */
function resolvedStrategy(strategy: BuildStrategy, builderImage: string): BuildStrategy {
  const from = { kind: 'DockerImage', name: builderImage };
  if (strategyType(strategy) === 'Source' && strategy.sourceStrategy) {
    return { ...strategy, type: 'Source', sourceStrategy: { ...strategy.sourceStrategy, from } };
  }
  const docker = strategy.dockerStrategy ?? {};
  return {
    ...strategy,
    type: 'Docker',
    dockerStrategy: docker.from ? { ...docker, from } : docker,
  };
}

/** The Build as the agent reads it from `BUILD`. */
export function buildForAgent(build: Build, inputs: BuildPodInputs): Build {
  const { name, namespace, uid, labels, annotations, creationTimestamp } = build.metadata;
  return {
    apiVersion: `${BUILD_GROUP}/v1`,
    kind: 'Build',
    metadata: {
      name,
      namespace,
      uid,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
      ...(creationTimestamp ? { creationTimestamp } : {}),
    },
    spec: { ...build.spec, strategy: resolvedStrategy(build.spec.strategy, inputs.builderImage) },
    status: {
      phase: 'Pending',
      ...(inputs.outputImage ? { outputDockerImageReference: inputs.outputImage } : {}),
      ...(build.status?.config ? { config: build.status.config } : {}),
    },
  };
}

export function buildPod(build: Build, inputs: BuildPodInputs): Pod {
  const name = build.metadata.name ?? '';
  const source = build.spec.source;
  const env: NonNullable<Container['env']> = [
    { name: 'BUILD', value: JSON.stringify(buildForAgent(build, inputs)) },
  ];
  if (inputs.outputImage) env.push({ name: 'OUTPUT_IMAGE', value: inputs.outputImage });
  if (source?.git?.uri) {
    env.push({ name: 'SOURCE_REPOSITORY', value: source.git.uri });
    env.push({ name: 'SOURCE_URI', value: source.git.uri });
  }
  if (source?.git?.ref) env.push({ name: 'SOURCE_REF', value: source.git.ref });
  if (source?.contextDir) env.push({ name: 'SOURCE_CONTEXT_DIR', value: source.contextDir });
  const secret = source?.sourceSecret?.name;
  const container: Container = {
    name:
      strategyType(build.spec.strategy) === 'Docker'
        ? DOCKER_BUILD_CONTAINER
        : SOURCE_BUILD_CONTAINER,
    image: inputs.builderImage,
    env,
    ...(build.spec.resources ? { resources: build.spec.resources } : {}),
  };
  const nodeSelector = build.spec.nodeSelector;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: buildPodName(name),
      namespace: build.metadata.namespace,
      labels: { [BUILD_NAME_LABEL]: labelValue(name) },
      annotations: { [BUILD_NAME_ANNOTATION]: name },
      ownerReferences: [
        {
          apiVersion: `${BUILD_GROUP}/v1`,
          kind: 'Build',
          name,
          uid: build.metadata.uid ?? '',
          controller: true,
        },
      ],
    },
    spec: {
      restartPolicy: 'Never',
      containers: [container],
      ...(secret
        ? { volumes: [{ name: SOURCE_SECRET_VOLUME, secret: { secretName: secret } }] }
        : {}),
      ...(nodeSelector && Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
      ...(build.spec.completionDeadlineSeconds
        ? { activeDeadlineSeconds: build.spec.completionDeadlineSeconds }
        : {}),
    },
  };
}

/** Whether a pod is this build's pod (controller owner reference with the build's uid). */
export function isBuildPodOf(pod: Pod, build: Build): boolean {
  return (pod.metadata.ownerReferences ?? []).some(
    (ref) => ref.controller === true && ref.kind === 'Build' && ref.uid === build.metadata.uid,
  );
}
