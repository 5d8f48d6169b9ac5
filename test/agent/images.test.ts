// Images on the real engine: pull policies, a failed pull reported with the engine's message
// (against a loopback address where nothing listens: no traffic leaves the machine), and the
// pause image built by the runtime itself from the host's BusyBox when a node lacks it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../../agent/docker/errors.js';
import { IMAGE_LABEL } from '../../agent/docker/images.js';
import {
  assertDockerAvailable,
  dockerClient,
  ensureImage,
  PAUSE_IMAGE,
  TEST_RUN_LABEL,
} from '../support/docker.js';
import { cleanupRun, eventually, makePod, newRuntimeRun, plan, runPod, sh } from './support.js';

const docker = dockerClient();
const run = newRuntimeRun(docker);
const { runtime } = run;
/** A registry address on loopback where nothing listens. */
const UNREACHABLE = `127.0.0.1:9/slipway-test/image-${run.runId}:1`;

beforeAll(async () => {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
});

afterAll(async () => {
  try {
    await docker.getImage(UNREACHABLE).remove({ noprune: true });
  } catch {
    // only present if a test failed before removing it
  }
  await cleanupRun(docker, run.runId);
});

describe('ensureImage', () => {
  it('uses a present image without pulling (IfNotPresent, Never)', async () => {
    for (const pullPolicy of ['IfNotPresent', 'Never'] as const) {
      const info = await runtime.ensureImage(PAUSE_IMAGE, { pullPolicy });
      expect(info).toMatchObject({ ref: PAUSE_IMAGE, pulled: false, entrypoint: ['/pause'] });
      expect(info.id).toMatch(/^sha256:/);
    }
  });

  it('refuses a missing image with pull policy Never', async () => {
    await expect(runtime.ensureImage(UNREACHABLE, { pullPolicy: 'Never' })).rejects.toSatisfy(
      (err) =>
        isRuntimeError(err, 'ImageNotFound') &&
        err.message === `Container image "${UNREACHABLE}" is not present with pull policy of Never`,
    );
  });

  it('reports a failed pull with the engine message', async () => {
    const progress: string[] = [];
    const t0 = Date.now();
    const err = await runtime
      .ensureImage(UNREACHABLE, {
        pullPolicy: 'IfNotPresent',
        onProgress: (p) => progress.push(p.status),
      })
      .catch((e: unknown) => e);
    expect(isRuntimeError(err, 'ImagePullFailed')).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(`^pull image ${UNREACHABLE.replace(/[.]/g, '\\.')}: .*connection refused`),
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('falls back to the local copy on a failed Always pull only when asked', async () => {
    await docker
      .getImage(PAUSE_IMAGE)
      .tag({ repo: UNREACHABLE.slice(0, UNREACHABLE.lastIndexOf(':')), tag: '1' });
    try {
      await expect(runtime.ensureImage(UNREACHABLE, { pullPolicy: 'Always' })).rejects.toSatisfy(
        (err) => isRuntimeError(err, 'ImagePullFailed'),
      );
      const info = await runtime.ensureImage(UNREACHABLE, {
        pullPolicy: 'Always',
        fallbackToLocal: true,
      });
      expect(info.pulled).toBe(false);
    } finally {
      await docker.getImage(UNREACHABLE).remove({ noprune: true });
    }
  });
});

describe('the pause image', () => {
  const pauseRef = `slipway-test/pause:${run.runId}`;
  const selfBuilding = newRuntimeRun(docker, { pauseImage: pauseRef }, pauseRef);

  afterAll(async () => {
    await cleanupRun(docker, selfBuilding.runId);
  });

  it('is built by the runtime from the host BusyBox when missing, and runs sandboxes', async () => {
    expect(
      await docker
        .getImage(pauseRef)
        .inspect()
        .catch(() => undefined),
    ).toBeUndefined();
    const pod = makePod('self-built', { containers: [sh('app', 'exec sleep 3600')] });
    const p = plan(selfBuilding, pod);
    expect(p.sandbox.image).toBe(pauseRef);

    const t0 = Date.now();
    const { sandbox, ids } = await runPod(selfBuilding, p);
    const buildMs = Date.now() - t0;
    expect(buildMs).toBeLessThan(30_000);

    const image = await docker.getImage(pauseRef).inspect();
    expect(image.Config.Labels).toMatchObject({
      [IMAGE_LABEL]: 'pause',
      [TEST_RUN_LABEL]: selfBuilding.runId,
    });
    expect(image.Config.Entrypoint).toEqual(['/pause']);
    expect(sandbox.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const r = await selfBuilding.runtime.execInContainer(
      ids.app!,
      ['sh', '-c', 'ls /bin/sleep /bin/wget >/dev/null && echo ok'],
      {
        timeoutMs: 5000,
      },
    );
    expect(r.stdout).toBe('ok\n');

    // The pause process exits 0 on SIGTERM at once.
    const t1 = Date.now();
    await selfBuilding.runtime.stopContainer(sandbox.id, 10);
    expect(Date.now() - t1).toBeLessThan(2000);
    const info = await eventually(async () => {
      const i = await selfBuilding.runtime.inspect(sandbox.id);
      return i.running ? undefined : i;
    });
    expect(info.exitCode).toBe(0);
    await selfBuilding.runtime.removePod(pod.metadata.uid!, { graceSeconds: 0 });
  });
});
