// Source-to-Image builds on the real engine, driven through a real master and agent: the build
// pod written as the build controller writes it, the agent's build runner, a real git server and
// a real registry. The builder is our own (test/fixtures/builders/busybox-s2i), written to the
// S2I protocol only.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPod,
  podContainers,
  podFor,
  recordPod,
  waitForPod,
  type Cluster,
} from '../agent/cluster.js';
import {
  configMapKind,
  secretKind,
  TRUSTED_CA_CONFIGMAP,
  type ConfigMap,
  type Secret,
} from '../../src/api/index.js';
import { dockerClient, TEST_LABEL } from '../support/docker.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { dockerConfigSecret, pushAs, startRegistry } from '../support/registry.js';
import {
  BUILDER_IMAGE,
  buildLogText,
  runBuildPod,
  startBuildEnv,
  type BuildEnv,
} from './support.js';

const docker = dockerClient();
let env: BuildEnv;
let cluster: Cluster;
let git: GitServer;
let siteCommit: string;

const SITE = {
  'index.html': '<h1>Hello from a Slipway build</h1>\n',
  'about/index.html': 'about\n',
  'secret-notes.txt': 'left out by .s2iignore\n',
  '.s2iignore': '# not for the image\nsecret-notes.txt\n',
  '.s2i/environment': '# build environment\nGREETING=from-s2i-environment\n',
};

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** What `script` prints in a container of `image` (a TTY: one plain stream). */
async function inImage(image: string, script: string): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: [script],
    Tty: true,
    Labels: { [TEST_LABEL]: '1' },
  });
  try {
    await container.start();
    await container.wait();
    return (await container.logs({ stdout: true, stderr: true })).toString('utf8');
  } finally {
    await container.remove({ force: true });
  }
}

beforeAll(async () => {
  env = await startBuildEnv(docker);
  cluster = env.cluster;
  git = await startGitServer();
  siteCommit = await git.createRepo('site', SITE, { message: 'A static site\n\nWith a body.' });
});

afterAll(async () => {
  await git?.close();
  await env?.close();
});

