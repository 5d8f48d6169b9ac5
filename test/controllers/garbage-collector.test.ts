// The garbage collector inside a real master: an owner's deletion takes its dependents
// (background cascading deletion), through more than one level, and `propagationPolicy: Orphan`
// leaves them, released, to live on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  podKind,
  replicaSetKind,
  replicationControllerKind,
  resourcePath,
  type Pod,
} from '../../src/api/index.js';
import type { ReplicaSet } from '../../src/api/kinds/replica-set.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import {
  holdsFor,
  podSpec,
  rcBody,
  startClusterWithNode,
  waitFor,
  type NodeCluster,
} from './support.js';

let c: NodeCluster;
const NS = 'gc';

beforeAll(async () => {
  c = await startClusterWithNode({ namespace: NS, confirmDeletions: true });
});

afterAll(async () => {
  await c.close();
});

async function podsLabelled(app: string): Promise<Pod[]> {
  return (await c.admin.list<Pod>(podKind, { namespace: NS, labelSelector: `app=${app}` })).items;
}

async function rcs(): Promise<string[]> {
  const list = await c.admin.list(replicationControllerKind, { namespace: NS });
  return list.items.map((o) => o.metadata.name ?? '');
}

describe('garbage collector', () => {
  it("deletes a deleted ReplicationController's pods, running ones gracefully", async () => {
    await c.admin.create(replicationControllerKind, rcBody('web', 2), { namespace: NS });
    await waitFor(
      'two bound pods',
      () => podsLabelled('web'),
      (pods) => pods.length === 2 && pods.every((p) => p.spec.nodeName === 'n1'),
    );
    await c.admin.delete(replicationControllerKind, 'web', { namespace: NS });
    await waitFor(
      'the pods gone',
      () => podsLabelled('web'),
      (pods) => pods.length === 0,
    );
  });

  it('cascades through levels: a ReplicaSet owning a ReplicationController owning pods', async () => {
    const owner = await c.admin.create<ReplicaSet>(
      replicaSetKind,
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'top' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'top' } },
          template: {
            metadata: { labels: { app: 'top' } },
            spec: { containers: [{ name: 'app', image: 'busybox:1' }] },
          },
        },
      },
      { namespace: NS },
    );
    await c.admin.create(replicationControllerKind, rcBody('middle', 2, owner), {
      namespace: NS,
    });
    await waitFor(
      'two pods',
      () => podsLabelled('middle'),
      (pods) => pods.length === 2,
    );
    await c.admin.delete(replicaSetKind, 'top', { namespace: NS });
    await waitFor('the owned rc gone', rcs, (names) => !names.includes('middle'));
    await waitFor(
      'its pods gone',
      () => podsLabelled('middle'),
      (pods) => pods.length === 0,
    );
  });

  it('deletes an object whose owner never existed, and keeps one with a live owner left', async () => {
    const live = await c.admin.create<ReplicationController>(
      replicationControllerKind,
      rcBody('keeper', 0),
      { namespace: NS },
    );
    const dangling = podSpec('dangling');
    dangling.metadata.labels = { app: 'none' };
    dangling.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'ReplicationController', name: 'ghost', uid: 'no-such-uid' },
    ];
    const shared = podSpec('shared');
    shared.metadata.labels = { app: 'none' };
    shared.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'ReplicationController', name: 'keeper', uid: live.metadata.uid! },
      { apiVersion: 'v1', kind: 'ReplicationController', name: 'ghost', uid: 'no-such-uid' },
    ];
    await c.admin.create(podKind, dangling, { namespace: NS });
    await c.admin.create(podKind, shared, { namespace: NS });
    const left = await waitFor(
      'the dangling pod gone and the dangling reference dropped',
      () => podsLabelled('none'),
      (pods) =>
        pods.length === 1 &&
        pods[0]!.metadata.name === 'shared' &&
        pods[0]!.metadata.ownerReferences?.length === 1,
    );
    expect(left[0]!.metadata.ownerReferences?.[0]?.name).toBe('keeper');
  });

  it('orphans instead with propagationPolicy Orphan: the pods stay, released and not replaced', async () => {
    await c.admin.create(replicationControllerKind, rcBody('kept', 2), { namespace: NS });
    const pods = await waitFor(
      'two pods',
      () => podsLabelled('kept'),
      (p) => p.length === 2,
    );
    await c.admin.request(
      'DELETE',
      resourcePath(replicationControllerKind, { namespace: NS, name: 'kept' }),
      { body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Orphan' } },
    );
    expect(await rcs()).not.toContain('kept');
    const names = pods.map((p) => p.metadata.name).sort();
    await holdsFor(
      'the same two pods, without owners',
      async () => {
        const now = await podsLabelled('kept');
        return (
          JSON.stringify(now.map((p) => p.metadata.name).sort()) === JSON.stringify(names) &&
          now.every((p) => !p.metadata.ownerReferences && !p.metadata.deletionTimestamp)
        );
      },
      1500,
    );
    // A new controller with the same selector adopts them rather than making more.
    await c.admin.create(replicationControllerKind, rcBody('kept', 2), { namespace: NS });
    await waitFor(
      'the orphans adopted',
      () => podsLabelled('kept'),
      (now) => now.length === 2 && now.every((p) => p.metadata.ownerReferences?.length === 1),
    );
    expect((await podsLabelled('kept')).map((p) => p.metadata.name).sort()).toEqual(names);
  });

  it('refuses an unknown propagationPolicy', async () => {
    await expect(
      c.admin.request(
        'DELETE',
        resourcePath(replicationControllerKind, { namespace: NS, name: 'keeper' }),
        { query: { propagationPolicy: 'Sometimes' } },
      ),
    ).rejects.toThrow('invalid propagationPolicy "Sometimes"');
  });
});
