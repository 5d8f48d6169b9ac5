// DeploymentConfigs and Deployments inside a real master with its controllers (scheduler,
// replication controller, deployment controllers), over HTTP, with pods on a simulated node:
// the test plays the kubelet, marking pods ready after random delays and confirming
// deletions after random delays, and samples the pods continuously.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  imageStreamKind,
  imageStreamTagKind,
  podKind,
  replicaSetKind,
  replicationControllerKind,
  resourcePath,
  type AnyKindDefinition,
  type ApiObject,
  type Pod,
} from '../../src/api/index.js';
import { deploymentConfigKind, deploymentKind } from '../../src/api/kinds/index.js';
import { deploymentPhaseOf, type DeploymentConfig } from '../../src/api/kinds/deployment-config.js';
import { revisionOf, type Deployment } from '../../src/api/kinds/deployment.js';
import type { ReplicaSet } from '../../src/api/kinds/replica-set.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import { rollbackDeploymentConfig } from '../../src/cli/rollouts.js';
import { podTemplateHash } from '../../master/controllers/deployment/replica-sets.js';
import { FakeKubelet, NEVER_READY_IMAGE } from './fake-kubelet.js';
import { eventsFor, startClusterWithNode, waitFor, type NodeCluster } from './support.js';

let c: NodeCluster;
let kubelet: FakeKubelet;
const NS = 'rollouts';

const NEVER_READY = NEVER_READY_IMAGE;

beforeAll(async () => {
  c = await startClusterWithNode({ namespace: NS });
  // Terminating pods linger longer than a rollout step (updatePeriodSeconds 1): they must count.
  kubelet = new FakeKubelet(c.join, 'n1', { readyMs: [100, 900], goneMs: [500, 2500] });
  kubelet.start();
});

afterAll(async () => {
  kubelet.stop();
  await c.close();
});

function dcBody(name: string, spec: Partial<DeploymentConfig['spec']> = {}): DeploymentConfig {
  return {
    apiVersion: 'apps.openshift.io/v1',
    kind: 'DeploymentConfig',
    metadata: { name },
    spec: {
      replicas: 4,
      selector: { app: name },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'web', image: 'example/web:1', env: [{ name: 'COLOR', value: 'blue' }] },
          ],
        },
      },
      ...spec,
    },
  };
}

const getDc = (name: string): Promise<DeploymentConfig> =>
  c.admin.get<DeploymentConfig>(deploymentConfigKind, name, { namespace: NS });

async function getRc(name: string): Promise<ReplicationController | undefined> {
  try {
    return await c.admin.get<ReplicationController>(replicationControllerKind, name, {
      namespace: NS,
    });
  } catch {
    return undefined;
  }
}

async function waitForPhase(
  rc: string,
  phase: string,
  timeoutMs = 30_000,
): Promise<ReplicationController> {
  const found = await waitFor(
    `${rc} to be ${phase}`,
    () => getRc(rc),
    (r) => r !== undefined && deploymentPhaseOf(r) === phase,
    timeoutMs,
  );
  return found!;
}

