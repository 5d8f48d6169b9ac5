import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigMap } from '../../src/api/kinds/config-map.js';
import type { Pod } from '../../src/api/kinds/pod.js';
import type { Secret } from '../../src/api/kinds/secret.js';
import type { ApiObject } from '../../src/api/meta.js';
import {
  createProject,
  expectHealthy,
  expectStatus,
  names,
  pod,
  podsPath,
  startTestMaster,
  type TestMaster,
} from './helpers.js';

let t: TestMaster;

beforeEach(async () => {
  t = await startTestMaster();
  await createProject(t.admin, 'demo');
});

afterEach(async () => {
  await t.close();
});

interface KindCase {
  name: string;
  collection: string;
  object: ApiObject;
  change: (obj: ApiObject) => void;
}

const cases: KindCase[] = [
  {
    name: 'Pod',
    collection: '/api/v1/namespaces/demo/pods',
    object: pod('web'),
    change: (o) => {
      (o as Pod).spec.containers[0]!.image = 'busybox:2';
    },
  },
  {
    name: 'ConfigMap',
    collection: '/api/v1/namespaces/demo/configmaps',
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { a: '1' },
    },
    change: (o) => {
      (o as ConfigMap).data!.b = '2';
    },
  },
  {
    name: 'Secret',
    collection: '/api/v1/namespaces/demo/secrets',
    object: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      stringData: { password: 'pw' },
    },
    change: (o) => {
      (o as Secret).data!.user = Buffer.from('me').toString('base64');
    },
  },
  {
    name: 'Event',
    collection: '/api/v1/namespaces/demo/events',
    object: {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1' },
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'demo' },
      reason: 'Scheduled',
      message: 'assigned',
      type: 'Normal',
      count: 1,
      firstTimestamp: '2024-01-01T00:00:00Z',
      lastTimestamp: '2024-01-01T00:00:00Z',
    },
    change: (o) => {
      o.count = 2;
    },
  },
  {
    name: 'Node',
    collection: '/api/v1/nodes',
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} },
    change: (o) => {
      o.spec = { unschedulable: true };
    },
  },
  {
    name: 'Project',
    collection: '/apis/project.openshift.io/v1/projects',
    object: { apiVersion: 'project.openshift.io/v1', kind: 'Project', metadata: { name: 'other' } },
    change: (o) => {
      o.metadata.labels = { team: 'x' };
    },
  },
];

