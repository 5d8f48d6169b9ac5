import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, type Status } from '../../src/api/errors.js';
import type { WatchEvent } from '../../src/api/meta.js';
import { silentLogger } from '../../src/util/logger.js';
import type { ObjectWatch } from './resources.js';
import { ActiveWatches, streamWatch } from './watch-stream.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

function fakeWatch(events: WatchEvent[], end: 'throw-gone' | 'throw-other' | 'hang'): ObjectWatch {
  return {
    progress: () => 7,
    async *[Symbol.asyncIterator]() {
      for (const ev of events) yield ev;
      if (end === 'throw-gone') throw new ApiError('Gone', 'too old resource version: 3 (5)');
      if (end === 'throw-other') throw new Error('disk on fire at /secret/path');
      await new Promise(() => undefined);
    },
  };
}

async function serve(
  watch: ObjectWatch,
  watches = new ActiveWatches(),
  bookmarkIntervalMs = 0,
): Promise<string> {
  server = createServer((_req, res) => {
    const controller = new AbortController();
    watches.add(controller);
    void streamWatch(res, watch, controller, {
      timeoutMs: 5000,
      bookmarkIntervalMs,
      apiVersion: 'v1',
      kind: 'Pod',
      logger: silentLogger(),
    }).finally(() => watches.delete(controller));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const added: WatchEvent = {
  type: 'ADDED',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', resourceVersion: '4' } },
};

describe('streamWatch', () => {
  it('sends a failure after the headers as an ERROR event with a Status', async () => {
    const url = await serve(fakeWatch([added], 'throw-gone'));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual(added);
    expect(lines[1]).toMatchObject({
      type: 'ERROR',
      object: {
        kind: 'Status',
        code: 410,
        reason: 'Gone',
        message: 'too old resource version: 3 (5)',
      },
    });
  });

  it('does not leak unexpected errors into the stream', async () => {
    const url = await serve(fakeWatch([], 'throw-other'));
    const text = await (await fetch(url)).text();
    const event = JSON.parse(text.trim()) as WatchEvent<Status>;
    expect(event.type).toBe('ERROR');
    expect(event.object.code).toBe(500);
    expect(text).not.toContain('/secret/path');
  });

  it('ends streams when aborted, and sends bookmarks', async () => {
    const watches = new ActiveWatches();
    const url = await serve(fakeWatch([added], 'hang'), watches, 20);
    const res = await fetch(url);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('BOOKMARK')) {
      const chunk = (await reader.read()) as { value?: Uint8Array };
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toContain('"resourceVersion":"7"');
    expect(watches.size).toBe(1);
    watches.abortAll();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    expect(watches.size).toBe(0);
  });
});
