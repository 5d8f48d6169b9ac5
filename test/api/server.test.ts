import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../master/store/memory.js';
import type { KeyValue, ListResult, StoreEvent } from '../../master/store/types.js';
import { createLogger } from '../../src/util/logger.js';
import {
  Client,
  createProject,
  expectHealthy,
  expectStatus,
  pod,
  podsPath,
  startTestMaster,
  type TestMaster,
} from './helpers.js';

/** A store that fails or stalls on demand. */
class FaultyStore extends MemoryStore {
  failLists = false;
  createGate: Promise<void> | undefined;

  override list(prefix: string): Promise<ListResult> {
    if (this.failLists && prefix.includes('/configmaps/')) {
      return Promise.reject(new Error('disk I/O error at /var/lib/secret/state.db'));
    }
    return super.list(prefix);
  }

  override async create(key: string, value: string): Promise<KeyValue> {
    if (this.createGate) await this.createGate;
    return super.create(key, value);
  }
}

/** A store that counts the watches open on it. */
class CountingStore extends MemoryStore {
  open = 0;

  override watch(
    prefix: string,
    afterRevision: number,
    signal: AbortSignal,
  ): AsyncIterable<StoreEvent> {
    const inner = super.watch(prefix, afterRevision, signal);
    const count = (delta: number): void => {
      this.open += delta;
    };
    return {
      async *[Symbol.asyncIterator]() {
        count(1);
        try {
          yield* inner;
        } finally {
          count(-1);
        }
      },
    };
  }
}

async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let t: TestMaster | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('server', () => {
  it('answers unexpected failures with a 500 Status that leaks nothing', async () => {
    const store = new FaultyStore();
    t = await startTestMaster({ store });
    await createProject(t.admin, 'demo');
    store.failLists = true;
    const status = expectStatus(
      await t.admin.get('/api/v1/namespaces/demo/configmaps'),
      500,
      'InternalError',
    );
    expect(status.message).toMatch(/^Internal error occurred: .*request id [0-9a-f-]{36}/);
    expect(JSON.stringify(status)).not.toContain('/var/lib');
    await expectHealthy(t);
    expect((await t.admin.list(podsPath('demo'))).status).toBe(200);
  });

  it('logs failures and requests, never tokens', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'trace',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const store = new FaultyStore();
    t = await startTestMaster({ store, logger });
    await createProject(t.admin, 'demo');
    store.failLists = true;
    await t.admin.get('/api/v1/namespaces/demo/configmaps');
    await new Client(t.url, 'not-a-valid-token-but-secret').get('/api/v1/nodes');
    await t.join.get('/api/v1/namespaces/demo/secrets');
    const log = lines.join('');
    expect(log).toContain('unexpected error');
    expect(log).toContain('disk I/O error');
    expect(log).toContain('"status":403');
    for (const secret of [
      t.master.adminToken,
      t.master.joinToken,
      'not-a-valid-token-but-secret',
    ]) {
      expect(log).not.toContain(secret);
    }
  });

  it('ends the store watch when the client goes away', async () => {
    const store = new CountingStore();
    t = await startTestMaster({ store });
    await createProject(t.admin, 'demo');
    const watches = await Promise.all(
      [1, 2, 3].map(() => t!.admin.watch(`${podsPath('demo')}?watch=true`)),
    );
    await t.admin.post(podsPath('demo'), pod('a'));
    for (const w of watches) await w.take(1);
    expect(store.open).toBe(3);
    watches[0]!.close();
    await eventually(() => store.open === 2);
    watches[1]!.close();
    watches[2]!.close();
    await eventually(() => store.open === 0);
    await expectHealthy(t);
  });

  it('finishes requests in flight when closing, then refuses connections', async () => {
    const store = new FaultyStore();
    t = await startTestMaster({ store });
    await createProject(t.admin, 'demo');
    let release!: () => void;
    store.createGate = new Promise((resolve) => (release = resolve));
    const inFlight = t.admin.post(podsPath('demo'), pod('late'));
    await new Promise((r) => setTimeout(r, 50));
    const closing = t.master.close();
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect((await inFlight).status).toBe(201);
    await closing;
    await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
    expect(await store.get('/registry/core/pods/demo/late')).toBeDefined();
  });
});
