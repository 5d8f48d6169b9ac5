// The S2I builder images (images/nodejs, python, static) against the real engine: their labels
// and user follow the S2I conventions, and each one builds its fixture app by the S2I protocol
// (source tar on stdin, assemble, commit with the run script) into an image that serves HTTP
// when run as an arbitrary UID in group 0, and stops on SIGTERM.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformEngine } from '../../agent/docker/platform-engine.js';
import { ensureBuilderImages, type BuilderImage } from '../../agent/platform/builder-images.js';
import { platformPaths } from '../../agent/platform/paths.js';
import { silentLogger } from '../../src/util/logger.js';
import { cleanupRun } from '../agent/support.js';
import { assertDockerAvailable, dockerClient, newTestRun } from '../support/docker.js';
import { APPS_DIR, ARBITRARY_USER, assemble, httpGet, runApp, runOnce } from './support.js';

const docker = dockerClient();
const run = newTestRun();
const builders = new Map<string, BuilderImage>();

/** Each builder with its fixture app and what the app answers. */
const CASES = [
  { builder: 'nodejs', app: 'node-hello', body: 'Hello from node-hello\n' },
  { builder: 'python', app: 'python-hello', body: 'Hello from python-hello\n' },
  { builder: 'static', app: 'static-hello', body: 'Hello from static-hello' },
] as const;

function ref(name: string): string {
  const b = builders.get(name);
  if (!b) throw new Error(`builder ${name} was not prepared`);
  return b.refs[0]!;
}

beforeAll(async () => {
  await assertDockerAvailable(docker);
  // Built once per machine (scripts/test.sh prepares them); reused when their folder is unchanged.
  const prepared = await ensureBuilderImages(new PlatformEngine(docker), {
    paths: platformPaths(),
    logger: silentLogger(),
  });
  for (const b of prepared) builders.set(b.name, b);
}, 600_000);

afterAll(async () => {
  await cleanupRun(docker, run.runId);
});