/** Changes object `name` of `kind` and writes it, again on a conflict (controllers write too). */
async function updateObject<T extends ApiObject>(
  kind: AnyKindDefinition,
  name: string,
  change: (obj: T) => void,
): Promise<void> {
  for (;;) {
    const obj = await c.admin.get<T>(kind, name, { namespace: NS });
    change(obj);
    try {
      await c.admin.update(kind, obj, { namespace: NS });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}

const update = (name: string, change: (dc: DeploymentConfig) => void): Promise<void> =>
  updateObject(deploymentConfigKind, name, change);

const isReady = (p: Pod): boolean =>
  p.status?.conditions?.some((cond) => cond.type === 'Ready' && cond.status === 'True') ?? false;

/** Samples the pods with `label` every 25 ms until stopped: the fewest ready, the most
 * existing (terminating included). */
function sampler(label: string): {
  stop(): Promise<{ minReady: number; maxTotal: number; samples: number }>;
} {
  let running = true;
  let minReady = Infinity;
  let maxTotal = 0;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const pods = (await c.admin.list<Pod>(podKind, { namespace: NS, labelSelector: label }))
        .items;
      const live = pods.filter(
        (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
      );
      maxTotal = Math.max(maxTotal, live.length);
      minReady = Math.min(
        minReady,
        live.filter((p) => !p.metadata.deletionTimestamp && isReady(p)).length,
      );
      samples += 1;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { minReady, maxTotal, samples };
    },
  };
}

describe('DeploymentConfig rollouts', () => {
  it('rolls out v1, then v2 on a template change with >= 3 ready and <= 5 pods at every sample', async () => {
    await c.admin.create(deploymentConfigKind, dcBody('web'), { namespace: NS });
    await waitForPhase('web-1', 'Complete');
    // The DeploymentConfig's status follows its RC's on the controller's next pass.
    const v1 = await waitFor(
      'the status of web at version 1 with 4 available',
      () => getDc('web'),
      (d) => d.status?.latestVersion === 1 && d.status.availableReplicas === 4,
    );
    expect(v1.status).toMatchObject({ latestVersion: 1, replicas: 4, availableReplicas: 4 });
    const pods = (
      await c.admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'deployment=web-1' })
    ).items;
    expect(pods).toHaveLength(4);
    expect(pods[0]!.metadata.labels).toMatchObject({
      deploymentconfig: 'web',
      deployment: 'web-1',
    });
    expect(pods[0]!.metadata.annotations).toMatchObject({
      'openshift.io/deployment-config.name': 'web',
      'openshift.io/deployment.name': 'web-1',
    });

    const sample = sampler('deploymentconfig=web');
    await update('web', (dc) => {
      dc.spec.template!.spec.containers[0]!.image = 'example/web:2';
      dc.spec.template!.spec.containers[0]!.env = [{ name: 'COLOR', value: 'green' }];
    });
    await waitForPhase('web-2', 'Complete', 50_000);
    await waitFor(
      'web-1 at 0',
      () => getRc('web-1'),
      (r) => r?.spec.replicas === 0,
    );
    const result = await sample.stop();
    expect(result.samples).toBeGreaterThan(20);
    expect(result.minReady).toBeGreaterThanOrEqual(3);
    expect(result.maxTotal).toBeLessThanOrEqual(5);
    const scaled = await eventsFor(c.admin, NS, 'web', 'ReplicationControllerScaled');
    expect(scaled.length).toBeGreaterThan(0);
    const created = await eventsFor(c.admin, NS, 'web', 'DeploymentCreated');
    expect(created.map((e) => e.message)).toContain(
      'Created new replication controller "web-2" for version 2',
    );
  }, 60_000);

  it('undo restores the previous image and env through a new version', async () => {
    const rc1 = (await getRc('web-1'))!;
    // The controller writes the status meanwhile: roll back from a fresh read until it sticks.
    for (;;) {
      const { dc: rolled } = rollbackDeploymentConfig(await getDc('web'), rc1);
      try {
        await c.admin.update(deploymentConfigKind, rolled, { namespace: NS });
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
    const rc3 = await waitForPhase('web-3', 'Complete', 50_000);
    expect(rc3.spec.template?.spec.containers[0]).toMatchObject({
      image: 'example/web:1',
      env: [{ name: 'COLOR', value: 'blue' }],
    });
    const pods = (
      await c.admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'deployment=web-3' })
    ).items;
    expect(pods.map((p) => p.spec.containers[0]!.image)).toEqual(Array(4).fill('example/web:1'));
  }, 60_000);

  it('fails a rollout that makes no progress within timeoutSeconds and scales the old version back', async () => {
    const body = dcBody('slow', { replicas: 2 });
    body.spec.strategy = { type: 'Rolling', rollingParams: { timeoutSeconds: 4 } };
    await c.admin.create(deploymentConfigKind, body, { namespace: NS });
    await waitForPhase('slow-1', 'Complete');
    await update('slow', (dc) => {
      dc.spec.template!.spec.containers[0]!.image = NEVER_READY;
    });
    await waitForPhase('slow-2', 'Failed', 30_000);
    await waitFor(
      'slow-2 at 0 and slow-1 back at 2',
      async () => [await getRc('slow-1'), await getRc('slow-2')] as const,
      ([a, b]) => a?.spec.replicas === 2 && b?.spec.replicas === 0,
    );
    const dc = await waitFor(
      'the failure in the DeploymentConfig status',
      () => getDc('slow'),
      (d) =>
        d.status?.conditions?.some((cond) => cond.reason === 'ProgressDeadlineExceeded') ?? false,
    );
    expect(dc.status?.conditions?.find((cond) => cond.type === 'Progressing')?.message).toBe(
      'replication controller "slow-2" has failed progressing',
    );
    expect((await eventsFor(c.admin, NS, 'slow', 'RolloutTimeout')).length).toBe(1);
  }, 60_000);

  it('waits for an ImageChange image, then deploys tags by digest as they move', async () => {
    const digest1 = `sha256:${'1'.repeat(64)}`;
    const digest2 = `sha256:${'2'.repeat(64)}`;
    const ref = (d: string) => `127.0.0.1:5000/${NS}/app@${d}`;
    await c.admin.create(
      imageStreamKind,
      { apiVersion: 'image.openshift.io/v1', kind: 'ImageStream', metadata: { name: 'app' } },
      { namespace: NS },
    );
    const body = dcBody('app', {
      replicas: 1,
      triggers: [
        { type: 'ConfigChange' },
        {
          type: 'ImageChange',
          imageChangeParams: {
            automatic: true,
            containerNames: ['web'],
            from: { kind: 'ImageStreamTag', name: 'app:latest' },
          },
        },
      ],
    });
    body.spec.template!.spec.containers[0]!.image = ' ';
    await c.admin.create(deploymentConfigKind, body, { namespace: NS });
    const waiting = await waitFor(
      'the DeploymentConfig to say it waits for its image',
      () => getDc('app'),
      (d) => d.status?.conditions?.some((cond) => cond.reason === 'WaitingForImage') ?? false,
    );
    expect(waiting.status?.latestVersion ?? 0).toBe(0);
    expect(await getRc('app-1')).toBeUndefined();

    const tag = async (digest: string): Promise<void> => {
      await c.admin.request(
        'PUT',
        resourcePath(imageStreamTagKind, { namespace: NS, name: 'app:latest' }),
        {
          body: {
            apiVersion: 'image.openshift.io/v1',
            kind: 'ImageStreamTag',
            metadata: { name: 'app:latest' },
            tag: { name: 'latest', from: { kind: 'DockerImage', name: ref(digest) } },
          },
        },
      );
    };
    await tag(digest1);
    const rc1 = await waitForPhase('app-1', 'Complete');
    expect(rc1.spec.template?.spec.containers[0]?.image).toBe(ref(digest1));
    await tag(digest2);
    const rc2 = await waitForPhase('app-2', 'Complete');
    expect(rc2.spec.template?.spec.containers[0]?.image).toBe(ref(digest2));
    const dc = await getDc('app');
    expect(dc.status?.details?.message).toBe('image change');
    expect(dc.spec.triggers?.[1]?.imageChangeParams?.lastTriggeredImage).toBe(ref(digest2));
    const stream = await c.admin.get(imageStreamKind, 'app', { namespace: NS });
    expect(stream.metadata.name).toBe('app');
  }, 60_000);

  it('rollout latest: the instantiate subresource starts a version; a paused config refuses', async () => {
    const instantiate = (name: string) =>
      c.admin.request<DeploymentConfig>(
        'POST',
        resourcePath(deploymentConfigKind, { namespace: NS, name, subresource: 'instantiate' }),
        {
          body: {
            kind: 'DeploymentRequest',
            apiVersion: 'apps.openshift.io/v1',
            name,
            latest: true,
            force: true,
          },
        },
      );
    const before = (await getDc('app')).status?.latestVersion ?? 0;
    const dc = await instantiate('app');
    expect(dc.status?.latestVersion).toBe(before + 1);
    expect(dc.status?.details).toEqual({ message: 'manual change', causes: [{ type: 'Manual' }] });
    await waitForPhase(`app-${before + 1}`, 'Complete');
    await c.admin.patch(deploymentConfigKind, 'app', { spec: { paused: true } }, { namespace: NS });
    await expect(instantiate('app')).rejects.toThrow('cannot deploy a paused deployment config');
  }, 60_000);
});

