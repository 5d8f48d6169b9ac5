// What starts builds from outside: webhooks, binary uploads, and what the API refuses.
import { gunzipSync, gzipSync } from 'node:zlib';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Build, BuildConfig, Status } from '../../src/api/index.js';
import { createLogger } from '../../src/util/logger.js';
import { expectStatus } from '../api/helpers.js';
import { holdsFor } from '../controllers/support.js';
import {
  BUILDS,
  createBuildConfig,
  createImageStream,
  createProject,
  digest,
  getBuild,
  IMAGES,
  listBuilds,
  REGISTRY,
  sourceBuildConfig,
  startBuildCluster,
  waitFor,
  waitForBuild,
  waitForTag,
  type BuildCluster,
} from './support.js';

const LIMIT = 64 * 1024;
let cluster: BuildCluster;

beforeAll(async () => {
  cluster = await startBuildCluster({ binaryBuildMaxBytes: LIMIT });
});

afterAll(async () => {
  await cluster?.close();
});

async function lastVersion(ns: string, name: string): Promise<number> {
  const res = await cluster.admin.get<BuildConfig>(`${BUILDS(ns)}/buildconfigs/${name}`);
  expect(res.status).toBe(200);
  return res.body.status?.lastVersion ?? 0;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(cluster.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? (JSON.parse(text) as Status) : undefined };
}