describe('S2I builds', () => {
  let firstToken = '';
  const output = (): string => `${env.registry.address}/${cluster.namespace}/site:latest`;

  it('builds, pushes and runs an image from a git repository', async () => {
    const recorder = await recordPod(cluster, 'site-1-build');
    const started = Date.now();
    const build = await runBuildPod(cluster, {
      name: 'site-1',
      git: { uri: git.repoUrl('site') },
      output: output(),
      incremental: true,
      env: [{ name: 'STRATEGY_VAR', value: 'from-strategy' }],
      postCommit: {
        command: ['/bin/sh', '-c'],
        args: ['test -f /opt/app-root/www/index.html && echo hook ok'],
      },
    });
    const seconds = (Date.now() - started) / 1000;
    await recorder.stop();
    const log = await buildLogText(cluster, 'site-1-build');
    expect(build.reason, log).toBe('Completed');
    expect(build.exitCode).toBe(0);
    expect(build.pod.status?.phase).toBe('Succeeded');
    expect(build.result.outputImageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(build.result.outputDockerImageReference).toBe(
      `${env.registry.address}/${cluster.namespace}/site@${build.result.outputImageDigest}`,
    );
    expect(build.result.revision).toMatchObject({
      commit: siteCommit,
      author: { name: 'Test Author', email: 'author@example.com' },
      message: 'A static site\n\nWith a body.',
    });
    // Pending (ContainerCreating) -> Running -> Succeeded, as the build controller expects.
    const phases = recorder.revisions.map((p) => p.status?.phase).filter((p) => p !== undefined);
    expect([...new Set(phases)]).toEqual(['Pending', 'Running', 'Succeeded']);
    expect(
      recorder.revisions.find((p) => p.status?.phase === 'Pending')?.status?.containerStatuses?.[0]
        ?.state.waiting?.reason,
    ).toBe('ContainerCreating');

    // The log tells the story.
    expect(log).toContain(`Cloning "${git.repoUrl('site')}" ...`);
    expect(log).toContain(`Commit:\t${siteCommit.slice(0, 7)} (A static site)`);
    expect(log).toContain(
      "Using assemble from the builder image's scripts URL (image:///usr/libexec/s2i)",
    );
    expect(log).toContain('Clean build will be performed');
    expect(log).toContain('---> assemble as uid 1001 gid 0 in /opt/app-root');
    expect(log).toContain('---> GREETING=from-s2i-environment');
    expect(log).toContain(`---> build ${cluster.namespace}/site-1 commit ${siteCommit}`);
    expect(log).toContain('hook ok');
    expect(log).toMatch(/Pushed \d+\/\d+ layers, 100% complete/);
    expect(log).toContain(
      `Successfully pushed ${env.registry.address}/${cluster.namespace}/site@${build.result.outputImageDigest}`,
    );
    expect(log).toContain('Push successful');
    expect(log).not.toContain('container-entrypoint: running'); // ENTRYPOINT overridden
    expect(log).not.toMatch(/www: .*secret-notes\.txt/); // .s2iignore
    expect(log).not.toMatch(/www: .*\.git$/m);
    firstToken = /---> cache token ([0-9a-f]{16})/.exec(log)?.[1] ?? '';
    expect(firstToken).not.toBe('');

    // The committed image: CMD the run script, the builder's USER and ENTRYPOINT, the build env,
    // the builder's labels and the build's.
    const image = await docker.getImage(output()).inspect();
    expect(image.Config.Cmd).toEqual(['/usr/libexec/s2i/run']);
    expect(image.Config.Entrypoint).toEqual(['/usr/bin/container-entrypoint']);
    expect(image.Config.User).toBe('1001');
    expect(image.Config.Env).toEqual(
      expect.arrayContaining([
        'GREETING=from-s2i-environment',
        'STRATEGY_VAR=from-strategy',
        'OPENSHIFT_BUILD_NAME=site-1',
        `OPENSHIFT_BUILD_NAMESPACE=${cluster.namespace}`,
        `OPENSHIFT_BUILD_SOURCE=${git.repoUrl('site')}`,
        `OPENSHIFT_BUILD_COMMIT=${siteCommit}`,
      ]),
    );
    expect(image.Config.Labels).toMatchObject({
      'io.openshift.s2i.destination': '/opt/s2i-dest',
      'io.openshift.expose-services': '8080:http',
      'io.openshift.build.image': BUILDER_IMAGE,
      'io.openshift.build.commit.id': siteCommit,
      'io.openshift.build.commit.author': 'Test Author <author@example.com>',
      'io.openshift.build.commit.date': '2024-05-06T07:08:09+00:00',
      'io.openshift.build.commit.message': 'A static site',
      'io.openshift.build.source-location': git.repoUrl('site'),
    });
    // Docker merges a container's labels into a commit: the agent's own are emptied.
    expect(image.Config.Labels?.['io.slipway.managed-by'] ?? '').toBe('');

    // Nothing of the build is left in Docker.
    expect(await podContainers(docker, build.pod.metadata.uid!)).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`S2I build (clean, incremental lookup, push): ${seconds.toFixed(1)} s`);

    // The pushed image runs and answers: pulled from the registry by the agent.
    await docker.getImage(output()).remove({ force: true });
    await createPod(
      cluster,
      podFor(cluster, 'site-web', {
        containers: [
          {
            name: 'web',
            image: output(),
            imagePullPolicy: 'Always',
            ports: [{ containerPort: 8080 }],
          },
        ],
      }),
    );
    const web = await waitForPod(
      cluster,
      'site-web',
      (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined,
      60_000,
    );
    const ip = web.status?.podIP;
    let answer: { status: number; body: string } | undefined;
    for (let i = 0; i < 50 && !answer; i++) {
      answer = await httpGet(`http://${ip}:8080/index.html`).catch(() => undefined);
      if (!answer) await new Promise((r) => setTimeout(r, 100));
    }
    expect(answer?.status).toBe(200);
    expect(answer?.body).toBe(SITE['index.html']);
    const token = await httpGet(`http://${ip}:8080/token.txt`);
    expect(token.body).toBe(firstToken);
  });

  it("reuses the previous image's artifacts in an incremental build", async () => {
    await git.commit('site', { 'index.html': '<h1>Second version</h1>\n' });
    const build = await runBuildPod(cluster, {
      name: 'site-2',
      git: { uri: git.repoUrl('site') },
      output: output(),
      incremental: true,
    });
    const log = await buildLogText(cluster, 'site-2-build');
    expect(build.reason, log).toBe('Completed');
    expect(log).toContain(`Existing image for tag ${output()} detected for incremental build`);
    expect(log).toContain('save-artifacts: saving the cache');
    expect(log).toMatch(/Restored \d+ artifact entries from the previous image/);
    expect(log).toContain('---> Restoring build artifacts from /opt/s2i-dest/artifacts');
    expect(log).toContain(`---> cache token ${firstToken}`);
    expect(log).not.toContain('Clean build will be performed');
  });

  it("runs the source's own save-artifacts, in the previous image's environment", async () => {
    await git.createRepo('own-save', {
      'index.html': 'own save-artifacts\n',
      '.s2i/bin/save-artifacts': [
        '#!/bin/sh',
        'echo "source save-artifacts: MARK=${MARK:-unset} uid $(id -u)" >&2',
        'cd /opt/app-root && tar -cf - cache',
        '',
      ].join('\n'),
    });
    const out = `${env.registry.address}/${cluster.namespace}/own-save:latest`;
    const request = { git: { uri: git.repoUrl('own-save') }, output: out, incremental: true };
    const first = await runBuildPod(cluster, {
      name: 'own-save-1',
      ...request,
      env: [{ name: 'MARK', value: 'first' }],
    });
    const firstLog = await buildLogText(cluster, 'own-save-1-build');
    expect(first.reason, firstLog).toBe('Completed');
    const token = /---> cache token ([0-9a-f]{16})/.exec(firstLog)?.[1];
    expect(token).toBeDefined();

    const second = await runBuildPod(cluster, {
      name: 'own-save-2',
      ...request,
      env: [{ name: 'MARK', value: 'second' }],
    });
    const log = await buildLogText(cluster, 'own-save-2-build');
    expect(second.reason, log).toBe('Completed');
    // The source's script ran, with the previous image's variables (S2I gives save-artifacts
    // none of the new build's) ...
    expect(log).toContain('source save-artifacts: MARK=first uid 1001');
    expect(log).toContain(`---> cache token ${token}`);
    // ... and nothing of the builder image's own save-artifacts, which the node started while
    // it cloned the source, reached the log.
    expect(log).not.toContain('save-artifacts: saving the cache');
    expect(log.match(/Saving build artifacts from image/g)).toHaveLength(1);
    expect(await podContainers(docker, second.pod.metadata.uid!)).toEqual([]);
  });

  it('fails a build whose assemble fails: GenericBuildFailed, with the log', async () => {
    const build = await runBuildPod(cluster, {
      name: 'fails-1',
      git: { uri: git.repoUrl('site') },
      output: `${env.registry.address}/${cluster.namespace}/fails:latest`,
      env: [{ name: 'FAIL_ASSEMBLE', value: 'on purpose' }],
    });
    const log = await buildLogText(cluster, 'fails-1-build');
    expect(build.reason).toBe('GenericBuildFailed');
    expect(build.exitCode).not.toBe(0);
    expect(build.pod.status?.phase).toBe('Failed');
    expect(build.result.message).toBe('assemble exited with code 3; see the build log');
    expect(log).toContain('---> assemble fails on purpose: on purpose');
    expect(log).toContain('error: assemble exited with code 3; see the build log');
    expect(log).not.toContain('Pushing image');
    expect(await podContainers(docker, build.pod.metadata.uid!)).toEqual([]);
  });

  it('fails a build whose repository cannot be fetched: FetchSourceFailed', async () => {
    const build = await runBuildPod(cluster, {
      name: 'nogit-1',
      git: { uri: `${git.url}/does-not-exist.git` },
      output: `${env.registry.address}/${cluster.namespace}/nogit:latest`,
    });
    expect(build.reason).toBe('FetchSourceFailed');
    expect(build.result.message).toMatch(/^failed to fetch ".*does-not-exist\.git": /);
    const log = await buildLogText(cluster, 'nogit-1-build');
    expect(log).toContain(`Cloning "${git.url}/does-not-exist.git" ...`);
    expect(log).toMatch(/error: failed to fetch/);
  });

  it('reports the source first when neither the source nor the builder can be had', async () => {
    const missing = `${env.registry.address}/nowhere/builder:2`;
    const build = await runBuildPod(cluster, {
      name: 'nothing-1',
      git: { uri: `${git.url}/does-not-exist.git` },
      image: missing,
      output: `${env.registry.address}/${cluster.namespace}/nothing:latest`,
      incremental: true,
    });
    expect(build.reason).toBe('FetchSourceFailed');
    const log = await buildLogText(cluster, 'nothing-1-build');
    // The builder's pull may have started while the source was fetched; the fetch's failure is
    // the build's, and nothing of either is left on the node.
    expect(build.result.message).toMatch(/^failed to fetch /);
    expect(log).toContain('error: failed to fetch');
    expect(await podContainers(docker, build.pod.metadata.uid!)).toEqual([]);
  });

  it('fails a build whose builder image cannot be pulled: PullBuilderImageFailed', async () => {
    const missing = `${env.registry.address}/nowhere/builder:1`;
    const build = await runBuildPod(cluster, {
      name: 'nobuilder-1',
      git: { uri: git.repoUrl('site') },
      image: missing,
      output: `${env.registry.address}/${cluster.namespace}/nobuilder:latest`,
    });
    expect(build.reason).toBe('PullBuilderImageFailed');
    expect(build.result.message).toContain(`Failed to pull builder image ${missing}`);
    const log = await buildLogText(cluster, 'nobuilder-1-build');
    expect(log).toContain(`Pulling image ${missing} ...`);
  });

  it('does not push an image whose post-commit hook fails: PostCommitHookFailed', async () => {
    const target = `${env.registry.address}/${cluster.namespace}/hooked:latest`;
    const build = await runBuildPod(cluster, {
      name: 'hook-1',
      git: { uri: git.repoUrl('site') },
      output: target,
      postCommit: { script: 'echo "checking the image"; test -f /opt/app-root/www/missing.html' },
    });
    const log = await buildLogText(cluster, 'hook-1-build');
    expect(build.reason, log).toBe('PostCommitHookFailed');
    expect(build.result.message).toBe('the post-commit hook exited with code 1');
    expect(log).toContain('Running post commit hook ...');
    expect(log).toContain('checking the image');
    expect(log).not.toContain('Pushing image');
    const manifest = await fetch(
      `http://${env.registry.address}/v2/${cluster.namespace}/hooked/manifests/latest`,
    );
    expect(manifest.status).toBe(404);
    expect(
      await docker
        .getImage(target)
        .inspect()
        .catch(() => undefined),
    ).toBeUndefined();
  });

  it('fails a build whose push fails: PushImageToRegistryFailed', async () => {
    const build = await runBuildPod(cluster, {
      name: 'nopush-1',
      git: { uri: git.repoUrl('site') },
      output: '127.0.0.1:1/nowhere/site:latest',
    });
    const log = await buildLogText(cluster, 'nopush-1-build');
    expect(build.reason, log).toBe('PushImageToRegistryFailed');
    expect(build.result.message).toMatch(
      /^Failed to push image 127\.0\.0\.1:1\/nowhere\/site:latest: /,
    );
    expect(log).toContain('Pushing image 127.0.0.1:1/nowhere/site:latest ...');
    expect(log).not.toContain('Push successful');
    // The image that could not be pushed is not left behind either.
    expect(
      await docker
        .getImage('127.0.0.1:1/nowhere/site:latest')
        .inspect()
        .catch(() => undefined),
    ).toBeUndefined();
  });
  it("gives assemble the cluster's trusted CA bundle (mountTrustedCA) and keeps it out of the image", async () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIBslipwaytrustedca\n-----END CERTIFICATE-----\n';
    const { namespace, name, key } = TRUSTED_CA_CONFIGMAP;
    await cluster.admin.create<ConfigMap>(
      configMapKind,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { [key]: ca } },
      { namespace },
    );
    try {
      // What assemble sees is copied where the image keeps it, then the builder assembles.
      await git.createRepo('trust', {
        'index.html': 'trusted\n',
        '.s2i/bin/assemble': [
          '#!/bin/sh',
          'set -e',
          'W=/opt/app-root/www',
          'mkdir -p $W',
          'cp "$NODE_EXTRA_CA_CERTS" $W/seen-ca.crt',
          'cp "$SSL_CERT_FILE" $W/seen-bundle.pem',
          "env | grep -E '^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|REQUESTS_CA_BUNDLE|PIP_CERT|CURL_CA_BUNDLE|GIT_SSL_CAINFO)=' | sort > $W/seen-env",
          'exec /usr/libexec/s2i/assemble',
          '',
        ].join('\n'),
      });
      const out = `${env.registry.address}/${cluster.namespace}/trust:latest`;
      const build = await runBuildPod(cluster, {
        name: 'trust-1',
        git: { uri: git.repoUrl('trust') },
        output: out,
        mountTrustedCA: true,
        env: [{ name: 'REQUESTS_CA_BUNDLE', value: '/etc/mine.pem' }],
      });
      const log = await buildLogText(cluster, 'trust-1-build');
      expect(build.reason, log).toBe('Completed');
      expect(log).toContain("Adding the cluster's trusted CA bundle to assemble (1 certificate)");

      const seen = await inImage(
        out,
        'cd /opt/app-root/www && cat seen-ca.crt && echo === && cat seen-env && echo === && tail -n 3 seen-bundle.pem && echo === && ls -a /opt/s2i-dest',
      );
      const [seenCa, seenEnv, bundleTail, dest] = seen.replace(/\r/g, '').split('===\n');
      expect(seenCa).toBe(ca);
      const dir = '/opt/s2i-dest/.slipway-trust';
      expect(seenEnv!.trim().split('\n')).toEqual([
        `CURL_CA_BUNDLE=${dir}/tls-ca-bundle.pem`,
        `GIT_SSL_CAINFO=${dir}/tls-ca-bundle.pem`,
        `NODE_EXTRA_CA_CERTS=${dir}/ca-bundle.crt`,
        `PIP_CERT=${dir}/tls-ca-bundle.pem`,
        // The build's own value wins.
        'REQUESTS_CA_BUNDLE=/etc/mine.pem',
        `SSL_CERT_FILE=${dir}/tls-ca-bundle.pem`,
      ]);
      // BusyBox has no system bundle: the merged one ends with the cluster's CA.
      expect(bundleTail).toBe(ca);
      // Nothing of it in the image: not the directory, not the variables.
      expect(dest).not.toContain('.slipway-trust');
      const config = (await docker.getImage(out).inspect()).Config;
      expect(config.Env.join('\n')).not.toMatch(/NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|PIP_CERT/);
    } finally {
      await cluster.admin.delete(configMapKind, name, { namespace });
    }
  });
  it("pulls a private builder with the strategy's pullSecret and pushes with output.pushSecret", async () => {
    const login = { username: 'builder', password: 'build: secret' };
    const privateRegistry = await startRegistry({ auth: login });
    const builder = `${privateRegistry.address}/images/s2i-busybox:1`;
    try {
      await pushAs(docker, BUILDER_IMAGE, builder, privateRegistry, login);
      await cluster.admin.create<Secret>(
        secretKind,
        dockerConfigSecret('private-registry', privateRegistry, login),
        { namespace: cluster.namespace },
      );
      const out = `${privateRegistry.address}/${cluster.namespace}/site:latest`;
      const request = { git: { uri: git.repoUrl('site') }, image: builder, output: out };

      const denied = await runBuildPod(cluster, { name: 'private-1', ...request });
      expect(denied.reason).toBe('PullBuilderImageFailed');
      expect(denied.rawMessage).toMatch(
        /no basic auth credentials|unauthorized|authentication required/,
      );

      const noPush = await runBuildPod(cluster, {
        name: 'private-2',
        ...request,
        pullSecret: 'private-registry',
      });
      expect(noPush.reason, await buildLogText(cluster, 'private-2-build')).toBe(
        'PushImageToRegistryFailed',
      );

      const built = await runBuildPod(cluster, {
        name: 'private-3',
        ...request,
        pullSecret: 'private-registry',
        pushSecret: 'private-registry',
      });
      const log = await buildLogText(cluster, 'private-3-build');
      expect(built.reason, log).toBe('Completed');
      expect(log).toContain('Push successful');
    } finally {
      // The names the builds gave images under the private registry (by name, not by ID: the
      // pulled builder is the test builder the other build tests use).
      for (const img of await docker.listImages()) {
        for (const r of [...(img.RepoTags ?? []), ...(img.RepoDigests ?? [])]) {
          if (!r.startsWith(`${privateRegistry.address}/`)) continue;
          await docker
            .getImage(r)
            .remove({ noprune: true })
            .catch(() => undefined);
        }
      }
      await privateRegistry.close();
    }
  });
});
