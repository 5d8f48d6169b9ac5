// The pods/binding subresource on a bare API (no controllers racing the test).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { podKind, resourcePath, type ApiError, type Pod } from '../../src/api/index.js';
import { startCluster, podSpec, type Cluster } from './support.js';

let c: Cluster;

beforeEach(async () => {
  c = await startCluster({ controllers: false });
  await c.admin.createProjectRequest({ name: 'demo' });
});

afterEach(async () => {
  await c.close();
});

const bindingPath = (name: string): string =>
  resourcePath(podKind, { namespace: 'demo', name, subresource: 'binding' });

function binding(name: string, node: string, extra: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name, ...extra },
    target: { apiVersion: 'v1', kind: 'Node', name: node },
  };
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected the request to fail');
}

describe('pods/binding', () => {
  it('assigns an unbound pod to a node and marks it PodScheduled', async () => {
    const created = await c.admin.create<Pod>(podKind, podSpec('web'), { namespace: 'demo' });
    const answer = await c.admin.request<Record<string, unknown>>('POST', bindingPath('web'), {
      body: binding('web', 'n1', { uid: created.metadata.uid }),
    });
    expect(answer).toMatchObject({ kind: 'Status', status: 'Success', code: 201 });
    const pod = await c.admin.get<Pod>(podKind, 'web', { namespace: 'demo' });
    expect(pod.spec.nodeName).toBe('n1');
    expect(pod.status?.conditions).toEqual([
      expect.objectContaining({ type: 'PodScheduled', status: 'True' }),
    ]);
  });

  it('refuses a pod that is already bound, a stale uid, a missing pod and a bad target', async () => {
    await c.admin.create<Pod>(podKind, podSpec('web'), { namespace: 'demo' });
    await c.admin.request('POST', bindingPath('web'), { body: binding('web', 'n1') });
    const again = await refusal(
      c.admin.request('POST', bindingPath('web'), { body: binding('web', 'n2') }),
    );
    expect([again.reason, again.message]).toEqual([
      'Conflict',
      'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "n1"',
    ]);

    await c.admin.create<Pod>(podKind, podSpec('api'), { namespace: 'demo' });
    const stale = await refusal(
      c.admin.request('POST', bindingPath('api'), {
        body: binding('api', 'n1', { uid: 'not-the-uid' }),
      }),
    );
    expect(stale.reason).toBe('Conflict');

    const missing = await refusal(
      c.admin.request('POST', bindingPath('nope'), { body: binding('nope', 'n1') }),
    );
    expect(missing.reason).toBe('NotFound');

    const bad = await refusal(
      c.admin.request('POST', bindingPath('api'), {
        body: { apiVersion: 'v1', kind: 'Binding', target: { kind: 'Pod', name: 'x' } },
      }),
    );
    expect(bad.reason).toBe('Invalid');
    expect(bad.details?.causes?.[0]?.field).toBe('target.kind');

    const wrongName = await refusal(
      c.admin.request('POST', bindingPath('api'), { body: binding('web', 'n1') }),
    );
    expect(wrongName.details?.causes?.[0]?.field).toBe('metadata.name');
    expect((await c.admin.get<Pod>(podKind, 'api', { namespace: 'demo' })).spec.nodeName).toBe(
      undefined,
    );
  });

  it('is create-only and not open to the node-join token', async () => {
    await c.admin.create<Pod>(podKind, podSpec('web'), { namespace: 'demo' });
    const get = await refusal(c.admin.request('GET', bindingPath('web')));
    expect(get.reason).toBe('MethodNotAllowed');
    const forbidden = await refusal(
      c.join.request('POST', bindingPath('web'), { body: binding('web', 'n1') }),
    );
    expect(forbidden.reason).toBe('Forbidden');
    const discovery = await c.admin.request<{ resources: { name: string; verbs: string[] }[] }>(
      'GET',
      '/api/v1',
    );
    expect(discovery.resources).toContainEqual(
      expect.objectContaining({ name: 'pods/binding', verbs: ['create'] }),
    );
  });
});