describe('webhooks', () => {
  const ns = 'hooks';
  const hook = (secret: string, type: string, bc = 'web'): string =>
    `${BUILDS(ns)}/buildconfigs/${bc}/webhooks/${encodeURIComponent(secret)}/${type}`;
  const genericSecret = 'g3n3ric-s3cret-value';
  const githubSecret = 'gith0b-s3cret-in-a-secret';

  beforeAll(async () => {
    const { admin } = cluster;
    await createProject(admin, ns);
    await createImageStream(admin, ns, 'builder', { latest: `b.example.com/n@${digest(0xe1)}` });
    await waitForTag(admin, ns, 'builder', 'latest');
    await createImageStream(admin, ns, 'web');
    const secret = await admin.post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'hook' },
      stringData: { WebHookSecretKey: githubSecret },
    });
    expect(secret.status).toBe(201);
    await createBuildConfig(
      admin,
      ns,
      sourceBuildConfig('web', {
        source: { type: 'Git', git: { uri: 'https://git.example.com/team/web.git', ref: 'main' } },
        runPolicy: 'Parallel',
        triggers: [
          { type: 'Generic', generic: { secret: genericSecret, allowEnv: true } },
          { type: 'GitHub', github: { secretReference: { name: 'hook' } } },
        ],
      }),
    );
  });

  it('a generic webhook with the right secret builds the payload’s commit, without a token', async () => {
    const res = await post(hook(genericSecret, 'generic'), {
      type: 'Git',
      git: {
        uri: 'https://ignored.example.com/x.git',
        ref: 'main',
        commit: '0123456789abcdef0123456789abcdef01234567',
        author: { name: 'Ann', email: 'ann@example.com' },
        message: 'Fix the thing',
      },
      env: [{ name: 'FROM_HOOK', value: 'yes' }],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body?.details?.name).toBe('web-1');
    expect(res.text).not.toContain(genericSecret);
    const build = (await getBuild(cluster.admin, ns, 'web-1'))!;
    expect(build.spec.revision?.git?.commit).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(build.spec.triggeredBy?.[0]?.message).toBe('Generic WebHook');
    expect(JSON.stringify(build)).not.toContain(genericSecret);
    expect(build.spec.source?.git?.uri).toBe('https://git.example.com/team/web.git');
    expect(build.spec.strategy.sourceStrategy?.env).toEqual([{ name: 'FROM_HOOK', value: 'yes' }]);
  });

  it('a wrong secret, an unknown BuildConfig or a missing trigger type: the same 404 and no build', async () => {
    const before = await lastVersion(ns, 'web');
    const answers = [
      await post(hook('wrong', 'generic'), {}),
      await post(hook(githubSecret, 'generic'), {}),
      await post(hook(genericSecret, 'github'), {}, { 'x-github-event': 'push' }),
      await post(hook(genericSecret, 'generic', 'nope'), {}),
      await post(hook(genericSecret, 'gitlab'), {}),
    ];
    for (const a of answers) {
      expect(a.status, a.text).toBe(404);
      expect(a.text).not.toContain(genericSecret);
      expect(a.text).not.toContain(githubSecret);
    }
    // The answers do not tell an existing BuildConfig from a missing one.
    expect(answers[0]!.body?.message).toBe('buildconfigs.build.openshift.io "web" not found');
    expect(answers[3]!.body?.message).toBe('buildconfigs.build.openshift.io "nope" not found');
    expect(await lastVersion(ns, 'web')).toBe(before);
  });

  it('a generic payload for another ref starts nothing', async () => {
    const before = await lastVersion(ns, 'web');
    const res = await post(hook(genericSecret, 'generic'), { git: { ref: 'refs/heads/other' } });
    expect(res.status, res.text).toBe(200);
    expect(res.body?.message).toContain('no build started');
    expect(await lastVersion(ns, 'web')).toBe(before);
  });

  it('a generic payload with a hostile commit or ref is refused', async () => {
    const before = await lastVersion(ns, 'web');
    for (const git of [{ commit: '--upload-pack=touch /tmp/x' }, { ref: '-u/tmp/x' }]) {
      const res = await post(hook(genericSecret, 'generic'), { git });
      expect(res.status, res.text).toBe(400);
    }
    expect(await lastVersion(ns, 'web')).toBe(before);
  });

  it('GitHub: a push to the built branch builds its head commit; other branches, pings and other events do not', async () => {
    const push = (ref: string, id: string) => ({
      ref,
      after: id,
      head_commit: {
        id,
        message: 'Update',
        author: { name: 'Bo', email: 'bo@example.com', username: 'bo' },
        committer: { name: 'Bo', email: 'bo@example.com' },
      },
      repository: { default_branch: 'main' },
    });
    const commit = 'fedcba9876543210fedcba9876543210fedcba98';
    const res = await post(hook(githubSecret, 'github'), push('refs/heads/main', commit), {
      'x-github-event': 'push',
    });
    expect(res.status, res.text).toBe(200);
    const name = res.body!.details!.name!;
    const build = (await getBuild(cluster.admin, ns, name))!;
    expect(build.spec.revision?.git).toMatchObject({
      commit,
      author: { name: 'Bo', email: 'bo@example.com' },
    });
    expect(build.spec.triggeredBy?.[0]).toMatchObject({
      message: 'GitHub WebHook',
      githubWebHook: { revision: { git: { commit } } },
    });
    expect(JSON.stringify(build)).not.toContain(githubSecret);

    const before = await lastVersion(ns, 'web');
    const other = await post(hook(githubSecret, 'github'), push('refs/heads/feature', commit), {
      'x-github-event': 'push',
    });
    expect(other.status, other.text).toBe(200);
    expect(other.body?.message).toContain('no build started');
    const ping = await post(
      hook(githubSecret, 'github'),
      { zen: 'hi' },
      { 'x-github-event': 'ping' },
    );
    expect(ping.status).toBe(200);
    const issue = await post(hook(githubSecret, 'github'), {}, { 'x-github-event': 'issues' });
    expect(issue.status).toBe(400);
    expect(await lastVersion(ns, 'web')).toBe(before);
  });
});

