import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProject, expectStatus, pod, podsPath, startTestMaster } from './helpers.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-persist-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('the default SQLite store', () => {
  it('keeps objects, revisions and tokens across restarts, and watches resume', async () => {
    const first = await startTestMaster({ sqlite: true, dataDir });
    await createProject(first.admin, 'demo');
    const created = (await first.admin.post(podsPath('demo'), pod('web'))).body;
    const mark = (await first.admin.list(podsPath('demo'))).body.metadata.resourceVersion!;
    await first.admin.patch(podsPath('demo', 'web'), { metadata: { labels: { v: '2' } } });
    const tokens = [first.master.adminToken, first.master.joinToken];
    await first.close();
    expect((await readdir(dataDir)).sort()).toEqual(
      expect.arrayContaining(['state.db', 'tokens.json']),
    );
    expect(await readdir(dataDir)).not.toContain('master.lock');

    const second = await startTestMaster({ sqlite: true, dataDir });
    try {
      expect([second.master.adminToken, second.master.joinToken]).toEqual(tokens);
      const got = (await second.admin.get(podsPath('demo', 'web'))).body;
      expect(got.metadata.uid).toBe(created.metadata.uid);
      expect(got.metadata.labels).toEqual({ v: '2' });
      const w = await second.admin.watch(`${podsPath('demo')}?watch=true&resourceVersion=${mark}`);
      const [ev] = await w.take(1);
      expect(ev).toMatchObject({
        type: 'MODIFIED',
        object: { metadata: { name: 'web', resourceVersion: got.metadata.resourceVersion } },
      });
      w.close();
      const next = (await second.admin.post(podsPath('demo'), pod('api'))).body;
      expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(
        Number(got.metadata.resourceVersion),
      );
    } finally {
      await second.close();
    }
  });

  it('answers 410 Gone after compaction', async () => {
    const m = await startTestMaster({
      sqlite: true,
      dataDir,
      config: { compactionIntervalSeconds: 1 },
    });
    try {
      await createProject(m.admin, 'demo');
      const from = (await m.admin.list(podsPath('demo'))).body.metadata.resourceVersion!;
      await m.admin.post(podsPath('demo'), pod('a'));
      // The compactor compacts to what it saw one interval earlier: wait for two ticks.
      const path = `${podsPath('demo')}?watch=true&resourceVersion=${from}`;
      const deadline = Date.now() + 5000;
      for (;;) {
        const w = await m.admin.watch(path);
        w.close();
        if (w.status !== 200 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expectStatus(await m.admin.get(path), 410, 'Gone');
    } finally {
      await m.close();
    }
  }, 15_000);
});
