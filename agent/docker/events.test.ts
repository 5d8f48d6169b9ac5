import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import { runtimeEvents, toRuntimeEvent, type RuntimeEvent } from './events.js';
import { LABELS } from './labels.js';

const engineEvent = (action: string, id: string, attrs: Record<string, string> = {}): string =>
  `${JSON.stringify({
    Type: 'container',
    Action: action,
    Actor: {
      ID: id,
      Attributes: {
        [LABELS.podUid]: 'u1',
        [LABELS.containerName]: 'app',
        [LABELS.podName]: 'web',
        ...attrs,
      },
    },
    time: 1700000000,
  }).replace(/}$/, ',"timeNano":1700000000123456789}')}\n`;

describe('toRuntimeEvent', () => {
  it('keeps lifecycle actions with pod labels and the exit code', () => {
    expect(toRuntimeEvent(JSON.parse(engineEvent('die', 'c1', { exitCode: '137' })))).toEqual({
      type: 'die',
      time: 1700000000123,
      containerId: 'c1',
      podUid: 'u1',
      podName: 'web',
      containerName: 'app',
      exitCode: 137,
    });
    expect(toRuntimeEvent(JSON.parse(engineEvent('exec_start: sh', 'c1')))).toBeUndefined();
    expect(toRuntimeEvent({ Type: 'network', Action: 'connect' })).toBeUndefined();
    expect(toRuntimeEvent('nonsense')).toBeUndefined();
  });
});

describe('runtimeEvents', () => {
  it('reconnects after failures and stream ends, then asks for a resync', async () => {
    const ac = new AbortController();
    const streams: PassThrough[] = [];
    let attempts = 0;
    const connect = async (): Promise<NodeJS.ReadableStream> => {
      attempts++;
      if (attempts === 2)
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const s = new PassThrough();
      streams.push(s);
      return s;
    };
    const events = runtimeEvents({
      connect,
      signal: ac.signal,
      logger: silentLogger(),
      minBackoffMs: 1,
      maxBackoffMs: 4,
      now: () => 42,
    });
    const it = events[Symbol.asyncIterator]();

    const first = it.next();
    await new Promise((r) => setTimeout(r, 5));
    // A JSON object split across chunks, then an irrelevant event, then one more.
    const line = engineEvent('start', 'c1');
    streams[0]!.write(line.slice(0, 20));
    streams[0]!.write(line.slice(20) + engineEvent('exec_create', 'c1'));
    expect((await first).value).toMatchObject({ type: 'start', containerId: 'c1' });

    // The engine goes away: the stream ends, one connect fails, the next succeeds.
    streams[0]!.end();
    const resync = await it.next();
    expect(resync.value).toEqual({ type: 'resync', time: 42 } satisfies RuntimeEvent);
    expect(attempts).toBe(3);
    streams[1]!.write(engineEvent('oom', 'c2'));
    expect((await it.next()).value).toMatchObject({ type: 'oom', containerId: 'c2' });

    const pending = it.next();
    ac.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(streams[1]!.destroyed).toBe(true);
  });

  it('ends at once when aborted while the engine is unreachable', async () => {
    const ac = new AbortController();
    const connect = async (): Promise<NodeJS.ReadableStream> => {
      throw new Error('down');
    };
    const it = runtimeEvents({
      connect,
      signal: ac.signal,
      logger: silentLogger(),
      minBackoffMs: 10_000,
    })[Symbol.asyncIterator]();
    const pending = it.next();
    setTimeout(() => ac.abort(), 10);
    expect(await pending).toEqual({ done: true, value: undefined });
  });
});