describe('binary builds', () => {
  const ns = 'binary';

  beforeAll(async () => {
    const { admin } = cluster;
    await createProject(admin, ns);
    await createImageStream(admin, ns, 'builder', { latest: `b.example.com/n@${digest(0xf1)}` });
    await waitForTag(admin, ns, 'builder', 'latest');
    await createImageStream(admin, ns, 'site');
    await createBuildConfig(
      admin,
      ns,
      sourceBuildConfig('site', { source: { type: 'Binary', binary: {} }, runPolicy: 'Parallel' }),
    );
  });

  async function upload(body: Buffer, query = '', token = cluster.master.adminToken) {
    const res = await fetch(
      `${cluster.url}${BUILDS(ns)}/buildconfigs/site/instantiatebinary${query}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body,
      },
    );
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as Build & Status };
  }

  async function source(build: string, token: string | undefined) {
    const res = await fetch(`${cluster.url}${BUILDS(ns)}/builds/${build}/source`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return {
      status: res.status,
      bytes: Buffer.from(await res.arrayBuffer()),
      type: res.headers.get('content-type'),
    };
  }

  it('stores an uploaded archive, starts a build with binary input, and serves the archive to nodes only', async () => {
    const archive = gzipSync(Buffer.from('pretend this is a tar archive of the app'));
    const res = await upload(archive, '?revision.commit=abcdef12&revision.message=local%20change');
    expect(res.status, res.text).toBe(201);
    expect(res.body.metadata.name).toBe('site-1');
    expect(res.body.spec.source?.binary).toEqual({});
    expect(res.body.spec.source?.git).toBeUndefined();
    expect(res.body.spec.revision?.git).toMatchObject({
      commit: 'abcdef12',
      message: 'local change',
    });

    const fetched = await source('site-1', cluster.master.joinToken);
    expect(fetched.status).toBe(200);
    expect(fetched.type).toBe('application/gzip');
    expect(fetched.bytes.equals(archive)).toBe(true);
    expect((await source('site-1', cluster.stranger.token)).status).toBe(403);
    expect((await source('site-1', undefined)).status).toBe(401);
    const pending = await waitForBuild(
      cluster.admin,
      ns,
      'site-1',
      (b) => b.status?.phase === 'Pending',
      'Pending',
    );
    expect(pending.status?.outputDockerImageReference).toBe(`${REGISTRY}/${ns}/site:latest`);
  });

  it('wraps a single file (asFile) into a gzip tar holding just that file', async () => {
    const content = Buffer.from('<h1>hello</h1>\n');
    const res = await upload(content, '?asFile=index.html');
    expect(res.status, res.text).toBe(201);
    expect(res.body.spec.source?.binary).toEqual({ asFile: 'index.html' });
    const fetched = await source(res.body.metadata.name!, cluster.master.joinToken);
    expect(fetched.status).toBe(200);
    const tar = gunzipSync(fetched.bytes);
    expect(tar.subarray(0, 10).toString()).toBe('index.html');
    expect(tar.subarray(257, 262).toString()).toBe('ustar');
    expect(Number.parseInt(tar.subarray(124, 135).toString(), 8)).toBe(content.length);
    expect(tar.subarray(512, 512 + content.length).equals(content)).toBe(true);
    expect(tar.length % 512).toBe(0);
  });

  it('refuses an upload over the limit with 413 and starts nothing', async () => {
    const before = await lastVersion(ns, 'site');
    const res = await upload(Buffer.alloc(LIMIT * 3, 7));
    expect(res.status, res.text).toBe(413);
    expect(res.body.message).toContain(`${LIMIT} bytes`);
    expect(await lastVersion(ns, 'site')).toBe(before);
    const incoming = await readdir(join(cluster.dataDir, 'builds', '.incoming'));
    expect(incoming).toEqual([]);
  });

  it('refuses input that is not gzip, an asFile with a path, and uploads to a git BuildConfig’s missing sibling', async () => {
    const before = await lastVersion(ns, 'site');
    expect((await upload(Buffer.from('plain text'))).status).toBe(400);
    expect((await upload(Buffer.from('x'), '?asFile=../evil')).status).toBe(400);
    expect((await upload(gzipSync(Buffer.from('x')), '', cluster.stranger.token)).status).toBe(403);
    expect(await lastVersion(ns, 'site')).toBe(before);
  });

  it('answers 404 for the source of a build without binary input', async () => {
    await createBuildConfig(cluster.admin, ns, sourceBuildConfig('gitty'));
    await cluster.admin.post(`${BUILDS(ns)}/buildconfigs/gitty/instantiate`, {});
    expect((await source('gitty-1', cluster.master.joinToken)).status).toBe(404);
    expect((await source('missing-1', cluster.master.joinToken)).status).toBe(404);
  });
});

describe('what the API refuses', () => {
  const ns = 'refuse';

  beforeAll(async () => {
    await createProject(cluster.admin, ns);
  });

  const withUri = (uri: string, extra: Record<string, unknown> = {}) =>
    sourceBuildConfig('bad', {
      source: { type: 'Git', git: { uri, ...extra } },
    });

  it.each([
    ['--upload-pack=touch /tmp/x'],
    ['-u/tmp/x'],
    ['ext::sh -c touch% /tmp/pwned'],
    ['-c protocol.ext.allow=always'],
    ['--config=core.sshCommand=touch /tmp/x'],
    ['ssh://-oProxyCommand=touch /tmp/x/repo'],
    ['https://git.example.com/a.git\nsecond'],
  ])('a git uri %j, naming spec.source.git.uri', async (uri) => {
    const res = await cluster.admin.post(`${BUILDS(ns)}/buildconfigs`, withUri(uri));
    const status = expectStatus(res, 422, 'Invalid');
    expect(status.details?.causes?.map((c) => c.field)).toContain('spec.source.git.uri');
  });

  it('refs beginning with - and context dirs leaving the tree', async () => {
    const ref = await cluster.admin.post(
      `${BUILDS(ns)}/buildconfigs`,
      withUri('https://git.example.com/a.git', { ref: '--upload-pack=touch' }),
    );
    expect(expectStatus(ref, 422).details?.causes?.map((c) => c.field)).toContain(
      'spec.source.git.ref',
    );
    const dir = await cluster.admin.post(
      `${BUILDS(ns)}/buildconfigs`,
      sourceBuildConfig('bad', {
        source: { git: { uri: 'https://git.example.com/a.git' }, contextDir: '../../etc' },
      }),
    );
    expect(expectStatus(dir, 422).details?.causes?.map((c) => c.field)).toContain(
      'spec.source.contextDir',
    );
  });

  it('file:// and local paths unless the administrator allows them', async () => {
    for (const uri of ['file:///srv/git/app.git', '/srv/git/app.git']) {
      const res = await cluster.admin.post(`${BUILDS(ns)}/buildconfigs`, withUri(uri));
      const status = expectStatus(res, 422, 'Invalid');
      expect(status.message).toContain('allowFileGitSources');
    }
  });

  it('a password in the repository URL, without echoing it', async () => {
    const res = await cluster.admin.post(
      `${BUILDS(ns)}/buildconfigs`,
      withUri('https://alice:hunter2secret@git.example.com/a.git'),
    );
    const status = expectStatus(res, 422, 'Invalid');
    expect(JSON.stringify(status)).not.toContain('hunter2secret');
    expect(status.message).toContain('sourceSecret');
  });

  it('instantiating a missing BuildConfig is a 404', async () => {
    const res = await cluster.admin.post(`${BUILDS(ns)}/buildconfigs/none/instantiate`, {});
    expectStatus(res, 404, 'NotFound');
  });
});

describe('image stream tags', () => {
  const ns = 'tags';

  it('tags a DockerImage into a new stream, reads and lists the tag, and deletes it', async () => {
    const { admin } = cluster;
    await createProject(admin, ns);
    const ref = `registry.example.com/lib/redis@${digest(0x42)}`;
    const created = await admin.post(`${IMAGES(ns)}/imagestreamtags`, {
      apiVersion: 'image.openshift.io/v1',
      kind: 'ImageStreamTag',
      metadata: { name: 'redis:7' },
      tag: { from: { kind: 'DockerImage', name: ref } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitForTag(admin, ns, 'redis', '7');
    const tag = await admin.get<{
      image: { dockerImageReference: string; metadata: { name: string } };
    }>(`${IMAGES(ns)}/imagestreamtags/redis:7`);
    expect(tag.status).toBe(200);
    expect(tag.body.image).toMatchObject({
      dockerImageReference: ref,
      metadata: { name: digest(0x42) },
    });

    // A tag that follows another (same stream) gets its image.
    const alias = await admin.put(`${IMAGES(ns)}/imagestreamtags/redis:latest`, {
      metadata: { name: 'redis:latest' },
      tag: { from: { kind: 'ImageStreamTag', name: 'redis:7' } },
    });
    expect(alias.status, JSON.stringify(alias.body)).toBe(200);
    await waitForTag(admin, ns, 'redis', 'latest', (r) => r === ref);

    const list = await admin.list(`${IMAGES(ns)}/imagestreamtags`);
    expect(list.body.items.map((i) => i.metadata.name).sort()).toEqual(['redis:7', 'redis:latest']);

    expectStatus(await admin.get(`${IMAGES(ns)}/imagestreamtags/redis:nope`), 404, 'NotFound');
    const del = await admin.delete(`${IMAGES(ns)}/imagestreamtags/redis:7`);
    expect(del.status).toBe(200);
    expectStatus(await admin.get(`${IMAGES(ns)}/imagestreamtags/redis:7`), 404, 'NotFound');
  });

  it('the openshift project’s image streams are readable by every user, others’ are not', async () => {
    const { admin, stranger } = cluster;
    await createImageStream(admin, 'openshift', 'nodejs', {
      '20': `b.example.com/node@${digest(0x20)}`,
    });
    expect((await stranger.get(`${IMAGES('openshift')}/imagestreams/nodejs`)).status).toBe(200);
    await waitForTag(admin, 'openshift', 'nodejs', '20');
    expect((await stranger.get(`${IMAGES('openshift')}/imagestreamtags/nodejs:20`)).status).toBe(
      200,
    );
    expect((await stranger.get(`${IMAGES(ns)}/imagestreams/redis`)).status).toBe(403);
    expect(
      (await stranger.post(`${IMAGES('openshift')}/imagestreams`, { metadata: { name: 'x' } }))
        .status,
    ).toBe(403);
  });
});

describe('build logs', () => {
  it('come from the build pod through the pod log proxy; a build not started has none', async () => {
    const { admin } = cluster;
    const ns = 'logs';
    await createProject(admin, ns);
    await createImageStream(admin, ns, 'app');
    await createBuildConfig(admin, ns, sourceBuildConfig('app'));
    await admin.post(`${BUILDS(ns)}/buildconfigs/app/instantiate`, {});
    const waiting = await admin.get<Status>(`${BUILDS(ns)}/builds/app-1/log`);
    expect(waiting.status).toBe(400);
    expect(waiting.body.message).toContain('has not started yet');
    // With a builder image the pod exists but no node runs it: the pod proxy answers.
    await createImageStream(admin, ns, 'builder', { latest: `b.example.com/n@${digest(0xab)}` });
    await waitForBuild(admin, ns, 'app-1', (b) => b.status?.phase === 'Pending', 'Pending');
    const pending = await admin.get<Status>(`${BUILDS(ns)}/builds/app-1/log?follow=true`);
    expect(pending.status).toBe(400);
    expect(pending.body.message).toContain(
      'container "sti-build" in pod "app-1-build" is waiting to start',
    );
    expect((await cluster.stranger.get(`${BUILDS(ns)}/builds/app-1/log`)).status).toBe(403);
    await holdsFor('one build', async () => (await listBuilds(admin, ns)).length === 1, 300);
  });
});

describe('a master without a registry', () => {
  it('fails builds that push to an image stream, saying why', async () => {
    const bare = await startBuildCluster({ registry: '' });
    try {
      const ns = 'noreg';
      await createProject(bare.admin, ns);
      await createImageStream(bare.admin, ns, 'builder', {
        latest: `b.example.com/n@${digest(1)}`,
      });
      await createImageStream(bare.admin, ns, 'app');
      await createBuildConfig(
        bare.admin,
        ns,
        sourceBuildConfig('app', { triggers: [{ type: 'ConfigChange' }] }),
      );
      const build = await waitFor(
        'the build to fail',
        () => getBuild(bare.admin, ns, 'app-1'),
        (b) => b?.status?.phase === 'Failed',
      );
      expect(build?.status?.reason).toBe('InvalidOutputReference');
      expect(build?.status?.message).toContain('SLIPWAY_REGISTRY');
    } finally {
      await bare.close();
    }
  });
});

describe('logs', () => {
  it('never carry a webhook secret, whether it was right or wrong', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const logged = await startBuildCluster({}, logger);
    try {
      const ns = 'quiet';
      await createProject(logged.admin, ns);
      await createBuildConfig(
        logged.admin,
        ns,
        sourceBuildConfig('app', {
          triggers: [{ type: 'Generic', generic: { secret: 'right-secret-1234' } }],
        }),
      );
      const base = `${logged.url}${BUILDS(ns)}/buildconfigs/app/webhooks`;
      const wrong = await fetch(`${base}/wrong-secret-5678/generic`, { method: 'POST' });
      expect(wrong.status).toBe(404);
      const right = await fetch(`${base}/right-secret-1234/generic`, { method: 'POST' });
      expect(right.status).toBe(200);
    } finally {
      await logged.close();
    }
    const text = lines.join('');
    expect(text).toContain('/webhooks/redacted/generic');
    expect(text).not.toContain('right-secret-1234');
    expect(text).not.toContain('wrong-secret-5678');
  });
});
