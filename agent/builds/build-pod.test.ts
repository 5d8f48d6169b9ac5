import { describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/index.js';
import { isBuildPod, parseBuildPod } from './build-pod.js';
import { buildPodStatus } from './build-status.js';
import type { BuildFailure } from './types.js';

const build = {
  apiVersion: 'build.openshift.io/v1',
  kind: 'Build',
  metadata: { name: 'app-1', namespace: 'demo' },
  spec: {
    source: { git: { uri: 'https://example.com/app.git' }, sourceSecret: { name: 'from-build' } },
    strategy: { type: 'Source', sourceStrategy: { from: { kind: 'DockerImage', name: 'b:1' } } },
  },
};

function pod(
  overrides: Partial<Pod['metadata']> = {},
  container = 'sti-build',
  env?: { name: string; value: string }[],
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'app-1-build',
      namespace: 'demo',
      uid: 'u1',
      labels: { 'openshift.io/build.name': 'app-1' },
      ownerReferences: [
        {
          apiVersion: 'build.openshift.io/v1',
          kind: 'Build',
          name: 'app-1',
          uid: 'b1',
          controller: true,
        },
      ],
      ...overrides,
    },
    spec: {
      containers: [
        {
          name: container,
          image: 'reg/ns/builder@sha256:1',
          env: env ?? [
            { name: 'BUILD', value: JSON.stringify(build) },
            { name: 'OUTPUT_IMAGE', value: 'reg/demo/app:latest' },
          ],
          resources: { limits: { memory: '1Gi' } },
        },
      ],
      volumes: [{ name: 'source-secret', secret: { secretName: 'from-pod' } }],
    },
  };
}

describe('build pods', () => {
  it('are recognised by label, owner and container name', () => {
    expect(isBuildPod(pod())).toBe(true);
    expect(isBuildPod(pod({}, 'docker-build'))).toBe(true);
    expect(isBuildPod(pod({ labels: {} }))).toBe(false);
    expect(isBuildPod(pod({ ownerReferences: [] }))).toBe(false);
    expect(isBuildPod(pod({}, 'web'))).toBe(false);
  });

  it('say what to build', () => {
    const spec = parseBuildPod(pod());
    expect(spec).toMatchObject({
      namespace: 'demo',
      podName: 'app-1-build',
      podUid: 'u1',
      containerName: 'sti-build',
      strategy: 'Source',
      image: 'reg/ns/builder@sha256:1',
      outputImage: 'reg/demo/app:latest',
      sourceSecretName: 'from-pod',
      resources: { limits: { memory: '1Gi' } },
    });
    expect(spec.build.metadata.name).toBe('app-1');
    expect(parseBuildPod(pod({}, 'docker-build')).strategy).toBe('Docker');
  });

  it('fail clearly when BUILD is missing or not a Build', () => {
    const bad = (value: string): BuildFailure => {
      try {
        parseBuildPod(pod({}, 'sti-build', [{ name: 'BUILD', value }]));
      } catch (err) {
        return err as BuildFailure;
      }
      throw new Error('accepted');
    };
    expect(bad('{').message).toContain('not valid JSON');
    expect(bad('{"metadata":{"name":"x"},"spec":{"strategy":"nope"}}').message).toContain(
      'not a valid Build',
    );
    expect(bad('{"metadata":{"name":"x"},"spec":{"strategy":"nope"}}').reason).toBe('Error');
  });
});

describe('build pod status', () => {
  const now = '2024-05-06T07:08:09Z';
  it('is Pending, then Running, then terminated with the result', () => {
    const p = pod();
    const pending = buildPodStatus(p, 'sti-build', 'b', { phase: 'Pending' }, '10.0.0.1', now);
    expect(pending.phase).toBe('Pending');
    expect(pending.containerStatuses?.[0]?.state).toEqual({
      waiting: { reason: 'ContainerCreating' },
    });
    expect(pending.hostIP).toBe('10.0.0.1');
    const running = buildPodStatus(
      { ...p, status: pending },
      'sti-build',
      'b',
      { phase: 'Running', startedAt: now },
      undefined,
      now,
    );
    expect(running.phase).toBe('Running');
    expect(running.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(running.hostIP).toBe('10.0.0.1');
    const done = buildPodStatus(
      { ...p, status: running },
      'sti-build',
      'b',
      {
        phase: 'Done',
        outcome: {
          reason: 'PushImageToRegistryFailed',
          exitCode: 1,
          result: { message: 'no registry' },
          startedAt: now,
          finishedAt: now,
        },
      },
      undefined,
      now,
    );
    expect(done.phase).toBe('Failed');
    expect(done.containerStatuses?.[0]?.state.terminated).toEqual({
      exitCode: 1,
      reason: 'PushImageToRegistryFailed',
      message: '{"message":"no registry"}',
      startedAt: now,
      finishedAt: now,
    });
    expect(done.startTime).toBe(now);
  });
});
