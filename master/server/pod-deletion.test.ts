import { describe, expect, it } from 'vitest';
import { type Pod } from '../../src/api/index.js';
import { builtinKinds, podKind } from '../../src/api/kinds/index.js';
import type { WatchEvent } from '../../src/api/meta.js';
import { MemoryStore } from '../store/memory.js';
import { podDeletionGracePeriod, registerPodDeletion } from './pod-deletion.js';
import { ResourceStore } from './resources.js';

const NOW = Date.parse('2024-05-06T07:08:09.123Z');

function setup() {
  const clock = { now: NOW };
  const resources = new ResourceStore({
    store: new MemoryStore(),
    registry: builtinKinds(),
    now: () => new Date(clock.now),
  });
  registerPodDeletion(resources);
  const create = async (
    name: string,
    spec: Partial<Pod['spec']> = { nodeName: 'n1' },
    phase?: string,
  ): Promise<Pod> => {
    const created = (await resources.create(podKind, 'ns', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: [{ name: 'app', image: 'img' }], ...spec },
    })) as Pod;
    if (!phase) return created;
    return (await resources.update(
      podKind,
      'ns',
      name,
      { ...created, status: { phase } },
      'status',
    )) as Pod;
  };
  const exists = async (name: string): Promise<boolean> =>
    resources.get(podKind, 'ns', name).then(
      () => true,
      () => false,
    );
  return { resources, clock, create, exists };
}

describe('podDeletionGracePeriod', () => {
  const pod = (spec: Partial<Pod['spec']>, phase?: 'Running' | 'Failed' | 'Succeeded'): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'a', image: 'i' }], ...spec },
    ...(phase ? { status: { phase } } : {}),
  });

  it("takes the request's grace, else the pod's, else 30", () => {
    expect(
      podDeletionGracePeriod(pod({ nodeName: 'n', terminationGracePeriodSeconds: 5 }), 7),
    ).toBe(7);
    expect(
      podDeletionGracePeriod(pod({ nodeName: 'n', terminationGracePeriodSeconds: 5 }), undefined),
    ).toBe(5);
    expect(podDeletionGracePeriod(pod({ nodeName: 'n' }), undefined)).toBe(30);
    expect(podDeletionGracePeriod(pod({ nodeName: 'n' }), 0)).toBe(0);
  });

  it('is 0 for a pod no node runs: unbound, Succeeded or Failed', () => {
    expect(podDeletionGracePeriod(pod({ terminationGracePeriodSeconds: 5 }), undefined)).toBe(0);
    expect(podDeletionGracePeriod(pod({ nodeName: 'n' }, 'Succeeded'), 10)).toBe(0);
    expect(podDeletionGracePeriod(pod({ nodeName: 'n' }, 'Failed'), 10)).toBe(0);
    expect(podDeletionGracePeriod(pod({ nodeName: 'n' }, 'Running'), 10)).toBe(10);
  });
});

