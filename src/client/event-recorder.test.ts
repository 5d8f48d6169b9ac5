import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ApiError, type ApiObject, type Event } from '../api/index.js';
import type { ApiClient } from './api-client.js';
import { EventRecorder } from './event-recorder.js';

interface Call {
  verb: 'create' | 'patch';
  namespace: string | undefined;
  name: string;
  body: Record<string, unknown>;
}

function fakeClient(options: { failCreate?: boolean; missing?: Set<string> } = {}) {
  const calls: Call[] = [];
  const client = {
    create: async (_def: unknown, obj: ApiObject, opts: { namespace?: string } = {}) => {
      await Promise.resolve();
      calls.push({
        verb: 'create',
        namespace: opts.namespace,
        name: obj.metadata.name ?? '',
        body: obj,
      });
      if (options.failCreate) throw new ApiError('Forbidden', 'events is forbidden');
      return obj;
    },
    patch: async (
      _def: unknown,
      name: string,
      body: Record<string, unknown>,
      opts: { namespace?: string } = {},
    ) => {
      await new Promise((r) => setTimeout(r, 1));
      calls.push({ verb: 'patch', namespace: opts.namespace, name, body });
      if (options.missing?.has(name)) throw ApiError.notFound('events', name);
      return { apiVersion: 'v1', kind: 'Event', metadata: { name } };
    },
  } as unknown as Pick<ApiClient, 'create' | 'patch'>;
  return { client, calls };
}

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { logger, lines };
}

const pod: ApiObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'demo', uid: 'u-1' },
};

describe('EventRecorder', () => {
  it('creates a Kubernetes-style Event in the object namespace', async () => {
    const { client, calls } = fakeClient();
    const t = new Date('2026-03-01T10:00:00.000Z');
    const recorder = new EventRecorder({
      client,
      component: 'agent',
      host: 'node-1',
      logger: pino({ level: 'silent' }),
      now: () => t,
    });
    recorder.event(pod, 'Normal', 'Started', 'Started container web');
    await recorder.flush();
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.namespace).toBe('demo');
    expect(call.name).toMatch(/^web-1\.[0-9a-f]+$/);
    const event = call.body as unknown as Event;
    expect(event).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: call.name, namespace: 'demo' },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        name: 'web-1',
        namespace: 'demo',
        uid: 'u-1',
      },
      reason: 'Started',
      message: 'Started container web',
      type: 'Normal',
      count: 1,
      firstTimestamp: '2026-03-01T10:00:00.000Z',
      lastTimestamp: '2026-03-01T10:00:00.000Z',
      source: { component: 'agent', host: 'node-1' },
    });
  });

  it('puts events of cluster-scoped objects in the default namespace', async () => {
    const { client, calls } = fakeClient();
    const recorder = new EventRecorder({
      client,
      component: 'node-controller',
      logger: pino({ level: 'silent' }),
    });
    recorder.warning(
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } },
      'NodeNotReady',
      'gone',
    );
    await recorder.flush();
    expect(calls[0]?.namespace).toBe('default');
    expect((calls[0]?.body as unknown as Event).involvedObject.namespace).toBeUndefined();
  });

  it('aggregates identical events within the window by patching count and lastTimestamp', async () => {
    const { client, calls } = fakeClient();
    let now = new Date('2026-03-01T10:00:00.000Z');
    const recorder = new EventRecorder({
      client,
      component: 'agent',
      logger: pino({ level: 'silent' }),
      now: () => now,
      aggregateWindowMs: 60_000,
    });
    // A burst: all three are serialized, so only the first creates.
    recorder.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    recorder.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    now = new Date('2026-03-01T10:00:30.000Z');
    recorder.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    recorder.event(pod, 'Normal', 'Pulled', 'pulled');
    await recorder.flush();
    expect(calls.map((c) => c.verb)).toEqual(['create', 'create', 'patch', 'patch']);
    const name = calls[0]!.name;
    expect(calls[2]).toMatchObject({ name, body: { count: 2 } });
    expect(calls[3]).toMatchObject({
      name,
      body: { count: 3, lastTimestamp: '2026-03-01T10:00:30.000Z' },
    });

    // Outside the window: a new Event.
    now = new Date('2026-03-01T10:05:00.000Z');
    recorder.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    await recorder.flush();
    expect(calls.at(-1)?.verb).toBe('create');
    expect(calls.at(-1)?.name).not.toBe(name);
  });

  it('creates a new Event when the aggregated one was deleted', async () => {
    const missing = new Set<string>();
    const { client, calls } = fakeClient({ missing });
    const recorder = new EventRecorder({
      client,
      component: 'agent',
      logger: pino({ level: 'silent' }),
    });
    recorder.event(pod, 'Normal', 'Pulled', 'pulled');
    await recorder.flush();
    missing.add(calls[0]!.name);
    recorder.event(pod, 'Normal', 'Pulled', 'pulled');
    await recorder.flush();
    expect(calls.map((c) => c.verb)).toEqual(['create', 'patch', 'create']);
  });

  it('forgets the least recently used events beyond the cache size', async () => {
    const { client, calls } = fakeClient();
    const recorder = new EventRecorder({
      client,
      component: 'agent',
      logger: pino({ level: 'silent' }),
      cacheSize: 2,
    });
    for (const reason of ['A', 'B', 'C', 'A']) recorder.event(pod, 'Normal', reason, 'm');
    await recorder.flush();
    expect(calls.map((c) => `${c.verb} ${(c.body as { reason?: string }).reason ?? ''}`)).toEqual([
      'create A',
      'create B',
      'create C',
      'create A',
    ]);
  });

  it('logs failures and never throws to the caller', async () => {
    const { client } = fakeClient({ failCreate: true });
    const { logger, lines } = memoryLogger();
    const recorder = new EventRecorder({ client, component: 'agent', logger });
    expect(() => recorder.event(pod, 'Normal', 'Started', 'x')).not.toThrow();
    await recorder.flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'could not record event',
      err: 'events is forbidden',
      name: 'web-1',
    });
  });

  it('keeps names and fields within the limits the server enforces', async () => {
    const { client, calls } = fakeClient();
    const recorder = new EventRecorder({
      client,
      component: 'agent',
      logger: pino({ level: 'silent' }),
    });
    const long = { ...pod, metadata: { ...pod.metadata, name: 'x'.repeat(253) } };
    recorder.event(long, 'Normal', 'R'.repeat(300), 'm'.repeat(5000));
    await recorder.flush();
    const event = calls[0]!.body as unknown as Event;
    expect(event.metadata.name!.length).toBeLessThanOrEqual(253);
    expect(event.reason.length).toBe(128);
    expect(event.message.length).toBe(4096);
  });
});
