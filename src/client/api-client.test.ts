import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, configMapKind, nodeKind, podKind, type ApiObject } from '../api/index.js';
import { ApiClient, ConnectionError, errorFromResponse } from './api-client.js';
import { FakeApiServer } from './testing/fake-api-server.js';

const cm = (
  name: string,
  data: Record<string, string> = { a: '1' },
  labels?: Record<string, string>,
): ApiObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: labels ? { name, labels } : { name },
  data,
});

describe('ApiClient', () => {
  let server: FakeApiServer;
  let client: ApiClient;

  beforeEach(async () => {
    server = new FakeApiServer();
    await server.start();
    client = new ApiClient({ server: `${server.url}/`, token: 'secret-token' });
  });
  afterEach(async () => {
    await server.close();
  });

  it('creates, gets, lists, updates, patches and deletes', async () => {
    const created = await client.create(configMapKind, cm('one'), { namespace: 'ns1' });
    expect(created.metadata.namespace).toBe('ns1');
    expect(created.metadata.resourceVersion).toBeDefined();
    await client.create(configMapKind, {
      ...cm('two', {}, { app: 'x' }),
      metadata: { name: 'two', namespace: 'ns1', labels: { app: 'x' } },
    });

    const got = await client.get(configMapKind, 'one', { namespace: 'ns1' });
    expect(got.data).toEqual({ a: '1' });

    const list = await client.list(configMapKind, { namespace: 'ns1' });
    expect(list.items.map((i) => i.metadata.name)).toEqual(['one', 'two']);
    expect(list.metadata.resourceVersion).toBe(server.currentRevision());
    const labelled = await client.list(configMapKind, { namespace: 'ns1', labelSelector: 'app=x' });
    expect(labelled.items.map((i) => i.metadata.name)).toEqual(['two']);
    expect(server.requests.at(-1)?.query.get('labelSelector')).toBe('app=x');

    const updated = await client.update(configMapKind, { ...got, data: { a: '2' } });
    expect(updated.data).toEqual({ a: '2' });
    await expect(client.update(configMapKind, got)).rejects.toMatchObject({ reason: 'Conflict' });

    const patched = await client.patch(
      configMapKind,
      'one',
      { data: { a: null, b: '3' } },
      { namespace: 'ns1' },
    );
    expect(patched.data).toEqual({ b: '3' });
    expect(server.requests.at(-1)?.headers['content-type']).toBe('application/merge-patch+json');

    await client.delete(configMapKind, 'one', { namespace: 'ns1' });
    const err = await client
      .get(configMapKind, 'one', { namespace: 'ns1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ reason: 'NotFound', message: 'configmaps "one" not found' });
  });

  it('sends the token as a bearer token and never shows it', async () => {
    await client.whoami();
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer secret-token');
    expect(inspect(client, { showHidden: true, depth: 5 })).not.toContain('secret-token');
    expect(JSON.stringify(client)).not.toContain('secret-token');
  });

  it('turns 401 Status bodies into Unauthorized errors', async () => {
    const anonymous = new ApiClient({ server: server.url });
    await expect(anonymous.whoami()).rejects.toMatchObject({ reason: 'Unauthorized', code: 401 });
  });

  it('keeps Invalid causes from the server', async () => {
    const err = (await client
      .create(configMapKind, cm('Bad_Name'), { namespace: 'ns1' })
      .catch((e: unknown) => e)) as ApiError;
    expect(err.reason).toBe('Invalid');
    expect(err.details?.causes?.[0]?.field).toBe('metadata.name');
  });

  it('updates status through the status subresource', async () => {
    server.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} });
    const node = await client.get(nodeKind, 'n1');
    const updated = await client.updateStatus(nodeKind, {
      ...node,
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(server.requests.at(-1)?.path).toBe('/api/v1/nodes/n1/status');
    expect(updated.status).toEqual({ conditions: [{ type: 'Ready', status: 'True' }] });
  });

  it('creates projects through project requests and answers whoami and version', async () => {
    const project = await client.createProjectRequest({ name: 'demo', displayName: 'Demo' });
    expect(project.kind).toBe('Project');
    expect(server.requests.at(-1)?.path).toBe('/apis/project.openshift.io/v1/projectrequests');
    expect(JSON.parse(server.requests.at(-1)!.body)).toEqual({
      apiVersion: 'project.openshift.io/v1',
      kind: 'ProjectRequest',
      metadata: { name: 'demo' },
      displayName: 'Demo',
    });
    expect((await client.whoami()).metadata.name).toBe('developer');
    expect((await client.version()).gitVersion).toBe('v0.0.0-fake');
    expect(await client.healthy()).toBe(true);
  });

  it('requires a namespace for namespaced kinds', async () => {
    await expect(client.get(podKind, 'x')).rejects.toMatchObject({ reason: 'BadRequest' });
  });

  it('names the server URL when it cannot be reached', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const down = new ApiClient({ server: `http://127.0.0.1:${port}`, token: 'secret-token' });
    const err = await down.whoami().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({
      reason: 'ServiceUnavailable',
      message: `cannot reach the Slipway API at http://127.0.0.1:${port}: connection refused`,
    });
    expect(String((err as Error).message)).not.toContain('secret-token');
  });

  it('times out requests that get no answer', async () => {
    server.intercept = () => true; // never answers
    const slow = new ApiClient({ server: server.url, token: 'secret-token', timeoutMs: 100 });
    await expect(slow.whoami()).rejects.toMatchObject({
      reason: 'Timeout',
      message: `the Slipway API at ${server.url} did not answer within 100ms`,
    });
  });

  it('describes error responses that are not Status objects', () => {
    expect(errorFromResponse(502, 'Bad Gateway', '<html>nope</html>')).toMatchObject({
      reason: 'InternalError',
      message: 'the server responded with 502 Bad Gateway',
    });
    expect(errorFromResponse(404, 'Not Found', 'no such thing')).toMatchObject({
      reason: 'NotFound',
      message: 'the server responded with 404 Not Found: no such thing',
    });
    const status = new ApiError('Forbidden', 'pods is forbidden').toStatus();
    expect(errorFromResponse(403, 'Forbidden', JSON.stringify(status))).toMatchObject({
      reason: 'Forbidden',
      message: 'pods is forbidden',
    });
  });
});

