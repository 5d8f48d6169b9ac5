import { afterEach, describe, expect, it } from 'vitest';
import { objectKey, type Pod } from '../../../src/api/index.js';
import {
  DC_ANNOTATIONS,
  decodeDeploymentConfig,
  deploymentPhaseOf,
  type DeploymentConfig,
} from '../../../src/api/kinds/deployment-config.js';
import type { ImageStream } from '../../../src/api/kinds/image-stream.js';
import { dcFixture, isReady, SimCluster } from './testing/cluster.js';

let sim: SimCluster;
afterEach(async () => {
  await sim.stop();
});

const phase = (name: string): string | undefined => {
  const rc = sim.rc(name);
  return rc ? deploymentPhaseOf(rc) : undefined;
};

function changeTemplate(name: string, change: (dc: DeploymentConfig) => void): void {
  const dc = sim.dc(name);
  change(dc);
  dc.metadata.generation = (dc.metadata.generation ?? 1) + 1;
  sim.dcs.update(dc);
}

const DIGEST = `sha256:${'a'.repeat(64)}`;
const DIGEST2 = `sha256:${'b'.repeat(64)}`;

function stream(items: { ref: string; image: string }[]): ImageStream {
  return {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name: 'web', namespace: 'ns' },
    status: {
      tags: items.length
        ? [
            {
              tag: 'latest',
              items: items.map((i) => ({
                created: '2030-01-01T00:00:00Z',
                dockerImageReference: i.ref,
                image: i.image,
              })),
            },
          ]
        : [],
    },
  };
}

