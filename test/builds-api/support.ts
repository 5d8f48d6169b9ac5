// A real master with its controllers (memory store) and a fake node: the test plays the
// agent by writing the build pod's status, as docs/builds-contract.md says an agent does.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type {
  Build,
  BuildConfig,
  BuildResult,
  ContainerStatus,
  ImageStream,
  Pod,
} from '../../src/api/index.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';
import { newToken } from '../../master/auth/tokens.js';
import type { MasterOptions } from '../../master/config.js';
import type { RunningMaster } from '../../master/main.js';
import { Client, createProject } from '../api/helpers.js';
import { waitFor } from '../controllers/support.js';
import { startTestMaster } from '../support/master.js';

export { waitFor };

export const REGISTRY = '127.0.0.1:5000';
export const BUILDS = (ns: string): string => `/apis/build.openshift.io/v1/namespaces/${ns}`;
export const IMAGES = (ns: string): string => `/apis/image.openshift.io/v1/namespaces/${ns}`;

export interface BuildCluster {
  master: RunningMaster;
  url: string;
  dataDir: string;
  admin: Client;
  /** The node-join token: what the agent uses. */
  node: Client;
  /** An authenticated user with no role anywhere. */
  stranger: Client;
  anonymous: Client;
  close(): Promise<void>;
}

