import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, objectKey, type ApiObject } from '../api/index.js';
import { silentLogger } from '../util/logger.js';
import { NODE_NAME_INDEX, labelIndex, nodeNameIndex } from './indexers.js';
import { Informer, type InformerOptions } from './informer.js';
import { FakeClock, flush } from './testing/fake-clock.js';
import { FakeListWatcher } from './testing/fake-list-watcher.js';

const cm = (name: string, data: Record<string, string> = {}): ApiObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: 'ns', name },
  data,
});

const pod = (name: string, nodeName?: string, app = 'web'): ApiObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: 'ns', name, labels: { app } },
  spec: { containers: [{ name: 'c', image: 'i' }], ...(nodeName ? { nodeName } : {}) },
});

const rv = (o: ApiObject): string => o.metadata.resourceVersion ?? '?';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

function start(
  initial: ApiObject[] = [],
  options: Partial<InformerOptions<ApiObject>> = {},
  before?: (lw: FakeListWatcher) => void,
): {
  clock: FakeClock;
  lw: FakeListWatcher;
  informer: Informer;
  events: string[];
  abort: AbortController;
  done: Promise<void>;
} {
  const clock = new FakeClock();
  const lw = new FakeListWatcher(initial);
  before?.(lw);
  const informer = new Informer({
    name: 'test',
    listWatcher: lw,
    logger: silentLogger(),
    clock,
    ...options,
  });
  const events: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => events.push(`add ${objectKey(o)}@${rv(o)}`),
    onUpdate: (o, n) => events.push(`update ${objectKey(n)}@${rv(o)}->${rv(n)}`),
    onDelete: (o) => events.push(`delete ${objectKey(o)}@${rv(o)}`),
  });
  const abort = new AbortController();
  const done = informer.run(abort.signal);
  stop = async () => {
    abort.abort();
    await done;
  };
  return { clock, lw, informer, events, abort, done };
}