describe('graceful pod deletion', () => {
  it('marks a bound pod terminating (a watch sees MODIFIED), and its confirmation removes it', async () => {
    const { resources, create, exists } = setup();
    const created = await create('web', { nodeName: 'n1', terminationGracePeriodSeconds: 20 });
    const ac = new AbortController();
    const watch = await resources.watch(
      podKind,
      'ns',
      { resourceVersion: created.metadata.resourceVersion },
      ac.signal,
    );
    const marked = (await resources.delete(podKind, 'ns', 'web')) as Pod;
    expect(marked.metadata).toMatchObject({
      deletionTimestamp: '2024-05-06T07:08:29Z',
      deletionGracePeriodSeconds: 20,
      generation: 2,
    });
    expect(await exists('web')).toBe(true);

    const gone = await resources.delete(podKind, 'ns', 'web', {
      gracePeriodSeconds: 0,
      preconditions: { uid: created.metadata.uid },
    });
    expect(gone.metadata.deletionTimestamp).toBe('2024-05-06T07:08:29Z');
    expect(await exists('web')).toBe(false);

    const events: WatchEvent[] = [];
    for await (const ev of watch) {
      events.push(ev);
      if (events.length === 2) break;
    }
    ac.abort();
    expect(events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
    expect(events[0]!.object.metadata.deletionGracePeriodSeconds).toBe(20);
  });

  it('uses the grace period the request asks for', async () => {
    const { resources, create } = setup();
    await create('web');
    const marked = await resources.delete(podKind, 'ns', 'web', { gracePeriodSeconds: 3 });
    expect(marked.metadata.deletionTimestamp).toBe('2024-05-06T07:08:12Z');
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(3);
  });

  it('deletes at once what no node would confirm, and with grace 0', async () => {
    const { resources, create, exists } = setup();
    await create('unbound', {});
    await create('done', { nodeName: 'n1' }, 'Succeeded');
    await create('failed', { nodeName: 'n1' }, 'Failed');
    await create('forced');
    for (const name of ['unbound', 'done', 'failed']) {
      await resources.delete(podKind, 'ns', name);
      expect(await exists(name), name).toBe(false);
    }
    await resources.delete(podKind, 'ns', 'forced', { gracePeriodSeconds: 0 });
    expect(await exists('forced')).toBe(false);
  });

  it('lets a second DELETE shorten the grace period, never lengthen it', async () => {
    const { resources, clock, create, exists } = setup();
    await create('web', { nodeName: 'n1', terminationGracePeriodSeconds: 30 });
    const first = await resources.delete(podKind, 'ns', 'web');
    expect(first.metadata.deletionTimestamp).toBe('2024-05-06T07:08:39Z');
    clock.now += 5_000;

    // Longer, or no grace at all: nothing changes (no new revision).
    for (const options of [{ gracePeriodSeconds: 60 }, {}, { gracePeriodSeconds: 30 }]) {
      const again = await resources.delete(podKind, 'ns', 'web', options);
      expect(again.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
      expect(again.metadata.deletionGracePeriodSeconds).toBe(30);
    }
    // Shorter: the deadline moves back by the difference, counted from the first DELETE.
    const shorter = await resources.delete(podKind, 'ns', 'web', { gracePeriodSeconds: 10 });
    expect(shorter.metadata).toMatchObject({
      deletionTimestamp: '2024-05-06T07:08:19Z',
      deletionGracePeriodSeconds: 10,
      generation: 2,
    });
    // 0 deletes at once.
    await resources.delete(podKind, 'ns', 'web', { gracePeriodSeconds: 0 });
    expect(await exists('web')).toBe(false);
  });

  it('checks the uid precondition, and refuses to confirm a pod that is not terminating', async () => {
    const { resources, create, exists } = setup();
    const created = await create('web');
    await expect(
      resources.delete(podKind, 'ns', 'web', {
        gracePeriodSeconds: 0,
        preconditions: { uid: 'another' },
      }),
    ).rejects.toMatchObject({ reason: 'Conflict' });
    await expect(
      resources.delete(podKind, 'ns', 'web', {
        gracePeriodSeconds: 0,
        preconditions: { uid: created.metadata.uid },
        onlyTerminating: true,
      }),
    ).rejects.toMatchObject({
      reason: 'Forbidden',
      message: 'pods "web" is forbidden: it is not terminating, so there is no deletion to confirm',
    });
    expect(await exists('web')).toBe(true);
  });

  it('keeps deletionTimestamp and deletionGracePeriodSeconds server-owned', async () => {
    const { resources, create } = setup();
    const created = (await resources.create(podKind, 'ns', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'sneaky',
        deletionTimestamp: '2020-01-01T00:00:00Z',
        deletionGracePeriodSeconds: 1,
      },
      spec: { containers: [{ name: 'app', image: 'img' }], nodeName: 'n1' },
    })) as Pod;
    expect(created.metadata.deletionTimestamp).toBeUndefined();
    expect(created.metadata.deletionGracePeriodSeconds).toBeUndefined();

    await create('web');
    const marked = await resources.delete(podKind, 'ns', 'web');
    const updated = await resources.patch(podKind, 'ns', 'web', 'merge', {
      metadata: { deletionTimestamp: null, deletionGracePeriodSeconds: 100, labels: { a: 'b' } },
    });
    expect(updated.metadata).toMatchObject({
      deletionTimestamp: marked.metadata.deletionTimestamp,
      deletionGracePeriodSeconds: 30,
      labels: { a: 'b' },
    });
  });
});
