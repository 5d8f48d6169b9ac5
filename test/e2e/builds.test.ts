// Builds end to end, as a user runs them: `slipway up`, then `new-project`, `new-build
// BUILDER~URL` against a git server on 127.0.0.1, `logs -f bc/NAME`, `get builds`, `get is` and
// `describe build`, all through the built CLI. Each fixture application (Node.js, Python, static,
// a Dockerfile, a private repository needing basic auth) builds on the local engine with the real
// builder images, is pushed to the cluster registry, moves its image stream tag to the pushed
// digest, and that digest runs as a restricted pod (project UID, group 0) that answers HTTP.
// A second build of a Node.js application with an npm dependency reuses the first one's
// node_modules instead of installing it again.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { BuildConfig, Pod } from '../../src/api/index.js';
import { podKind, projectRequestKind } from '../../src/api/index.js';
import { dockerClient } from '../support/docker.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { fixtureFiles, hostBundle, httpGet } from './support/apps.js';
import { escapeRegExp, expectFirstBuild, expectServes } from './support/build-checks.js';
import {
  finishedBuild,
  followBuildLog,
  startBuildStack,
  tagHistory,
  type BuildStack,
} from './support/build-stack.js';

const docker = dockerClient();
const NS = 'e2e-builds';
const USERNAME = 'developer';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;

let stack: BuildStack;
let git: GitServer;
let privateGit: GitServer;
const commits = new Map<string, string>();

/** The List `new-build -o yaml` prints and its BuildConfig, to edit before `create -f`. */
async function newBuildObjects(
  args: string[],
): Promise<{ objects: { items: { kind: string }[] }; bc: BuildConfig }> {
  const objects = parse(await stack.ok(['new-build', ...args, '-o', 'yaml'])) as {
    items: { kind: string }[];
  };
  const bc = objects.items.find((o): o is BuildConfig => o.kind === 'BuildConfig');
  if (!bc) throw new Error('new-build -o yaml printed no BuildConfig');
  return { objects, bc };
}

beforeAll(async () => {
  stack = await startBuildStack(docker, 'e2e-builds');
  git = await startGitServer();
  privateGit = await startGitServer({ auth: { username: USERNAME, password: PASSWORD } });
  for (const app of ['node-hello', 'python-hello', 'static-hello', 'docker-hello']) {
    commits.set(app, await git.createRepo(app, await fixtureFiles(app)));
  }
  commits.set('node-deps', await git.createRepo('node-deps', await fixtureFiles('node-deps')));
  commits.set(
    'private-site',
    await privateGit.createRepo('site', await fixtureFiles('static-hello')),
  );
  expect(await stack.ok(['new-project', NS])).toContain(`Now using project "${NS}"`);
  // The cluster's trusted CA bundle for builds that ask for it: this machine's.
  const bundle = hostBundle();
  if (bundle) {
    await stack.ok([
      'create',
      'configmap',
      'user-ca-bundle',
      '-n',
      'openshift-config',
      `--from-file=ca-bundle.crt=${bundle}`,
    ]);
  }
}, 300_000);

afterAll(async () => {
  await git?.close();
  await privateGit?.close();
  await stack?.close();
}, 120_000);

