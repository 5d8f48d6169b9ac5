// Shared set-up for the build tests: the test S2I builder image (test/fixtures/builders), a
// master and agent (test/agent/cluster.ts) whose agent keeps its build workspaces in a temporary
// data directory, a real registry, and build pods written the way the master's build controller
// writes them (docs/builds-contract.md).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import type { BuildEnvVar, Pod } from '../../src/api/index.js';
import { parseBuildResult, type BuildResult } from '../../src/api/index.js';
import { getPod, startCluster, type Cluster } from '../agent/cluster.js';
import { ApiClient } from '../../src/client/index.js';
import { podKind } from '../../src/api/index.js';
import { assertDockerAvailable, ensureImage, TEST_LABEL } from '../support/docker.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

export const BUILDER_IMAGE = 'slipway-test/s2i-busybox:1';
const fixtures = fileURLToPath(new URL('../fixtures/builders/', import.meta.url));

/** Builds the test S2I builder from its fixture directory (the engine's cache makes it quick). */
export async function ensureTestBuilder(docker: Docker, tag = BUILDER_IMAGE): Promise<string> {
  const stream = await docker.buildImage(
    pack(join(fixtures, 'busybox-s2i')) as unknown as NodeJS.ReadableStream,
    { t: tag, rm: true, forcerm: true, labels: { [TEST_LABEL]: '1' } } as Docker.ImageBuildOptions,
  );
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err, output) => {
      const failed = (output as { error?: string }[] | undefined)?.find((o) => o.error);
      if (err || failed) reject(new Error(`building ${tag}: ${err?.message ?? failed?.error}`));
      else resolve();
    });
  });
  return tag;
}

export interface BuildEnv {
  cluster: Cluster;
  registry: TestRegistry;
  dataDir: string;
  close(): Promise<void>;
}

