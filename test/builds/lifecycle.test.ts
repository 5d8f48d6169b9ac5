// A build pod's life on the node: cancelled when its pod is deleted, failed (and cleaned up)
// when the agent restarts in the middle of it, the Docker strategy, and the build log followed
// while the build runs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTARTED_MESSAGE, STOPPED_MESSAGE } from '../../agent/builds/build-pods.js';
import { podKind } from '../../src/api/index.js';
import { eventually, getPod, podContainers, recordPod, type Cluster } from '../agent/cluster.js';
import { dockerClient } from '../support/docker.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import {
  buildLogText,
  buildPod,
  createBuildPod,
  runBuildPod,
  startBuildEnv,
  waitForBuild,
  type BuildEnv,
} from './support.js';

const docker = dockerClient();
let env: BuildEnv;
let cluster: Cluster;
let git: GitServer;

beforeAll(async () => {
  env = await startBuildEnv(docker);
  cluster = env.cluster;
  git = await startGitServer();
  await git.createRepo('site', { 'index.html': 'site\n' });
  await git.createRepo('dockerfile', {
    Dockerfile: [
      'FROM slipway/pause:1',
      'ARG FLAVOUR=plain',
      'USER 0',
      'COPY index.html /www/index.html',
      'RUN echo "flavour $FLAVOUR as $(id -u)" && echo "$FLAVOUR" > /www/flavour',
      'USER 1001',
      'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
      '',
    ].join('\n'),
    'index.html': 'from a Dockerfile\n',
    'broken/Dockerfile': 'FROM slipway/pause:1\nRUN echo "about to fail" && exit 4\n',
  });
});

afterAll(async () => {
  await git?.close();
  await env?.close();
});

/** Waits until the build's assemble is running (its container exists and it said so). */
async function assembleRunning(podName: string): Promise<string> {
  return eventually(
    async () => {
      const pod = await getPod(cluster, podName);
      if (pod?.status?.phase !== 'Running') return undefined;
      const log = await buildLogText(cluster, podName).catch(() => '');
      return log.includes('---> assemble sleeps') ? pod.metadata.uid : undefined;
    },
    60_000,
    'assemble to run',
  );
}

describe('build pods', () => {
  it('follows the build log until the build ends, with timestamps and tail', async () => {
    await createBuildPod(
      cluster,
      buildPod(cluster, {
        name: 'follow-1',
        git: { uri: git.repoUrl('site') },
        env: [{ name: 'ASSEMBLE_SLEEP', value: '2' }],
      }),
    );
    await assembleRunning('follow-1-build');
    const followed = await buildLogText(cluster, 'follow-1-build', 'sti-build', { follow: true });
    // The stream ended by itself, with the end of the build in it.
    expect(followed).toContain('---> assemble done');
    expect(followed).toMatch(/Build complete in \d+\.\ds\n$/);
    const finished = await waitForBuild(cluster, 'follow-1-build');
    expect(finished.reason).toBe('Completed');
    const stamped = await buildLogText(cluster, 'follow-1-build', 'sti-build', {
      timestamps: true,
      tailLines: 2,
    });
    const lines = stamped.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /);
    expect(lines[1]).toMatch(/Build complete in/);
  });

  it('cancels the build when its pod is deleted, leaving nothing behind', async () => {
    const recorder = await recordPod(cluster, 'cancel-1-build');
    await createBuildPod(
      cluster,
      buildPod(cluster, {
        name: 'cancel-1',
        git: { uri: git.repoUrl('site') },
        env: [{ name: 'ASSEMBLE_SLEEP', value: '300' }],
      }),
    );
    const uid = await assembleRunning('cancel-1-build');
    expect((await podContainers(docker, uid)).length).toBeGreaterThan(0);
    const started = Date.now();
    await cluster.admin.delete(podKind, 'cancel-1-build', { namespace: cluster.namespace });
    await eventually(
      async () => ((await getPod(cluster, 'cancel-1-build')) ? undefined : true),
      30_000,
      'the pod to go',
    );
    const seconds = (Date.now() - started) / 1000;
    await recorder.stop();
    const last = recorder.revisions.filter((p) => p.status?.phase === 'Failed').pop();
    expect(last?.status?.containerStatuses?.[0]?.state.terminated?.reason).toBe('Cancelled');
    expect(await podContainers(docker, uid)).toEqual([]);
    await eventually(
      async () => (existsSync(join(env.dataDir, 'builds', uid)) ? undefined : true),
      10_000,
      'the workspace to be removed',
    );
    expect(seconds).toBeLessThan(30);
  });

  it('fails a build the agent was killed in the middle of, and removes its containers', async () => {
    await cluster.stopAgent();
    let child: Awaited<ReturnType<Cluster['spawnAgent']>> | undefined;
    try {
      child = await cluster.spawnAgent({ SLIPWAY_AGENT_DATA_DIR: env.dataDir });
      const agent = child;
      await createBuildPod(
        cluster,
        buildPod(cluster, {
          name: 'killed-1',
          git: { uri: git.repoUrl('site') },
          env: [{ name: 'ASSEMBLE_SLEEP', value: '300' }],
        }),
      );
      const uid = await assembleRunning('killed-1-build');
      agent.kill('SIGKILL');
      await new Promise((r) => agent.once('exit', r));
      // The orphan: assemble still runs with nobody reading it.
      expect((await podContainers(docker, uid)).map((c) => c.State)).toContain('running');
      await cluster.startAgent();
      const build = await waitForBuild(cluster, 'killed-1-build', 30_000);
      expect(build.reason).toBe('Error');
      expect(build.result.message).toBe(RESTARTED_MESSAGE);
      expect(await podContainers(docker, uid)).toEqual([]);
      const log = await buildLogText(cluster, 'killed-1-build');
      expect(log).toContain('---> assemble sleeps 300s');
      expect(log).toContain(`error: ${RESTARTED_MESSAGE}`);
    } finally {
      child?.kill('SIGKILL');
      if (!cluster.agent) await cluster.startAgent();
    }
  });

  it('fails a build that was running when the agent stopped', async () => {
    await createBuildPod(
      cluster,
      buildPod(cluster, {
        name: 'stopped-1',
        git: { uri: git.repoUrl('site') },
        env: [{ name: 'ASSEMBLE_SLEEP', value: '300' }],
      }),
    );
    const uid = await assembleRunning('stopped-1-build');
    await cluster.stopAgent();
    expect(await podContainers(docker, uid)).toEqual([]);
    await cluster.startAgent();
    const build = await waitForBuild(cluster, 'stopped-1-build', 30_000);
    expect(build.reason).toBe('Error');
    expect(build.result.message).toBe(STOPPED_MESSAGE);
  });
});

