import type { Build, BuildConfig, ImageStream, Pod } from '../../../../src/api/index.js';
import { Informer } from '../../../../src/reconcile/index.js';
import { flush } from '../../../../src/reconcile/testing/fake-clock.js';
import { FakeListWatcher } from '../../../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../../../src/reconcile/testing/recording-logger.js';
import { FakeRecorder } from '../../testing/fakes.js';
import { BuildConfigController } from '../build-config-controller.js';
import { BuildController } from '../build-controller.js';
import { ImageStreamController } from '../image-stream-controller.js';
import { FakeBuildClient } from './fake-build-client.js';

export const REGISTRY = '127.0.0.1:5000';
export const NOW = new Date('2030-01-01T00:00:00Z');

export interface BuildFixture {
  pods: FakeListWatcher<Pod>;
  builds: FakeListWatcher<Build>;
  configs: FakeListWatcher<BuildConfig>;
  streams: FakeListWatcher<ImageStream>;
  client: FakeBuildClient;
  recorder: FakeRecorder;
  buildController: BuildController;
  configController: BuildConfigController;
  streamController: ImageStreamController;
  signal: AbortSignal;
  /** Lets the informers see the latest writes. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** The three build controllers over fake stores, their informers synced (workers not run:
 * tests call reconcile and look at the actions). */
export async function buildFixture(
  initial: {
    pods?: Pod[];
    builds?: Build[];
    configs?: BuildConfig[];
    streams?: ImageStream[];
    registry?: string | undefined;
  } = {},
): Promise<BuildFixture> {
  const logger = new RecordingLogger();
  const pods = new FakeListWatcher<Pod>(initial.pods ?? []);
  const builds = new FakeListWatcher<Build>(initial.builds ?? []);
  const configs = new FakeListWatcher<BuildConfig>(initial.configs ?? []);
  const streams = new FakeListWatcher<ImageStream>(initial.streams ?? []);
  const informers = {
    pods: new Informer<Pod>({ name: 'pods', listWatcher: pods, logger }),
    builds: new Informer<Build>({ name: 'builds', listWatcher: builds, logger }),
    buildConfigs: new Informer<BuildConfig>({ name: 'buildconfigs', listWatcher: configs, logger }),
    imageStreams: new Informer<ImageStream>({ name: 'imagestreams', listWatcher: streams, logger }),
  };
  const client = new FakeBuildClient({
    pods,
    builds,
    buildConfigs: configs,
    imageStreams: streams,
  });
  const recorder = new FakeRecorder();
  const registry = 'registry' in initial ? initial.registry : REGISTRY;
  const now = (): Date => NOW;
  const buildController = new BuildController({
    ...informers,
    client,
    recorder,
    logger,
    registry,
    now,
  });
  const configController = new BuildConfigController({ ...informers, client, recorder, logger });
  const streamController = new ImageStreamController({
    imageStreams: informers.imageStreams,
    client,
    logger,
    registry,
    now,
  });
  const abort = new AbortController();
  const runs = Object.values(informers).map((i) => i.run(abort.signal));
  for (const i of Object.values(informers)) await i.waitForSync();
  return {
    pods,
    builds,
    configs,
    streams,
    client,
    recorder,
    buildController,
    configController,
    streamController,
    signal: abort.signal,
    settle: () => flush(),
    stop: async () => {
      abort.abort();
      await Promise.all(runs);
    },
  };
}

export function digest(n: number): string {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

export function imageStream(
  name: string,
  tags: Record<string, string> = {},
  namespace = 'ns',
): ImageStream {
  return {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name, namespace, generation: 1 },
    status: {
      tags: Object.entries(tags).map(([tag, ref]) => ({
        tag,
        items: [{ created: '2029-12-31T00:00:00Z', dockerImageReference: ref, generation: 1 }],
      })),
    },
  };
}

export function buildConfig(
  name: string,
  spec: Partial<BuildConfig['spec']> = {},
  lastVersion = 0,
): BuildConfig {
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: { name, namespace: 'ns', uid: `uid-bc-${name}` },
    spec: {
      source: { git: { uri: 'https://git.example.com/app.git' } },
      strategy: {
        type: 'Source',
        sourceStrategy: { from: { kind: 'ImageStreamTag', name: 'builder:latest' } },
      },
      output: { to: { kind: 'ImageStreamTag', name: `${name}:latest` } },
      ...spec,
    },
    status: { lastVersion },
  };
}

export function build(
  config: string,
  number: number,
  phase: NonNullable<Build['status']>['phase'] = 'New',
  extra: Partial<Build['status']> = {},
): Build {
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'Build',
    metadata: {
      name: `${config}-${number}`,
      namespace: 'ns',
      uid: `uid-${config}-${number}`,
      annotations: {
        'openshift.io/build-config.name': config,
        'openshift.io/build.number': String(number),
      },
      ownerReferences: [
        {
          apiVersion: 'build.openshift.io/v1',
          kind: 'BuildConfig',
          name: config,
          uid: `uid-bc-${config}`,
          controller: true,
        },
      ],
    },
    spec: {
      source: { git: { uri: 'https://git.example.com/app.git' } },
      strategy: {
        type: 'Source',
        sourceStrategy: { from: { kind: 'ImageStreamTag', name: 'builder:latest' } },
      },
      output: { to: { kind: 'ImageStreamTag', name: `${config}:latest` } },
    },
    status: { phase, ...extra },
  };
}
