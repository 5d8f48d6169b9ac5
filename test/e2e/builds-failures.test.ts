// Builds that fail, end to end through `slipway up` and the CLI, each with OpenShift's reason, a
// log that says what went wrong and `describe build` showing it: a repository that does not
// exist (FetchSourceFailed), a builder image that does not exist (PullBuilderImageFailed), an
// assemble that fails on a dependency no registry has (GenericBuildFailed, with the log tail), a
// post-commit hook whose tests fail (PostCommitHookFailed, nothing pushed). And the generic
// webhook: the wrong secret starts no build, the BuildConfig's own secret starts one.
import { loadOrCreateTokens } from '../../master/auth/tokens.js';
import { requestRegistryToken } from '../support/registry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  buildKind,
  type Build,
  type BuildConfig,
  type BUILD_FAILURE_REASONS,
} from '../../src/api/index.js';
import { dockerClient } from '../support/docker.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { fixtureFiles, hostTrust } from './support/apps.js';
import { escapeRegExp } from './support/build-checks.js';
import {
  finishedBuild,
  followBuildLog,
  startBuildStack,
  tagHistory,
  type BuildStack,
} from './support/build-stack.js';

const docker = dockerClient();
const NS = 'e2e-build-failures';

let stack: BuildStack;
let git: GitServer;

const n = ['-n', NS];

beforeAll(async () => {
  stack = await startBuildStack(docker, 'e2e-build-failures');
  git = await startGitServer();
  const trust = await hostTrust();
  await git.createRepo('python-hello', await fixtureFiles('python-hello'));
  await git.createRepo('static-hello', await fixtureFiles('static-hello'));
  await git.createRepo('node-failing-test', await fixtureFiles('node-failing-test'));
  await git.createRepo('node-missing-dependency', {
    ...(await fixtureFiles('node-missing-dependency')),
    ...trust.files,
  });
  await stack.ok(['new-project', NS]);
}, 300_000);

afterAll(async () => {
  await git?.close();
  await stack?.close();
}, 120_000);

/**
 * A failed first build NAME-1: its phase and reason, the reason in `get builds`, `describe
 * build` and the BuildFailed event, and an output tag that did not move.
 */
async function expectFailed(
  name: string,
  reason: (typeof BUILD_FAILURE_REASONS)[number],
  log: string,
): Promise<{ build: Build; described: string }> {
  const build = await finishedBuild(stack, NS, `${name}-1`);
  expect(build.status, log).toMatchObject({ phase: 'Failed', reason });
  expect(log).toContain(`Build failed (${reason}) after `);
  expect(await stack.ok(['get', 'builds', ...n])).toMatch(
    new RegExp(`^${name}-1\\s+\\S+\\s+\\S+\\s+Failed \\(${reason}\\)\\s`, 'm'),
  );
  const described = await stack.ok(['describe', 'build', `${name}-1`, ...n]);
  expect(described).toMatch(new RegExp(`^Status:\\s+Failed \\(.+\\)$`, 'm'));
  expect(described).toMatch(new RegExp(`^Reason:\\s+${reason}$`, 'm'));
  expect(described).toMatch(
    new RegExp(`Warning\\s+BuildFailed\\s+.*build-controller\\s+Build ${NS}/${name}-1 failed: `),
  );
  expect(await tagHistory(stack, NS, name)).toEqual([]);
  return { build, described };
}