describe('ApiClient.watch', () => {
  let server: FakeApiServer;
  let client: ApiClient;

  beforeEach(async () => {
    server = new FakeApiServer();
    await server.start();
    client = new ApiClient({ server: server.url, token: 'secret-token', timeoutMs: 200 });
  });
  afterEach(async () => {
    await server.close();
  });

  it('streams events after a revision, with selectors, and stops on abort', async () => {
    await client.create(configMapKind, cm('before'), { namespace: 'ns1' });
    const list = await client.list(configMapKind, { namespace: 'ns1' });
    const controller = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const event of client.watch(configMapKind, {
        namespace: 'ns1',
        resourceVersion: list.metadata.resourceVersion,
        labelSelector: 'app=x',
        signal: controller.signal,
      })) {
        seen.push(`${event.type} ${event.object.metadata.name}`);
        expect(event.object.kind).toBe('ConfigMap');
        if (seen.length === 3) controller.abort();
      }
    })();
    await client.create(configMapKind, cm('other'), { namespace: 'ns1' });
    await client.create(configMapKind, cm('a', {}, { app: 'x' }), { namespace: 'ns1' });
    await client.patch(configMapKind, 'a', { data: { k: 'v' } }, { namespace: 'ns1' });
    await client.delete(configMapKind, 'a', { namespace: 'ns1' });
    await done;
    expect(seen).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a']);
    expect(
      server.requests.find((r) => r.query.get('watch') === 'true')?.query.get('labelSelector'),
    ).toBe('app=x');
  });

  it('is not limited by the request timeout', async () => {
    const controller = new AbortController();
    const events: string[] = [];
    const done = (async () => {
      for await (const e of client.watch(configMapKind, {
        namespace: 'ns1',
        signal: controller.signal,
      })) {
        events.push(e.object.metadata.name ?? '');
        controller.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 400));
    await client.create(configMapKind, cm('late'), { namespace: 'ns1' });
    await done;
    expect(events).toEqual(['late']);
  });

  it('throws Gone for a compacted revision, from the status code or an ERROR event', async () => {
    server.compactedRevision = 100;
    const consume = async (): Promise<unknown> => {
      try {
        for await (const _ of client.watch(configMapKind, {
          namespace: 'ns1',
          resourceVersion: '5',
        })) {
          // nothing
        }
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(await consume()).toMatchObject({ reason: 'Gone', code: 410 });

    server.compactedRevision = 0;
    const pending = consume();
    await new Promise((r) => setTimeout(r, 50));
    server.expireWatches();
    expect(await pending).toMatchObject({ reason: 'Gone' });
  });

  it('ends quietly when the server ends the stream', async () => {
    const events: unknown[] = [];
    const done = (async () => {
      for await (const e of client.watch(configMapKind, { namespace: 'ns1' })) events.push(e);
    })();
    await new Promise((r) => setTimeout(r, 50));
    server.endWatches();
    await done;
    expect(events).toEqual([]);
  });
});

describe('ApiClient.upload', () => {
  it('streams the body with its query and headers, and decodes the answer', async () => {
    let seen: { method?: string; url?: string; headers: Record<string, unknown>; body: string } = {
      headers: {},
      body: '',
    };
    let answer = { status: 201, body: '{"kind":"Build"}' };
    const http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = {
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(answer.body);
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const { port } = http.address() as AddressInfo;
    const client = new ApiClient({ server: `http://127.0.0.1:${port}`, token: 'secret-token' });
    async function* body(): AsyncIterable<Uint8Array> {
      yield Buffer.from('ab');
      yield Buffer.from('cd');
    }
    try {
      const path = '/apis/build.openshift.io/v1/namespaces/p/buildconfigs/b/instantiatebinary';
      const upload = <T>(): Promise<T> =>
        client.upload<T>('POST', path, body(), { query: { asFile: 'f.txt', none: undefined } });
      expect(await upload()).toEqual({ kind: 'Build' });
      expect(seen).toMatchObject({
        method: 'POST',
        url: `${path}?asFile=f.txt`,
        body: 'abcd',
        headers: {
          accept: 'application/json',
          authorization: 'Bearer secret-token',
          'content-type': 'application/octet-stream',
        },
      });
      await client.upload('PUT', path, body(), { contentType: 'application/gzip' });
      expect(seen).toMatchObject({ method: 'PUT', url: path });
      expect(seen.headers['content-type']).toBe('application/gzip');

      answer = { status: 200, body: '' };
      expect(await upload()).toBeUndefined();
      answer = { status: 403, body: JSON.stringify(new ApiError('Forbidden', 'no').toStatus()) };
      await expect(upload()).rejects.toMatchObject({ reason: 'Forbidden', message: 'no' });
      answer = { status: 200, body: 'not json' };
      await expect(upload()).rejects.toMatchObject({
        reason: 'InternalError',
        message: `the server sent a response that is not JSON (POST ${path})`,
      });
    } finally {
      await new Promise((r) => http.close(r));
    }
  });
});
