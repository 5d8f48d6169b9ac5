import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod, PodStatus } from '../../src/api/index.js';
import { RecordingLogger } from '../../src/reconcile/testing/recording-logger.js';
import { silentLogger } from '../../src/util/logger.js';
import type { PodInventory } from '../docker/inventory.js';
import { BuildPods, RESTARTED_MESSAGE } from './build-pods.js';
import type { BuildDocker } from './context.js';
import { BuildWorkspace } from './workspace.js';

const log = new RecordingLogger();

function buildPod(uid: string, status?: PodStatus): Pod {
  const build = {
    metadata: { name: 'app-1', namespace: 'demo' },
    spec: {
      strategy: { type: 'Source', sourceStrategy: { from: { kind: 'DockerImage', name: 'b' } } },
    },
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'app-1-build',
      namespace: 'demo',
      uid,
      resourceVersion: '1',
      labels: { 'openshift.io/build.name': 'app-1' },
      ownerReferences: [
        {
          apiVersion: 'build.openshift.io/v1',
          kind: 'Build',
          name: 'app-1',
          uid: 'b',
          controller: true,
        },
      ],
    },
    spec: {
      containers: [
        { name: 'sti-build', image: 'b', env: [{ name: 'BUILD', value: JSON.stringify(build) }] },
      ],
    },
    ...(status ? { status } : {}),
  };
}

let dir: string;
let statuses: PodStatus[];
let removed: string[];
let changed: string[];
let leftovers: string[];
let pods: BuildPods;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'build-pods-'));
  statuses = [];
  removed = [];
  changed = [];
  leftovers = [];
  const docker = {
    listContainers: async () => leftovers,
    removeContainer: async (id: string) => {
      removed.push(id);
    },
    removeImage: async () => undefined,
  } as unknown as BuildDocker;
  pods = new BuildPods({
    buildsDir: dir,
    docker,
    api: {
      secret: async () => undefined,
      configMap: async () => undefined,
      binarySource: async () => {
        throw new Error('none');
      },
      updateStatus: async (_pod, status) => {
        statuses.push(status);
      },
    },
    events: { normal: () => undefined, warning: () => undefined },
    // The network is never there: a started build fails at once (with reason Error).
    network: {
      ensure: async () => {
        throw new Error('no network in unit tests');
      },
      close: async () => undefined,
    },
    settings: {
      allowLocalSources: false,
      cloneTimeoutMs: 1000,
      sourceLimitBytes: 1 << 20,
      pidsLimit: 64,
      defaultUid: 1000,
    },
    hostIP: () => '10.0.0.9',
    onChange: (uid) => changed.push(uid),
    logger: silentLogger(),
    now: () => new Date('2024-05-06T07:08:09Z'),
  });
});

afterEach(async () => {
  await pods.close();
  await rm(dir, { recursive: true, force: true });
});

describe('BuildPods', () => {
  it('starts a new build pod: Pending at once, then its outcome', async () => {
    const pod = buildPod('u1');
    await pods.sync(pod, undefined, new AbortController().signal, log);
    expect(statuses[0]?.phase).toBe('Pending');
    for (let i = 0; i < 100 && !changed.includes('u1'); i++)
      await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    // Finished (the network is missing): the next pass reports it from the workspace.
    await pods.sync(
      { ...pod, status: statuses.at(-1)! },
      undefined,
      new AbortController().signal,
      log,
    );
    const done = statuses.at(-1)!;
    expect(done.phase).toBe('Failed');
    const t = done.containerStatuses?.[0]?.state.terminated;
    expect(t?.reason).toBe('Error');
    expect((JSON.parse(t?.message ?? '{}') as { message: string }).message).toMatch(
      /the build network is not available/,
    );
    const logText = await readFile(new BuildWorkspace(dir, 'u1').logPath, 'utf8');
    expect(logText).toContain('error: the build network is not available');
  });

  it('fails a build found started without a result (the agent restarted) and removes its containers', async () => {
    leftovers = ['c1', 'c2'];
    const ws = new BuildWorkspace(dir, 'u2');
    await ws.markStarted('2024-05-06T07:00:00Z');
    const inventory = { uid: 'u2', containers: [{ id: 'c1' }] } as unknown as PodInventory;
    await pods.sync(
      buildPod('u2', { phase: 'Running' }),
      inventory,
      new AbortController().signal,
      log,
    );
    expect(removed).toEqual(['c1', 'c2']);
    const t = statuses.at(-1)?.containerStatuses?.[0]?.state.terminated;
    expect(statuses.at(-1)?.phase).toBe('Failed');
    expect(t?.reason).toBe('Error');
    expect(JSON.parse(t?.message ?? '{}')).toEqual({ message: RESTARTED_MESSAGE });
    expect(await readFile(ws.logPath, 'utf8')).toContain(RESTARTED_MESSAGE);
  });

  it('reports a result left by an earlier agent, and leaves finished pods alone', async () => {
    const ws = new BuildWorkspace(dir, 'u3');
    await ws.writeResult({
      reason: 'Completed',
      exitCode: 0,
      result: { message: 'ok', outputImageDigest: 'sha256:1' },
      startedAt: 'a',
      finishedAt: 'b',
    });
    await pods.sync(
      buildPod('u3', { phase: 'Running' }),
      undefined,
      new AbortController().signal,
      log,
    );
    expect(statuses.at(-1)?.phase).toBe('Succeeded');
    statuses = [];
    await pods.sync(
      buildPod('u4', { phase: 'Succeeded' }),
      undefined,
      new AbortController().signal,
      log,
    );
    expect(statuses).toEqual([]);
  });

  it('forgets a gone pod: its workspace is removed, and sweeps workspaces of unknown pods', async () => {
    await new BuildWorkspace(dir, 'u5').markStarted('x');
    await new BuildWorkspace(dir, 'u6').markStarted('x');
    await pods.forget('u5');
    await pods.sweep((uid) => uid === 'u6');
    await new BuildWorkspace(dir, 'u7').markStarted('x');
    await pods.sweep((uid) => uid === 'u6');
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['u6']);
  });
});