/** A master with controllers on 127.0.0.1:0, a memory store and `registry` set. */
export async function startBuildCluster(
  config: MasterOptions = {},
  logger: Logger = silentLogger(),
): Promise<BuildCluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-builds-'));
  const strangerToken = newToken();
  await writeFile(
    join(dataDir, 'tokens.json'),
    JSON.stringify({
      version: 1,
      tokens: [{ user: 'stranger', groups: [], token: strangerToken }],
    }),
    { mode: 0o600 },
  );
  const master = await startTestMaster(dataDir, { registry: REGISTRY, ...config }, logger);
  return {
    master,
    url: master.url,
    dataDir,
    admin: new Client(master.url, master.adminToken),
    node: new Client(master.url, master.joinToken),
    stranger: new Client(master.url, strangerToken),
    anonymous: new Client(master.url, undefined),
    close: async () => {
      await master.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export { createProject };

export function digest(n: number): string {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

/** An image stream with spec tags pointing at DockerImages (the controller imports them). */
export async function createImageStream(
  c: Client,
  ns: string,
  name: string,
  tags: Record<string, string> = {},
): Promise<ImageStream> {
  const res = await c.post<ImageStream>(`${IMAGES(ns)}/imagestreams`, {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name },
    spec: {
      tags: Object.entries(tags).map(([tag, image]) => ({
        name: tag,
        from: { kind: 'DockerImage', name: image },
      })),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

export async function getStream(c: Client, ns: string, name: string): Promise<ImageStream> {
  const res = await c.get<ImageStream>(`${IMAGES(ns)}/imagestreams/${name}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The newest image of a tag, once there is one (and `check` accepts it). */
export async function waitForTag(
  c: Client,
  ns: string,
  stream: string,
  tag: string,
  check: (ref: string) => boolean = () => true,
): Promise<ImageStream> {
  return waitFor(
    `a ${ns}/${stream}:${tag} image`,
    () => getStream(c, ns, stream),
    (is) => {
      const ref = is.status?.tags?.find((t) => t.tag === tag)?.items?.[0]?.dockerImageReference;
      return ref !== undefined && check(ref);
    },
  );
}

export function sourceBuildConfig(
  name: string,
  spec: Partial<BuildConfig['spec']> & Record<string, unknown> = {},
): BuildConfig {
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: { name },
    spec: {
      source: { type: 'Git', git: { uri: 'https://git.example.com/team/app.git' } },
      strategy: {
        type: 'Source',
        sourceStrategy: { from: { kind: 'ImageStreamTag', name: 'builder:latest' } },
      },
      output: { to: { kind: 'ImageStreamTag', name: `${name}:latest` } },
      ...spec,
    },
  };
}

export async function createBuildConfig(c: Client, ns: string, bc: BuildConfig): Promise<void> {
  const res = await c.post(`${BUILDS(ns)}/buildconfigs`, bc);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

export async function getBuild(c: Client, ns: string, name: string): Promise<Build | undefined> {
  const res = await c.get<Build>(`${BUILDS(ns)}/builds/${name}`);
  if (res.status === 404) return undefined;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function listBuilds(c: Client, ns: string): Promise<Build[]> {
  const res = await c.list<Build>(`${BUILDS(ns)}/builds`);
  expect(res.status).toBe(200);
  return res.body.items.sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '', 'en', { numeric: true }),
  );
}

export async function waitForBuild(
  c: Client,
  ns: string,
  name: string,
  check: (b: Build) => boolean,
  what = 'the expected state',
): Promise<Build> {
  return (await waitFor(
    `build ${ns}/${name} to reach ${what}`,
    () => getBuild(c, ns, name),
    (b) => b !== undefined && check(b),
  )) as Build;
}

export async function getPod(c: Client, ns: string, name: string): Promise<Pod | undefined> {
  const res = await c.get<Pod>(`/api/v1/namespaces/${ns}/pods/${name}`);
  if (res.status === 404) return undefined;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function waitForPod(c: Client, ns: string, name: string): Promise<Pod> {
  return (await waitFor(
    `pod ${ns}/${name}`,
    () => getPod(c, ns, name),
    (p) => p !== undefined,
  )) as Pod;
}

function containerStatus(pod: Pod, state: ContainerStatus['state']): ContainerStatus {
  const container = pod.spec.containers[0]!;
  return {
    name: container.name,
    ready: state.running !== undefined,
    restartCount: 0,
    image: container.image,
    state,
  };
}

async function setPodStatus(c: Client, ns: string, name: string, status: Pod['status']) {
  const res = await c.patch(`/api/v1/namespaces/${ns}/pods/${name}/status`, { status });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** The agent's part: the build pod runs. */
export async function podRunning(c: Client, ns: string, build: string): Promise<void> {
  const pod = await waitForPod(c, ns, `${build}-build`);
  await setPodStatus(c, ns, `${build}-build`, {
    phase: 'Running',
    startTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    containerStatuses: [containerStatus(pod, { running: { startedAt: new Date().toISOString() } })],
  });
}

/** The agent's part: the build container ends with this result. */
export async function podFinished(
  c: Client,
  ns: string,
  build: string,
  outcome: { exitCode: number; reason: string; result?: BuildResult | string },
): Promise<void> {
  const pod = await waitForPod(c, ns, `${build}-build`);
  const message =
    typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result ?? {});
  await setPodStatus(c, ns, `${build}-build`, {
    phase: outcome.exitCode === 0 ? 'Succeeded' : 'Failed',
    containerStatuses: [
      containerStatus(pod, {
        terminated: {
          exitCode: outcome.exitCode,
          reason: outcome.reason,
          message,
          finishedAt: new Date().toISOString(),
        },
      }),
    ],
  });
}

/** Runs a build to completion as the agent would, pushing `image` (a digest number). */
export async function completeBuild(
  c: Client,
  ns: string,
  build: string,
  stream: string,
  image: number,
  commit = 'abcdef1234567',
): Promise<Build> {
  await podRunning(c, ns, build);
  await waitForBuild(c, ns, build, (b) => b.status?.phase === 'Running', 'Running');
  await podFinished(c, ns, build, {
    exitCode: 0,
    reason: 'Completed',
    result: {
      message: 'Push successful',
      outputImageDigest: digest(image),
      outputDockerImageReference: `${REGISTRY}/${ns}/${stream}@${digest(image)}`,
      revision: {
        commit,
        message: 'Change things',
        author: { name: 'Ann', email: 'ann@example.com' },
      },
    },
  });
  return waitForBuild(c, ns, build, (b) => b.status?.phase === 'Complete', 'Complete');
}