describe('limits', () => {
  it('reports a build killed at its memory limit as OutOfMemoryKilled', async () => {
    const build = await runBuildPod(cluster, {
      name: 'oom-1',
      git: { uri: git.repoUrl('site') },
      env: [{ name: 'ASSEMBLE_OOM', value: '96M' }],
      resources: { limits: { memory: '32Mi' } },
    });
    const log = await buildLogText(cluster, 'oom-1-build');
    expect(build.reason, log).toBe('OutOfMemoryKilled');
    expect(build.exitCode).toBe(137);
    expect(log).toContain('---> assemble allocates 96M');
  });
});

describe('Docker strategy', () => {
  it('builds the Dockerfile with build args and a replaced FROM, and pushes it', async () => {
    const output = `${env.registry.address}/${cluster.namespace}/docker-app:latest`;
    const build = await runBuildPod(cluster, {
      name: 'docker-1',
      strategy: 'Docker',
      git: { uri: git.repoUrl('dockerfile') },
      image: 'slipway-test/s2i-busybox:1',
      dockerStrategy: { from: true, buildArgs: [{ name: 'FLAVOUR', value: 'spicy' }] },
      output,
      postCommit: {
        args: ['/bin/sh', '-c', 'test "$(cat /www/flavour)" = spicy && echo hook saw spicy'],
      },
    });
    const log = await buildLogText(cluster, 'docker-1-build', 'docker-build');
    expect(build.reason, log).toBe('Completed');
    expect(log).toContain('Replaced the last FROM of Dockerfile with slipway-test/s2i-busybox:1');
    expect(log).toMatch(/Step 1\/\d+ : FROM slipway-test\/s2i-busybox:1/);
    expect(log).not.toContain('\u001b['); // no terminal colours in the log
    expect(log).toContain('flavour spicy as 0');
    expect(log).toContain('hook saw spicy');
    expect(log).toContain('Push successful');
    expect(build.result.outputImageDigest).toMatch(/^sha256:/);
    const image = await docker.getImage(output).inspect();
    expect(image.Config.Labels?.['io.openshift.build.commit.id']).toBe(
      build.result.revision?.commit,
    );
    expect(image.Config.Labels?.['io.openshift.build.name']).toBe('docker-1');
  });

  it('fails with GenericBuildFailed when a step fails', async () => {
    const build = await runBuildPod(cluster, {
      name: 'docker-2',
      strategy: 'Docker',
      git: { uri: git.repoUrl('dockerfile') },
      contextDir: 'broken',
    });
    const log = await buildLogText(cluster, 'docker-2-build', 'docker-build');
    expect(build.reason, log).toBe('GenericBuildFailed');
    expect(log).toContain('about to fail');
    expect(build.result.message).toMatch(/returned a non-zero code: 4/);
  });

  it('builds an inline Dockerfile without a repository', async () => {
    const build = await runBuildPod(cluster, {
      name: 'inline-1',
      strategy: 'Docker',
      dockerfile: 'FROM slipway/pause:1\nRUN echo inline build ran\n',
    });
    const log = await buildLogText(cluster, 'inline-1-build', 'docker-build');
    expect(build.reason, log).toBe('Completed');
    expect(log).toContain('inline build ran');
    expect(log).toContain('Build complete, no image push requested');
  });
});
