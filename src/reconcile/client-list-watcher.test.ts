import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configMapKind, objectKey, type ApiObject } from '../api/index.js';
import { ApiClient } from '../client/index.js';
import { FakeApiServer } from '../client/testing/fake-api-server.js';
import { silentLogger } from '../util/logger.js';
import { clientListWatcher } from './client-list-watcher.js';
import { Informer } from './informer.js';

const cm = (name: string): ApiObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: 'ns', name },
  data: {},
});

describe('clientListWatcher', () => {
  let server: FakeApiServer;
  let client: ApiClient;

  beforeEach(async () => {
    server = new FakeApiServer();
    await server.start();
    client = new ApiClient({ server: server.url, token: 'secret-token' });
  });
  afterEach(async () => {
    await server.close();
  });

  it('feeds an informer from the API: list, watch, and re-list after 410 Gone', async () => {
    server.seed(cm('a'));
    const informer = new Informer({
      name: 'configmaps',
      listWatcher: clientListWatcher(client, configMapKind, { namespace: 'ns' }),
      logger: silentLogger(),
    });
    // Resolves `until` promises from event handlers, so the test waits on events, not time.
    const waiters: { check: () => boolean; resolve: () => void }[] = [];
    const until = (check: () => boolean): Promise<void> =>
      check() ? Promise.resolve() : new Promise((resolve) => waiters.push({ check, resolve }));
    const wake = (): void => {
      for (const w of [...waiters]) {
        if (w.check()) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    };
    informer.addEventHandler({ onAdd: wake, onUpdate: wake, onDelete: wake });
    const lists = (): number =>
      server.requests.filter((r) => r.method === 'GET' && !r.query.has('watch')).length;

    const abort = new AbortController();
    const done = informer.run(abort.signal);
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.list().map(objectKey)).toEqual(['ns/a']);

    server.seed(cm('b'));
    await until(() => informer.get('ns/b') !== undefined);

    server.expireWatches();
    // Write again only once the informer has re-listed: the fake server keeps an ended watch
    // registered until its connection closes.
    while (lists() < 2) await new Promise((resolve) => setImmediate(resolve));
    server.seed(cm('c'));
    await until(() => informer.get('ns/c') !== undefined);
    await client.delete(configMapKind, 'a', { namespace: 'ns' });
    await until(() => informer.get('ns/a') === undefined);
    expect(lists()).toBe(2);
    expect(informer.list().map(objectKey).sort()).toEqual(['ns/b', 'ns/c']);

    abort.abort();
    await done;
  });
});
