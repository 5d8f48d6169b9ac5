import { describe, expect, it } from 'vitest';
import { builtinKinds, podKind, projectKind } from '../../src/api/kinds/index.js';
import type { ApiObject } from '../../src/api/meta.js';
import {
  MCS_ANNOTATION,
  SUPPLEMENTAL_GROUPS_ANNOTATION,
  UID_RANGE_ANNOTATION,
} from '../../src/api/scc.js';
import { silentLogger } from '../../src/util/logger.js';
import { Projects } from '../server/projects.js';
import { ResourceStore } from '../server/resources.js';
import { MemoryStore } from '../store/memory.js';
import { installAdmission } from './index.js';
import {
  blockAnnotations,
  DEFAULT_UID_POOL,
  indexOfBlock,
  isReservationTaken,
  mcsLevel,
  RESERVATION_PREFIX,
  reservationKey,
  type UidPool,
} from './uid-ranges.js';

/** Counts reservations lost to a concurrent create (the allocation's retry path). */
class CountingStore extends MemoryStore {
  lost = 0;
  override async txn(ops: Parameters<MemoryStore['txn']>[0]): Promise<number> {
    try {
      return await super.txn(ops);
    } catch (err) {
      if (isReservationTaken(err)) this.lost += 1;
      throw err;
    }
  }
}

function setup(pool?: UidPool, store: MemoryStore = new CountingStore()) {
  const resources = new ResourceStore({ store, registry: builtinKinds() });
  const projects = new Projects(resources, silentLogger());
  const admission = installAdmission({
    resources,
    projects,
    logger: silentLogger(),
    ...(pool ? { pool } : {}),
  });
  return { store, resources, projects, admission };
}

const range = (p: ApiObject): string | undefined => p.metadata.annotations?.[UID_RANGE_ANNOTATION];

describe('the UID pool', () => {
  it("is OpenShift's: 1000000000-1999999999 in blocks of 10000", () => {
    expect(blockAnnotations(DEFAULT_UID_POOL, 0)).toEqual({
      [UID_RANGE_ANNOTATION]: '1000000000/10000',
      [SUPPLEMENTAL_GROUPS_ANNOTATION]: '1000000000/10000',
      [MCS_ANNOTATION]: 's0:c1,c0',
    });
    expect(blockAnnotations(DEFAULT_UID_POOL, 65)[UID_RANGE_ANNOTATION]).toBe('1000650000/10000');
    expect(blockAnnotations(DEFAULT_UID_POOL, 99_999)[UID_RANGE_ANNOTATION]).toBe(
      '1999990000/10000',
    );
    expect(indexOfBlock(DEFAULT_UID_POOL, { start: 1000650000, size: 10000 })).toBe(65);
    expect(indexOfBlock(DEFAULT_UID_POOL, { start: 1000650001, size: 10000 })).toBeUndefined();
    expect(indexOfBlock(DEFAULT_UID_POOL, { start: 1000650000, size: 5000 })).toBeUndefined();
    expect(indexOfBlock(DEFAULT_UID_POOL, { start: 2000000000, size: 10000 })).toBeUndefined();
    expect(reservationKey(65)).toBe(`${RESERVATION_PREFIX}000065`);
  });

  it('gives every block of the pool its own MCS level', () => {
    const seen = new Set<string>();
    for (let i = 0; i < DEFAULT_UID_POOL.blocks; i += 1) seen.add(mcsLevel(i));
    expect(seen.size).toBe(DEFAULT_UID_POOL.blocks);
    expect(mcsLevel(1)).toBe('s0:c2,c0');
    expect(mcsLevel(2)).toBe('s0:c2,c1');
    expect(mcsLevel(DEFAULT_UID_POOL.blocks - 1)).toMatch(/^s0:c\d+,c\d+$/);
    const [high] = /c(\d+)/.exec(mcsLevel(DEFAULT_UID_POOL.blocks - 1))!.slice(1);
    expect(Number(high)).toBeLessThan(1024);
  });
});