describe('builder images', () => {
  it('are tagged openshift/NAME:VERSION and :latest with the S2I labels and USER 1001', async () => {
    expect([...builders.keys()]).toEqual(['nodejs', 'python', 'static']);
    expect(builders.get('nodejs')!.refs).toEqual([
      'openshift/nodejs:18',
      'openshift/nodejs:latest',
    ]);
    expect(builders.get('python')!.refs).toEqual([
      'openshift/python:3.11',
      'openshift/python:latest',
    ]);
    expect(builders.get('static')!.refs).toEqual([
      'openshift/static:1.35',
      'openshift/static:latest',
    ]);
    for (const { builder } of CASES) {
      const info = await docker.getImage(ref(builder)).inspect();
      expect(info.Config.User).toBe('1001');
      expect(info.Config.WorkingDir).toBe('/opt/app-root/src');
      expect(info.Config.Labels).toMatchObject({
        'io.openshift.s2i.scripts-url': 'image:///usr/libexec/s2i',
        'io.openshift.s2i.destination': '/tmp',
        'io.openshift.expose-services': '8080:http',
      });
      expect(info.Config.Labels['io.k8s.description']).toMatch(/\S/);
      expect(info.Config.Labels['io.openshift.tags']).toMatch(new RegExp(`^builder,${builder}`));
      expect(Object.keys(info.Config.ExposedPorts ?? {})).toEqual(['8080/tcp']);
    }
  });

  it.each(CASES)(
    '$builder: the app directory belongs to 1001:0 and is group-writable; the scripts are there',
    async ({ builder }) => {
      const res = await runOnce(
        docker,
        ref(builder),
        [
          '/bin/sh',
          '-c',
          'stat -c "%u:%g %A" /opt/app-root/src && ls /usr/libexec/s2i && echo "home=$HOME"',
        ],
        run.labels,
      );
      expect(res.exitCode).toBe(0);
      const [owner, ...rest] = res.output.trim().split('\n');
      expect(owner).toBe('1001:0 drwxrwxr-x');
      expect(rest).toEqual(
        expect.arrayContaining(['assemble', 'run', 'usage', 'home=/opt/app-root/src']),
      );
    },
  );

  it.each(CASES)(
    '$builder builds $app by the S2I protocol; the image serves it as an arbitrary UID and stops on SIGTERM',
    async ({ builder, app, body }) => {
      const built = await assemble(docker, {
        builder: ref(builder),
        source: join(APPS_DIR, app),
        labels: run.labels,
      });
      expect(built.exitCode, built.output).toBe(0);
      expect(built.output).toContain('---> Build complete');
      const image = await docker.getImage(built.image!).inspect();
      expect(image.Config.Cmd).toEqual(['/usr/libexec/s2i/run']);
      expect(image.Config.User).toBe('1001');

      const { container, ip } = await runApp(docker, built.image!, run.labels, ARBITRARY_USER);
      const res = await httpGet(`http://${ip}:8080/`);
      expect(res.status).toBe(200);
      expect(res.body).toContain(body);

      // tini forwards SIGTERM: the app ends with it (143) instead of being killed after the
      // grace period (137).
      await container.stop({ t: 30 });
      const state = (await container.inspect()).State;
      expect(state.ExitCode).toBe(143);
    },
  );

  it.each(CASES)(
    '$builder: assemble also works as an arbitrary UID in group 0 (restricted builds)',
    async ({ builder, app, body }) => {
      const built = await assemble(docker, {
        builder: ref(builder),
        source: join(APPS_DIR, app),
        labels: run.labels,
        user: ARBITRARY_USER,
      });
      expect(built.exitCode, built.output).toBe(0);
      const { ip } = await runApp(docker, built.image!, run.labels, '1000690000:0');
      const res = await httpGet(`http://${ip}:8080/`);
      expect(res.status).toBe(200);
      expect(res.body).toContain(body);
    },
  );

  it('nodejs: a source without package.json fails assemble with a message saying why', async () => {
    const built = await assemble(docker, {
      builder: ref('nodejs'),
      source: join(APPS_DIR, 'static-hello'),
      labels: run.labels,
    });
    expect(built.exitCode).not.toBe(0);
    expect(built.output).toContain('no package.json in the source');
    expect(built.image).toBeUndefined();
  });

  it('nodejs: save-artifacts writes node_modules as a tar and nothing else on stdout', async () => {
    const first = await assemble(docker, {
      builder: ref('nodejs'),
      source: join(APPS_DIR, 'node-hello'),
      labels: run.labels,
    });
    expect(first.exitCode, first.output).toBe(0);
    const saved = await runOnce(
      docker,
      first.image!,
      [
        '/bin/sh',
        '-c',
        'mkdir -p node_modules/kept && /usr/libexec/s2i/save-artifacts | tar -tf -',
      ],
      run.labels,
      { user: ARBITRARY_USER },
    );
    expect(saved).toEqual({ exitCode: 0, output: 'node_modules/\nnode_modules/kept/\n' });
  });

  it('nodejs: restores artifacts/node_modules and installs over them (npm ci would delete them)', async () => {
    const built = await assemble(docker, {
      builder: ref('nodejs'),
      source: join(APPS_DIR, 'node-hello'),
      labels: run.labels,
      extra: [
        { path: 'artifacts/', type: 'dir' },
        { path: 'artifacts/node_modules/', type: 'dir' },
        {
          path: 'artifacts/node_modules/.package-lock.json',
          type: 'file',
          data: Buffer.from('{}'),
        },
      ],
    });
    expect(built.exitCode, built.output).toBe(0);
    expect(built.output).toContain(
      '---> Restoring build artifacts (node_modules from the previous image)',
    );
    expect(built.output).toContain('npm install, reusing the restored node_modules');
    expect(built.output).not.toContain('(npm ci)');
  });

  it('python: APP_FILE picks the file to run; a missing one fails with a message', async () => {
    const built = await assemble(docker, {
      builder: ref('python'),
      source: join(APPS_DIR, 'python-hello'),
      labels: run.labels,
    });
    expect(built.exitCode, built.output).toBe(0);
    expect(built.output).toContain('requirements.txt lists no packages');
    const missing = await runOnce(
      docker,
      built.image!,
      ['/bin/sh', '-c', 'APP_FILE=nope.py /usr/libexec/s2i/run'],
      run.labels,
      { user: ARBITRARY_USER },
    );
    expect(missing.exitCode).toBe(1);
    expect(missing.output).toContain('nope.py not found in /opt/app-root/src');
  });
});
