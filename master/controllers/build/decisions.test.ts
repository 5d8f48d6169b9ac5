import { describe, expect, it } from 'vitest';
import type { Pod } from '../../../src/api/index.js';
import { buildPod, PLACEHOLDER_BUILDER_IMAGE } from './build-pod.js';
import { finishedBuild } from './build-result.js';
import { buildsToPrune } from './history.js';
import { desiredImageStreamStatus } from './image-stream-controller.js';
import { runPolicyDecision } from './run-policy.js';
import { build, buildConfig, digest, imageStream } from './testing/fixture.js';
import { nextTriggeredBuild } from './triggers.js';

describe('runPolicyDecision', () => {
  const b = build('app', 2);
  it('Serial: runs when nothing runs and no older build is queued', () => {
    expect(runPolicyDecision(b, [b], 'Serial')).toBe('run');
    expect(runPolicyDecision(b, [build('app', 1, 'Complete'), b], undefined)).toBe('run');
    expect(runPolicyDecision(b, [build('app', 1, 'Running'), b], 'Serial')).toBe('wait');
    expect(runPolicyDecision(b, [build('app', 1, 'Pending'), b], 'Serial')).toBe('wait');
    expect(runPolicyDecision(b, [build('app', 1), b], 'Serial')).toBe('wait');
    expect(runPolicyDecision(b, [build('app', 1, 'New', { cancelled: true }), b], 'Serial')).toBe(
      'run',
    );
    expect(runPolicyDecision(b, [b, build('app', 3)], 'Serial')).toBe('run');
  });
  it('SerialLatestOnly: a queued build with a newer one behind it is cancelled', () => {
    expect(runPolicyDecision(b, [b, build('app', 3)], 'SerialLatestOnly')).toBe('cancel');
    expect(runPolicyDecision(b, [build('app', 1, 'Running'), b], 'SerialLatestOnly')).toBe('wait');
    expect(runPolicyDecision(b, [b, build('app', 3, 'Running')], 'SerialLatestOnly')).toBe('wait');
  });
  it('Parallel: always runs', () => {
    expect(runPolicyDecision(b, [build('app', 1, 'Running'), b, build('app', 3)], 'Parallel')).toBe(
      'run',
    );
  });
});

describe('buildsToPrune', () => {
  it('keeps the newest 5 successful and 5 failed by default, never active ones', () => {
    const builds = [
      ...Array.from({ length: 7 }, (_, i) => build('app', i + 1, 'Complete')),
      ...Array.from({ length: 6 }, (_, i) => build('app', i + 8, i % 2 ? 'Error' : 'Failed')),
      build('app', 14, 'Cancelled'),
      build('app', 15, 'Running'),
      build('app', 16),
    ];
    const pruned = buildsToPrune(buildConfig('app'), builds)
      .map((b) => b.metadata.name)
      .sort();
    expect(pruned).toEqual(['app-1', 'app-2', 'app-8', 'app-9']);
  });
  it('honours the configured limits, 0 included', () => {
    const bc = buildConfig('app', { successfulBuildsHistoryLimit: 0, failedBuildsHistoryLimit: 2 });
    const builds = [
      build('app', 1, 'Complete'),
      build('app', 2, 'Failed'),
      build('app', 3, 'Failed'),
      build('app', 4, 'Failed'),
    ];
    expect(
      buildsToPrune(bc, builds)
        .map((b) => b.metadata.name)
        .sort(),
    ).toEqual(['app-1', 'app-2']);
  });
});

