// The build commands of the built CLI (new-build, start-build, cancel-build, logs, describe,
// tag, import-image) against a real master with its controllers and a real git server. No node
// joins, so build pods stay Pending: what runs the builds is tested in test/builds.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildConfigKind, buildKind, imageStreamKind } from '../../src/api/kinds/index.js';
import type { Build } from '../../src/api/kinds/build.js';
import type { BuildConfig } from '../../src/api/kinds/build-config.js';
import type { ImageStream } from '../../src/api/kinds/image-stream.js';
import { ApiClient } from '../../src/client/index.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { createBuilderStream, startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

const REGISTRY = '127.0.0.1:5999';
let master: CliTestMaster;
let admin: ApiClient;
let git: GitServer;

const cli = cliSession({ name: 'cli-builds', stderrOnSuccess: true });
const { run, ok, fails } = cli;

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster({ controllers: true, registry: REGISTRY });
  admin = new ApiClient({ server: master.url, token: master.adminToken });
  git = await startGitServer();
  await git.createRepo('node-app', { 'package.json': '{"name":"node-app"}', 'server.js': '' });
  await git.createRepo('docker-app', { Dockerfile: 'FROM scratch\n' });
  await git.createRepo('plain', { 'README.md': 'nothing to build' });
  await cli.open();
  await createBuilderStream(admin, 'nodejs', `${REGISTRY}/openshift/nodejs:18`);
  await cli.login(master.url, master.adminToken, 'builds-cli');
});

afterAll(async () => {
  await git?.close();
  await master?.close();
  await cli.close();
});

describe('new-build', () => {
  it('detects the builder, creates the stream and config, and the first build starts', async () => {
    const out = await ok(['new-build', git.repoUrl('node-app')]);
    expect(out).toContain('The source repository appears to match: nodejs (found package.json)');
    expect(out).toContain('--> Found image stream tag "openshift/nodejs:latest" for "nodejs"');
    expect(out).toContain('imagestream.image.openshift.io "node-app" created');
    expect(out).toContain('buildconfig.build.openshift.io "node-app" created');
    expect(out).toContain("Run 'slipway logs -f bc/node-app' to stream the build progress.");

    const bc = await admin.get<BuildConfig>(buildConfigKind, 'node-app', {
      namespace: 'builds-cli',
    });
    expect(bc.metadata.labels).toEqual({ build: 'node-app' });
    expect(bc.spec.strategy?.sourceStrategy?.from).toEqual({
      kind: 'ImageStreamTag',
      namespace: 'openshift',
      name: 'nodejs:latest',
    });
    expect(bc.spec.triggers?.map((t) => t.type)).toEqual([
      'GitHub',
      'Generic',
      'ConfigChange',
      'ImageChange',
    ]);
    // ConfigChange: build 1 is created by the controller.
    const build = await until('build node-app-1', () =>
      admin.get<Build>(buildKind, 'node-app-1', { namespace: 'builds-cli' }).catch(() => undefined),
    );
    expect(build.spec.triggeredBy?.[0]?.message).toBe('Build configuration change');
    expect(await ok(['get', 'bc'])).toMatch(/node-app\s+Source\s+Git\s+1/);
  });

  it('uses a Docker build for a repository with a Dockerfile', async () => {
    await ok(['new-build', git.repoUrl('docker-app'), '--name', 'dock']);
    const bc = await admin.get<BuildConfig>(buildConfigKind, 'dock', { namespace: 'builds-cli' });
    expect(bc.spec.strategy?.type).toBe('Docker');
  });

  it('refuses what it cannot build and creates nothing', async () => {
    expect(await fails(['new-build', git.repoUrl('plain')])).toMatch(
      /no language matched the source/,
    );
    expect(await fails(['new-build', `nosuch~${git.repoUrl('plain')}`, '--name', 'x1'])).toMatch(
      /unable to locate any image stream named "nosuch"/,
    );
    expect(await fails(['new-build', git.repoUrl('node-app')])).toMatch(
      /imagestream.image.openshift.io "node-app" already exists|buildconfig.build.openshift.io "node-app" already exists/,
    );
    expect(await fails(['new-build', '--', '--upload-pack=touch /tmp/x'])).toMatch(
      /not a repository location/,
    );
    const streams = await admin.list<ImageStream>(imageStreamKind, { namespace: 'builds-cli' });
    expect(streams.items.map((s) => s.metadata.name).sort()).toEqual(['dock', 'node-app']);
  });

  it('prints the objects with -o yaml without creating them', async () => {
    const out = await ok([
      'new-build',
      `nodejs~${git.repoUrl('node-app')}#main`,
      '--name',
      'preview',
      '-o',
      'yaml',
    ]);
    const list = parse(out) as {
      items: { kind: string; spec: { source?: { git?: { ref?: string } } } }[];
    };
    expect(list.items.map((i) => i.kind)).toEqual(['ImageStream', 'BuildConfig']);
    expect(list.items[1]!.spec.source?.git?.ref).toBe('main');
    await expect(
      admin.get(buildConfigKind, 'preview', { namespace: 'builds-cli' }),
    ).rejects.toThrow(/not found/);
  });
});

