import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/kinds/pod.js';
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

/** After each bad request: the server answers, and no object was written anywhere. */
async function expectNoTrace(): Promise<void> {
  await expectHealthy(t);
  expect((await t.admin.list('/api/v1/pods')).body.items).toEqual([]);
  expect((await t.admin.list('/api/v1/configmaps')).body.items).toEqual([]);
  expect((await t.admin.list('/api/v1/nodes')).body.items).toEqual([]);
  expect(names((await t.admin.list('/apis/project.openshift.io/v1/projects')).body)).toEqual([
    'default',
    'demo',
    'openshift',
    'openshift-config',
    'openshift-dns',
  ]);
}

describe('B6: bad input gets a 4xx Status naming the problem and leaves no trace', () => {
  it('malformed JSON, with the position', async () => {
    const res = await t.admin.post(
      podsPath('demo'),
      '{"apiVersion": "v1", "kind": "Pod",\n  "metadata": {"name": }}',
    );
    const status = expectStatus(res, 400, 'BadRequest');
    expect(status.message).toMatch(/not valid JSON/);
    expect(status.message).toContain('line 2, column 24');
    const truncated = expectStatus(
      await t.admin.post(podsPath('demo'), '{"kind": "Pod"'),
      400,
      'BadRequest',
    );
    expect(truncated.message).toContain('line 1, column 15');
    expectStatus(await t.admin.post(podsPath('demo'), ''), 400, 'BadRequest');
    expectStatus(await t.admin.post(podsPath('demo'), '[1,2]'), 400, 'BadRequest');
    expectStatus(await t.admin.post(podsPath('demo'), '"just a string"'), 400, 'BadRequest');
    await expectNoTrace();
  });

  it('malformed YAML, with the position', async () => {
    const bad = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: indent\n';
    const status = expectStatus(
      await t.admin.post(podsPath('demo'), bad, 'application/yaml'),
      400,
      'BadRequest',
    );
    expect(status.message).toMatch(/not valid YAML: .*at line 4, column 9/);
    const dupKey = expectStatus(
      await t.admin.post(podsPath('demo'), 'kind: Pod\nkind: Pod\n', 'application/yaml'),
      400,
      'BadRequest',
    );
    expect(dupKey.message).toMatch(/line 2/);
    const multi = expectStatus(
      await t.admin.post(podsPath('demo'), 'kind: Pod\n---\nkind: Pod\n', 'application/yaml'),
      400,
      'BadRequest',
    );
    expect(multi.message).toContain('2 YAML documents');
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i += 1)
      bomb.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i === 1 ? '' : i - 1}`)
          .join(',')}]`,
      );
    expectStatus(
      await t.admin.post(podsPath('demo'), bomb.join('\n'), 'application/yaml'),
      400,
      'BadRequest',
    );
    expectStatus(
      await t.admin.post(podsPath('demo'), 'a=b', 'application/x-www-form-urlencoded'),
      415,
      'UnsupportedMediaType',
    );
    await expectNoTrace();
  });

  it('unknown kinds and resources, named', async () => {
    const kind = expectStatus(
      await t.admin.post(podsPath('demo'), {
        apiVersion: 'v1',
        kind: 'Pdo',
        metadata: { name: 'x' },
      }),
      400,
      'BadRequest',
    );
    expect(kind.message).toBe('no kind "Pdo" is registered for version "v1"');
    expect(kind.details?.causes?.[0]?.field).toBe('kind');
    const mismatch = expectStatus(
      await t.admin.post(podsPath('demo'), {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'x' },
      }),
      400,
      'BadRequest',
    );
    expect(mismatch.message).toContain('ConfigMap');
    const version = expectStatus(
      await t.admin.post(podsPath('demo'), {
        apiVersion: 'apps/v9',
        kind: 'Pod',
        metadata: { name: 'x' },
      }),
      400,
      'BadRequest',
    );
    expect(version.message).toContain('apps/v9');
    const resource = expectStatus(
      await t.admin.get('/api/v1/namespaces/demo/widgets'),
      404,
      'NotFound',
    );
    expect(resource.message).toContain('"widgets"');
    const group = expectStatus(await t.admin.get('/apis/example.com/v1/widgets'), 404, 'NotFound');
    expect(group.message).toContain('"widgets"');
    expectStatus(await t.admin.get('/nothing/here'), 404, 'NotFound');
    expectStatus(await t.admin.get('/api/v1/namespaces/demo/nodes'), 404, 'NotFound');
    expectStatus(await t.admin.get('/api/v1/pods/x'), 404, 'NotFound');
    expectStatus(await t.admin.get(`${podsPath('demo', 'x')}/logs`), 404, 'NotFound');
    await expectNoTrace();
  });

  it('invalid names', async () => {
    for (const name of ['Bad_Name', '-x', 'a'.repeat(254), 'UPPER']) {
      const status = expectStatus(await t.admin.post(podsPath('demo'), pod(name)), 422, 'Invalid');
      expect(status.details?.causes?.map((c) => c.field)).toContain('metadata.name');
    }
    const noName = expectStatus(
      await t.admin.post(podsPath('demo'), { apiVersion: 'v1', kind: 'Pod', spec: pod('x').spec }),
      422,
      'Invalid',
    );
    expect(noName.details?.causes?.[0]?.field).toBe('metadata.name');
    const label = expectStatus(
      await t.admin.post(podsPath('demo'), pod('x', { labels: { 'bad key': 'v' } })),
      422,
      'Invalid',
    );
    expect(label.details?.causes?.[0]?.field).toBe('metadata.labels');
    const project = expectStatus(
      await t.admin.post('/apis/project.openshift.io/v1/projectrequests', {
        metadata: { name: 'a.b' },
      }),
      422,
      'Invalid',
    );
    expect(project.details?.causes?.[0]?.field).toBe('metadata.name');
    await expectNoTrace();
  });

  it('oversize bodies get 413', async () => {
    const big = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'big' },
      data: { a: 'x'.repeat(3 * 1024 * 1024) },
    };
    const status = expectStatus(
      await t.admin.post('/api/v1/namespaces/demo/configmaps', big),
      413,
      'RequestEntityTooLarge',
    );
    expect(status.message).toContain('3145728');
    // Just under the body limit but over the object limit: 422 naming the problem.
    const large = { ...big, data: { a: 'x'.repeat(2 * 1024 * 1024) } };
    expectStatus(await t.admin.post('/api/v1/namespaces/demo/configmaps', large), 422, 'Invalid');
    // A huge declared length is refused without reading it.
    const huge = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${t.url}/api/v1/namespaces/demo/configmaps`);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${t.master.adminToken}`,
            'content-type': 'application/json',
            'content-length': String(1024 * 1024 * 1024),
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"a":');
    });
    expect(huge).toBe(413);
    await expectNoTrace();
  });

  it('wrong field types, naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ ...pod('x'), spec: { containers: 'nope' } }, 'spec.containers'],
      [
        { ...pod('x'), spec: { containers: [{ name: 'c', image: 5 }] } },
        'spec.containers[0].image',
      ],
      [{ ...pod('x'), spec: { containers: [] } }, 'spec.containers'],
      [
        {
          ...pod('x'),
          spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'http' }] }] },
        },
        'spec.containers[0].ports[0].containerPort',
      ],
      [{ ...pod('x'), metadata: { name: 'x', labels: { a: 1 } } }, 'metadata.labels.a'],
      [{ ...pod('x'), metadata: 'x' }, 'metadata'],
      [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }, 'spec'],
    ];
    for (const [body, field] of cases) {
      const status = expectStatus(await t.admin.post(podsPath('demo'), body), 422, 'Invalid');
      const fields = status.details?.causes?.map((c) => c.field) ?? [];
      expect(
        fields.some((f) => f === field || f?.startsWith(field)),
        `${JSON.stringify(fields)} names ${field}`,
      ).toBe(true);
      expect(status.message).toContain(field);
    }
    const cm = expectStatus(
      await t.admin.post('/api/v1/namespaces/demo/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c' },
        data: { k: 1 },
      }),
      422,
      'Invalid',
    );
    expect(cm.details?.causes?.[0]?.field).toBe('data.k');
    const node = expectStatus(
      await t.admin.post('/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'n' },
        spec: { unschedulable: 'yes' },
      }),
      422,
      'Invalid',
    );
    expect(node.details?.causes?.[0]?.field).toBe('spec.unschedulable');
    await expectNoTrace();
  });

  it('bad updates leave the stored object as it was', async () => {
    const created = (await t.admin.post<Pod>(podsPath('demo'), pod('web'))).body;
    const bad = structuredClone(created) as unknown as {
      spec: { containers: { image: unknown }[] };
    };
    bad.spec.containers[0]!.image = 42;
    expectStatus(await t.admin.put(podsPath('demo', 'web'), bad), 422, 'Invalid');
    const badMeta = expectStatus(
      await t.admin.put(podsPath('demo', 'web'), { ...created, metadata: 'web' }),
      422,
      'Invalid',
    );
    expect(badMeta.details?.causes?.[0]?.field).toBe('metadata');
    expectStatus(
      await t.admin.patch(podsPath('demo', 'web'), '{"spec": ', 'application/merge-patch+json'),
      400,
      'BadRequest',
    );
    expectStatus(
      await t.admin.patch(podsPath('demo', 'web'), '[1]', 'application/merge-patch+json'),
      400,
      'BadRequest',
    );
    expectStatus(
      await t.admin.patch(
        podsPath('demo', 'web'),
        [{ op: 'replace', path: '/spec/nope/x', value: 1 }],
        'application/json-patch+json',
      ),
      422,
      'Invalid',
    );
    expectStatus(
      await t.admin.delete(podsPath('demo', 'web'), { preconditions: { resourceVersion: 5 } }),
      400,
      'BadRequest',
    );
    expectStatus(await t.admin.get(`${podsPath('demo')}?watch=maybe`), 400, 'BadRequest');
    expectStatus(
      await t.admin.get(`${podsPath('demo')}?watch=1&timeoutSeconds=-1`),
      400,
      'BadRequest',
    );
    const got = (await t.admin.get(podsPath('demo', 'web'))).body;
    expect(got).toEqual(created);
    await expectHealthy(t);
  });

  it('a ReplicaSet or Deployment keeps the selector it was created with', async () => {
    for (const resource of ['replicasets', 'deployments']) {
      const path = `/apis/apps/v1/namespaces/demo/${resource}`;
      const created = await t.admin.post<ApiObject & { spec: { selector: unknown } }>(path, {
        apiVersion: 'apps/v1',
        kind: resource === 'replicasets' ? 'ReplicaSet' : 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'busybox:1' }] },
          },
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const refused = expectStatus(
        await t.admin.patch(
          `${path}/web`,
          {
            spec: {
              selector: { matchLabels: { app: 'other' } },
              template: { metadata: { labels: { app: 'other' } } },
            },
          },
          'application/merge-patch+json',
        ),
        422,
        'Invalid',
      );
      expect(refused.details?.causes?.[0]).toMatchObject({
        field: 'spec.selector',
        message: 'Invalid value: {"matchLabels":{"app":"other"}}: field is immutable',
      });
      const scaled = await t.admin.patch<ApiObject & { spec: { selector: unknown } }>(
        `${path}/web`,
        { spec: { replicas: 2 } },
        'application/merge-patch+json',
      );
      expect(scaled.status).toBe(200);
      expect(scaled.body.spec.selector).toEqual({ matchLabels: { app: 'web' } });
    }
  });

  it('bad percent-encoding in the path', async () => {
    expectStatus(await t.admin.get('/api/v1/namespaces/demo/pods/%E0%A4%A'), 400, 'BadRequest');
    await expectNoTrace();
  });
});