describe('nextTriggeredBuild', () => {
  const img1 = `b.example.com/n@${digest(1)}`;
  const img2 = `b.example.com/n@${digest(2)}`;
  const streams = (ref?: string) => (ns: string, name: string) =>
    ref && ns === 'ns' && name === 'builder' ? imageStream('builder', { latest: ref }) : undefined;

  it('ConfigChange builds once, for lastVersion 0 only', () => {
    const bc = buildConfig('app', { triggers: [{ type: 'ConfigChange' }] });
    expect(nextTriggeredBuild(bc, streams())).toEqual({
      triggeredBy: [{ message: 'Build configuration change' }],
      lastVersion: 0,
    });
    expect(nextTriggeredBuild(buildConfig('app', bc.spec, 1), streams(img1))).toBeUndefined();
  });

  it('with an ImageChange trigger on the builder, the first build waits for the image', () => {
    const spec = {
      triggers: [{ type: 'ConfigChange' as const }, { type: 'ImageChange' as const }],
    };
    expect(nextTriggeredBuild(buildConfig('app', spec), streams())).toBeUndefined();
    expect(
      nextTriggeredBuild(buildConfig('app', spec), streams(img1))?.triggeredBy[0]?.message,
    ).toBe('Build configuration change');
  });

  it('ImageChange fires for an image that has not triggered yet, once', () => {
    const bc = buildConfig('app', { triggers: [{ type: 'ImageChange', imageChange: {} }] }, 1);
    bc.status = {
      lastVersion: 1,
      imageChangeTriggers: [
        { from: { namespace: 'ns', name: 'builder:latest' }, lastTriggeredImageID: img1 },
      ],
    };
    expect(nextTriggeredBuild(bc, streams(img1))).toBeUndefined();
    expect(nextTriggeredBuild(bc, streams(img2))).toEqual({
      triggeredBy: [
        {
          message: 'Image change',
          imageChangeBuild: {
            imageID: img2,
            fromRef: { kind: 'ImageStreamTag', name: 'builder:latest', namespace: 'ns' },
          },
        },
      ],
      triggeredByImage: { kind: 'DockerImage', name: img2 },
      from: { kind: 'ImageStreamTag', name: 'builder:latest' },
      lastVersion: 1,
    });
    const paused = buildConfig(
      'app',
      { triggers: [{ type: 'ImageChange', imageChange: { paused: true } }] },
      1,
    );
    expect(nextTriggeredBuild(paused, streams(img2))).toBeUndefined();
  });

  it('binary configurations never build by themselves', () => {
    const bc = buildConfig('app', { source: { binary: {} }, triggers: [{ type: 'ConfigChange' }] });
    expect(nextTriggeredBuild(bc, streams(img1))).toBeUndefined();
  });
});

describe('finishedBuild', () => {
  const pod = (phase: 'Succeeded' | 'Failed', terminated?: Record<string, unknown>): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app-1-build' },
    spec: { containers: [{ name: 'sti-build', image: 'x' }] },
    status: {
      phase,
      ...(terminated
        ? {
            containerStatuses: [
              {
                name: 'sti-build',
                ready: false,
                restartCount: 0,
                image: 'x',
                state: { terminated: { exitCode: 1, ...terminated } },
              },
            ],
          }
        : {}),
    },
  });
  const running = build('app', 1, 'Running', { startTimestamp: '2030-01-01T00:00:00Z' });
  const now = '2030-01-01T00:01:30Z';

  it('Succeeded is Complete with the digest and the duration in nanoseconds', () => {
    const { status, result } = finishedBuild(
      running,
      pod('Succeeded', {
        exitCode: 0,
        reason: 'Completed',
        message: JSON.stringify({ outputImageDigest: digest(5) }),
      }),
      now,
    );
    expect(status).toMatchObject({
      phase: 'Complete',
      duration: 90e9,
      completionTimestamp: now,
      output: { to: { imageDigest: digest(5) } },
    });
    expect(status.reason).toBeUndefined();
    expect(result?.outputImageDigest).toBe(digest(5));
  });

  it.each([
    ['FetchSourceFailed', 'Failed', 'FetchSourceFailed'],
    ['PushImageToRegistryFailed', 'Failed', 'PushImageToRegistryFailed'],
    ['OutOfMemoryKilled', 'Failed', 'OutOfMemoryKilled'],
    ['OOMKilled', 'Failed', 'OutOfMemoryKilled'],
    ['Error', 'Failed', 'GenericBuildFailed'],
    ['Cancelled', 'Cancelled', 'CancelledBuild'],
  ])('a %s container makes the build %s (%s)', (reason, phase, buildReason) => {
    const { status } = finishedBuild(running, pod('Failed', { reason, message: 'not json' }), now);
    expect(status).toMatchObject({ phase, reason: buildReason });
    expect(status.message).toBeTruthy();
  });

  it('prefers the agent’s message, and a pod without container status is an Error', () => {
    const { status } = finishedBuild(
      running,
      pod('Failed', {
        reason: 'FetchSourceFailed',
        message: JSON.stringify({ message: 'repository not found' }),
      }),
      now,
    );
    expect(status.message).toBe('repository not found');
    expect(status.logSnippet).toBeUndefined();
    const failed = finishedBuild(
      { ...running, status: { ...running.status, logSnippet: 'an older one' } },
      pod('Failed', {
        reason: 'GenericBuildFailed',
        message: JSON.stringify({
          message: 'assemble exited with code 1; see the build log',
          logSnippet: 'npm ERR! 404 Not Found\nerror: assemble exited with code 1',
        }),
      }),
      now,
    ).status;
    expect(failed.logSnippet).toBe('npm ERR! 404 Not Found\nerror: assemble exited with code 1');
    expect(finishedBuild(running, pod('Failed'), now).status).toMatchObject({
      phase: 'Error',
      reason: 'NoBuildContainerStatus',
    });
  });
});