describe('Informer', () => {
  it('lists, syncs, then watches from the listing revision', async () => {
    const { lw, informer, events } = start([cm('a'), cm('b')]);
    expect(informer.hasSynced()).toBe(false);
    expect(await informer.waitForSync()).toBe(true);
    expect(events).toEqual(['add ns/a@1', 'add ns/b@2']);
    await flush();
    expect(lw.watchCalls).toEqual(['2']);
    expect(informer.get('ns/a')?.metadata.name).toBe('a');
    expect(informer.list().map(objectKey).sort()).toEqual(['ns/a', 'ns/b']);
    expect(informer.lastSyncResourceVersion).toBe('2');
  });

  it('delivers watch events as add, update and delete', async () => {
    const { lw, informer, events } = start([cm('a')]);
    await informer.waitForSync();
    await flush();
    lw.create(cm('b'));
    lw.update(cm('a', { k: 'v' }));
    lw.remove('ns/b');
    await flush();
    expect(events).toEqual(['add ns/a@1', 'add ns/b@2', 'update ns/a@1->3', 'delete ns/b@4']);
    expect(informer.get('ns/a')?.data).toEqual({ k: 'v' });
    expect(informer.get('ns/b')).toBeUndefined();
    expect(informer.lastSyncResourceVersion).toBe('4');
  });

  it('hands out frozen objects that callers cannot change', async () => {
    const { informer } = start([cm('a', { k: 'v' })]);
    await informer.waitForSync();
    const obj = informer.get('ns/a')!;
    expect(() => {
      (obj.data as Record<string, string>).k = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      obj.metadata.name = 'b';
    }).toThrow(TypeError);
    expect(informer.get('ns/a')?.data).toEqual({ k: 'v' });
  });

  it('re-watches from the last revision seen when a watch ends, without re-listing', async () => {
    const { lw, informer, events } = start([cm('a')]);
    await informer.waitForSync();
    await flush();
    lw.create(cm('b'));
    lw.endWatches();
    await flush();
    lw.create(cm('c'));
    await flush();
    expect(lw.listCalls).toBe(1);
    expect(lw.watchCalls).toEqual(['1', '2']);
    expect(events).toEqual(['add ns/a@1', 'add ns/b@2', 'add ns/c@3']);
  });

  it('resumes from a BOOKMARK revision', async () => {
    const { lw, informer } = start([cm('a')]);
    await informer.waitForSync();
    await flush();
    lw.revision = 7;
    lw.bookmark();
    await flush();
    expect(informer.lastSyncResourceVersion).toBe('7');
    lw.endWatches();
    await flush();
    expect(lw.watchCalls).toEqual(['1', '7']);
  });

  it('on 410 Gone re-lists and emits the differences as add, update and delete', async () => {
    const { clock, lw, informer, events } = start([cm('a'), cm('b'), cm('same')]);
    await informer.waitForSync();
    await flush();
    // The connection drops; while the informer backs off, changes happen and history is
    // compacted, so the informer's next watch is too old.
    lw.breakWatches(new Error('connection reset'));
    await flush();
    lw.create(cm('c'));
    lw.update(cm('a', { k: 'v' }));
    lw.remove('ns/b');
    lw.compact();
    events.length = 0;
    await clock.tick(800);
    expect(lw.watchCalls).toEqual(['3', '3', '6']);
    expect(lw.listCalls).toBe(2);
    expect(events).toEqual(['update ns/a@1->5', 'add ns/c@4', 'delete ns/b@2']);
    expect(informer.list().map(objectKey).sort()).toEqual(['ns/a', 'ns/c', 'ns/same']);
  });

  it('treats an ERROR event with a 410 Status as Gone', async () => {
    const { lw, informer, events } = start([cm('a')]);
    await informer.waitForSync();
    await flush();
    lw.expireWatches('event');
    await flush();
    expect(lw.listCalls).toBe(2);
    expect(lw.watchCalls).toEqual(['1', '1']);
    // Nothing changed: a re-list with the same revisions emits nothing.
    expect(events).toEqual(['add ns/a@1']);
  });

  it('re-lists when a thrown ApiError Gone ends the watch', async () => {
    const { lw, informer } = start([cm('a')]);
    await informer.waitForSync();
    await flush();
    lw.expireWatches('throw');
    await flush();
    expect(lw.listCalls).toBe(2);
  });

  it('backs off instead of spinning when watches keep failing with Gone', async () => {
    const { clock, lw, informer } = start([cm('a')], { backOff: { initialMs: 100 } });
    await informer.waitForSync();
    await flush();
    lw.failNextWatch(ApiError.gone('too old'));
    lw.failNextWatch(ApiError.gone('too old'));
    lw.expireWatches('throw');
    await flush();
    // The first Gone re-lists at once; Gone again straight after re-listing backs off.
    expect(lw.listCalls).toBe(2);
    await clock.tick(99);
    expect(lw.listCalls).toBe(2);
    await clock.tick(1);
    expect(lw.listCalls).toBe(3);
    await clock.tick(200);
    expect(lw.listCalls).toBe(4);
    expect(lw.openWatches).toBe(1);
  });

  it('retries failed lists with exponential back-off', async () => {
    const { clock, lw, informer } = start(
      [cm('a')],
      { backOff: { initialMs: 100, maxMs: 250 } },
      (lw) => {
        for (let i = 0; i < 3; i++) lw.failNextList(new ApiError('ServiceUnavailable', 'down'));
      },
    );
    await flush();
    expect(lw.listCalls).toBe(1);
    await clock.tick(99);
    expect(lw.listCalls).toBe(1);
    await clock.tick(1);
    expect(lw.listCalls).toBe(2);
    await clock.tick(199);
    expect(lw.listCalls).toBe(2);
    await clock.tick(1);
    expect(lw.listCalls).toBe(3);
    await clock.tick(249);
    expect(lw.listCalls).toBe(3);
    await clock.tick(1);
    expect(lw.listCalls).toBe(4);
    expect(informer.hasSynced()).toBe(true);
  });

  it('backs off and re-watches from the same revision after other watch errors', async () => {
    const { clock, lw, informer } = start([cm('a')], { backOff: { initialMs: 100 } });
    await informer.waitForSync();
    await flush();
    lw.breakWatches(new Error('connection reset'));
    await flush();
    expect(lw.watchCalls).toEqual(['1']);
    await clock.tick(100);
    expect(lw.watchCalls).toEqual(['1', '1']);
    expect(lw.listCalls).toBe(1);
  });

  it('treats an ERROR event with another Status as a failure, not Gone', async () => {
    const { clock, lw, informer } = start([cm('a')], { backOff: { initialMs: 100 } });
    await informer.waitForSync();
    await flush();
    lw.sendErrorEvent(new ApiError('InternalError', 'boom'));
    await flush();
    expect(lw.watchCalls).toEqual(['1']);
    await clock.tick(100);
    expect(lw.watchCalls).toEqual(['1', '1']);
    expect(lw.listCalls).toBe(1);
  });

  it('backs off when watches end at once without events', async () => {
    const { clock, lw, informer } = start([], { backOff: { initialMs: 100 } });
    await informer.waitForSync();
    await flush();
    lw.endWatches();
    await flush();
    expect(lw.watchCalls).toEqual(['0']);
    await clock.tick(100);
    expect(lw.watchCalls).toEqual(['0', '0']);
  });

  it('re-delivers cached objects as updates on resync', async () => {
    const { clock, informer, events } = start([cm('a'), cm('b')], { resyncPeriodMs: 1000 });
    await informer.waitForSync();
    events.length = 0;
    await clock.tick(999);
    expect(events).toEqual([]);
    await clock.tick(1);
    expect(events).toEqual(['update ns/a@1->1', 'update ns/b@2->2']);
    await clock.tick(1000);
    expect(events).toHaveLength(4);
  });

  it('maintains indexes through adds, updates and deletes', async () => {
    const { lw, informer } = start([pod('p1', 'n1'), pod('p2', 'n2', 'db')]);
    informer.addIndex(NODE_NAME_INDEX, nodeNameIndex);
    await informer.waitForSync();
    informer.addIndex('app', labelIndex('app'));
    const names = (index: string, value: string): string[] =>
      informer.byIndex(index, value).map((o) => o.metadata.name!);
    expect(names(NODE_NAME_INDEX, 'n1')).toEqual(['p1']);
    expect(names('app', 'web')).toEqual(['p1']);
    await flush();
    lw.create(pod('p3', 'n1'));
    lw.create(pod('p0'));
    lw.update(pod('p2', 'n1', 'db'));
    await flush();
    expect(names(NODE_NAME_INDEX, 'n1')).toEqual(['p1', 'p2', 'p3']);
    expect(names(NODE_NAME_INDEX, 'n2')).toEqual([]);
    expect(names('app', 'web')).toEqual(['p0', 'p1', 'p3']);
    lw.remove('ns/p1');
    await flush();
    expect(names(NODE_NAME_INDEX, 'n1')).toEqual(['p2', 'p3']);
    expect(informer.indexKeys('app', 'db')).toEqual(['ns/p2']);
    expect(() => informer.byIndex('nope', 'x')).toThrow(/no index named "nope"/);
  });

  it('replays the cache to handlers added late, and stops calling removed ones', async () => {
    const { lw, informer } = start([cm('a')]);
    await informer.waitForSync();
    await flush();
    const seen: string[] = [];
    const remove = informer.addEventHandler({ onAdd: (o) => seen.push(objectKey(o)) });
    expect(seen).toEqual(['ns/a']);
    remove();
    lw.create(cm('b'));
    await flush();
    expect(seen).toEqual(['ns/a']);
  });

  it('keeps going when a handler throws', async () => {
    const { lw, informer, events } = start();
    informer.addEventHandler({
      onAdd: () => {
        throw new Error('bad handler');
      },
    });
    await informer.waitForSync();
    await flush();
    lw.create(cm('a'));
    lw.create(cm('b'));
    await flush();
    expect(events).toEqual(['add ns/a@1', 'add ns/b@2']);
  });

  it('stops on abort; waitForSync answers false when aborted first', async () => {
    const clock = new FakeClock();
    const lw = new FakeListWatcher([cm('a')]);
    lw.failNextList(new Error('down'));
    const informer = new Informer({ name: 't', listWatcher: lw, logger: silentLogger(), clock });
    const abort = new AbortController();
    const done = informer.run(abort.signal);
    const waiter = new AbortController();
    const waiting = informer.waitForSync(waiter.signal);
    waiter.abort();
    expect(await waiting).toBe(false);
    const later = informer.waitForSync();
    abort.abort();
    await done;
    expect(await later).toBe(false);
    expect(lw.openWatches).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('closes its watch and timers on abort after syncing', async () => {
    const { clock, lw, informer, abort, done } = start([cm('a')], { resyncPeriodMs: 1000 });
    await informer.waitForSync();
    await flush();
    expect(lw.openWatches).toBe(1);
    abort.abort();
    await done;
    expect(lw.openWatches).toBe(0);
    expect(clock.pending()).toBe(0);
    await expect(informer.run(abort.signal)).resolves.toBeUndefined();
  });
});
