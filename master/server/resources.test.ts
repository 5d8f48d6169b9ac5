import { describe, expect, it } from 'vitest';
import { builtinKinds, configMapKind, nodeKind } from '../../src/api/kinds/index.js';
import type { ApiObject, WatchEvent } from '../../src/api/meta.js';
import { MemoryStore } from '../store/memory.js';
import { objectKey } from './keys.js';
import { ResourceStore } from './resources.js';

function setup() {
  const store = new MemoryStore();
  const resources = new ResourceStore({
    store,
    registry: builtinKinds(),
    now: () => new Date('2024-05-06T07:08:09.123Z'),
  });
  return { store, resources };
}

const node = (name: string, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, ...(labels ? { labels } : {}) },
});

describe('ResourceStore', () => {
  it('stores objects under kine-style keys, without resourceVersion', async () => {
    const { store, resources } = setup();
    const created = await resources.create(nodeKind, undefined, node('n1'));
    expect(objectKey(nodeKind, undefined, 'n1')).toBe('/registry/core/nodes/n1');
    expect(objectKey(configMapKind, 'ns', 'c')).toBe('/registry/core/configmaps/ns/c');
    const kv = (await store.get('/registry/core/nodes/n1'))!;
    expect((JSON.parse(kv.value) as ApiObject).metadata.resourceVersion).toBeUndefined();
    expect(created.metadata.resourceVersion).toBe(String(kv.modRevision));
    expect(created.metadata.creationTimestamp).toBe('2024-05-06T07:08:09Z');
  });

  it('gives exactly one of many concurrent writers with the same resourceVersion a success', async () => {
    const { resources } = setup();
    const created = await resources.create(nodeKind, undefined, node('n1'));
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        resources.update(nodeKind, undefined, 'n1', {
          ...created,
          metadata: { ...created.metadata, labels: { i: String(i) } },
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const conflicts = results.filter(
      (r) => r.status === 'rejected' && (r.reason as { reason?: string }).reason === 'Conflict',
    );
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(49);
  });

  it('retries unconditional updates and patches instead of failing on conflicts', async () => {
    const { resources } = setup();
    await resources.create(nodeKind, undefined, node('n1'));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        resources.patch(nodeKind, undefined, 'n1', 'merge', {
          metadata: { labels: { [`k${i}`]: 'v' } },
        }),
      ),
    );
    const got = await resources.get(nodeKind, undefined, 'n1');
    expect(Object.keys(got.metadata.labels ?? {})).toHaveLength(20);
  });

  it('maps a compacted watch revision to Gone before streaming', async () => {
    const { store, resources } = setup();
    await resources.create(nodeKind, undefined, node('a'));
    await resources.create(nodeKind, undefined, node('b'));
    await store.compact(2);
    const ac = new AbortController();
    await expect(
      resources.watch(nodeKind, undefined, { resourceVersion: '1' }, ac.signal),
    ).rejects.toMatchObject({
      reason: 'Gone',
      message: 'too old resource version: 1 (2)',
    });
    await expect(
      resources.watch(nodeKind, undefined, { resourceVersion: '2' }, ac.signal),
    ).resolves.toBeDefined();
    ac.abort();
  });

  it('reports watch progress for bookmarks, including filtered events', async () => {
    const { resources } = setup();
    const ac = new AbortController();
    const watch = await resources.watch(nodeKind, undefined, { labelSelector: 'keep' }, ac.signal);
    expect(watch.progress()).toBeUndefined();
    const it = watch[Symbol.asyncIterator]();
    const seen: WatchEvent[] = [];
    const next = it.next().then((r) => seen.push(r.value as WatchEvent));
    await resources.create(nodeKind, undefined, node('skip'));
    await resources.create(nodeKind, undefined, node('kept', { keep: 'y' }));
    await next;
    expect(seen.map((e) => e.object.metadata.name)).toEqual(['kept']);
    expect(watch.progress()).toBe(1);
    const after = it.next();
    await new Promise((r) => setImmediate(r));
    expect(watch.progress()).toBe(2);
    ac.abort();
    await after;
  });
});