describe('start-build, cancel-build and describe', () => {
  it('starts a numbered build, cancels it and describes the config with its webhook URLs', async () => {
    const out = await ok(['start-build', 'node-app']);
    expect(out).toBe('build.build.openshift.io/node-app-2 started\n');
    expect(await ok(['cancel-build', 'node-app-2'])).toBe(
      'build.build.openshift.io "node-app-2" cancelled\n',
    );
    await until('node-app-2 cancelled', async () => {
      const b = await admin.get<Build>(buildKind, 'node-app-2', { namespace: 'builds-cli' });
      return b.status?.phase === 'Cancelled' ? b : undefined;
    });
    const described = await ok(['describe', 'bc/node-app']);
    expect(described).toContain(
      `${master.url}/apis/build.openshift.io/v1/namespaces/builds-cli/buildconfigs/node-app/webhooks/<secret>/github`,
    );
    expect(described).toMatch(/node-app-2\s+cancelled/);
    const bc = await admin.get<BuildConfig>(buildConfigKind, 'node-app', {
      namespace: 'builds-cli',
    });
    for (const t of bc.spec.triggers ?? []) {
      const secret = t.github?.secret ?? t.generic?.secret;
      if (secret) expect(described).not.toContain(secret);
    }
    expect(await ok(['describe', 'build/node-app-2'])).toMatch(/Status:\s+Cancelled/);
  });

  it('uploads a directory for a binary build', async () => {
    await ok(['new-build', '--binary', '--name', 'bin', '--image-stream', 'nodejs']);
    const src = join(cli.dir, 'src');
    await mkdir(join(src, '.git'), { recursive: true });
    await writeFile(join(src, 'package.json'), '{}');
    const r = await run(['start-build', 'bin', '--from-dir', src]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Uploading directory "${src}" as binary input for the build ...`);
    expect(r.stdout).toBe('build.build.openshift.io/bin-1 started\n');
    expect(await fails(['start-build', 'bin', '--from-dir', join(cli.dir, 'missing')])).toMatch(
      /--from-dir: ".*missing" is not a directory/,
    );
  });

  it('says when a config has never been built', async () => {
    await ok(['new-build', '--binary', '--name', 'never', '--strategy', 'docker']);
    expect(await fails(['logs', 'bc/never'])).toMatch(/no builds found for "never"/);
    expect(await fails(['logs', 'bc/missing'])).toMatch(/"missing" not found/);
  });
});

describe('tag', () => {
  it('tags an external image into a stream, and one stream tag into another', async () => {
    // (import-image, which reads the registry, is in import-image.test.ts.)
    expect(await ok(['tag', '--source=docker', 'quay.example/org/base:1', 'base:1'])).toContain(
      'base:1',
    );
    await ok(['tag', '--alias', 'base:1', 'base:stable']);
    const stream = await admin.get<ImageStream>(imageStreamKind, 'base', {
      namespace: 'builds-cli',
    });
    expect(stream.spec?.tags?.find((t) => t.name === 'stable')?.from).toEqual({
      kind: 'ImageStreamTag',
      name: 'base:1',
    });
    expect(await ok(['tag', '-d', 'base:stable'])).toBe('Deleted tag builds-cli/base:stable.\n');
    expect(await fails(['tag', 'base:1', 'nocolon'])).toMatch(/must be an image stream tag/);
  });
});
