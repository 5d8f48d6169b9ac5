import { afterEach, describe, expect, it } from 'vitest';
import { revisionOf, type Deployment } from '../../../src/api/kinds/deployment.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';
import { podTemplateHash } from './replica-sets.js';
import { isReady, SimCluster } from './testing/cluster.js';

let sim: SimCluster;
afterEach(async () => {
  await sim.stop();
});

function deployment(overrides: Partial<Deployment['spec']> = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', generation: 1 },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'example/web:1' }] },
      },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      ...overrides,
    },
  };
}

const sets = (): ReplicaSet[] => sim.rss.objects().sort((a, b) => revisionOf(a) - revisionOf(b));

function setImage(image: string): void {
  const d = sim.deployments.objects()[0]!;
  d.spec.template!.spec.containers[0]!.image = image;
  d.metadata.generation = (d.metadata.generation ?? 1) + 1;
  sim.deployments.update(d);
}

const complete = (): boolean =>
  sim.deployments
    .objects()[0]!
    .status?.conditions?.some((c) => c.reason === 'NewReplicaSetAvailable') ?? false;

describe('DeploymentController', () => {
  it('makes ReplicaSet NAME-<hash> with revision 1 and rolls it out', async () => {
    sim = new SimCluster({ deployments: [deployment()] });
    await sim.runUntil(complete);
    const [rs] = sets();
    const hash = podTemplateHash(deployment().spec.template!);
    expect(rs!.metadata.name).toBe(`web-${hash}`);
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(rs!.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs!.spec.template?.metadata?.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs!.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(rs!.spec.replicas).toBe(4);
    const d = sim.deployments.objects()[0]!;
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({ replicas: 4, updatedReplicas: 4, availableReplicas: 4 });
    expect(sim.recorder.summary()).toContain(
      `Normal ScalingReplicaSet Deployment ns/web: Scaled up replica set web-${hash} from 0 to 4`,
    );
  });

  it('rolls over to a new ReplicaSet within the surge and availability limits; undo reuses the old one', async () => {
    sim = new SimCluster({ deployments: [deployment()] });
    await sim.runUntil(complete);
    setImage('example/web:2');
    let maxTotal = 0;
    let minReady = Infinity;
    for (let i = 0; i < 100; i++) {
      await sim.settle();
      sim.syncReplicas();
      const pods = sim.pods.objects();
      maxTotal = Math.max(maxTotal, pods.length);
      minReady = Math.min(
        minReady,
        pods.filter((p) => !p.metadata.deletionTimestamp && isReady(p)).length,
      );
      await sim.settle();
      const fresh = sim.pods.objects().find((p) => !p.metadata.deletionTimestamp && !isReady(p));
      if (fresh) sim.setReady(fresh);
      sim.finishTerminating();
      sim.syncReplicas();
      await sim.advance(500);
      if (sets().length === 2 && complete() && sets()[0]!.spec.replicas === 0) break;
    }
    expect(maxTotal).toBeLessThanOrEqual(5);
    expect(minReady).toBeGreaterThanOrEqual(3);
    const [v1, v2] = sets();
    expect(revisionOf(v2!)).toBe(2);
    expect(v1!.spec.replicas).toBe(0);
    expect(v2!.spec.replicas).toBe(4);

    // Undo: the old template comes back; the old ReplicaSet becomes revision 3.
    setImage('example/web:1');
    await sim.runUntil(() => complete() && sets().at(-1)?.metadata.name === v1!.metadata.name);
    expect(sets().map((rs) => [rs.metadata.name, revisionOf(rs), rs.spec.replicas])).toEqual([
      [v2!.metadata.name, 2, 0],
      [v1!.metadata.name, 3, 4],
    ]);
    expect(
      sim.deployments.objects()[0]!.metadata.annotations?.['deployment.kubernetes.io/revision'],
    ).toBe('3');
  });

  it('reports ProgressDeadlineExceeded and keeps the old pods', async () => {
    sim = new SimCluster({
      deployments: [deployment({ replicas: 2, progressDeadlineSeconds: 20 })],
    });
    await sim.runUntil(complete);
    setImage('example/broken');
    for (let i = 0; i < 40; i++) {
      await sim.settle();
      sim.syncReplicas();
      sim.finishTerminating();
      await sim.advance(1000);
    }
    const d = sim.deployments.objects()[0]!;
    expect(d.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
        }),
      ]),
    );
    expect(sets()[0]!.spec.replicas).toBeGreaterThanOrEqual(1);
  });

  it('Recreate scales the old ReplicaSet to 0 before the new one', async () => {
    sim = new SimCluster({
      deployments: [deployment({ replicas: 2, strategy: { type: 'Recreate' } })],
    });
    await sim.runUntil(complete);
    setImage('example/web:2');
    await sim.advance(1000);
    await sim.advance(1000);
    const [v1, v2] = sets();
    expect(v1!.spec.replicas).toBe(0);
    expect(v2!.spec.replicas).toBe(0);
    sim.syncReplicas();
    sim.finishTerminating();
    await sim.runUntil(() => sets()[1]!.spec.replicas === 2 && complete());
  });

  it('a paused Deployment makes no new ReplicaSet', async () => {
    sim = new SimCluster({ deployments: [deployment({ replicas: 1 })] });
    await sim.runUntil(complete);
    const d = sim.deployments.objects()[0]!;
    d.spec.paused = true;
    d.spec.template!.spec.containers[0]!.image = 'example/web:2';
    sim.deployments.update(d);
    await sim.advance(3000);
    expect(sets()).toHaveLength(1);
    expect(sim.deployments.objects()[0]!.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: 'DeploymentPaused' })]),
    );
  });

  it('spreads a scale-up over a stuck rollout, so the working old pods grow too', async () => {
    sim = new SimCluster({ deployments: [deployment()] });
    await sim.runUntil(complete);
    setImage('example/broken');
    // The new pods never get ready: the rollout stops at 3 old (available) and 2 new.
    for (let i = 0; i < 10; i++) {
      await sim.settle();
      sim.syncReplicas();
      sim.finishTerminating();
      await sim.advance(1000);
    }
    expect(sets().map((rs) => rs.spec.replicas)).toEqual([3, 2]);

    const d = sim.deployments.objects()[0]!;
    d.spec.replicas = 8;
    sim.deployments.update(d);
    await sim.advance(1000);
    // 8 + 2 surge allowed, 5 there: old 3 -> round(3 * 10 / 5) = 6, new 2 -> 4.
    const [old, next] = sets();
    expect([old!.spec.replicas, next!.spec.replicas]).toEqual([6, 4]);
    for (const rs of [old!, next!]) {
      expect(rs.metadata.annotations).toMatchObject({
        'deployment.kubernetes.io/desired-replicas': '8',
        'deployment.kubernetes.io/max-replicas': '10',
      });
    }
    expect(sim.recorder.summary()).toContain(
      `Normal ScalingReplicaSet Deployment ns/web: Scaled up replica set ${old!.metadata.name} from 3 to 6`,
    );

    // Back down to 2 while still stuck: the larger (old) set gives up the most.
    const again = sim.deployments.objects()[0]!;
    again.spec.replicas = 2;
    sim.deployments.update(again);
    await sim.advance(1000);
    const sized = sets().map((rs) => rs.spec.replicas ?? 0);
    // 2 + 1 surge allowed: old 6 -> round(6 * 3 / 10) = 2, new gives up the rest.
    expect(sized).toEqual([2, 1]);
  });

  it('counts a hash collision and takes the next hash', async () => {
    const d = deployment();
    d.metadata.uid = 'uid-web';
    const taken = `web-${podTemplateHash(d.spec.template!)}`;
    sim = new SimCluster({ deployments: [d] });
    // Someone else's ReplicaSet already has the name the Deployment's would get.
    sim.rss.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: taken, namespace: 'ns', uid: 'uid-other' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'other' } },
        template: {
          metadata: { labels: { app: 'other' } },
          spec: { containers: [{ name: 'other', image: 'example/other:1' }] },
        },
      },
    });
    await sim.runUntil(complete);
    expect(sim.deployments.objects()[0]!.status?.collisionCount).toBe(1);
    const mine = sets().filter((rs) => rs.metadata.name !== taken);
    expect(mine.map((rs) => [rs.metadata.name, rs.spec.replicas])).toEqual([
      [`web-${podTemplateHash(d.spec.template!, 1)}`, 4],
    ]);
    const other = sim.rss.objects().find((rs) => rs.metadata.name === taken)!;
    expect(other.spec.replicas).toBe(0);
    expect(other.metadata.ownerReferences).toBeUndefined();
  });
});
