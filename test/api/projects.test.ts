import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Project } from '../../src/api/kinds/project.js';
import {
  createProject,
  expectStatus,
  names,
  pod,
  podsPath,
  startTestMaster,
  type TestMaster,
} from './helpers.js';

let t: TestMaster;
const PROJECTS = '/apis/project.openshift.io/v1/projects';
const REQUESTS = '/apis/project.openshift.io/v1/projectrequests';

beforeEach(async () => {
  t = await startTestMaster();
});

afterEach(async () => {
  await t.close();
});

describe('projects', () => {
  it('creates a Project from a ProjectRequest', async () => {
    const res = await t.admin.post(REQUESTS, {
      apiVersion: 'project.openshift.io/v1',
      kind: 'ProjectRequest',
      metadata: { name: 'demo' },
      displayName: 'Demo Project',
      description: 'for the tests',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      apiVersion: 'project.openshift.io/v1',
      kind: 'Project',
      metadata: {
        name: 'demo',
        annotations: {
          'openshift.io/display-name': 'Demo Project',
          'openshift.io/description': 'for the tests',
          'openshift.io/requester': 'admin',
        },
      },
      status: { phase: 'Active' },
    });
    const got = await t.admin.get(`${PROJECTS}/demo`);
    expect(got.body).toEqual(res.body);
    expect(names((await t.admin.list(PROJECTS)).body)).toEqual([
      'default',
      'demo',
      'openshift',
      'openshift-config',
      'openshift-dns',
    ]);

    // Bare v1 is accepted for OpenShift kinds.
    const legacy = await t.admin.post(REQUESTS, {
      apiVersion: 'v1',
      kind: 'ProjectRequest',
      metadata: { name: 'legacy' },
    });
    expect(legacy.status).toBe(201);

    const dup = expectStatus(
      await t.admin.post(REQUESTS, { metadata: { name: 'demo' } }),
      409,
      'AlreadyExists',
    );
    expect(dup.message).toBe('projects.project.openshift.io "demo" already exists');
    const bad = expectStatus(
      await t.admin.post(REQUESTS, { metadata: { name: 'Not_OK' } }),
      422,
      'Invalid',
    );
    expect(bad.details?.causes?.[0]?.field).toBe('metadata.name');
    expectStatus(
      await t.admin.post(REQUESTS, { metadata: { name: 'openshift-infra' } }),
      403,
      'Forbidden',
    );
    const noName = expectStatus(await t.admin.post(REQUESTS, { metadata: {} }), 422, 'Invalid');
    expect(noName.details?.causes?.[0]?.field).toBe('metadata.name');
  });

  it('creates a Project posted directly as Active, whatever status it says', async () => {
    const res = await t.admin.post<Project>(PROJECTS, {
      apiVersion: 'project.openshift.io/v1',
      kind: 'Project',
      metadata: { name: 'direct' },
      status: { phase: 'Terminating' },
    });
    expect(res.status).toBe(201);
    expect(res.body.status).toEqual({ phase: 'Active' });
    expect((await t.admin.post(podsPath('direct'), pod('a'))).status).toBe(201);
  });

  it('deletes a project with everything in it, and nothing else', async () => {
    await createProject(t.admin, 'doomed');
    await createProject(t.admin, 'kept');
    for (const ns of ['doomed', 'kept']) {
      await t.admin.post(podsPath(ns), pod('web'));
      await t.admin.post(`/api/v1/namespaces/${ns}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c' },
      });
      await t.admin.post(`/api/v1/namespaces/${ns}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's' },
      });
    }
    await t.admin.post('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'doomed' },
    });
    const from = (await t.admin.list('/api/v1/pods')).body.metadata.resourceVersion!;
    const projectWatch = await t.admin.watch(`${PROJECTS}?watch=true&resourceVersion=${from}`);
    const podWatch = await t.admin.watch(`/api/v1/pods?watch=true&resourceVersion=${from}`);

    const res = await t.admin.delete<Project>(`${PROJECTS}/doomed`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.metadata.name).toBe('doomed');
    expect(res.body.status?.phase).toBe('Terminating');

    expectStatus(await t.admin.get(`${PROJECTS}/doomed`), 404, 'NotFound');
    for (const kind of ['pods', 'configmaps', 'secrets']) {
      expect((await t.admin.list(`/api/v1/namespaces/doomed/${kind}`)).body.items).toEqual([]);
      expect((await t.admin.list(`/api/v1/namespaces/kept/${kind}`)).body.items).toHaveLength(1);
    }
    expect((await t.admin.get('/api/v1/nodes/doomed')).status).toBe(200);

    // Watchers see the project go Terminating, then the contents and the project deleted.
    const pevs = await projectWatch.take(2);
    expect(
      pevs.map((e) => `${e.type} ${e.object.metadata.name} ${(e.object as Project).status?.phase}`),
    ).toEqual(['MODIFIED doomed Terminating', 'DELETED doomed Terminating']);
    const [podEv] = await podWatch.take(1);
    expect(podEv).toMatchObject({
      type: 'DELETED',
      object: { metadata: { name: 'web', namespace: 'doomed' } },
    });
    expect(Number(podEv!.object.metadata.resourceVersion)).toBeLessThan(
      Number(pevs[1]!.object.metadata.resourceVersion),
    );
    projectWatch.close();
    podWatch.close();

    // The name can be used again, and starts empty.
    await createProject(t.admin, 'doomed');
    expect((await t.admin.list(podsPath('doomed'))).body.items).toEqual([]);
  });

  it('refuses creates in a terminating project and finishes its deletion at the next start', async () => {
    await createProject(t.admin, 'p');
    await t.admin.post(podsPath('p'), pod('web'));
    // Simulate a master that died after marking the project Terminating.
    const store = t.store!;
    const key = '/registry/project.openshift.io/projects/p';
    const kv = (await store.get(key))!;
    const project = JSON.parse(kv.value) as Project;
    project.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
    project.status = { phase: 'Terminating' };
    await store.update(key, JSON.stringify(project), kv.modRevision);

    const refused = expectStatus(await t.admin.post(podsPath('p'), pod('new')), 403, 'Forbidden');
    expect(refused.message).toBe(
      'unable to create new content in namespace p because it is being terminated',
    );
    expect(names((await t.admin.list(podsPath('p'))).body)).toEqual(['web']);

    // Restart on the same store and data directory.
    await t.master.close();
    const { startMaster } = await import('../../master/main.js');
    const { loadConfig } = await import('../../master/config.js');
    const { silentLogger } = await import('../../src/util/logger.js');
    const again = await startMaster(
      loadConfig(
        {},
        {
          dataDir: t.dataDir,
          listen: '127.0.0.1:0',
          compactionIntervalSeconds: 0,
          controllers: false,
        },
      ),
      silentLogger(),
      { store },
    );
    try {
      expect(await store.get(key)).toBeUndefined();
      expect((await store.list('/registry/core/pods/p/')).items).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it('deletes a project with preconditions', async () => {
    await createProject(t.admin, 'p');
    const before = (await t.admin.get(`${PROJECTS}/p`)).body;
    await t.admin.patch(`${PROJECTS}/p`, { metadata: { labels: { a: 'b' } } });
    const stale = await t.admin.delete(`${PROJECTS}/p`, {
      preconditions: { resourceVersion: before.metadata.resourceVersion },
    });
    expectStatus(stale, 409, 'Conflict');
    expectStatus(
      await t.admin.delete(`${PROJECTS}/p`, { preconditions: { uid: 'other' } }),
      409,
      'Conflict',
    );
    expect((await t.admin.get<Project>(`${PROJECTS}/p`)).body.status?.phase).toBe('Active');
    const ok = await t.admin.delete(`${PROJECTS}/p`, {
      preconditions: { uid: before.metadata.uid },
    });
    expect(ok.status).toBe(200);
    expectStatus(await t.admin.delete(`${PROJECTS}/nope`), 404, 'NotFound');
  });

  it('leaves nothing behind when creates race a project deletion', async () => {
    await createProject(t.admin, 'race');
    const creates = Array.from({ length: 20 }, (_, i) =>
      t.admin.post(podsPath('race'), pod(`p${i}`)),
    );
    await creates[0];
    const deletion = t.admin.delete(`${PROJECTS}/race`);
    for (let i = 20; i < 40; i += 1) creates.push(t.admin.post(podsPath('race'), pod(`p${i}`)));
    const results = await Promise.all(creates);
    expect(results[0]!.status).toBe(201);
    expect((await deletion).status).toBe(200);
    for (const r of results) expect([201, 403, 404]).toContain(r.status);
    expect((await t.admin.list('/api/v1/pods')).body.items).toEqual([]);
    // Only the bootstrap projects (and the cluster DNS Service) remain.
    expect((await t.store!.list('/registry/')).items.map((kv) => kv.key)).toEqual([
      '/registry/core/services/openshift-dns/dns-default',
      '/registry/project.openshift.io/projects/default',
      '/registry/project.openshift.io/projects/openshift',
      '/registry/project.openshift.io/projects/openshift-config',
      '/registry/project.openshift.io/projects/openshift-dns',
    ]);
  });
});