describe('allocation', () => {
  it('gives concurrently created projects distinct blocks, lowest first', async () => {
    const { projects, store } = setup();
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) => projects.request({ metadata: { name: `p${i}` } })),
    );
    const ranges = created.map(range);
    expect(new Set(ranges).size).toBe(40);
    // They did race for the same blocks.
    expect((store as CountingStore).lost).toBeGreaterThan(0);
    const starts = ranges.map((r) => Number(r!.split('/')[0])).sort((a, b) => a - b);
    expect(starts[0]).toBe(1_000_000_000);
    expect(starts[39]).toBe(1_000_000_000 + 39 * 10_000);
    for (const p of created) {
      expect(p.metadata.annotations?.[SUPPLEMENTAL_GROUPS_ANNOTATION]).toBe(range(p));
      expect(p.metadata.annotations?.[MCS_ANNOTATION]).toMatch(/^s0:c\d+,c\d+$/);
    }
  });

  it("frees a deleted project's block for a later project", async () => {
    const { projects, store } = setup();
    const a = await projects.request({ metadata: { name: 'a' } });
    const b = await projects.request({ metadata: { name: 'b' } });
    await projects.delete('a');
    expect((await store.list(RESERVATION_PREFIX)).items).toHaveLength(1);
    const c = await projects.request({ metadata: { name: 'c' } });
    expect(range(c)).toBe(range(a));
    expect(range(c)).not.toBe(range(b));
  });

  it('overwrites ranges a client sends with the allocated block', async () => {
    const { resources } = setup();
    const p = await resources.create(projectKind, undefined, {
      apiVersion: 'project.openshift.io/v1',
      kind: 'Project',
      metadata: { name: 'x', annotations: { [UID_RANGE_ANNOTATION]: '0/10000' } },
    });
    expect(range(p)).toBe('1000000000/10000');
  });

  it('refuses a project when the pool is exhausted, storing nothing', async () => {
    const { projects, store } = setup({ start: 5000, blockSize: 100, blocks: 2 });
    await projects.request({ metadata: { name: 'a' } });
    await projects.request({ metadata: { name: 'b' } });
    await expect(projects.request({ metadata: { name: 'c' } })).rejects.toMatchObject({
      reason: 'InternalError',
      message: expect.stringContaining('all 2 blocks of 5000-5199/100 are in use') as string,
    });
    expect(await store.get('/registry/project.openshift.io/projects/c')).toBeUndefined();
  });

  it('takes no block for a project that already exists', async () => {
    const { projects, store } = setup();
    await projects.request({ metadata: { name: 'a' } });
    await expect(projects.request({ metadata: { name: 'a' } })).rejects.toMatchObject({
      reason: 'AlreadyExists',
    });
    expect((await store.list(RESERVATION_PREFIX)).items).toHaveLength(1);
  });

  it('repairs: ranges for projects from before allocation, orphans released', async () => {
    const store = new MemoryStore();
    // A master without admission created these.
    const bare = new ResourceStore({ store, registry: builtinKinds() });
    const bareProjects = new Projects(bare, silentLogger());
    await bareProjects.request({ metadata: { name: 'old' } });
    await bare.create(projectKind, undefined, {
      apiVersion: 'project.openshift.io/v1',
      kind: 'Project',
      metadata: { name: 'kept', annotations: { [UID_RANGE_ANNOTATION]: '1000030000/10000' } },
    });
    await store.create(reservationKey(7), JSON.stringify({ project: 'gone' }));

    const { admission, resources } = setup(undefined, store);
    await admission.repair();
    const old = await resources.get(projectKind, undefined, 'old');
    const kept = await resources.get(projectKind, undefined, 'kept');
    expect(range(kept)).toBe('1000030000/10000');
    expect(range(old)).toBe('1000000000/10000');
    const keys = (await store.list(RESERVATION_PREFIX)).items.map((kv) => kv.key);
    expect(keys).toEqual([reservationKey(0), reservationKey(3)]);
    // Idempotent.
    await admission.repair();
    expect((await store.list(RESERVATION_PREFIX)).items).toHaveLength(2);
  });

  it('admits pods in a project whose range the repair assigned', async () => {
    const store = new MemoryStore();
    const bare = new ResourceStore({ store, registry: builtinKinds() });
    await new Projects(bare, silentLogger()).request({ metadata: { name: 'old' } });
    const { admission, resources } = setup(undefined, store);
    await admission.repair();
    const pod = await resources.create(podKind, 'old', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    expect(pod).toMatchObject({ spec: { securityContext: { runAsUser: 1_000_000_000 } } });
  });
});
