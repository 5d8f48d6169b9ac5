import { afterEach, describe, expect, it } from 'vitest';
import type { Build, ContainerStatus, Pod } from '../../../src/api/index.js';
import {
  build,
  buildConfig,
  buildFixture,
  digest,
  imageStream,
  REGISTRY,
  type BuildFixture,
} from './testing/fixture.js';

const BUILDER = `b.example.com/nodejs@${digest(0xb1)}`;
let fx: BuildFixture | undefined;

afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

function stored(f: BuildFixture, name: string): Build | undefined {
  return f.builds.objects().find((b) => b.metadata.name === name);
}

function podOf(f: BuildFixture, name: string): Pod | undefined {
  return f.pods.objects().find((p) => p.metadata.name === `${name}-build`);
}

async function reconcile(f: BuildFixture, name: string): Promise<void> {
  await f.settle();
  await f.buildController.reconcile(`ns/${name}`, f.signal);
  await f.settle();
}

function setPod(
  f: BuildFixture,
  name: string,
  phase: NonNullable<Pod['status']>['phase'],
  state: ContainerStatus['state'],
): void {
  const pod = podOf(f, name)!;
  f.pods.update({
    ...pod,
    status: {
      phase,
      containerStatuses: [{ name: 'sti-build', ready: false, restartCount: 0, image: 'x', state }],
    },
  });
}

describe('BuildController', () => {
  it('starts a New build: resolves the builder, creates the contract’s pod, goes Pending', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1)],
      streams: [imageStream('builder', { latest: BUILDER }), imageStream('app')],
    });
    await reconcile(fx, 'app-1');
    expect(fx.client.actions).toEqual([
      'create pod ns/app-1-build',
      'update build ns/app-1 Pending',
    ]);
    const pod = podOf(fx, 'app-1')!;
    expect(pod.spec.containers[0]).toMatchObject({ name: 'sti-build', image: BUILDER });
    expect(pod.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'Build',
      uid: 'uid-app-1',
      controller: true,
    });
    expect(stored(fx, 'app-1')?.status?.outputDockerImageReference).toBe(
      `${REGISTRY}/ns/app:latest`,
    );
  });

  it('leaves a build New with InvalidImageReference while its builder image is missing', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1)],
      streams: [imageStream('app')],
    });
    await reconcile(fx, 'app-1');
    const b = stored(fx, 'app-1')!;
    expect(b.status).toMatchObject({ phase: 'New', reason: 'InvalidImageReference' });
    expect(b.status?.message).toContain('the image stream ns/builder does not exist');
    expect(podOf(fx, 'app-1')).toBeUndefined();
    // Nothing new to say: no second write.
    fx.client.actions.length = 0;
    await reconcile(fx, 'app-1');
    expect(fx.client.actions).toEqual([]);
  });

  it('fails a build into a missing stream, or when no registry is configured', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1)],
      streams: [imageStream('builder', { latest: BUILDER })],
    });
    await reconcile(fx, 'app-1');
    expect(stored(fx, 'app-1')?.status).toMatchObject({
      phase: 'Failed',
      reason: 'InvalidOutputReference',
    });
    await fx.stop();
    fx = await buildFixture({
      registry: undefined,
      configs: [buildConfig('app')],
      builds: [build('app', 1)],
      streams: [imageStream('builder', { latest: BUILDER }), imageStream('app')],
    });
    await reconcile(fx, 'app-1');
    expect(stored(fx, 'app-1')?.status?.message).toContain('no image registry is configured');
  });

  it('waits its turn under Serial', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1, 'Running'), build('app', 2)],
      streams: [imageStream('builder', { latest: BUILDER }), imageStream('app')],
    });
    await reconcile(fx, 'app-2');
    expect(fx.client.actions).toEqual([]);
  });

  it('mirrors Running, then completes from the BuildResult and moves the output tag', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1)],
      streams: [
        imageStream('builder', { latest: BUILDER }),
        imageStream('app', { latest: `${REGISTRY}/ns/app@${digest(1)}` }),
      ],
    });
    await reconcile(fx, 'app-1');
    setPod(fx, 'app-1', 'Running', { running: { startedAt: '2029-12-31T23:59:00.500Z' } });
    await reconcile(fx, 'app-1');
    expect(stored(fx, 'app-1')?.status).toMatchObject({
      phase: 'Running',
      startTimestamp: '2029-12-31T23:59:00Z',
    });
    expect(fx.recorder.summary()).toContain(
      'Normal BuildStarted Build ns/app-1: Build ns/app-1 is now running',
    );
    setPod(fx, 'app-1', 'Succeeded', {
      terminated: {
        exitCode: 0,
        reason: 'Completed',
        message: JSON.stringify({
          outputImageDigest: digest(2),
          outputDockerImageReference: `${REGISTRY}/ns/app@${digest(2)}`,
          revision: { commit: 'abcdef1' },
        }),
      },
    });
    await reconcile(fx, 'app-1');
    const done = stored(fx, 'app-1')!;
    expect(done.status).toMatchObject({
      phase: 'Complete',
      completionTimestamp: '2030-01-01T00:00:00Z',
      duration: 60e9,
      output: { to: { imageDigest: digest(2) } },
    });
    expect(done.spec.revision?.git?.commit).toBe('abcdef1');
    const app = fx.streams.objects().find((s) => s.metadata.name === 'app')!;
    expect(app.status?.tags?.[0]?.items.map((i) => i.dockerImageReference)).toEqual([
      `${REGISTRY}/ns/app@${digest(2)}`,
      `${REGISTRY}/ns/app@${digest(1)}`,
    ]);
    expect(app.status?.dockerImageRepository).toBe(`${REGISTRY}/ns/app`);
    // Finished: nothing more happens, the pod stays.
    fx.client.actions.length = 0;
    await reconcile(fx, 'app-1');
    expect(fx.client.actions).toEqual([]);
    expect(podOf(fx, 'app-1')).toBeDefined();
  });

  it('cancels: deletes the pod and marks the build Cancelled', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1)],
      streams: [imageStream('builder', { latest: BUILDER }), imageStream('app')],
    });
    await reconcile(fx, 'app-1');
    const b = stored(fx, 'app-1')!;
    fx.builds.update({ ...b, status: { ...b.status, cancelled: true } });
    await reconcile(fx, 'app-1');
    expect(podOf(fx, 'app-1')).toBeUndefined();
    expect(stored(fx, 'app-1')?.status).toMatchObject({
      phase: 'Cancelled',
      reason: 'CancelledBuild',
    });
  });

  it('turns a vanished pod into Error/BuildPodDeleted, but not a pod the cache has not seen yet', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1)],
      streams: [imageStream('builder', { latest: BUILDER }), imageStream('app')],
    });
    await reconcile(fx, 'app-1');
    const pod = podOf(fx, 'app-1')!;
    fx.pods.remove('ns/app-1-build');
    await fx.settle();
    // The pod is back in the API but not yet in the cache: the API is asked, nothing is failed.
    fx.pods.create(pod);
    const result = await fx.buildController.reconcile('ns/app-1', fx.signal);
    expect(result).toEqual({ requeueAfter: 1000 });
    expect(stored(fx, 'app-1')?.status?.phase).toBe('Pending');
    fx.pods.remove('ns/app-1-build');
    await reconcile(fx, 'app-1');
    expect(stored(fx, 'app-1')?.status).toMatchObject({
      phase: 'Error',
      reason: 'BuildPodDeleted',
    });
  });

  it('deletes the pod of a build that is gone', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1)],
      streams: [imageStream('builder', { latest: BUILDER }), imageStream('app')],
    });
    await reconcile(fx, 'app-1');
    fx.builds.remove('ns/app-1');
    await reconcile(fx, 'app-1');
    expect(fx.client.actions).toContain('delete pod ns/app-1-build');
    expect(podOf(fx, 'app-1')).toBeUndefined();
  });
});