describe.each(cases)('$name CRUD', ({ collection, object, change }) => {
  it('creates, gets, lists, updates and deletes', async () => {
    const name = object.metadata.name!;
    const created = await t.admin.post(collection, object);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const obj = created.body;
    expect(obj.metadata.name).toBe(name);
    expect(obj.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(obj.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(obj.metadata.generation).toBe(1);
    expect(obj.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const got = await t.admin.get(`${collection}/${name}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(obj);

    const list = await t.admin.list(collection);
    expect(list.status).toBe(200);
    expect(list.body.kind).toBe(`${object.kind}List`);
    expect(Number(list.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(
      Number(obj.metadata.resourceVersion),
    );
    expect(names(list.body)).toContain(name);

    expectStatus(await t.admin.post(collection, object), 409, 'AlreadyExists');

    const next = structuredClone(got.body);
    change(next);
    const updated = await t.admin.put(`${collection}/${name}`, next);
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(
      Number(obj.metadata.resourceVersion),
    );
    expect(updated.body.metadata.uid).toBe(obj.metadata.uid);
    expect(updated.body.metadata.creationTimestamp).toBe(obj.metadata.creationTimestamp);

    const deleted = await t.admin.delete(`${collection}/${name}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.metadata.name).toBe(name);
    expectStatus(await t.admin.get(`${collection}/${name}`), 404, 'NotFound');
    expectStatus(await t.admin.delete(`${collection}/${name}`), 404, 'NotFound');
  });
});

describe('objects', () => {
  it('refuses a stale resourceVersion with 409 and keeps the newer write', async () => {
    const created = (await t.admin.post<Pod>(podsPath('demo'), pod('web'))).body;
    const first = structuredClone(created);
    first.metadata.labels = { v: '1' };
    expect((await t.admin.put(podsPath('demo', 'web'), first)).status).toBe(200);

    const stale = structuredClone(created);
    stale.metadata.labels = { v: '2' };
    const status = expectStatus(await t.admin.put(podsPath('demo', 'web'), stale), 409, 'Conflict');
    expect(status.message).toBe(
      'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect((await t.admin.get(podsPath('demo', 'web'))).body.metadata.labels).toEqual({ v: '1' });

    const del = await t.admin.delete(podsPath('demo', 'web'), {
      preconditions: { resourceVersion: created.metadata.resourceVersion },
    });
    expectStatus(del, 409, 'Conflict');
    const uidMismatch = await t.admin.delete(podsPath('demo', 'web'), {
      preconditions: { uid: 'nope' },
    });
    expectStatus(uidMismatch, 409, 'Conflict');
    expect((await t.admin.get(podsPath('demo', 'web'))).status).toBe(200);
  });

  it('gives exactly one of many concurrent writers with the same resourceVersion a success', async () => {
    const created = (await t.admin.post<Pod>(podsPath('demo'), pod('web'))).body;
    const writes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.admin.put(podsPath('demo', 'web'), {
          ...created,
          metadata: { ...created.metadata, labels: { i: String(i) } },
        }),
      ),
    );
    expect(writes.filter((w) => w.status === 200)).toHaveLength(1);
    expect(writes.filter((w) => w.status === 409)).toHaveLength(19);
  });

  it('updates without a resourceVersion unconditionally', async () => {
    await t.admin.post(podsPath('demo'), pod('web'));
    const res = await t.admin.put(podsPath('demo', 'web'), pod('web', { labels: { a: 'b' } }));
    expect(res.status).toBe(200);
    expect(res.body.metadata.labels).toEqual({ a: 'b' });
  });

  it('bumps generation only for changes outside metadata and status', async () => {
    const created = (await t.admin.post<Pod>(podsPath('demo'), pod('web'))).body;
    const labelled = structuredClone(created);
    labelled.metadata.labels = { a: 'b' };
    labelled.metadata.annotations = { note: 'x' };
    const r1 = (await t.admin.put<Pod>(podsPath('demo', 'web'), labelled)).body;
    expect(r1.metadata.generation).toBe(1);
    expect(r1.metadata.labels).toEqual({ a: 'b' });

    const r2 = (
      await t.admin.patch<Pod>(podsPath('demo', 'web', 'status'), { status: { phase: 'Running' } })
    ).body;
    expect(r2.metadata.generation).toBe(1);

    // A pod's spec may change only in its images (admission refuses the rest).
    const r3 = (
      await t.admin.patch<Pod>(podsPath('demo', 'web'), {
        spec: { containers: [{ name: 'app', image: 'busybox:2' }] },
      })
    ).body;
    expect(r3.metadata.generation).toBe(2);

    // A no-op write changes nothing, not even the resourceVersion.
    const r4 = (await t.admin.put<Pod>(podsPath('demo', 'web'), r3)).body;
    expect(r4.metadata.resourceVersion).toBe(r3.metadata.resourceVersion);
    expect(r4.metadata.generation).toBe(2);
  });

  it('keeps server-owned and immutable metadata', async () => {
    const body: Pod = {
      ...pod('web'),
      metadata: {
        name: 'web',
        uid: 'client-uid',
        resourceVersion: '999',
        creationTimestamp: '2000-01-01T00:00:00Z',
        deletionTimestamp: '2000-01-01T00:00:00Z',
        generation: 7,
      },
    };
    const created = (await t.admin.post<Pod>(podsPath('demo'), body)).body;
    expect(created.metadata.uid).not.toBe('client-uid');
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.deletionTimestamp).toBeUndefined();
    expect(created.metadata.creationTimestamp).not.toBe('2000-01-01T00:00:00Z');

    const edit = structuredClone(created);
    edit.metadata.creationTimestamp = '2000-01-01T00:00:00Z';
    edit.metadata.generation = 40;
    edit.metadata.deletionTimestamp = '2000-01-01T00:00:00Z';
    const updated = (await t.admin.put<Pod>(podsPath('demo', 'web'), edit)).body;
    expect(updated.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
    expect(updated.metadata.generation).toBe(1);
    expect(updated.metadata.deletionTimestamp).toBeUndefined();

    const renamed = structuredClone(created);
    renamed.metadata.name = 'other';
    const res = expectStatus(
      await t.admin.put(podsPath('demo', 'web'), renamed),
      400,
      'BadRequest',
    );
    expect(res.details?.causes?.[0]?.field).toBe('metadata.name');

    const otherUid = structuredClone(created);
    otherUid.metadata.uid = '00000000-0000-0000-0000-000000000000';
    expectStatus(await t.admin.put(podsPath('demo', 'web'), otherUid), 409, 'Conflict');
  });

  it('generates names from generateName', async () => {
    const body = { ...pod('x'), metadata: { generateName: 'web-' } };
    const a = (await t.admin.post(podsPath('demo'), body)).body;
    const b = (await t.admin.post(podsPath('demo'), body)).body;
    expect(a.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(b.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(a.metadata.name).not.toBe(b.metadata.name);
  });

  it('takes the namespace from the URL and refuses a different one', async () => {
    const created = (await t.admin.post(podsPath('demo'), pod('web'))).body;
    expect(created.metadata.namespace).toBe('demo');
    await createProject(t.admin, 'other');
    const res = await t.admin.post(podsPath('demo'), {
      ...pod('x'),
      metadata: { name: 'x', namespace: 'other' },
    });
    const status = expectStatus(res, 400, 'BadRequest');
    expect(status.details?.causes?.[0]?.field).toBe('metadata.namespace');
    expect((await t.admin.list(podsPath('other'))).body.items).toEqual([]);
  });

  it('requires an existing project for namespaced objects', async () => {
    const status = expectStatus(
      await t.admin.post(podsPath('nowhere'), pod('web')),
      404,
      'NotFound',
    );
    expect(status.message).toBe('namespaces "nowhere" not found');
  });

  it('serves the status subresource', async () => {
    const created = (
      await t.admin.post<Pod>(podsPath('demo'), { ...pod('web'), status: { phase: 'Pending' } })
    ).body;

    // Writes to the object keep the stored status.
    const main = structuredClone(created);
    main.status = { phase: 'Failed' };
    main.metadata.labels = { a: 'b' };
    const r1 = (await t.admin.put<Pod>(podsPath('demo', 'web'), main)).body;
    expect(r1.status).toEqual({ phase: 'Pending' });
    expect(r1.metadata.labels).toEqual({ a: 'b' });
    const r1p = (await t.admin.patch<Pod>(podsPath('demo', 'web'), { status: { phase: 'Failed' } }))
      .body;
    expect(r1p.status).toEqual({ phase: 'Pending' });

    // Writes to /status change only the status.
    const st = structuredClone(r1);
    st.status = { phase: 'Running', podIP: '10.0.0.5' };
    st.spec.containers[0]!.image = 'evil:1';
    st.metadata.labels = { changed: 'yes' };
    const r2 = (await t.admin.put<Pod>(podsPath('demo', 'web', 'status'), st)).body;
    expect(r2.status).toEqual({ phase: 'Running', podIP: '10.0.0.5' });
    expect(r2.spec.containers[0]!.image).toBe('busybox:1');
    expect(r2.metadata.labels).toEqual({ a: 'b' });
    expect(r2.metadata.generation).toBe(1);

    const got = await t.admin.get<Pod>(podsPath('demo', 'web', 'status'));
    expect(got.body.status?.phase).toBe('Running');

    // A stale resourceVersion on /status is a conflict too.
    expectStatus(await t.admin.put(podsPath('demo', 'web', 'status'), st), 409, 'Conflict');

    // Kinds without a status subresource have no /status.
    await t.admin.post('/api/v1/namespaces/demo/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
    });
    expectStatus(await t.admin.get('/api/v1/namespaces/demo/configmaps/c/status'), 404, 'NotFound');
  });

  it('applies merge patches, strategic merge patches and JSON patches', async () => {
    await t.admin.post('/api/v1/namespaces/demo/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', labels: { keep: 'y', drop: 'y' } },
      data: { a: '1', b: '2' },
    });
    const path = '/api/v1/namespaces/demo/configmaps/c';
    const merged = await t.admin.patch<ConfigMap>(path, {
      metadata: { labels: { drop: null, add: 'y' } },
      data: { a: null, c: '3' },
    });
    expect(merged.status).toBe(200);
    expect(merged.body.metadata.labels).toEqual({ keep: 'y', add: 'y' });
    expect(merged.body.data).toEqual({ b: '2', c: '3' });

    const smp = await t.admin.patch<ConfigMap>(
      path,
      { data: { d: '4' } },
      'application/strategic-merge-patch+json',
    );
    expect(smp.body.data).toEqual({ b: '2', c: '3', d: '4' });

    const jp = await t.admin.patch<ConfigMap>(
      path,
      [
        { op: 'test', path: '/data/b', value: '2' },
        { op: 'remove', path: '/data/b' },
        { op: 'add', path: '/data/e', value: '5' },
      ],
      'application/json-patch+json',
    );
    expect(jp.status, JSON.stringify(jp.body)).toBe(200);
    expect(jp.body.data).toEqual({ c: '3', d: '4', e: '5' });

    const failedTest = await t.admin.patch(
      path,
      [{ op: 'test', path: '/data/c', value: 'x' }],
      'application/json-patch+json',
    );
    expectStatus(failedTest, 422, 'Invalid');

    // A resourceVersion in the patch is a precondition.
    const stale = await t.admin.patch(path, {
      metadata: { resourceVersion: '1' },
      data: { z: '1' },
    });
    expectStatus(stale, 409, 'Conflict');
    const current = jp.body.metadata.resourceVersion;
    const fresh = await t.admin.patch(path, {
      metadata: { resourceVersion: current },
      data: { z: '1' },
    });
    expect(fresh.status).toBe(200);

    // The patched object is validated.
    const status = expectStatus(
      await t.admin.patch(path, { data: { 'bad key!': 'x' } }),
      422,
      'Invalid',
    );
    expect(status.details?.causes?.[0]?.field).toBe('data[bad key!]');
    expectStatus(
      await t.admin.patch(path, { data: { y: '1' } }, 'application/json'),
      415,
      'UnsupportedMediaType',
    );
    expectStatus(
      await t.admin.patch('/api/v1/namespaces/demo/configmaps/nope', { data: {} }),
      404,
      'NotFound',
    );
  });

  it('accepts YAML bodies', async () => {
    const yaml = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: from-yaml',
      '  labels:',
      '    app: web',
      'spec:',
      '  containers:',
      '    - name: app',
      '      image: busybox:1',
      '      ports:',
      '        - containerPort: 8080',
      '',
    ].join('\n');
    const res = await t.admin.post<Pod>(podsPath('demo'), yaml, 'application/yaml');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.spec.containers[0]!.ports![0]!.containerPort).toBe(8080);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);

    const update = yaml.replace('app: web', 'app: api').replace('busybox:1', 'busybox:2');
    const put = await t.admin.put<Pod>(podsPath('demo', 'from-yaml'), update, 'application/yaml');
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.metadata.labels?.app).toBe('api');
    expect(put.body.spec.containers[0]!.image).toBe('busybox:2');
  });

  it('allows only the verbs a kind has', async () => {
    expectStatus(
      await t.admin.get('/apis/project.openshift.io/v1/projectrequests/x'),
      405,
      'MethodNotAllowed',
    );
    expectStatus(
      await t.admin.delete('/apis/project.openshift.io/v1/projectrequests/x'),
      405,
      'MethodNotAllowed',
    );
    expectStatus(await t.admin.delete(podsPath('demo')), 405, 'MethodNotAllowed');
    expectStatus(await t.admin.post(podsPath('demo', 'x'), pod('x')), 405, 'MethodNotAllowed');
    expectStatus(await t.admin.post('/api/v1/pods', pod('x')), 405, 'MethodNotAllowed');
    expectStatus(
      await t.admin.post(podsPath('demo', 'x', 'status'), pod('x')),
      405,
      'MethodNotAllowed',
    );
    const pr = await t.admin.get<{ status: string }>(
      '/apis/project.openshift.io/v1/projectrequests',
    );
    expect(pr.status).toBe(200);
    expect(pr.body.status).toBe('Success');
  });

  it('lists across namespaces at /api/v1/pods', async () => {
    await createProject(t.admin, 'other');
    await t.admin.post(podsPath('demo'), pod('a'));
    await t.admin.post(podsPath('other'), pod('b'));
    const all = await t.admin.list('/api/v1/pods');
    expect(all.body.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual([
      'demo/a',
      'other/b',
    ]);
    expect(names((await t.admin.list(podsPath('other'))).body)).toEqual(['b']);
  });

  it('serves version, discovery and the current user', async () => {
    const version = await t.admin.get<{ gitVersion: string; platform: string }>('/version');
    expect(version.status).toBe(200);
    expect(version.body.gitVersion).toMatch(/^v\d+\.\d+\.\d+/);
    expect(version.body.platform).toBe(`${process.platform}/${process.arch}`);

    type Resources = { resources: { name: string }[] };
    const api = await t.admin.get<{ versions: string[] }>('/api');
    expect(api.body.versions).toEqual(['v1']);
    const core = await t.admin.get<Resources>('/api/v1');
    expect(core.body.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining(['pods', 'pods/status', 'nodes', 'configmaps', 'secrets', 'events']),
    );
    const groups = await t.admin.get<{ groups: { name: string }[] }>('/apis');
    expect(groups.body.groups.map((g) => g.name)).toContain('project.openshift.io');
    const project = await t.admin.get<Resources>('/apis/project.openshift.io/v1');
    expect(project.body.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining(['projects', 'projectrequests']),
    );
    expectStatus(await t.admin.get('/apis/nope.example.com/v1'), 404, 'NotFound');

    const me = await t.admin.get('/apis/user.openshift.io/v1/users/~');
    expect(me.body.metadata.name).toBe('admin');
    const node = await t.join.get('/apis/user.openshift.io/v1/users/~');
    expect(node.body.metadata.name).toBe('system:node-bootstrap');
    await expectHealthy(t);
  });
});
