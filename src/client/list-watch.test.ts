import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ApiError,
  configMapKind,
  type ApiList,
  type ApiObject,
  type WatchEvent,
} from '../api/index.js';
import { ApiClient } from './api-client.js';
import { listAndWatch, type ListWatchEvent } from './list-watch.js';
import { FakeApiServer } from './testing/fake-api-server.js';

const cm = (name: string): ApiObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: {},
});

function describeEvent(e: ListWatchEvent<ApiObject>): string {
  return e.type === 'SYNC'
    ? `SYNC ${e.items.map((i) => i.metadata.name).join(',')}`
    : `${e.type} ${e.object.metadata.name}`;
}

describe('listAndWatch', () => {
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

  it('lists, watches, resumes after the stream ends and re-lists after 410 Gone', async () => {
    await client.create(configMapKind, cm('a'), { namespace: 'ns' });
    const controller = new AbortController();
    const seen: string[] = [];
    let step = 0;
    const steps: (() => Promise<void>)[] = [
      // after SYNC a
      async () => {
        await client.create(configMapKind, cm('b'), { namespace: 'ns' });
      },
      // after ADDED b: end the stream; the helper must resume from b's revision, not repeat b
      async () => {
        server.endWatches();
        await new Promise((r) => setTimeout(r, 50));
        await client.create(configMapKind, cm('c'), { namespace: 'ns' });
      },
      // after ADDED c: expire; the helper must re-list
      async () => {
        server.expireWatches();
        await new Promise((r) => setTimeout(r, 50));
      },
      // after SYNC a,b,c
      async () => {
        await client.delete(configMapKind, 'a', { namespace: 'ns' });
      },
      async () => {
        controller.abort();
      },
    ];
    for await (const event of listAndWatch(client, configMapKind, {
      namespace: 'ns',
      signal: controller.signal,
    })) {
      seen.push(describeEvent(event));
      await steps[step++]?.();
    }
    expect(seen).toEqual(['SYNC a', 'ADDED b', 'ADDED c', 'SYNC a,b,c', 'DELETED a']);
    const watches = server.requests.filter((r) => r.query.get('watch') === 'true');
    expect(watches.length).toBeGreaterThanOrEqual(3);
  });

  it('throws other errors unless asked to retry, then retries with back-off', async () => {
    let lists = 0;
    const flaky = {
      list: async (): Promise<ApiList> => {
        lists++;
        if (lists < 3) throw new ApiError('ServiceUnavailable', 'down');
        return {
          apiVersion: 'v1',
          kind: 'ConfigMapList',
          metadata: { resourceVersion: '7' },
          items: [],
        };
      },
      // eslint-disable-next-line require-yield
      watch: async function* (): AsyncGenerator<WatchEvent> {
        await new Promise((r) => setTimeout(r, 5_000));
      },
    } as unknown as ApiClient;

    const once = listAndWatch(flaky, configMapKind, { namespace: 'ns' });
    await expect(once.next()).rejects.toMatchObject({ reason: 'ServiceUnavailable' });

    lists = 0;
    const errors: unknown[] = [];
    const controller = new AbortController();
    const it = listAndWatch(flaky, configMapKind, {
      namespace: 'ns',
      retry: true,
      minDelayMs: 1,
      onError: (e) => errors.push(e),
      signal: controller.signal,
    });
    const first = await it.next();
    expect(first.value).toMatchObject({ type: 'SYNC', resourceVersion: '7' });
    expect(errors).toHaveLength(2);
    controller.abort();
  });
});