// Independent applications build side by side, as several users' builds would.
describe.concurrent('builds of each kind of application, through the CLI', () => {
  it.each([
    {
      app: 'node-hello',
      builder: 'nodejs',
      assemble: ['---> Installing application source', '---> Installing dependencies (npm ci)'],
      body: 'Hello from node-hello\n',
    },
    {
      app: 'python-hello',
      builder: 'python',
      assemble: ['---> Installing application source', '---> requirements.txt lists no packages'],
      body: 'Hello from python-hello\n',
    },
    {
      app: 'static-hello',
      builder: 'static',
      assemble: ['---> Installing static content'],
      body: 'Hello from static-hello',
    },
  ])(
    '$builder: new-build $builder~URL builds $app, the tag moves to the pushed digest, the image serves HTTP',
    async ({ app, builder, assemble, body }) => {
      const url = git.repoUrl(app);
      const out = await stack.ok(['new-build', `${builder}~${url}`, '-n', NS]);
      expect(out).toContain(
        `--> Found image stream tag "openshift/${builder}:latest" for "${builder}"`,
      );
      expect(out).toContain(`buildconfig.build.openshift.io "${app}" created`);
      expect(out).toContain(`Run 'slipway logs -f bc/${app}' to stream the build progress.`);

      const log = await followBuildLog(stack, NS, app);
      // The builder comes from the cluster registry, by digest, through the openshift stream.
      expect(log).toMatch(
        new RegExp(
          `Running assemble in ${escapeRegExp(stack.registry)}/openshift/${builder}@sha256:[0-9a-f]{64} as user 1001`,
        ),
      );
      for (const line of [...assemble, '---> Build complete']) expect(log).toContain(line);
      const reference = await expectFirstBuild(stack, NS, app, {
        strategy: 'Source',
        url,
        commit: commits.get(app)!,
        log,
      });
      await expectServes(stack, NS, `${app}-app`, reference, body);
    },
    180_000,
  );

  it('Docker strategy: a repository with a Dockerfile is detected, built, pushed and served', async () => {
    const url = git.repoUrl('docker-hello');
    const out = await stack.ok(['new-build', url, '-n', NS]);
    expect(out).toContain(
      '--> The source repository appears to match: a Dockerfile (found Dockerfile)',
    );
    const log = await followBuildLog(stack, NS, 'docker-hello');
    expect(log).toContain('Building Dockerfile ...');
    expect(log).toMatch(/Step 3\/\d+ : RUN echo "Built by a Dockerfile RUN step"/);
    expect(log).toMatch(/^Successfully built [0-9a-f]{12}$/m);
    const reference = await expectFirstBuild(stack, NS, 'docker-hello', {
      strategy: 'Docker',
      url,
      commit: commits.get('docker-hello')!,
      log,
    });
    await expectServes(stack, NS, 'docker-hello-app', reference, 'Hello from docker-hello');
    const pod = await stack.api.get<Pod>(podKind, 'docker-hello-app', { namespace: NS });
    const ran = await httpGet(`http://${pod.status!.podIP!}:8080/run.txt`);
    expect(ran).toEqual({ status: 200, body: 'Built by a Dockerfile RUN step\n' });
  }, 180_000);

  it('a private repository builds with a basic-auth source secret whose password shows nowhere', async () => {
    const url = privateGit.repoUrl('site');
    const secret = [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: git-basic-auth',
      'type: kubernetes.io/basic-auth',
      'stringData:',
      `  username: ${USERNAME}`,
      `  password: ${PASSWORD}`,
      '',
    ].join('\n');
    expect(await stack.ok(['create', '-n', NS, '-f', '-'], { stdin: secret })).toBe(
      'secret/git-basic-auth created\n',
    );
    await stack.ok([
      'new-build',
      `static~${url}`,
      '--name',
      'private-site',
      '--source-secret',
      'git-basic-auth',
      '-n',
      NS,
    ]);
    expect(await stack.ok(['describe', 'bc', 'private-site', '-n', NS])).toMatch(
      /^Source Secret:\s+git-basic-auth$/m,
    );

    const log = await followBuildLog(stack, NS, 'private-site');
    expect(log).toContain('---> Installing static content');
    const reference = await expectFirstBuild(stack, NS, 'private-site', {
      strategy: 'Source',
      url,
      commit: commits.get('private-site')!,
      log,
    });
    await expectServes(stack, NS, 'private-site-app', reference, 'Hello from static-hello');
    // The git server refuses requests without the credentials; the fetch got through.
    expect(privateGit.requests.some((r) => r.includes('git-upload-pack'))).toBe(true);

    // Not in the log, the events, the build, its pod, or what describe prints; nor encoded.
    const forms = [
      PASSWORD,
      Buffer.from(PASSWORD).toString('base64'),
      Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64'),
    ];
    const n = ['-n', NS];
    const seen = [
      log,
      await stack.ok(['logs', 'build/private-site-1', ...n]),
      await stack.ok(['get', 'events', '-o', 'json', ...n]),
      await stack.ok(['get', 'build', 'private-site-1', '-o', 'json', ...n]),
      await stack.ok(['get', 'pod', 'private-site-1-build', '-o', 'json', ...n]),
      await stack.ok(['describe', 'build', 'private-site-1', ...n]),
      await stack.ok(['describe', 'pod', 'private-site-1-build', ...n]),
    ].join('\n');
    for (const form of forms) expect(seen).not.toContain(form);
  }, 180_000);
});