describe.concurrent('failed builds say why', () => {
  it('a repository that does not exist: FetchSourceFailed', async () => {
    const url = `${git.url}/no-such-repository.git`;
    await stack.ok(['new-build', `python~${url}`, '--name', 'bad-url', ...n]);
    const log = await followBuildLog(stack, NS, 'bad-url');
    expect(log).toContain(`Cloning "${url}" ...`);
    expect(log).toMatch(
      new RegExp(`^error: failed to fetch "${escapeRegExp(url)}": .*not found`, 'm'),
    );
    expect(log).not.toContain('Running assemble');
    const { build } = await expectFailed('bad-url', 'FetchSourceFailed', log);
    expect(build.status?.message).toContain('not found');
  }, 120_000);

  it('a builder image that does not exist: PullBuilderImageFailed', async () => {
    const builder = `${stack.registry}/openshift/no-such-builder:1`;
    const manifests = [
      'apiVersion: image.openshift.io/v1',
      'kind: ImageStream',
      'metadata:',
      '  name: no-builder',
      '---',
      'apiVersion: build.openshift.io/v1',
      'kind: BuildConfig',
      'metadata:',
      '  name: no-builder',
      'spec:',
      '  source:',
      '    git:',
      `      uri: ${git.repoUrl('python-hello')}`,
      '  strategy:',
      '    sourceStrategy:',
      '      from:',
      '        kind: DockerImage',
      `        name: ${builder}`,
      '  output:',
      '    to:',
      '      kind: ImageStreamTag',
      '      name: no-builder:latest',
      '  triggers:',
      '  - type: ConfigChange',
      '',
    ].join('\n');
    await stack.ok(['create', '-f', '-', ...n], { stdin: manifests });
    const log = await followBuildLog(stack, NS, 'no-builder');
    expect(log).toContain(`Pulling image ${builder} ...`);
    expect(log).toMatch(
      new RegExp(
        `^error: Failed to pull builder image ${escapeRegExp(builder)}: .*manifest unknown`,
        'm',
      ),
    );
    expect(log).not.toContain('Running assemble');
    await expectFailed('no-builder', 'PullBuilderImageFailed', log);
  }, 120_000);

  it('assemble fails on a dependency no registry has: GenericBuildFailed, and describe shows the log tail', async () => {
    const url = git.repoUrl('node-missing-dependency');
    const trust = await hostTrust();
    await stack.ok(['new-build', `nodejs~${url}`, ...trust.env, ...n]);
    const log = await followBuildLog(stack, NS, 'node-missing-dependency');
    expect(log).toContain('---> Installing dependencies (npm install)');
    expect(log).toMatch(/^npm ERR! 404 .*@slipway-fixtures-no-such-scope\/no-such-package/m);
    expect(log).toContain('error: assemble exited with code 1');
    expect(log).not.toContain('Pushing image');
    const { described } = await expectFailed('node-missing-dependency', 'GenericBuildFailed', log);
    // The end of the log, where npm said what went wrong, without reading the log.
    const tail = /^Log Tail:\s+([\s\S]*?)^Events:/m.exec(described)?.[1] ?? '';
    expect(tail, described).toMatch(/npm ERR! 404/);
    expect(tail).toContain('assemble exited with code 1');
  }, 150_000);

  it('a post-commit hook whose tests fail: PostCommitHookFailed, and nothing is pushed', async () => {
    const url = git.repoUrl('node-failing-test');
    const objects = parse(await stack.ok(['new-build', `nodejs~${url}`, '-o', 'yaml', ...n])) as {
      items: { kind: string }[];
    };
    const bc = objects.items.find((o): o is BuildConfig => o.kind === 'BuildConfig')!;
    bc.spec.postCommit = { script: 'npm test' };
    await stack.ok(['create', '-f', '-', ...n], { stdin: stringify(objects) });
    expect(await stack.ok(['describe', 'bc', 'node-failing-test', ...n])).toMatch(
      /^Post Commit Hook:\s+npm test$/m,
    );
    const log = await followBuildLog(stack, NS, 'node-failing-test');
    expect(log).toContain('---> Build complete');
    expect(log).toContain('Running post commit hook ...');
    expect(log).toContain(
      'not ok 1 - greeting: expected "Hello from node-failing-test", got "Goodbye from node-failing-test"',
    );
    expect(log).toContain('error: the post-commit hook exited with code 1');
    expect(log).not.toContain('Pushing image');
    await expectFailed('node-failing-test', 'PostCommitHookFailed', log);
    const repository = `${NS}/node-failing-test`;
    const { token } = await requestRegistryToken(
      stack.registry,
      (await loadOrCreateTokens(stack.dataDir)).adminToken,
      [`repository:${repository}:pull`],
    );
    const manifest = await fetch(`http://${stack.registry}/v2/${repository}/manifests/latest`, {
      method: 'HEAD',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(manifest.status).toBe(404);
  }, 150_000);
});

describe('generic webhook', () => {
  it('the wrong secret starts no build; the BuildConfig secret starts one', async () => {
    await stack.ok([
      'new-build',
      `static~${git.repoUrl('static-hello')}`,
      '--name',
      'hooked',
      ...n,
    ]);
    expect((await finishedBuild(stack, NS, 'hooked-1')).status?.phase).toBe('Complete');

    const described = await stack.ok(['describe', 'bc', 'hooked', ...n]);
    const url = /^Webhook Generic:\s+URL: (\S+)$/m.exec(described)?.[1] ?? '';
    expect(url).toBe(
      `${stack.server}/apis/build.openshift.io/v1/namespaces/${NS}/buildconfigs/hooked/webhooks/<secret>/generic`,
    );
    const bc = await stack.get<BuildConfig>(['bc', 'hooked', ...n]);
    const secret = bc.spec.triggers?.find((t) => t.type === 'Generic')?.generic?.secret ?? '';
    expect(secret).toMatch(/^[0-9a-f]{20,}$/);
    expect(described).not.toContain(secret);

    // No bearer token: the secret in the URL is the credential.
    const wrong = await fetch(url.replace('<secret>', `not-${secret}`), {
      method: 'POST',
    });
    expect(wrong.status).toBe(404);
    const builds = async (): Promise<string[]> =>
      (await stack.api.list<Build>(buildKind, { namespace: NS })).items
        .map((b) => b.metadata.name ?? '')
        .filter((b) => b.startsWith('hooked-'))
        .sort();
    expect(await builds()).toEqual(['hooked-1']);

    const right = await fetch(url.replace('<secret>', secret), { method: 'POST' });
    expect(right.status).toBe(200);
    expect(((await right.json()) as { message?: string }).message).toBe('build "hooked-2" started');
    // Numbered next: the refused call made no build in between.
    expect(await builds()).toEqual(['hooked-1', 'hooked-2']);
    const build = await finishedBuild(stack, NS, 'hooked-2');
    expect(build.status?.phase).toBe('Complete');
    expect(build.spec.triggeredBy?.map((c) => c.message)).toEqual(['Generic WebHook']);
    expect(await stack.ok(['describe', 'build', 'hooked-2', ...n])).toMatch(
      /^Build trigger cause:\s+Generic WebHook$/m,
    );
    expect(await stack.ok(['get', 'builds', ...n])).toMatch(
      /^hooked-2\s+Source\s+Git@\S+\s+Complete\s/m,
    );
  }, 120_000);
});