describe('buildPod', () => {
  it('gives a Docker build without from the placeholder image and no secrets in the container', () => {
    const b = build('app', 1);
    b.spec.strategy = { type: 'Docker', dockerStrategy: { dockerfilePath: 'Dockerfile' } };
    b.spec.source = {
      git: { uri: 'https://x.example.com/r.git' },
      sourceSecret: { name: 'creds' },
    };
    b.spec.nodeSelector = { builds: 'yes' };
    b.spec.completionDeadlineSeconds = 600;
    const pod = buildPod(b, { builderImage: PLACEHOLDER_BUILDER_IMAGE, outputImage: undefined });
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Never',
      nodeSelector: { builds: 'yes' },
      activeDeadlineSeconds: 600,
      volumes: [{ name: 'source-secret', secret: { secretName: 'creds' } }],
    });
    const c = pod.spec.containers[0]!;
    expect(c.name).toBe('docker-build');
    expect(c.image).toBe(PLACEHOLDER_BUILDER_IMAGE);
    expect(c.volumeMounts).toBeUndefined();
    expect(c.env?.map((e) => e.name)).toEqual(['BUILD', 'SOURCE_REPOSITORY', 'SOURCE_URI']);
  });
});

describe('desiredImageStreamStatus', () => {
  const now = '2030-01-01T00:00:00Z';
  it('imports DockerImage spec tags once per generation and sets the repository', () => {
    const is = imageStream('redis');
    is.spec = {
      tags: [
        { name: '7', from: { kind: 'DockerImage', name: `r/redis@${digest(7)}` }, generation: 2 },
      ],
    };
    const status = desiredImageStreamStatus(is, '127.0.0.1:5000', () => undefined, now);
    expect(status.dockerImageRepository).toBe('127.0.0.1:5000/ns/redis');
    expect(status.tags?.find((t) => t.tag === '7')?.items).toEqual([
      {
        created: now,
        dockerImageReference: `r/redis@${digest(7)}`,
        image: digest(7),
        generation: 2,
      },
    ]);
    // A build pushed to the tag since: the spec does not take it back.
    const pushed = {
      ...is,
      status: {
        ...status,
        tags: [
          {
            tag: '7',
            items: [
              { created: now, dockerImageReference: 'pushed', generation: 3 },
              ...status.tags![0]!.items,
            ],
          },
        ],
      },
    };
    expect(desiredImageStreamStatus(pushed, '127.0.0.1:5000', () => undefined, now)).toEqual(
      pushed.status,
    );
  });

  it('follows ImageStreamTag spec tags, in the same stream and others', () => {
    const is = imageStream('nodejs', { '20': 'r/node@20' });
    is.spec = {
      tags: [
        { name: 'latest', from: { kind: 'ImageStreamTag', name: '20' } },
        { name: 'lts', from: { kind: 'ImageStreamTag', name: 'base:1', namespace: 'openshift' } },
      ],
    };
    const other = imageStream('base', { '1': 'r/base@1' }, 'openshift');
    const status = desiredImageStreamStatus(
      is,
      undefined,
      (ns, n) => (ns === 'openshift' && n === 'base' ? other : undefined),
      now,
    );
    const newest = (tag: string) =>
      status.tags?.find((t) => t.tag === tag)?.items[0]?.dockerImageReference;
    expect(newest('latest')).toBe('r/node@20');
    expect(newest('lts')).toBe('r/base@1');
    expect(status.dockerImageRepository).toBeUndefined();
  });
});