describe('base images of Docker builds', () => {
  it("a Dockerfile starts from its own project's images in the cluster registry, never another project's", async () => {
    // docker-hello's image, built and pushed by the suite above, is in the registry and in the
    // node's store.
    const own = (await tagHistory(stack, NS, 'docker-hello'))[0]?.dockerImageReference ?? '';
    expect(own.startsWith(`${stack.registry}/${NS}/docker-hello@sha256:`), own).toBe(true);
    const dockerfileBuild = (name: string, dockerfile: string, forcePull: boolean): string =>
      [
        'apiVersion: build.openshift.io/v1',
        'kind: BuildConfig',
        'metadata:',
        `  name: ${name}`,
        'spec:',
        '  source:',
        '    dockerfile: |',
        ...dockerfile.split('\n').map((l) => `      ${l}`),
        '  strategy:',
        '    dockerStrategy:',
        `      forcePull: ${forcePull}`,
        '  triggers:',
        '  - type: ConfigChange',
        '',
      ].join('\n');

    // Stages from the project's own image, pulled again (forcePull) with the node's credentials.
    await stack.ok(['create', '-f', '-', '-n', NS], {
      stdin: dockerfileBuild(
        'staged',
        `FROM ${own} AS hello\nFROM ${own}\nRUN test -f /www/run.txt`,
        true,
      ),
    });
    const log = await followBuildLog(stack, NS, 'staged');
    const staged = await finishedBuild(stack, NS, 'staged-1');
    expect(staged.status?.phase, log).toBe('Complete');
    expect(log).toContain(`Pulling image ${own} ...`);

    // Another project's Dockerfile naming that image is refused, though the node has it.
    const other = 'e2e-builds-other';
    await stack.api.create(
      projectRequestKind,
      { apiVersion: 'project.openshift.io/v1', kind: 'ProjectRequest', metadata: { name: other } },
      {},
    );
    await stack.ok(['create', '-f', '-', '-n', other], {
      stdin: dockerfileBuild('borrow', `FROM ${own}\nRUN true`, false),
    });
    const refusedLog = await followBuildLog(stack, other, 'borrow');
    const refused = await finishedBuild(stack, other, 'borrow-1');
    expect(refused.status, refusedLog).toMatchObject({
      phase: 'Failed',
      reason: 'PullBuilderImageFailed',
    });
    expect(refusedLog).toContain(
      `Dockerfile line 1: FROM ${own}: builds in project ${other} may use the cluster registry's images of their own project and of "openshift" only`,
    );
    expect(refusedLog).not.toContain('Step 1/');
  }, 180_000);
});

