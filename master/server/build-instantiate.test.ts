import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import {
  buildConfigKind,
  builtinKinds,
  imageStreamKind,
  type Build,
  type BuildConfig,
} from '../../src/api/index.js';
import { MemoryStore } from '../store/memory.js';
import { registerBuildAdmission } from './build-admission.js';
import { BuildInstantiator, parseBuildRequest } from './build-instantiate.js';
import { ResourceStore } from './resources.js';

const D1 = `r/ns/builder@sha256:${'1'.repeat(64)}`;
const D2 = `r/ns/builder@sha256:${'2'.repeat(64)}`;

async function setup(spec: Record<string, unknown> = {}, allowFileGitSources = false) {
  const store = new MemoryStore();
  const resources = new ResourceStore({ store, registry: builtinKinds() });
  registerBuildAdmission(resources, { allowFileGitSources });
  const instantiator = new BuildInstantiator({
    resources,
    projects: { withNamespaceForCreate: (_ns, fn) => fn() },
    allowFileGitSources,
    now: () => new Date('2030-01-01T00:00:00Z'),
  });
  await resources.create(imageStreamKind, 'ns', {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name: 'builder' },
    status: { tags: [{ tag: 'latest', items: [{ created: 'x', dockerImageReference: D1 }] }] },
  });
  await resources.create(buildConfigKind, 'ns', {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: { name: 'app', labels: { app: 'app' } },
    spec: {
      source: { git: { uri: 'https://git.example.com/app.git', ref: 'main' } },
      strategy: {
        type: 'Source',
        sourceStrategy: {
          from: { kind: 'ImageStreamTag', name: 'builder:latest' },
          env: [{ name: 'A', value: '1' }],
        },
      },
      output: { to: { kind: 'ImageStreamTag', name: 'app:latest' } },
      triggers: [
        { type: 'ImageChange', imageChange: {} },
        { type: 'Generic', generic: { secret: 's' } },
      ],
      runPolicy: 'Parallel',
      ...spec,
    },
  });
  const bc = async () => (await resources.get(buildConfigKind, 'ns', 'app')) as BuildConfig;
  return { store, resources, instantiator, bc };
}