describe('DeploymentConfigController', () => {
  it('rolls out version 1: the RC, its labels and annotations, then Complete', async () => {
    sim = new SimCluster({ dcs: [dcFixture('web')] });
    await sim.runUntil(() => phase('web-1') === 'Complete');
    const dc = sim.dc('web');
    expect(dc.status?.latestVersion).toBe(1);
    expect(dc.status?.details).toEqual({
      message: 'config change',
      causes: [{ type: 'ConfigChange' }],
    });
    const rc = sim.rc('web-1')!;
    expect(rc.spec.replicas).toBe(4);
    expect(rc.spec.selector).toEqual({ app: 'web', deploymentconfig: 'web', deployment: 'web-1' });
    expect(rc.metadata.labels).toEqual({ 'openshift.io/deployment-config.name': 'web' });
    expect(rc.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'DeploymentConfig', name: 'web', controller: true }),
    ]);
    expect(rc.metadata.annotations).toMatchObject({
      'openshift.io/deployment-config.name': 'web',
      'openshift.io/deployment-config.latest-version': '1',
      'openshift.io/deployment.phase': 'Complete',
      'openshift.io/deployment.replicas': '4',
      'openshift.io/deployment.status-reason': 'config change',
    });
    expect(decodeDeploymentConfig(rc)?.spec.template).toEqual(dc.spec.template);
    expect(rc.spec.template?.metadata?.labels).toEqual({
      app: 'web',
      deploymentconfig: 'web',
      deployment: 'web-1',
    });
    expect(rc.spec.template?.metadata?.annotations).toEqual({
      'openshift.io/deployment.name': 'web-1',
      'openshift.io/deployment-config.name': 'web',
      'openshift.io/deployment-config.latest-version': '1',
    });
    await sim.advance(100);
    const done = sim.dc('web');
    expect(done.status).toMatchObject({ replicas: 4, updatedReplicas: 4, availableReplicas: 4 });
    expect(done.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Available', status: 'True' }),
        expect.objectContaining({
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicationControllerAvailable',
          message: 'replication controller "web-1" successfully rolled out',
        }),
      ]),
    );
    expect(sim.recorder.summary()).toContain(
      'Normal DeploymentCreated DeploymentConfig ns/web: Created new replication controller "web-1" for version 1',
    );
  });

  it('rolls a template change out with at least 3 ready and at most 5 pods throughout', async () => {
    sim = new SimCluster({ dcs: [dcFixture('web')] });
    await sim.runUntil(() => phase('web-1') === 'Complete');
    changeTemplate('web', (dc) => {
      dc.spec.template!.spec.containers[0]!.image = 'example/web:2';
    });
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    let minReady = Infinity;
    let maxTotal = 0;
    const sample = (): void => {
      const pods = sim.pods.objects();
      maxTotal = Math.max(maxTotal, pods.length);
      minReady = Math.min(
        minReady,
        pods.filter((p) => !p.metadata.deletionTimestamp && isReady(p)).length,
      );
    };
    for (let i = 0; i < 400 && phase('web-2') !== 'Complete'; i++) {
      await sim.settle();
      sim.syncReplicas();
      sample();
      await sim.settle();
      for (const pod of sim.pods.objects()) {
        if (pod.metadata.deletionTimestamp && rand() < 0.3) sim.pods.remove(objectKey(pod));
        else if (!pod.metadata.deletionTimestamp && !isReady(pod) && rand() < 0.3)
          sim.setReady(pod);
        sample();
      }
      sim.syncReplicas();
      sample();
      await sim.advance(300);
    }
    expect(phase('web-2')).toBe('Complete');
    expect(minReady).toBeGreaterThanOrEqual(3);
    expect(maxTotal).toBeLessThanOrEqual(5);
    expect(sim.rc('web-1')?.spec.replicas).toBe(0);
    expect(sim.rc('web-2')?.spec.replicas).toBe(4);
    expect(
      sim.recorder.summary().filter((s) => s.includes('ReplicationControllerScaled')).length,
    ).toBeGreaterThan(2);
  });

  it('fails a rollout without progress for timeoutSeconds and scales the old version back', async () => {
    const dc = dcFixture('web', { replicas: 2 });
    dc.spec.strategy!.rollingParams!.timeoutSeconds = 30;
    sim = new SimCluster({ dcs: [dc] });
    await sim.runUntil(() => phase('web-1') === 'Complete');
    changeTemplate('web', (d) => {
      d.spec.template!.spec.containers[0]!.image = 'example/broken';
    });
    // New pods never become ready.
    for (let i = 0; i < 40 && phase('web-2') !== 'Failed'; i++) {
      await sim.settle();
      sim.syncReplicas();
      sim.finishTerminating();
      await sim.advance(1000);
    }
    expect(phase('web-2')).toBe('Failed');
    for (let i = 0; i < 10; i++) {
      await sim.settle();
      sim.syncReplicas();
      sim.readyAll();
      await sim.advance(1000);
    }
    expect(sim.rc('web-2')?.spec.replicas).toBe(0);
    expect(sim.rc('web-1')?.spec.replicas).toBe(2);
    expect(sim.recorder.summary().join('\n')).toContain('Warning RolloutTimeout');
    const status = sim.dc('web').status!;
    expect(status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'replication controller "web-2" has failed progressing',
        }),
      ]),
    );
    // No new rollout by itself: the template has not changed since.
    await sim.advance(5000);
    expect(sim.dc('web').status?.latestVersion).toBe(2);
  });

  it('cancels a rollout when its RC is marked cancelled', async () => {
    sim = new SimCluster({ dcs: [dcFixture('web', { replicas: 2 })] });
    await sim.runUntil(() => phase('web-1') === 'Complete');
    changeTemplate('web', (d) => {
      d.spec.template!.spec.containers[0]!.image = 'example/web:2';
    });
    await sim.runUntil(() => sim.rc('web-2') !== undefined, 20);
    const rc = sim.rc('web-2')!;
    rc.metadata.annotations = {
      ...rc.metadata.annotations,
      [DC_ANNOTATIONS.cancelled]: 'true',
      [DC_ANNOTATIONS.statusReason]: 'cancelled by the user',
    };
    sim.rcs.update(rc);
    await sim.runUntil(() => phase('web-2') === 'Failed' && sim.rc('web-2')?.spec.replicas === 0);
    expect(sim.rc('web-1')?.spec.replicas).toBe(2);
    expect(sim.recorder.summary()).toContain(
      'Normal RolloutCancelled DeploymentConfig ns/web: Rollout for "ns/web-2" cancelled',
    );
    expect(sim.dc('web').status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: 'RolloutCancelled' })]),
    );
  });

  it('waits for an ImageChange trigger image, then deploys it by digest and follows the tag', async () => {
    const dc = dcFixture('web', {
      replicas: 1,
      triggers: [
        { type: 'ConfigChange' },
        {
          type: 'ImageChange',
          imageChangeParams: {
            automatic: true,
            containerNames: ['web'],
            from: { kind: 'ImageStreamTag', name: 'web:latest' },
          },
        },
      ],
    });
    dc.spec.template!.spec.containers[0]!.image = ' ';
    sim = new SimCluster({ dcs: [dc], streams: [stream([])] });
    await sim.advance(2000);
    expect(sim.rcs.objects()).toHaveLength(0);
    expect(sim.dc('web').status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'Progressing',
          reason: 'WaitingForImage',
          message: expect.stringContaining('ns/web:latest has no image yet') as unknown,
        }),
      ]),
    );
    const ref1 = `127.0.0.1:5000/ns/web@${DIGEST}`;
    const is = sim.streams.objects()[0]!;
    sim.streams.update({ ...is, status: stream([{ ref: ref1, image: DIGEST }]).status! });
    await sim.runUntil(() => phase('web-1') === 'Complete');
    expect(sim.dc('web').spec.template?.spec.containers[0]?.image).toBe(ref1);
    expect(sim.dc('web').spec.triggers?.[1]?.imageChangeParams?.lastTriggeredImage).toBe(ref1);
    expect(sim.rc('web-1')?.spec.template?.spec.containers[0]?.image).toBe(ref1);

    const ref2 = `127.0.0.1:5000/ns/web@${DIGEST2}`;
    const again = sim.streams.objects()[0]!;
    sim.streams.update({
      ...again,
      status: stream([
        { ref: ref2, image: DIGEST2 },
        { ref: ref1, image: DIGEST },
      ]).status!,
    });
    await sim.runUntil(() => phase('web-2') === 'Complete');
    expect(sim.rc('web-2')?.spec.template?.spec.containers[0]?.image).toBe(ref2);
    expect(sim.dc('web').status?.details).toEqual({
      message: 'image change',
      causes: [
        { type: 'ImageChange', imageTrigger: { from: { kind: 'DockerImage', name: ref2 } } },
      ],
    });
    expect(sim.rc('web-2')?.metadata.annotations?.[DC_ANNOTATIONS.statusReason]).toBe(
      'image change',
    );
  });

  it('Recreate: old pods go first, the mid hook runs, then the new version scales up', async () => {
    const dc = dcFixture('web', {
      replicas: 2,
      strategy: {
        type: 'Recreate',
        recreateParams: {
          timeoutSeconds: 600,
          mid: {
            failurePolicy: 'Abort',
            execNewPod: {
              containerName: 'web',
              command: ['/bin/migrate'],
              env: [{ name: 'X', value: '1' }],
            },
          },
        },
      },
    });
    sim = new SimCluster({ dcs: [dc] });
    const hookPod = (): Pod | undefined =>
      sim.pods.objects().find((p) => p.metadata.name === 'web-1-hook-mid');
    // The first version: mid hook too (no old pods to wait for).
    await sim.runUntil(() => hookPod() !== undefined, 20);
    const pod = hookPod()!;
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.spec.containers[0]).toMatchObject({
      image: 'example/web:1',
      command: ['/bin/migrate'],
      env: [{ name: 'X', value: '1' }],
    });
    expect(pod.metadata.labels).toMatchObject({
      'openshift.io/deployer-pod-for.name': 'web-1',
      'openshift.io/deployer-pod.type': 'hook-mid',
    });
    expect(pod.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'ReplicationController',
      name: 'web-1',
    });
    expect(pod.metadata.ownerReferences?.[0]?.controller).toBeUndefined();
    expect(sim.rc('web-1')?.spec.replicas).toBe(0);
    sim.pods.update({ ...pod, status: { phase: 'Succeeded' } });
    await sim.runUntil(() => phase('web-1') === 'Complete');

    changeTemplate('web', (d) => {
      d.spec.template!.spec.containers[0]!.image = 'example/web:2';
    });
    await sim.runUntil(() => sim.rc('web-2') !== undefined, 20);
    await sim.advance(1000);
    await sim.advance(1000);
    // Old scaled to 0, its pods terminating: the new version stays at 0, no hook yet.
    expect(sim.rc('web-1')?.spec.replicas).toBe(0);
    sim.syncReplicas();
    await sim.advance(1000);
    expect(sim.podsOf(sim.rc('web-1')!).length).toBe(2);
    expect(sim.rc('web-2')?.spec.replicas).toBe(0);
    expect(sim.pods.objects().some((p) => p.metadata.name === 'web-2-hook-mid')).toBe(false);
    sim.finishTerminating();
    await sim.advance(1000);
    const mid = sim.pods.objects().find((p) => p.metadata.name === 'web-2-hook-mid')!;
    expect(mid).toBeDefined();
    expect(sim.rc('web-2')?.spec.replicas).toBe(0);
    sim.pods.update({ ...mid, status: { phase: 'Succeeded' } });
    await sim.runUntil(() => phase('web-2') === 'Complete');
    expect(sim.rc('web-2')?.spec.replicas).toBe(2);
  });

  it('fails the rollout when a pre hook fails with Abort, and retries one with Retry', async () => {
    const hook = (policy: 'Abort' | 'Retry') =>
      dcFixture('web', {
        replicas: 1,
        strategy: {
          type: 'Rolling',
          rollingParams: {
            timeoutSeconds: 600,
            maxSurge: '25%',
            maxUnavailable: '25%',
            pre: {
              failurePolicy: policy,
              execNewPod: { containerName: 'web', command: ['false'] },
            },
          },
        },
      });
    sim = new SimCluster({ dcs: [hook('Abort')] });
    await sim.runUntil(
      () => sim.pods.objects().some((p) => p.metadata.name === 'web-1-hook-pre'),
      20,
    );
    const pre = sim.pods.objects().find((p) => p.metadata.name === 'web-1-hook-pre')!;
    sim.pods.update({
      ...pre,
      status: {
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'lifecycle',
            ready: false,
            restartCount: 0,
            image: 'x',
            state: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
      },
    });
    await sim.runUntil(() => phase('web-1') === 'Failed', 20);
    expect(sim.rc('web-1')?.metadata.annotations?.[DC_ANNOTATIONS.statusReason]).toBe(
      'the pre hook failed: exit code 1 (Error)',
    );
    expect(sim.rc('web-1')?.spec.replicas).toBe(0);
    await sim.stop();

    sim = new SimCluster({ dcs: [hook('Retry')] });
    await sim.runUntil(
      () => sim.pods.objects().some((p) => p.metadata.name === 'web-1-hook-pre'),
      20,
    );
    const first = sim.pods.objects().find((p) => p.metadata.name === 'web-1-hook-pre')!;
    sim.pods.update({ ...first, status: { phase: 'Failed' } });
    await sim.advance(1000);
    await sim.advance(1000);
    const second = sim.pods.objects().find((p) => p.metadata.name === 'web-1-hook-pre')!;
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    sim.pods.update({ ...second, status: { phase: 'Succeeded' } });
    await sim.runUntil(() => phase('web-1') === 'Complete');
  });

  it('keeps revisionHistoryLimit old versions, deleting the oldest', async () => {
    sim = new SimCluster({ dcs: [dcFixture('web', { replicas: 1, revisionHistoryLimit: 1 })] });
    for (let v = 1; v <= 4; v++) {
      if (v > 1) {
        changeTemplate('web', (d) => {
          d.spec.template!.spec.containers[0]!.image = `example/web:${v}`;
        });
      }
      await sim.runUntil(() => phase(`web-${v}`) === 'Complete');
    }
    await sim.runUntil(() => sim.rcs.objects().length === 2);
    expect(
      sim.rcs
        .objects()
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual(['web-3', 'web-4']);
  });

  it('does not roll out while paused; scaling changes only the active RC', async () => {
    sim = new SimCluster({ dcs: [dcFixture('web', { replicas: 2 })] });
    await sim.runUntil(() => phase('web-1') === 'Complete');
    changeTemplate('web', (d) => {
      d.spec.paused = true;
      d.spec.template!.spec.containers[0]!.image = 'example/web:2';
    });
    await sim.advance(3000);
    expect(sim.dc('web').status?.latestVersion).toBe(1);
    expect(sim.dc('web').status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: 'DeploymentConfigPaused' })]),
    );
    changeTemplate('web', (d) => {
      d.spec.paused = false;
      d.spec.template!.spec.containers[0]!.image = 'example/web:1';
      d.spec.replicas = 3;
    });
    await sim.runUntil(() => sim.rc('web-1')?.spec.replicas === 3);
    expect(sim.dc('web').status?.latestVersion).toBe(1);
    expect(sim.rc('web-2')).toBeUndefined();
    expect(sim.recorder.summary()).toContain(
      'Normal ReplicationControllerScaled DeploymentConfig ns/web: Scaled replication controller "web-1" from 2 to 3',
    );
  });
});