const updateDeployment = (name: string, change: (d: Deployment) => void): Promise<void> =>
  updateObject(deploymentKind, name, change);

describe('Deployment rollouts', () => {
  it('rolls over ReplicaSets within the surge and availability limits', async () => {
    const body: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: { containers: [{ name: 'api', image: 'example/api:1' }] },
        },
      },
    };
    await c.admin.create(deploymentKind, body, { namespace: NS });
    const done = (rev: string) => (d: Deployment) =>
      d.metadata.annotations?.['deployment.kubernetes.io/revision'] === rev &&
      d.status?.conditions?.some((cond) => cond.reason === 'NewReplicaSetAvailable') === true &&
      d.status.availableReplicas === 4 &&
      d.status.updatedReplicas === 4;
    const get = () => c.admin.get<Deployment>(deploymentKind, 'api', { namespace: NS });
    await waitFor('api revision 1', get, done('1'), 30_000);
    const sample = sampler('app=api');
    const d = await get();
    d.spec.template!.spec.containers[0]!.image = 'example/api:2';
    await c.admin.update(deploymentKind, d, { namespace: NS });
    await waitFor('api revision 2', get, done('2'), 50_000);
    const result = await sample.stop();
    expect(result.minReady).toBeGreaterThanOrEqual(3);
    expect(result.maxTotal).toBeLessThanOrEqual(5);
    const sets = (await c.admin.list<ReplicaSet>(replicaSetKind, { namespace: NS })).items
      .filter((rs) => rs.metadata.name?.startsWith('api-'))
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    expect(sets.map((rs) => [revisionOf(rs), rs.spec.replicas])).toEqual([
      [1, 0],
      [2, 4],
    ]);
    expect(sets[1]!.metadata.name).toMatch(/^api-[bcdfghjklmnpqrstvwxz2456789]+$/);
    const pods = (await c.admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'app=api' }))
      .items;
    expect(pods.every((p) => p.metadata.labels?.['pod-template-hash'] !== undefined)).toBe(true);
  }, 60_000);

  it('spreads a scale-up over a stuck rollout: the working old pods grow too', async () => {
    const body: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'stuck' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'stuck' } },
        template: {
          metadata: { labels: { app: 'stuck' } },
          spec: { containers: [{ name: 'web', image: 'example/stuck:1' }] },
        },
      },
    };
    await c.admin.create(deploymentKind, body, { namespace: NS });
    const get = () => c.admin.get<Deployment>(deploymentKind, 'stuck', { namespace: NS });
    await waitFor('stuck revision 1', get, (d) => d.status?.availableReplicas === 4, 30_000);
    const sizes = async (): Promise<number[]> =>
      (await c.admin.list<ReplicaSet>(replicaSetKind, { namespace: NS })).items
        .filter((rs) => rs.metadata.name?.startsWith('stuck-'))
        .sort((a, b) => revisionOf(a) - revisionOf(b))
        .map((rs) => rs.spec.replicas ?? 0);
    await updateDeployment('stuck', (d) => {
      d.spec.template!.spec.containers[0]!.image = NEVER_READY;
    });
    // 25% surge and unavailability of 4: the rollout stops at 3 old (ready) and 2 new.
    await waitFor('the rollout to get stuck', sizes, (s) => s.join() === '3,2', 30_000);

    await updateDeployment('stuck', (d) => {
      d.spec.replicas = 8;
    });
    // 8 + 2 surge allowed, 5 there, in proportion: old 3 -> 6, new 2 -> 4.
    await waitFor('the scale-up spread over both', sizes, (s) => s.join() === '6,4', 30_000);
    const ready = await waitFor(
      'six ready pods',
      async () =>
        (await c.admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'app=stuck' })).items,
      (pods) => pods.filter((p) => !p.metadata.deletionTimestamp && isReady(p)).length === 6,
      30_000,
    );
    expect(ready.filter((p) => !p.metadata.deletionTimestamp).length).toBe(10);
    expect(await sizes()).toEqual([6, 4]);
  }, 90_000);

  it('counts a hash collision with a ReplicaSet it does not own and takes the next hash', async () => {
    const body: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'collide' },
      spec: {
        replicas: 2,
        paused: true,
        selector: { matchLabels: { app: 'collide' } },
        template: {
          metadata: { labels: { app: 'collide' } },
          spec: { containers: [{ name: 'web', image: 'example/collide:1' }] },
        },
      },
    };
    await c.admin.create(deploymentKind, body, { namespace: NS });
    const get = () => c.admin.get<Deployment>(deploymentKind, 'collide', { namespace: NS });
    // The template as the server stored it (defaults filled in) is what the name is made of.
    const stored = await get();
    const taken = `collide-${podTemplateHash(stored.spec.template!)}`;
    await c.admin.create<ReplicaSet>(
      replicaSetKind,
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: taken },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'squatter' } },
          template: {
            metadata: { labels: { app: 'squatter' } },
            spec: { containers: [{ name: 'web', image: 'example/squatter:1' }] },
          },
        },
      },
      { namespace: NS },
    );
    await updateDeployment('collide', (d) => {
      d.spec.paused = false;
    });
    const done = await waitFor(
      'collide rolled out',
      get,
      (d) => d.status?.collisionCount === 1 && d.status.availableReplicas === 2,
      30_000,
    );
    expect(done.status?.collisionCount).toBe(1);
    const sets = (await c.admin.list<ReplicaSet>(replicaSetKind, { namespace: NS })).items.filter(
      (rs) => rs.metadata.name?.startsWith('collide-'),
    );
    const mine = sets.find((rs) => rs.metadata.name !== taken)!;
    expect(mine.metadata.name).toBe(`collide-${podTemplateHash(stored.spec.template!, 1)}`);
    expect(mine.spec.replicas).toBe(2);
    const other = sets.find((rs) => rs.metadata.name === taken)!;
    expect(other.metadata.ownerReferences ?? []).toEqual([]);
    expect(other.spec.replicas).toBe(0);
  }, 60_000);
});