describe('BuildInstantiator', () => {
  it('creates BC-N with OpenShift’s labels, annotations, owner and the BuildConfig’s spec', async () => {
    const { instantiator, bc } = await setup();
    const build = await instantiator.instantiate('ns', 'app', { env: [{ name: 'A', value: '2' }] });
    expect(build.metadata).toMatchObject({
      name: 'app-1',
      namespace: 'ns',
      labels: {
        app: 'app',
        buildconfig: 'app',
        'openshift.io/build-config.name': 'app',
        'openshift.io/build.start-policy': 'Parallel',
      },
      annotations: {
        'openshift.io/build-config.name': 'app',
        'openshift.io/build.number': '1',
        'openshift.io/build.pod-name': 'app-1-build',
      },
    });
    expect(build.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'BuildConfig',
        name: 'app',
        uid: (await bc()).metadata.uid,
        controller: true,
      }),
    ]);
    expect(build.spec.triggeredBy).toEqual([{ message: 'Manually triggered' }]);
    expect(build.spec.strategy.sourceStrategy?.env).toEqual([{ name: 'A', value: '2' }]);
    expect((build.spec as unknown as Record<string, unknown>).triggers).toBeUndefined();
    expect((build.spec as unknown as Record<string, unknown>).runPolicy).toBeUndefined();
    expect(build.status).toEqual({
      phase: 'New',
      config: { kind: 'BuildConfig', namespace: 'ns', name: 'app' },
    });
    // The strategy image's trigger records the image this build will use.
    const config = await bc();
    expect(config.status?.lastVersion).toBe(1);
    expect(config.status?.imageChangeTriggers).toEqual([
      {
        from: { namespace: 'ns', name: 'builder:latest' },
        lastTriggeredImageID: D1,
        lastTriggerTime: '2030-01-01T00:00:00Z',
      },
    ]);
    expect(config.spec.triggers?.[0]?.imageChange?.lastTriggeredImageID).toBe(D1);
    expect(config.metadata.generation).toBe(1);
  });

  it('never gives two concurrent builds the same number', async () => {
    const { instantiator, bc } = await setup();
    const builds = await Promise.all(
      Array.from({ length: 25 }, () => instantiator.instantiate('ns', 'app', {})),
    );
    const numbers = builds
      .map((b) => Number(b.metadata.annotations?.['openshift.io/build.number']))
      .sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect((await bc()).status?.lastVersion).toBe(25);
  });

  it('builds once per triggering image, from exactly that image', async () => {
    const { instantiator, bc } = await setup();
    const request = {
      triggeredBy: [{ message: 'Image change' }],
      triggeredByImage: { kind: 'DockerImage', name: D2 },
      lastVersion: 0,
    };
    const build = await instantiator.instantiate('ns', 'app', request);
    expect(build.spec.strategy.sourceStrategy?.from).toEqual({ kind: 'DockerImage', name: D2 });
    expect((await bc()).status?.imageChangeTriggers?.[0]?.lastTriggeredImageID).toBe(D2);
    const again = instantiator.instantiate('ns', 'app', { ...request, lastVersion: 1 });
    await expect(again).rejects.toThrow(/already triggered by image/);
    await expect(instantiator.instantiate('ns', 'app', { lastVersion: 0 })).rejects.toMatchObject({
      reason: 'Conflict',
    });
  });

  it('skips numbers taken by builds left from an earlier BuildConfig of the same name', async () => {
    const { instantiator, resources } = await setup();
    const first = await instantiator.instantiate('ns', 'app', {});
    await resources.delete(buildConfigKind, 'ns', 'app');
    await resources.create(buildConfigKind, 'ns', {
      apiVersion: 'build.openshift.io/v1',
      kind: 'BuildConfig',
      metadata: { name: 'app' },
      spec: {
        strategy: { type: 'Docker', dockerStrategy: {} },
        source: { dockerfile: 'FROM scratch' },
      },
    });
    const next = await instantiator.instantiate('ns', 'app', {});
    expect(first.metadata.name).toBe('app-1');
    expect(next.metadata.name).toBe('app-2');
  });

  it('binary: replaces the git source, and a binary configuration needs an upload', async () => {
    const { instantiator } = await setup();
    let placed: Build | undefined;
    const build = await instantiator.instantiate(
      'ns',
      'app',
      {},
      {
        binary: { asFile: 'app.war' },
        beforeCommit: (b) => {
          placed = b;
          return Promise.resolve();
        },
      },
    );
    expect(build.spec.source).toEqual({ type: 'Binary', binary: { asFile: 'app.war' } });
    expect(placed?.metadata.uid).toBe(build.metadata.uid);
    const binary = await setup({ source: { type: 'Binary', binary: {} } });
    await expect(binary.instantiator.instantiate('ns', 'app', {})).rejects.toThrow(
      /takes binary input/,
    );
  });

  it('refuses local git sources unless allowed', async () => {
    const { resources } = await setup();
    const create = (name: string) =>
      resources.create(buildConfigKind, 'ns', {
        apiVersion: 'build.openshift.io/v1',
        kind: 'BuildConfig',
        metadata: { name },
        spec: {
          source: { git: { uri: 'file:///srv/repo' } },
          strategy: { type: 'Docker', dockerStrategy: {} },
        },
      });
    await expect(create('local')).rejects.toMatchObject({ reason: 'Invalid' });
    const allowed = await setup({}, true);
    await expect(
      allowed.resources.create(buildConfigKind, 'ns', {
        apiVersion: 'build.openshift.io/v1',
        kind: 'BuildConfig',
        metadata: { name: 'local' },
        spec: {
          source: { git: { uri: 'file:///srv/repo' } },
          strategy: { type: 'Docker', dockerStrategy: {} },
        },
      }),
    ).resolves.toBeDefined();
  });

  it('404s for a missing BuildConfig and checks BuildRequest bodies', async () => {
    const { instantiator } = await setup();
    await expect(instantiator.instantiate('ns', 'nope', {})).rejects.toMatchObject({
      reason: 'NotFound',
    });
    expect(() => parseBuildRequest({ kind: 'Build' }, 'app')).toThrow(ApiError);
    expect(() => parseBuildRequest({ metadata: { name: 'other' } }, 'app')).toThrow(
      /must be "app"/,
    );
    expect(
      parseBuildRequest({ kind: 'BuildRequest', metadata: { name: 'app' }, lastVersion: 3 }, 'app'),
    ).toEqual({
      lastVersion: 3,
    });
  });
});
