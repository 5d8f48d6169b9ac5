// Builds end to end through the real API and controllers, with the test as the node agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDisplayStatus,
  type Build,
  type BuildConfig,
  type Event,
  type Pod,
} from '../../src/api/index.js';
import { expectStatus } from '../api/helpers.js';
import { holdsFor } from '../controllers/support.js';
import {
  BUILDS,
  completeBuild,
  createBuildConfig,
  createImageStream,
  createProject,
  digest,
  getBuild,
  getPod,
  getStream,
  IMAGES,
  listBuilds,
  podFinished,
  podRunning,
  REGISTRY,
  sourceBuildConfig,
  startBuildCluster,
  waitFor,
  waitForBuild,
  waitForPod,
  waitForTag,
  type BuildCluster,
} from './support.js';

let cluster: BuildCluster;

beforeAll(async () => {
  cluster = await startBuildCluster();
});

afterAll(async () => {
  await cluster?.close();
});

async function getBC(ns: string, name: string): Promise<BuildConfig> {
  const res = await cluster.admin.get<BuildConfig>(`${BUILDS(ns)}/buildconfigs/${name}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function instantiate(ns: string, name: string, body: unknown = {}): Promise<Build> {
  const res = await cluster.admin.post<Build>(
    `${BUILDS(ns)}/buildconfigs/${name}/instantiate`,
    body,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe('a build from ConfigChange to a moved image stream tag', () => {
  const ns = 'life';
  const builderV1 = `builders.example.com/nodejs@${digest(0xb1)}`;

  it('builds once for a new BuildConfig, runs the pod the contract describes, completes and moves the tag', async () => {
    const { admin, node } = cluster;
    await createProject(admin, ns);
    await createImageStream(admin, ns, 'builder', { latest: builderV1 });
    await waitForTag(admin, ns, 'builder', 'latest');
    await createImageStream(admin, ns, 'app');
    await createBuildConfig(
      admin,
      ns,
      sourceBuildConfig('app', {
        source: {
          type: 'Git',
          git: { uri: 'https://git.example.com/team/app.git', ref: 'main' },
          contextDir: 'web',
          sourceSecret: { name: 'git-creds' },
        },
        triggers: [{ type: 'ConfigChange' }, { type: 'ImageChange', imageChange: {} }],
      }),
    );

    const build = await waitForBuild(
      admin,
      ns,
      'app-1',
      (b) => b.status?.phase === 'Pending',
      'Pending',
    );
    expect(build.spec.triggeredBy).toEqual([{ message: 'Build configuration change' }]);
    expect(build.metadata.labels).toMatchObject({
      buildconfig: 'app',
      'openshift.io/build-config.name': 'app',
    });
    expect(build.metadata.annotations).toMatchObject({
      'openshift.io/build-config.name': 'app',
      'openshift.io/build.number': '1',
    });
    expect(build.status?.outputDockerImageReference).toBe(`${REGISTRY}/${ns}/app:latest`);

    const pod = await waitForPod(node, ns, 'app-1-build');
    expect(pod.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Build',
        name: 'app-1',
        uid: build.metadata.uid,
        controller: true,
      }),
    ]);
    expect(pod.metadata.labels?.['openshift.io/build.name']).toBe('app-1');
    expect(pod.metadata.annotations?.['openshift.io/build.name']).toBe('app-1');
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.spec.containers).toHaveLength(1);
    const container = pod.spec.containers[0]!;
    expect(container.name).toBe('sti-build');
    expect(container.image).toBe(builderV1);
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    expect(env.OUTPUT_IMAGE).toBe(`${REGISTRY}/${ns}/app:latest`);
    expect(env.SOURCE_URI).toBe('https://git.example.com/team/app.git');
    expect(env.SOURCE_REPOSITORY).toBe('https://git.example.com/team/app.git');
    expect(env.SOURCE_REF).toBe('main');
    expect(env.SOURCE_CONTEXT_DIR).toBe('web');
    const carried = JSON.parse(env.BUILD!) as Build;
    expect(carried.metadata.name).toBe('app-1');
    expect(carried.spec.strategy.sourceStrategy?.from).toEqual({
      kind: 'DockerImage',
      name: builderV1,
    });
    expect(pod.spec.volumes).toEqual([
      { name: 'source-secret', secret: { secretName: 'git-creds' } },
    ]);
    expect(container.volumeMounts ?? []).toEqual([]);

    // The node may read the build and its pod, as the contract says.
    expect((await node.get(`${BUILDS(ns)}/builds/app-1`)).status).toBe(200);

    const done = await completeBuild(node, ns, 'app-1', 'app', 1, 'a1b2c3d4e5f6');
    expect(done.status?.output?.to?.imageDigest).toBe(digest(1));
    expect(done.status?.startTimestamp).toBeDefined();
    expect(done.status?.completionTimestamp).toBeDefined();
    expect(typeof done.status?.duration).toBe('number');
    expect(done.spec.revision?.git?.commit).toBe('a1b2c3d4e5f6');
    expect(done.status?.reason).toBeUndefined();

    const is = await waitForTag(admin, ns, 'app', 'latest');
    expect(is.status?.dockerImageRepository).toBe(`${REGISTRY}/${ns}/app`);
    expect(is.status?.tags?.find((t) => t.tag === 'latest')?.items).toEqual([
      expect.objectContaining({
        dockerImageReference: `${REGISTRY}/${ns}/app@${digest(1)}`,
        image: digest(1),
      }),
    ]);
    expect((await getBC(ns, 'app')).status?.lastVersion).toBe(1);
    // The ConfigChange build recorded the builder image: the ImageChange trigger stays quiet.
    await holdsFor('one build only', async () => (await listBuilds(admin, ns)).length === 1, 1000);

    const events = await admin.list<Event>(
      `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=app-1`,
    );
    const reasons = events.body.items.map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['BuildStarted', 'BuildCompleted']));
    // The build pod stays, for its log.
    expect(await getPod(admin, ns, 'app-1-build')).toBeDefined();
  });

  it('keeps the tag history newest first and counts lastVersion on a manual build', async () => {
    const { admin, node } = cluster;
    const build = await instantiate(ns, 'app');
    expect(build.metadata.name).toBe('app-2');
    expect(build.spec.triggeredBy).toEqual([{ message: 'Manually triggered' }]);
    await completeBuild(node, ns, 'app-2', 'app', 2);
    const is = await waitForTag(admin, ns, 'app', 'latest', (ref) => ref.endsWith(digest(2)));
    const items = is.status!.tags!.find((t) => t.tag === 'latest')!.items;
    expect(items.map((i) => i.image)).toEqual([digest(2), digest(1)]);
    expect((await getBC(ns, 'app')).status?.lastVersion).toBe(2);

    const istag = await admin.get<{ image: { dockerImageReference: string } }>(
      `${IMAGES(ns)}/imagestreamtags/app:latest`,
    );
    expect(istag.status).toBe(200);
    expect(istag.body.image.dockerImageReference).toBe(`${REGISTRY}/${ns}/app@${digest(2)}`);
  });

  it('builds once when the builder image moves (ImageChange), from exactly that image', async () => {
    const { admin } = cluster;
    const builderV2 = `builders.example.com/nodejs@${digest(0xb2)}`;
    const is = await getStream(admin, ns, 'builder');
    const res = await admin.put(`${IMAGES(ns)}/imagestreams/builder`, {
      ...is,
      spec: { tags: [{ name: 'latest', from: { kind: 'DockerImage', name: builderV2 } }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const build = await waitForBuild(admin, ns, 'app-3', () => true, 'existence');
    expect(build.spec.triggeredBy).toEqual([
      {
        message: 'Image change',
        imageChangeBuild: {
          imageID: builderV2,
          fromRef: { kind: 'ImageStreamTag', name: 'builder:latest', namespace: ns },
        },
      },
    ]);
    expect(build.spec.strategy.sourceStrategy?.from).toEqual({
      kind: 'DockerImage',
      name: builderV2,
    });
    await holdsFor(
      'no second image-triggered build',
      async () => !(await getBuild(admin, ns, 'app-4')),
      1500,
    );
    const bc = await getBC(ns, 'app');
    expect(bc.status?.lastVersion).toBe(3);
    expect(bc.status?.imageChangeTriggers?.[0]?.lastTriggeredImageID).toBe(builderV2);
    expect(
      bc.spec.triggers?.find((t) => t.type === 'ImageChange')?.imageChange?.lastTriggeredImageID,
    ).toBe(builderV2);
    const pod = await waitForPod(admin, ns, 'app-3-build');
    expect(pod.spec.containers[0]!.image).toBe(builderV2);
  });

  it('reports a failed build with the agent’s reason and message', async () => {
    const { admin, node } = cluster;
    await waitForBuild(admin, ns, 'app-3', (b) => b.status?.phase === 'Pending', 'Pending');
    await podRunning(node, ns, 'app-3');
    await podFinished(node, ns, 'app-3', {
      exitCode: 1,
      reason: 'FetchSourceFailed',
      result: {
        message: 'fatal: could not read from https://redacted@git.example.com/team/app.git',
      },
    });
    const failed = await waitForBuild(
      admin,
      ns,
      'app-3',
      (b) => b.status?.phase === 'Failed',
      'Failed',
    );
    expect(failed.status?.reason).toBe('FetchSourceFailed');
    expect(failed.status?.message).toContain('could not read');
    expect(buildDisplayStatus(failed)).toBe('Failed (FetchSourceFailed)');
  });
});

describe('run policies, cancelling and history', () => {
  const ns = 'policy';

  beforeAll(async () => {
    await createProject(cluster.admin, ns);
    await createImageStream(cluster.admin, ns, 'builder', {
      latest: `builders.example.com/nodejs@${digest(0xc1)}`,
    });
    await waitForTag(cluster.admin, ns, 'builder', 'latest');
    await createImageStream(cluster.admin, ns, 'app');
  });

  it('Serial: a second build waits until the first has finished', async () => {
    const { admin, node } = cluster;
    await createBuildConfig(admin, ns, sourceBuildConfig('serial'));
    await createImageStream(admin, ns, 'serial');
    await instantiate(ns, 'serial');
    await instantiate(ns, 'serial');
    await waitForBuild(admin, ns, 'serial-1', (b) => b.status?.phase === 'Pending', 'Pending');
    await holdsFor(
      'serial-2 to stay New while serial-1 runs',
      async () => (await getBuild(admin, ns, 'serial-2'))?.status?.phase === 'New',
      800,
    );
    expect(await getPod(admin, ns, 'serial-2-build')).toBeUndefined();
    await completeBuild(node, ns, 'serial-1', 'serial', 11);
    await waitForBuild(admin, ns, 'serial-2', (b) => b.status?.phase === 'Pending', 'Pending');
  });

  it('cancelling a running build deletes its pod and marks it Cancelled', async () => {
    const { admin, node } = cluster;
    await podRunning(node, ns, 'serial-2');
    await waitForBuild(admin, ns, 'serial-2', (b) => b.status?.phase === 'Running', 'Running');
    const res = await admin.patch(`${BUILDS(ns)}/builds/serial-2`, { status: { cancelled: true } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const cancelled = await waitForBuild(
      admin,
      ns,
      'serial-2',
      (b) => b.status?.phase === 'Cancelled',
      'Cancelled',
    );
    expect(cancelled.status?.reason).toBe('CancelledBuild');
    await waitFor(
      'the build pod to go',
      () => getPod(admin, ns, 'serial-2-build'),
      (p) => p === undefined,
    );
  });

  it('only the build controller writes a build’s status; users may cancel, not complete', async () => {
    const { admin } = cluster;
    const build = await instantiate(ns, 'serial');
    const res = await admin.patch<Build>(`${BUILDS(ns)}/builds/${build.metadata.name!}`, {
      status: { phase: 'Complete' },
    });
    expect(res.status).toBe(200);
    expect(res.body.status?.phase).not.toBe('Complete');
    const spec = await admin.patch(`${BUILDS(ns)}/builds/${build.metadata.name!}`, {
      spec: { output: { to: { kind: 'DockerImage', name: 'elsewhere.example.com/x:1' } } },
    });
    expectStatus(spec, 422, 'Invalid');
    await admin.patch(`${BUILDS(ns)}/builds/${build.metadata.name!}`, {
      status: { cancelled: true },
    });
    await waitForBuild(
      admin,
      ns,
      build.metadata.name!,
      (b) => b.status?.phase === 'Cancelled',
      'Cancelled',
    );
  });

  it('SerialLatestOnly: a newer queued build cancels the older queued one', async () => {
    const { admin } = cluster;
    await createImageStream(admin, ns, 'latest-only');
    await createBuildConfig(
      admin,
      ns,
      sourceBuildConfig('latest-only', { runPolicy: 'SerialLatestOnly' }),
    );
    await instantiate(ns, 'latest-only');
    await waitForBuild(admin, ns, 'latest-only-1', (b) => b.status?.phase === 'Pending', 'Pending');
    await instantiate(ns, 'latest-only');
    await instantiate(ns, 'latest-only');
    const older = await waitForBuild(
      admin,
      ns,
      'latest-only-2',
      (b) => b.status?.phase === 'Cancelled',
      'Cancelled',
    );
    expect(older.status?.reason).toBe('CancelledBuild');
    expect((await getBuild(admin, ns, 'latest-only-3'))?.status?.phase).toBe('New');
  });

  it('Parallel: concurrent instantiates get distinct numbers and all start', async () => {
    const { admin } = cluster;
    await createImageStream(admin, ns, 'par');
    await createBuildConfig(admin, ns, sourceBuildConfig('par', { runPolicy: 'Parallel' }));
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        admin.post<Build>(`${BUILDS(ns)}/buildconfigs/par/instantiate`, {
          kind: 'BuildRequest',
          apiVersion: 'build.openshift.io/v1',
          metadata: { name: 'par' },
        }),
      ),
    );
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(201);
    const names = results
      .map((r) => r.body.metadata.name!)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    expect(names).toEqual(Array.from({ length: 12 }, (_, i) => `par-${i + 1}`));
    expect((await getBC(ns, 'par')).status?.lastVersion).toBe(12);
    await waitFor(
      'every parallel build to get a pod',
      async () => (await listBuilds(admin, ns)).filter((b) => b.metadata.name!.startsWith('par-')),
      (builds) => builds.every((b) => b.status?.phase === 'Pending'),
    );
  });

  it('prunes finished builds beyond the history limits, with their pods', async () => {
    const { admin, node } = cluster;
    await createImageStream(admin, ns, 'hist');
    await createBuildConfig(
      admin,
      ns,
      sourceBuildConfig('hist', { successfulBuildsHistoryLimit: 1, failedBuildsHistoryLimit: 1 }),
    );
    await instantiate(ns, 'hist');
    await completeBuild(node, ns, 'hist-1', 'hist', 21);
    await instantiate(ns, 'hist');
    await completeBuild(node, ns, 'hist-2', 'hist', 22);
    await waitFor(
      'hist-1 to be pruned',
      () => getBuild(admin, ns, 'hist-1'),
      (b) => b === undefined,
    );
    await waitFor(
      'the pod of hist-1 to go',
      () => getPod(admin, ns, 'hist-1-build'),
      (p) => p === undefined,
    );
    expect((await getBuild(admin, ns, 'hist-2'))?.status?.phase).toBe('Complete');
    expect(await getPod(admin, ns, 'hist-2-build')).toBeDefined();
  });

  it('a build whose pod is deleted before it finishes ends in Error (BuildPodDeleted)', async () => {
    const { admin, node } = cluster;
    await instantiate(ns, 'hist');
    await waitForBuild(admin, ns, 'hist-3', (b) => b.status?.phase === 'Pending', 'Pending');
    await podRunning(node, ns, 'hist-3');
    await waitForBuild(admin, ns, 'hist-3', (b) => b.status?.phase === 'Running', 'Running');
    const del = await admin.delete(`/api/v1/namespaces/${ns}/pods/hist-3-build`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    const build = await waitForBuild(
      admin,
      ns,
      'hist-3',
      (b) => b.status?.phase === 'Error',
      'Error',
    );
    expect(build.status?.reason).toBe('BuildPodDeleted');
  });

  it('a build into a missing image stream fails with InvalidOutputReference', async () => {
    const { admin } = cluster;
    await createBuildConfig(admin, ns, sourceBuildConfig('nowhere'));
    await instantiate(ns, 'nowhere');
    const build = await waitForBuild(
      admin,
      ns,
      'nowhere-1',
      (b) => b.status?.phase === 'Failed',
      'Failed',
    );
    expect(build.status?.reason).toBe('InvalidOutputReference');
    expect(build.status?.message).toContain(`${ns}/nowhere does not exist`);
  });

  it('a build waits in New while its builder image is missing, then starts when it appears', async () => {
    const { admin } = cluster;
    await createImageStream(admin, ns, 'later');
    await createBuildConfig(
      admin,
      ns,
      sourceBuildConfig('later', {
        strategy: {
          type: 'Source',
          sourceStrategy: { from: { kind: 'ImageStreamTag', name: 'late-builder:1.0' } },
        },
      }),
    );
    await instantiate(ns, 'later');
    const waiting = await waitForBuild(
      admin,
      ns,
      'later-1',
      (b) => b.status?.reason === 'InvalidImageReference',
      'InvalidImageReference',
    );
    expect(waiting.status?.phase).toBe('New');
    expect(waiting.status?.message).toContain(`${ns}/late-builder does not exist`);
    await createImageStream(admin, ns, 'late-builder', {
      '1.0': `b.example.com/x@${digest(0xd1)}`,
    });
    const started = await waitForBuild(
      admin,
      ns,
      'later-1',
      (b) => b.status?.phase === 'Pending',
      'Pending',
    );
    expect(started.status?.reason).toBeUndefined();
    const pod: Pod = await waitForPod(admin, ns, 'later-1-build');
    expect(pod.spec.containers[0]!.image).toBe(`b.example.com/x@${digest(0xd1)}`);
  });
});