describe('incremental builds', () => {
  it('a second build of a Node.js application reuses node_modules and installs nothing again', async () => {
    const url = git.repoUrl('node-deps');
    const { objects, bc } = await newBuildObjects([`nodejs~${url}`, '-n', NS]);
    bc.spec.strategy.sourceStrategy!.incremental = true;
    // npm reaches the registry with the cluster's CA bundle (on this machine, through a
    // TLS-intercepting proxy that only it verifies).
    bc.spec.mountTrustedCA = true;
    await stack.ok(['create', '-n', NS, '-f', '-'], { stdin: stringify(objects) });

    // Build 1: nothing to reuse; npm installs the dependency and the application's postinstall
    // leaves a random marker inside node_modules/ms.
    const first = await followBuildLog(stack, NS, 'node-deps');
    expect(first).toContain('Clean build will be performed');
    if (hostBundle()) {
      expect(first).toMatch(
        /Adding the cluster's trusted CA bundle to assemble \(\d+ certificates?\)/,
      );
    }
    expect(first).toContain('---> Installing dependencies (npm ci)');
    expect(first).toMatch(/^added 1 package in /m);
    expect(first).toContain('install marker written');
    const firstRef = await expectFirstBuild(stack, NS, 'node-deps', {
      strategy: 'Source',
      url,
      commit: commits.get('node-deps')!,
      log: first,
    });
    const before = await expectServes(stack, NS, 'node-deps-1-app', firstRef, 'Hello');
    const marker = /install marker ([0-9a-f-]{36})$/m.exec(before)?.[1];
    expect(before).toBe(`Hello from node-deps: 2 days is 172800000 ms; install marker ${marker}\n`);

    // A code change, then build 2, followed with start-build -F.
    const server = (await fixtureFiles('node-deps'))['server.js']!;
    const changed = server.replace("const greeting = 'Hello';", "const greeting = 'Howdy';");
    expect(changed).not.toBe(server);
    const commit = await git.commit(
      'node-deps',
      { 'server.js': changed },
      { message: 'Say howdy' },
    );
    const started = await stack.run(['start-build', 'node-deps', '-F', '-n', NS], {
      timeoutMs: 240_000,
    });
    expect(started.code, started.stderr).toBe(0);
    const second = started.stdout;
    expect(second).toContain('build.build.openshift.io/node-deps-2 started');
    expect(second).toContain(`Commit:\t${commit.slice(0, 7)} (Say howdy)`);
    expect(second).toContain(
      `Existing image for tag ${stack.registry}/${NS}/node-deps:latest detected for incremental build`,
    );
    expect(second).toContain(
      '---> Restoring build artifacts (node_modules from the previous image)',
    );
    // The lock file did not change, so npm is not run to install; the package's own
    // postinstall script still runs, as `npm install` would have run it.
    expect(second).toContain(
      '---> Dependencies unchanged since the previous build (same lock file): skipping npm install',
    );
    expect(second).toContain("---> Running the package's postinstall script");
    expect(second).not.toContain('---> Installing dependencies');
    expect(second).not.toMatch(/^added \d+ package/m);
    expect(second).toContain('install marker kept');
    const build = await finishedBuild(stack, NS, 'node-deps-2');
    expect(build.status?.phase).toBe('Complete');
    expect(build.spec.revision?.git?.commit).toBe(commit);
    const secondRef = `${stack.registry}/${NS}/node-deps@${build.status!.output!.to!.imageDigest!}`;
    expect(second).toContain(`Successfully pushed ${secondRef}`);
    expect((await tagHistory(stack, NS, 'node-deps')).map((i) => i.dockerImageReference)).toEqual([
      secondRef,
      firstRef,
    ]);

    // The new code runs with the very node_modules/ms the first build installed: npm would have
    // replaced the directory, marker and all, had it installed ms again.
    const after = await expectServes(stack, NS, 'node-deps-2-app', secondRef, 'Howdy');
    expect(after).toBe(`Howdy from node-deps: 2 days is 172800000 ms; install marker ${marker}\n`);
    expect(await stack.ok(['describe', 'build', 'node-deps-2', '-n', NS])).toMatch(
      /^Incremental Build:\s+yes$/m,
    );

    // A changed lock file: npm runs again over the restored tree, and keeps what still matches.
    const files = await fixtureFiles('node-deps');
    const bump = (text: string): string =>
      text.replaceAll('"version": "1.0.0"', '"version": "1.0.1"');
    expect(bump(files['package-lock.json']!)).not.toBe(files['package-lock.json']);
    await git.commit(
      'node-deps',
      {
        'package.json': bump(files['package.json']!),
        'package-lock.json': bump(files['package-lock.json']!),
      },
      { message: 'Version 1.0.1' },
    );
    const third = await stack.run(['start-build', 'node-deps', '-F', '-n', NS], {
      timeoutMs: 240_000,
    });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain(
      '---> Installing dependencies (npm install, reusing the restored node_modules)',
    );
    expect(third.stdout).toMatch(/^up to date in /m);
    expect(third.stdout).toContain('install marker kept');
    expect((await finishedBuild(stack, NS, 'node-deps-3')).status?.phase).toBe('Complete');
  }, 300_000);
});