/** Docker, the images, a registry, a master and an agent with a temporary data directory. */
export async function startBuildEnv(docker: Docker): Promise<BuildEnv> {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  await ensureTestBuilder(docker);
  const registry = await startRegistry();
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-agent-data-'));
  const cluster = await startCluster(docker, { agent: { dataDir } });
  await cluster.startAgent();
  return {
    cluster,
    registry,
    dataDir,
    async close() {
      await cluster.close();
      // What the builds pushed and tagged locally.
      const images = await docker.listImages();
      for (const img of images) {
        const refs = [...(img.RepoTags ?? []), ...(img.RepoDigests ?? [])];
        if (refs.some((r) => r.startsWith(`${registry.address}/`))) {
          await docker
            .getImage(img.Id)
            .remove({ force: true })
            .catch(() => undefined);
        }
      }
      await registry.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface BuildRequest {
  /** The Build's name; the pod is NAME-build. */
  name: string;
  strategy?: 'Source' | 'Docker';
  git?: { uri: string; ref?: string };
  contextDir?: string;
  binary?: { asFile?: string };
  dockerfile?: string;
  /** The resolved builder image (the pod's image). */
  image?: string;
  env?: BuildEnvVar[];
  incremental?: boolean;
  scripts?: string;
  forcePull?: boolean;
  dockerStrategy?: {
    dockerfilePath?: string;
    buildArgs?: BuildEnvVar[];
    noCache?: boolean;
    from?: boolean;
  };
  /** OUTPUT_IMAGE; none when undefined. */
  output?: string;
  postCommit?: { script?: string; command?: string[]; args?: string[] };
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  sourceSecret?: string;
  mountTrustedCA?: boolean;
  /** The Source strategy's pullSecret and output.pushSecret. */
  pullSecret?: string;
  pushSecret?: string;
}

/** The build pod as the master's build controller writes it. */
export function buildPod(cluster: Pick<Cluster, 'namespace' | 'nodeName'>, req: BuildRequest): Pod {
  const strategyType = req.strategy ?? 'Source';
  const image = req.image ?? (strategyType === 'Source' ? BUILDER_IMAGE : 'slipway/pause:1');
  const build = {
    apiVersion: 'build.openshift.io/v1',
    kind: 'Build',
    metadata: { name: req.name, namespace: cluster.namespace, uid: randomUUID() },
    spec: {
      source: {
        ...(req.git ? { type: 'Git', git: req.git } : {}),
        ...(req.binary ? { type: 'Binary', binary: req.binary } : {}),
        ...(req.dockerfile !== undefined ? { type: 'Dockerfile', dockerfile: req.dockerfile } : {}),
        ...(req.contextDir ? { contextDir: req.contextDir } : {}),
        ...(req.sourceSecret ? { sourceSecret: { name: req.sourceSecret } } : {}),
      },
      strategy:
        strategyType === 'Source'
          ? {
              type: 'Source',
              sourceStrategy: {
                from: { kind: 'DockerImage', name: image },
                ...(req.env ? { env: req.env } : {}),
                ...(req.incremental ? { incremental: true } : {}),
                ...(req.scripts ? { scripts: req.scripts } : {}),
                ...(req.forcePull ? { forcePull: true } : {}),
                ...(req.pullSecret ? { pullSecret: { name: req.pullSecret } } : {}),
              },
            }
          : {
              type: 'Docker',
              dockerStrategy: {
                ...(req.dockerStrategy?.from ? { from: { kind: 'DockerImage', name: image } } : {}),
                ...(req.dockerStrategy?.dockerfilePath
                  ? { dockerfilePath: req.dockerStrategy.dockerfilePath }
                  : {}),
                ...(req.dockerStrategy?.buildArgs
                  ? { buildArgs: req.dockerStrategy.buildArgs }
                  : {}),
                ...(req.dockerStrategy?.noCache ? { noCache: true } : {}),
                ...(req.env ? { env: req.env } : {}),
              },
            },
      ...(req.output
        ? {
            output: {
              to: { kind: 'DockerImage', name: req.output },
              ...(req.pushSecret ? { pushSecret: { name: req.pushSecret } } : {}),
            },
          }
        : {}),
      ...(req.postCommit ? { postCommit: req.postCommit } : {}),
      ...(req.resources ? { resources: req.resources } : {}),
      ...(req.mountTrustedCA ? { mountTrustedCA: true } : {}),
    },
  };
  const containerName = strategyType === 'Source' ? 'sti-build' : 'docker-build';
  const env: { name: string; value: string }[] = [{ name: 'BUILD', value: JSON.stringify(build) }];
  if (req.output) env.push({ name: 'OUTPUT_IMAGE', value: req.output });
  if (req.git) {
    env.push(
      { name: 'SOURCE_REPOSITORY', value: req.git.uri },
      { name: 'SOURCE_URI', value: req.git.uri },
    );
    if (req.git.ref) env.push({ name: 'SOURCE_REF', value: req.git.ref });
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${req.name}-build`,
      namespace: cluster.namespace,
      labels: { 'openshift.io/build.name': req.name },
      annotations: { 'openshift.io/build.name': req.name },
      ownerReferences: [
        {
          apiVersion: 'build.openshift.io/v1',
          kind: 'Build',
          name: req.name,
          uid: build.metadata.uid,
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: cluster.nodeName,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: containerName,
          image,
          env,
          ...(req.resources ? { resources: req.resources } : {}),
        },
      ],
      ...(req.sourceSecret
        ? { volumes: [{ name: 'source-secret', secret: { secretName: req.sourceSecret } }] }
        : {}),
    },
  };
}

export interface FinishedBuild {
  pod: Pod;
  reason: string;
  exitCode: number;
  result: BuildResult;
  rawMessage: string;
}

/** Creates the build pod and waits until its build container has terminated. */
export async function runBuildPod(
  cluster: Cluster,
  req: BuildRequest,
  timeoutMs = 120_000,
): Promise<FinishedBuild> {
  await createBuildPod(cluster, buildPod(cluster, req));
  return waitForBuild(cluster, `${req.name}-build`, timeoutMs);
}

export async function waitForBuild(
  cluster: Cluster,
  podName: string,
  timeoutMs = 120_000,
): Promise<FinishedBuild> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await getPod(cluster, podName);
    const t = pod?.status?.containerStatuses?.[0]?.state.terminated;
    if (pod && t && (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')) {
      return {
        pod,
        reason: t.reason ?? '',
        exitCode: t.exitCode,
        result: parseBuildResult(t.message) ?? {},
        rawMessage: t.message ?? '',
      };
    }
    if (Date.now() > deadline) {
      throw new Error(
        `build pod ${podName} did not finish within ${timeoutMs} ms: ${JSON.stringify(pod?.status)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The build log as users read it: through the master's pod log API, from the agent. */
export async function buildLogText(
  cluster: Cluster,
  podName: string,
  container = 'sti-build',
  options: { follow?: boolean; timestamps?: boolean; tailLines?: number } = {},
): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await cluster.admin.podLogs(cluster.namespace, podName, {
    container,
    ...options,
  })) {
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Creates a build pod as the build controller does: only `system:controller-manager` may. */
export async function createBuildPod(cluster: Cluster, pod: Pod): Promise<Pod> {
  const controller = new ApiClient({
    server: cluster.master.url,
    token: cluster.master.controllerToken,
  });
  return controller.create<Pod>(podKind, pod, { namespace: cluster.namespace });
}
