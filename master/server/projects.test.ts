import { describe, expect, it } from 'vitest';
import { builtinKinds, podKind, projectKind } from '../../src/api/kinds/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { MemoryStore } from '../store/memory.js';
import { Projects } from './projects.js';
import { ResourceStore } from './resources.js';

function pod(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  };
}

/** A memory store whose creates wait for a gate, so a create can be held "in flight". */
class SlowCreateStore extends MemoryStore {
  gate: Promise<void> | undefined;
  entered = 0;
  override async create(key: string, value: string) {
    this.entered += 1;
    if (this.gate) await this.gate;
    return super.create(key, value);
  }
}

describe('Projects', () => {
  it('waits for creates in flight before deleting, and takes them along', async () => {
    const store = new SlowCreateStore();
    const resources = new ResourceStore({ store, registry: builtinKinds() });
    const projects = new Projects(resources, silentLogger());
    await projects.request({ metadata: { name: 'p' } });

    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const entered = store.entered;
    const inFlight = resources.create(podKind, 'p', pod('a'));
    while (store.entered === entered) await new Promise((r) => setImmediate(r));

    let deleted = false;
    const deletion = projects.delete('p').then(() => (deleted = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(deleted).toBe(false);
    // Marked Terminating: new creates are refused right away.
    await expect(resources.create(podKind, 'p', pod('b'))).rejects.toMatchObject({
      reason: 'Forbidden',
    });

    open();
    await expect(inFlight).resolves.toMatchObject({ metadata: { name: 'a' } });
    await deletion;
    expect((await store.list('/registry/')).items).toEqual([]);
  });

  it('refuses creates in a namespace without a project', async () => {
    const resources = new ResourceStore({ store: new MemoryStore(), registry: builtinKinds() });
    new Projects(resources, silentLogger());
    await expect(resources.create(podKind, 'nope', pod('a'))).rejects.toMatchObject({
      reason: 'NotFound',
      message: 'namespaces "nope" not found',
    });
  });

  it('deletes contents and project in one transaction at consecutive revisions', async () => {
    const store = new MemoryStore();
    const resources = new ResourceStore({ store, registry: builtinKinds() });
    const projects = new Projects(resources, silentLogger());
    await projects.request({ metadata: { name: 'p' } });
    for (const n of ['a', 'b', 'c']) await resources.create(podKind, 'p', pod(n));
    const before = await store.currentRevision();
    const ac = new AbortController();
    const events = store.watch('/registry/', before, ac.signal);
    const result = await projects.delete('p');
    const seen: string[] = [];
    for await (const ev of events) {
      seen.push(`${ev.revision} ${ev.type} ${ev.kv.key}`);
      if (ev.kv.key.endsWith('/projects/p') && ev.type === 'delete') break;
    }
    ac.abort();
    expect(seen).toEqual([
      `${before + 1} update /registry/project.openshift.io/projects/p`,
      `${before + 2} delete /registry/core/pods/p/a`,
      `${before + 3} delete /registry/core/pods/p/b`,
      `${before + 4} delete /registry/core/pods/p/c`,
      `${before + 5} delete /registry/project.openshift.io/projects/p`,
    ]);
    expect(result.metadata.resourceVersion).toBe(String(before + 5));
    expect(projectKind.plural).toBe('projects');
  });
});