describe('BuildConfigController', () => {
  it('builds a new ConfigChange configuration once, even when the cache lags', async () => {
    fx = await buildFixture({
      configs: [
        buildConfig('app', {
          triggers: [{ type: 'ConfigChange' }, { type: 'ImageChange', imageChange: {} }],
        }),
      ],
      streams: [imageStream('builder', { latest: BUILDER })],
    });
    fx.client.instantiated.length = 0;
    await fx.settle();
    await fx.configController.reconcile('ns/app', fx.signal);
    expect(fx.client.instantiated).toEqual([
      { triggeredBy: [{ message: 'Build configuration change' }], lastVersion: 0 },
    ]);
    // A second reconcile from a stale cache: the server refuses the lastVersion, no build.
    await fx.configController.reconcile('ns/app', fx.signal);
    expect(fx.builds.objects().map((b) => b.metadata.name)).toEqual(['app-1']);
  });

  it('waits for the builder image before the first build when an ImageChange trigger watches it', async () => {
    fx = await buildFixture({
      configs: [
        buildConfig('app', { triggers: [{ type: 'ConfigChange' }, { type: 'ImageChange' }] }),
      ],
    });
    await fx.configController.reconcile('ns/app', fx.signal);
    expect(fx.client.actions).toEqual([]);
  });

  it('prunes finished builds beyond the limits, oldest first', async () => {
    fx = await buildFixture({
      configs: [
        buildConfig('app', { successfulBuildsHistoryLimit: 1, failedBuildsHistoryLimit: 1 }, 5),
      ],
      builds: [
        build('app', 1, 'Complete'),
        build('app', 2, 'Failed'),
        build('app', 3, 'Complete'),
        build('app', 4, 'Cancelled'),
        build('app', 5, 'Running'),
      ],
    });
    await fx.configController.reconcile('ns/app', fx.signal);
    expect(fx.client.actions.sort()).toEqual(['delete build ns/app-1', 'delete build ns/app-2']);
  });

  it('deletes the builds of a deleted configuration once the API confirms it is gone', async () => {
    fx = await buildFixture({
      configs: [buildConfig('app')],
      builds: [build('app', 1, 'Complete')],
    });
    fx.configs.remove('ns/app');
    await fx.settle();
    await fx.configController.reconcile('ns/app', fx.signal);
    expect(fx.client.actions).toEqual(['delete build ns/app-1']);
  });
});
