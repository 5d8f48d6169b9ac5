import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/kinds/pod.js';
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
  t = await startTestMaster({ bookmarkIntervalMs: 50 });
  await createProject(t.admin, 'demo');
});

afterEach(async () => {
  await t.close();
});

describe('list with selectors', () => {
  beforeEach(async () => {
    await t.admin.post(
      podsPath('demo'),
      pod('a', { labels: { app: 'web', tier: 'fe' }, nodeName: 'n1' }),
    );
    await t.admin.post(
      podsPath('demo'),
      pod('b', { labels: { app: 'web', tier: 'be' }, nodeName: 'n2' }),
    );
    await t.admin.post(podsPath('demo'), pod('c', { labels: { app: 'db' } }));
    await t.admin.patch(podsPath('demo', 'b', 'status'), { status: { phase: 'Running' } });
  });

  it.each([
    ['labelSelector=app%3Dweb', ['a', 'b']],
    ['labelSelector=app%3Dweb%2Ctier!%3Dfe', ['b']],
    ['labelSelector=app%20in%20(db%2Cnone)', ['c']],
    ['labelSelector=!tier', ['c']],
    ['fieldSelector=metadata.name%3Da', ['a']],
    ['fieldSelector=spec.nodeName%3Dn2', ['b']],
    ['fieldSelector=spec.nodeName%3D', ['c']],
    ['fieldSelector=status.phase%3DRunning', ['b']],
    ['fieldSelector=status.phase!%3DRunning&labelSelector=app%3Dweb', ['a']],
    ['fieldSelector=metadata.namespace%3Ddemo', ['a', 'b', 'c']],
  ])('?%s', async (query, expected) => {
    const res = await t.admin.list(`${podsPath('demo')}?${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(names(res.body)).toEqual(expected);
  });

  it('refuses bad selectors naming the problem', async () => {
    const field = expectStatus(
      await t.admin.get(`${podsPath('demo')}?fieldSelector=spec.image%3Dx`),
      400,
      'BadRequest',
    );
    expect(field.message).toBe('field label not supported: spec.image');
    const label = expectStatus(
      await t.admin.get(`${podsPath('demo')}?labelSelector=a%20in%20x`),
      400,
      'BadRequest',
    );
    expect(label.message).toContain('"x"');
    await expectHealthy(t);
  });
});

describe('watch', () => {
  it('streams the current state as ADDED, then changes, one JSON object per line', async () => {
    await t.admin.post(podsPath('demo'), pod('a'));
    const w = await t.admin.watch(`${podsPath('demo')}?watch=true`);
    expect(w.status).toBe(200);
    expect(w.response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(w.response.headers.get('transfer-encoding')).toBe('chunked');
    const [first] = await w.take(1);
    expect(first).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'a' } } });

    const created = (await t.admin.post(podsPath('demo'), pod('b'))).body;
    await t.admin.patch(podsPath('demo', 'b'), { metadata: { labels: { x: 'y' } } });
    const deleted = (await t.admin.delete(podsPath('demo', 'b'))).body;
    const evs = await w.take(3);
    expect(evs.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(evs[0]!.object.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(evs[2]!.object.metadata.resourceVersion).toBe(deleted.metadata.resourceVersion);
    expect(evs[2]!.object.metadata.labels).toEqual({ x: 'y' });
    expect((evs[0]!.object as Pod).spec.containers[0]!.image).toBe('busybox:1');
    w.close();
    await expectHealthy(t);
  });

  it('resumes from a resourceVersion with exactly the missed events', async () => {
    const list = (await t.admin.list(podsPath('demo'))).body;
    const from = list.metadata.resourceVersion!;
    // Changes while "disconnected".
    const revisions: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      revisions.push(
        (await t.admin.post(podsPath('demo'), pod(name))).body.metadata.resourceVersion!,
      );
    }
    const patched = await t.admin.patch(podsPath('demo', 'a'), {
      metadata: { labels: { v: '2' } },
    });
    revisions.push(patched.body.metadata.resourceVersion!);
    revisions.push((await t.admin.delete(podsPath('demo', 'b'))).body.metadata.resourceVersion!);

    const w = await t.admin.watch(`${podsPath('demo')}?watch=1&resourceVersion=${from}`);
    const evs = await w.take(5);
    expect(evs.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED a',
      'ADDED b',
      'ADDED c',
      'MODIFIED a',
      'DELETED b',
    ]);
    expect(evs.map((e) => e.object.metadata.resourceVersion)).toEqual(revisions);
    await w.expectQuiet();

    // Resuming from the middle yields the rest, no duplicate.
    const w2 = await t.admin.watch(`${podsPath('demo')}?watch=1&resourceVersion=${revisions[2]!}`);
    const rest = await w2.take(2);
    expect(rest.map((e) => e.object.metadata.resourceVersion)).toEqual(revisions.slice(3));
    // And live events follow without a gap.
    const live = (await t.admin.post(podsPath('demo'), pod('d'))).body;
    const [next] = await w2.take(1);
    expect(next!.object.metadata.resourceVersion).toBe(live.metadata.resourceVersion);
    await w2.expectQuiet();
    w.close();
    w2.close();
  });

  it('answers 410 Gone for a compacted resourceVersion; a re-list recovers', async () => {
    const from = (await t.admin.list(podsPath('demo'))).body.metadata.resourceVersion!;
    await t.admin.post(podsPath('demo'), pod('a'));
    await t.admin.post(podsPath('demo'), pod('b'));
    await t.store!.compact(await t.store!.currentRevision());

    const res = await t.admin.get(`${podsPath('demo')}?watch=true&resourceVersion=${from}`);
    const status = expectStatus(res, 410, 'Gone');
    expect(status.message).toMatch(new RegExp(`^too old resource version: ${from} \\(\\d+\\)$`));

    const relist = (await t.admin.list(podsPath('demo'))).body;
    expect(names(relist)).toEqual(['a', 'b']);
    const w = await t.admin.watch(
      `${podsPath('demo')}?watch=true&resourceVersion=${relist.metadata.resourceVersion!}`,
    );
    await t.admin.post(podsPath('demo'), pod('c'));
    const [ev] = await w.take(1);
    expect(ev).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'c' } } });
    w.close();
  });

  it('turns selector transitions into ADDED and DELETED', async () => {
    await t.admin.post(podsPath('demo'), pod('a', { labels: { app: 'web' } }));
    const w = await t.admin.watch(
      `${podsPath('demo')}?watch=true&labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning`,
    );
    await w.expectQuiet();
    await t.admin.patch(podsPath('demo', 'a', 'status'), { status: { phase: 'Running' } });
    await t.admin.patch(podsPath('demo', 'a'), { metadata: { annotations: { n: '1' } } });
    await t.admin.patch(podsPath('demo', 'a'), { metadata: { labels: { app: 'db' } } });
    await t.admin.post(podsPath('demo'), pod('other', { labels: { app: 'db' } }));
    await t.admin.patch(podsPath('demo', 'a'), { metadata: { labels: { app: 'web' } } });
    await t.admin.delete(podsPath('demo', 'a'));
    const evs = await w.take(5);
    expect(evs.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED a',
      'MODIFIED a',
      'DELETED a',
      'ADDED a',
      'DELETED a',
    ]);
    await w.expectQuiet();
    w.close();
  });

  it('watches one object by name, all namespaces, and cluster-scoped kinds', async () => {
    await createProject(t.admin, 'other');
    const byName = await t.admin.watch(`${podsPath('demo', 'a')}?watch=true`);
    const all = await t.admin.watch('/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dn1');
    const nodes = await t.admin.watch('/api/v1/nodes?watch=true');
    await t.admin.post(podsPath('demo'), pod('b', { nodeName: 'n1' }));
    await t.admin.post(podsPath('demo'), pod('a'));
    await t.admin.post(podsPath('other'), pod('c', { nodeName: 'n1' }));
    await t.admin.post('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
    });
    expect((await byName.take(1)).map((e) => e.object.metadata.name)).toEqual(['a']);
    expect(
      (await all.take(2)).map((e) => `${e.object.metadata.namespace}/${e.object.metadata.name}`),
    ).toEqual(['demo/b', 'other/c']);
    expect((await nodes.take(1)).map((e) => e.object.metadata.name)).toEqual(['n1']);
    await byName.expectQuiet();
    byName.close();
    all.close();
    nodes.close();
  });

  it('ends after timeoutSeconds', async () => {
    const started = Date.now();
    const w = await t.admin.watch(`${podsPath('demo')}?watch=true&timeoutSeconds=1`);
    expect(await w.next(3000)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('sends bookmarks when allowed', async () => {
    const w = await t.admin.watch(
      `${podsPath('demo')}?watch=true&allowWatchBookmarks=true&labelSelector=app%3Dnone`,
    );
    await t.admin.post(podsPath('demo'), pod('a'));
    const current = (await t.admin.list(podsPath('demo'))).body.metadata.resourceVersion!;
    let ev = await w.next(1000);
    while (ev && ev.object.metadata.resourceVersion !== current) ev = await w.next(1000);
    expect(ev).toMatchObject({
      type: 'BOOKMARK',
      object: { kind: 'Pod', metadata: { resourceVersion: current } },
    });
    w.close();
  });

  it('refuses a malformed resourceVersion', async () => {
    const res = await t.admin.get(`${podsPath('demo')}?watch=true&resourceVersion=abc`);
    expectStatus(res, 400, 'BadRequest');
  });

  it('ends open watches when the master closes', async () => {
    const w = await t.admin.watch(`${podsPath('demo')}?watch=true`);
    const closing = t.master.close();
    expect(await w.next(2000)).toBeUndefined();
    await closing;
  });
});
