import { describe, expect, it } from 'vitest';
import type { ApiObject } from '../api/index.js';
import { enqueueControllerOwner, enqueueObject } from './handlers.js';
import { controllerUidIndex, namespaceIndex, ownerUidIndex } from './indexers.js';
import { WorkQueue } from './work-queue.js';

const owned = (
  name: string,
  owner?: { kind: string; name: string; controller?: boolean },
): ApiObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    namespace: 'ns',
    name,
    ownerReferences: owner ? [{ apiVersion: 'v1', uid: `uid-${owner.name}`, ...owner }] : undefined,
  },
});

async function drain(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  queue.shutDown();
  for (let key = await queue.get(); key !== undefined; key = await queue.get()) keys.push(key);
  return keys;
}

describe('event handlers', () => {
  it('enqueueObject adds the object key on every event', async () => {
    const queue = new WorkQueue();
    const h = enqueueObject(queue);
    h.onAdd!(owned('a'));
    h.onUpdate!(owned('b'), owned('b'));
    h.onDelete!(owned('c'));
    expect(await drain(queue)).toEqual(['ns/a', 'ns/b', 'ns/c']);
  });

  it('enqueueControllerOwner adds the controller owner of the given kind, old and new', async () => {
    const queue = new WorkQueue();
    const h = enqueueControllerOwner(queue, 'ReplicationController');
    h.onAdd!(owned('p1', { kind: 'ReplicationController', name: 'web-1', controller: true }));
    h.onAdd!(owned('p2', { kind: 'ReplicationController', name: 'not-controller' }));
    h.onAdd!(owned('p3', { kind: 'Build', name: 'b', controller: true }));
    h.onAdd!(owned('p4'));
    h.onUpdate!(
      owned('p5', { kind: 'ReplicationController', name: 'web-2', controller: true }),
      owned('p5', { kind: 'ReplicationController', name: 'web-3', controller: true }),
    );
    h.onDelete!(owned('p6', { kind: 'ReplicationController', name: 'web-4', controller: true }));
    expect(await drain(queue)).toEqual(['ns/web-1', 'ns/web-2', 'ns/web-3', 'ns/web-4']);
  });
});

describe('index functions', () => {
  it('index by owner uid, controller uid and namespace', () => {
    const obj = owned('p', { kind: 'ReplicationController', name: 'rc', controller: true });
    expect(ownerUidIndex(obj)).toEqual(['uid-rc']);
    expect(controllerUidIndex(obj)).toBe('uid-rc');
    expect(controllerUidIndex(owned('q', { kind: 'X', name: 'x' }))).toBeUndefined();
    expect(namespaceIndex(obj)).toBe('ns');
  });
});
