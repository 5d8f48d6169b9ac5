import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/kinds/pod.js';
import {
  Client,
  createProject,
  expectHealthy,
  expectStatus,
  names,
  pod,
  podsPath,
  startTestMaster,
  type Reply,
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

describe('authentication', () => {
  it('answers 401 without a token, with a wrong token and with a malformed header', async () => {
    for (const client of [
      t.anonymous,
      new Client(t.url, 'wrong-token'),
      new Client(t.url, t.master.adminToken + 'x'),
    ]) {
      const res = await client.get(podsPath('demo'));
      expectStatus(res, 401, 'Unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expectStatus(await client.get('/version'), 401, 'Unauthorized');
      expectStatus(await client.get('/no/such/path'), 401, 'Unauthorized');
      expectStatus(await client.post(podsPath('demo'), pod('x')), 401, 'Unauthorized');
    }
    const basic = await fetch(`${t.url}/api/v1/nodes`, {
      headers: { authorization: `Basic ${t.master.adminToken}` },
    });
    expect(basic.status).toBe(401);
    expect((await t.admin.list(podsPath('demo'))).body.items).toEqual([]);
  });

  it('serves /healthz anonymously', async () => {
    await expectHealthy(t);
  });

  it('makes random tokens, stored 0600 and reused on restart', async () => {
    expect(t.master.adminToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(t.master.joinToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(t.master.adminToken).not.toBe(t.master.joinToken);
    const file = join(t.dataDir, 'tokens.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toContain(t.master.adminToken);

    const dataDir = await mkdtemp(join(tmpdir(), 'slipway-tokens-'));
    try {
      const first = await startTestMaster({ dataDir });
      const tokens = [first.master.adminToken, first.master.joinToken];
      await first.close();
      await chmod(join(dataDir, 'tokens.json'), 0o644);
      const second = await startTestMaster({ dataDir });
      expect([second.master.adminToken, second.master.joinToken]).toEqual(tokens);
      expect((await stat(join(dataDir, 'tokens.json'))).mode & 0o777).toBe(0o600);
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('authorization', () => {
  it('lets the node-join token do what an agent needs', async () => {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: { conditions: [] },
    };
    const created = await t.join.post('/api/v1/nodes', node);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(
      (
        await t.join.patch('/api/v1/nodes/n1/status', {
          status: { conditions: [{ type: 'Ready', status: 'True' }] },
        })
      ).status,
    ).toBe(200);
    expect((await t.join.get('/api/v1/nodes')).status).toBe(200);

    await t.admin.post(podsPath('demo'), pod('web', { nodeName: 'n1' }));
    expect(
      (await t.join.list('/api/v1/pods?fieldSelector=spec.nodeName%3Dn1')).body.items,
    ).toHaveLength(1);
    expect((await t.join.get(podsPath('demo', 'web'))).status).toBe(200);
    expect(
      (await t.join.patch(podsPath('demo', 'web', 'status'), { status: { phase: 'Running' } }))
        .status,
    ).toBe(200);
    const w = await t.join.watch('/api/v1/pods?watch=true');
    expect(w.status).toBe(200);
    w.close();

    const event = await t.join.post('/api/v1/namespaces/demo/events', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1' },
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'demo' },
      reason: 'Started',
      message: 'started',
      type: 'Normal',
      count: 1,
      firstTimestamp: '2024-01-01T00:00:00Z',
      lastTimestamp: '2024-01-01T00:00:00Z',
    });
    expect(event.status).toBe(201);
  });

  it('forbids the node-join token everything else with 403 naming user, verb and resource', async () => {
    await t.admin.post(podsPath('demo'), pod('web'));
    const cases: [Promise<Reply<unknown>>, string][] = [
      [
        t.join.post(podsPath('demo'), pod('x')),
        'User "system:node-bootstrap" cannot create resource "pods" in project "demo"',
      ],
      [
        t.join.put(podsPath('demo', 'web'), pod('web')),
        'cannot update resource "pods" in project "demo"',
      ],
      [t.join.delete(podsPath('demo', 'web')), 'cannot delete resource "pods" in project "demo"'],
      [
        t.join.get('/api/v1/namespaces/demo/secrets'),
        'cannot list resource "secrets" in project "demo"',
      ],
      [
        t.join.get('/api/v1/namespaces/demo/configmaps'),
        'cannot list resource "configmaps" in project "demo"',
      ],
      [t.join.delete('/api/v1/nodes/n1'), 'cannot delete resource "nodes" at the cluster scope'],
      [
        t.join.get('/apis/project.openshift.io/v1/projects'),
        'cannot list resource "projects" in API group "project.openshift.io" at the cluster scope',
      ],
      [
        t.join.post('/apis/project.openshift.io/v1/projectrequests', { metadata: { name: 'p' } }),
        'cannot create resource "projectrequests" in API group "project.openshift.io"',
      ],
    ];
    for (const [reply, message] of cases) {
      const status = expectStatus(await reply, 403, 'Forbidden');
      expect(status.message).toContain(message);
      expect(status.message).toContain('User "system:node-bootstrap"');
    }
    // Nothing was written.
    expect((await t.admin.get<Pod>(podsPath('demo', 'web'))).body.spec.containers[0]!.image).toBe(
      'busybox:1',
    );
    expect(names((await t.admin.list('/apis/project.openshift.io/v1/projects')).body)).toEqual([
      'default',
      'demo',
      'openshift',
      'openshift-config',
      'openshift-dns',
    ]);
  });

  it('gets secrets and configmaps by name for the node-join token', async () => {
    await t.admin.post('/api/v1/namespaces/demo/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
    });
    expect((await t.join.get('/api/v1/namespaces/demo/secrets/s')).status).toBe(200);
    expectStatus(await t.join.get('/api/v1/namespaces/demo/configmaps/none'), 404, 'NotFound');
  });
});

describe('data directory', () => {
  it('refuses a second master on the same data directory and takes over a stale lock', async () => {
    await expect(startTestMaster({ dataDir: t.dataDir })).rejects.toThrow(
      `data directory ${t.dataDir} is in use by process ${process.pid}`,
    );
    // The first master is unaffected.
    await expectHealthy(t);

    const dataDir = await mkdtemp(join(tmpdir(), 'slipway-lock-'));
    try {
      // A pid that cannot be running: above the kernel's maximum.
      await writeFile(join(dataDir, 'master.lock'), '4194305\n');
      const m = await startTestMaster({ dataDir });
      expect((await readFile(join(dataDir, 'master.lock'), 'utf8')).trim()).toBe(
        String(process.pid),
      );
      await m.close();
      await expect(stat(join(dataDir, 'master.lock'))).rejects.toThrow();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
