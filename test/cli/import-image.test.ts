// Images read from a real registry (Docker Distribution on loopback) through the master:
// `import-image` pins a stream tag to the digest the registry has now, and moves it when the
// upstream tag moves, and reads a registry that asks for a password with the project's
// docker-registry Secret; `new-app IMAGE` gives the app a Service for the ports the image
// exposes. The images are built and pushed by the real engine.
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deploymentConfigKind,
  imageStreamImportKind,
  imageStreamKind,
  serviceKind,
} from '../../src/api/kinds/index.js';
import type { ImageStream } from '../../src/api/kinds/image-stream.js';
import type { ImageStreamImport } from '../../src/api/kinds/image-stream-import.js';
import type { Service } from '../../src/api/kinds/service.js';
import { ApiError } from '../../src/api/errors.js';
import { ApiClient } from '../../src/client/index.js';
import {
  assertDockerAvailable,
  dockerClient,
  ensureImage,
  PAUSE_IMAGE,
  TEST_LABEL,
} from '../support/docker.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

const NS = 'imports-cli';
const docker = dockerClient();
let registry: TestRegistry;
/** A second registry, which asks for a password. */
let privateRegistry: TestRegistry;
const LOGIN = { username: 'importer', password: 'import: secret' };
let master: CliTestMaster;
let admin: ApiClient;
const pushed: string[] = [];

const cli = cliSession({ name: 'cli-import', stderrOnSuccess: true });
const { ok, fails } = cli;

/** Builds a one-line-change image FROM the pause image and pushes it; its manifest digest. */
async function pushImage(
  ref: string,
  dockerfile: string,
  authconfig: Docker.AuthConfig | Record<string, never> = {},
): Promise<string> {
  const context = pack();
  context.entry({ name: 'Dockerfile' }, dockerfile);
  context.finalize();
  const build = await docker.buildImage(
    context as unknown as NodeJS.ReadableStream,
    {
      t: ref,
      labels: { [TEST_LABEL]: '1' },
    } as Docker.ImageBuildOptions,
  );
  const built = await follow(build);
  const failure = built.find((m) => m.error);
  if (failure) throw new Error(`docker build ${ref}: ${String(failure.error)}`);
  pushed.push(ref);
  const progress = await follow(await docker.getImage(ref).push({ authconfig }));
  const digest = progress.map((m) => m.aux?.Digest).find((d) => d !== undefined);
  const error = progress.find((m) => m.error);
  if (error || !digest)
    throw new Error(`docker push ${ref}: ${JSON.stringify(error?.error ?? 'no digest')}`);
  return digest;
}

function follow(
  stream: NodeJS.ReadableStream,
): Promise<{ error?: unknown; aux?: { Digest?: string } }[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) =>
      err ? reject(err) : resolve(out as { error?: unknown; aux?: { Digest?: string } }[]),
    );
  });
}

const stream = (name: string): Promise<ImageStream> =>
  admin.get<ImageStream>(imageStreamKind, name, { namespace: NS });

beforeAll(async () => {
  assertBuilt();
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  registry = await startRegistry();
  privateRegistry = await startRegistry({ auth: LOGIN });
  master = await startCliTestMaster({
    controllers: true,
    registry: registry.address,
    // The cluster registry is always allowed; quay.io is never reached.
    allowedRegistriesForImport: `quay.io,${privateRegistry.address}`,
    scheduledImageImportIntervalSeconds: 1,
  });
  admin = new ApiClient({ server: master.url, token: master.adminToken });
  await cli.open();
  await cli.login(master.url, master.adminToken, NS);
}, 120_000);

afterAll(async () => {
  await cli.close();
  await master?.close();
  for (const ref of pushed)
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
  // Images a re-push left without their tag keep their registry's name in RepoDigests.
  const prefixes = [registry, privateRegistry]
    .filter((r): r is TestRegistry => r !== undefined)
    .map((r) => `${r.address}/`);
  for (const img of await docker.listImages()) {
    for (const r of [...(img.RepoTags ?? []), ...(img.RepoDigests ?? [])]) {
      if (!prefixes.some((p) => r.startsWith(p))) continue;
      await docker
        .getImage(r)
        .remove({ noprune: true })
        .catch(() => undefined);
    }
  }
  await registry?.close();
  await privateRegistry?.close();
});

describe('import-image', () => {
  it('pins a tag to the digest the registry has, and follows the upstream tag when run again', async () => {
    const ref = `${registry.address}/team/hello:1`;
    const first = await pushImage(
      ref,
      `FROM ${PAUSE_IMAGE}\nEXPOSE 8080/tcp 5353/udp\nUSER 1001\nLABEL release=one\n`,
    );
    const out = await ok(['import-image', 'hello:1', '--from', ref, '--confirm']);
    expect(out).toContain('imagestream.image.openshift.io/hello imported');
    expect(out).toContain(`Tag hello:1 set to ${ref}: image ${first.slice(7, 14)}`);
    expect(out).toContain(`${registry.address}/team/hello@${first}`);
    expect(out).toContain('Exposes ports: 5353/udp, 8080/tcp');
    expect(out).toContain('Runs as user: 1001');
    let is = await stream('hello');
    expect(is.spec?.tags).toEqual([
      expect.objectContaining({ name: '1', from: { kind: 'DockerImage', name: ref } }),
    ]);
    expect(is.status?.tags?.[0]?.items?.[0]).toMatchObject({
      dockerImageReference: `${registry.address}/team/hello@${first}`,
      image: first,
    });

    // The upstream tag moves; importing again (the tag knows its image) moves the stream tag.
    const second = await pushImage(ref, `FROM ${PAUSE_IMAGE}\nEXPOSE 8080\nLABEL release=two\n`);
    expect(second).not.toBe(first);
    expect(await ok(['import-image', 'hello:1'])).toContain(`image ${second.slice(7, 14)}`);
    is = await stream('hello');
    expect(is.status?.tags?.[0]?.items?.map((i) => i.image)).toEqual([second, first]);
    // The image stream controller leaves the imported image alone.
    await new Promise((r) => setTimeout(r, 500));
    expect((await stream('hello')).status?.tags?.[0]?.items?.[0]?.image).toBe(second);
  });

  it('with --scheduled, follows the upstream tag by itself; others stay where they are', async () => {
    const ref = `${registry.address}/team/clock:v1`;
    const first = await pushImage(ref, `FROM ${PAUSE_IMAGE}\nLABEL tick=one\n`);
    await ok(['import-image', 'clock:v1', '--from', ref, '--confirm', '--scheduled']);
    // The same upstream image under a tag nobody scheduled.
    await ok(['import-image', 'clock:still', '--from', ref]);
    let is = await stream('clock');
    expect(is.spec?.tags?.find((t) => t.name === 'v1')?.importPolicy).toEqual({ scheduled: true });

    const second = await pushImage(ref, `FROM ${PAUSE_IMAGE}\nLABEL tick=two\n`);
    const deadline = Date.now() + 20_000;
    const newest = (tag: string) =>
      is.status?.tags?.find((t) => t.tag === tag)?.items?.map((i) => i.image);
    while (newest('v1')?.[0] !== second && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      is = await stream('clock');
    }
    expect(newest('v1')).toEqual([second, first]);
    expect(newest('still')).toEqual([first]);
    // Imported again and again, an unchanged image adds nothing to the history.
    await new Promise((r) => setTimeout(r, 2500));
    is = await stream('clock');
    expect(newest('v1')).toEqual([second, first]);
    // Running import-image again keeps the tag scheduled.
    await ok(['import-image', 'clock:v1']);
    expect((await stream('clock')).spec?.tags?.find((t) => t.name === 'v1')?.importPolicy).toEqual({
      scheduled: true,
    });

    // `tag --scheduled` of an external image: the controller imports it, pinned by digest.
    await ok(['tag', '--source', 'docker', '--scheduled', ref, 'clock:tagged']);
    const until = Date.now() + 20_000;
    while (newest('tagged')?.[0] !== second && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250));
      is = await stream('clock');
    }
    expect(newest('tagged')?.[0]).toBe(second);
    expect(await fails(['tag', '--scheduled', 'clock:v1', 'clock:copy'])).toContain(
      '--scheduled: only an external image is imported periodically',
    );
  });

  it('names what the registry said, and changes nothing', async () => {
    const before = await stream('hello');
    const missing = `${registry.address}/team/hello:nope`;
    expect(await fails(['import-image', 'hello:nope', '--from', missing])).toContain(
      `tag nope failed: ${missing}: not found in the registry`,
    );
    expect(await fails(['import-image', 'other:1', '--from', missing])).toMatch(/--confirm/);
    // A registry imports may not read is refused before anything is asked of it.
    expect(
      await fails(['import-image', 'other:1', '--from', '127.0.0.1:1/x/y:1', '--confirm']),
    ).toContain(
      `spec.images[0].from.name: Forbidden: registry "127.0.0.1:1" is not allowed for imports (allowed: quay.io, ${privateRegistry.address}, ${registry.address})`,
    );
    expect((await stream('hello')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    await expect(admin.get(imageStreamKind, 'other', { namespace: NS })).rejects.toMatchObject({
      code: 404,
    });
  });

  it("reads a private registry with the project's docker-registry Secret for it", async () => {
    const ref = `${privateRegistry.address}/team/private:1`;
    const digest = await pushImage(ref, `FROM ${PAUSE_IMAGE}\nLABEL private=yes\n`, {
      ...LOGIN,
      serveraddress: privateRegistry.address,
    });
    expect(await fails(['import-image', 'private:1', '--from', ref, '--confirm'])).toContain(
      `tag 1 failed: ${ref}: the registry requires credentials (basic authentication)`,
    );
    // Credentials for another registry are not sent there.
    await ok([
      'create',
      'secret',
      'docker-registry',
      'elsewhere',
      '--docker-server',
      'registry.example.com',
      '--docker-username',
      LOGIN.username,
      '--docker-password',
      LOGIN.password,
    ]);
    await fails(['import-image', 'private:1', '--from', ref, '--confirm']);
    await ok([
      'create',
      'secret',
      'docker-registry',
      'private-login',
      '--docker-server',
      privateRegistry.address,
      '--docker-username',
      LOGIN.username,
      '--docker-password',
      LOGIN.password,
    ]);
    const out = await ok(['import-image', 'private:1', '--from', ref, '--confirm']);
    expect(out).toContain(`Tag private:1 set to ${ref}: image ${digest.slice(7, 14)}`);
    expect((await stream('private')).status?.tags?.[0]?.items?.[0]?.image).toBe(digest);
  });

  it('refuses a malformed request naming the field', async () => {
    const post = (spec: unknown) =>
      admin.create<ImageStreamImport>(
        imageStreamImportKind,
        {
          apiVersion: 'image.openshift.io/v1',
          kind: 'ImageStreamImport',
          metadata: { name: 'x', namespace: NS },
          spec,
        } as ImageStreamImport,
        { namespace: NS },
      );
    const refused = async (spec: unknown, field: string): Promise<void> => {
      const err = (await post(spec).catch((e: unknown) => e)) as ApiError;
      expect(err).toBeInstanceOf(ApiError);
      expect(err.code).toBe(422);
      expect(err.message).toContain(field);
    };
    await refused(
      { import: false, images: [{ from: { kind: 'ImageStreamTag', name: 'a:b' } }] },
      'spec.images[0].from.kind',
    );
    await refused(
      { import: false, images: [{ from: { kind: 'DockerImage', name: 'Bad Name' } }] },
      'spec.images[0].from.name',
    );
    await refused(
      {
        import: true,
        images: [{ from: { kind: 'DockerImage', name: `a/b@sha256:${'0'.repeat(64)}` } }],
      },
      'spec.images[0].to.name',
    );
    await refused({ import: false, images: [] }, 'spec.images');
    await expect(admin.get(imageStreamKind, 'x', { namespace: NS })).rejects.toMatchObject({
      code: 404,
    });
  });
});

describe('new-app IMAGE', () => {
  it("gives the app a Service for the image's exposed ports", async () => {
    const ref = `${registry.address}/team/web:2`;
    const digest = await pushImage(
      ref,
      `FROM ${PAUSE_IMAGE}\nEXPOSE 8080/tcp 9090/tcp 5353/udp\nUSER 1001\n`,
    );
    const out = await ok(['new-app', ref]);
    expect(out).toContain(`--> Found container image ${digest.slice(7, 14)}`);
    expect(out).toContain('* An image stream tag will be created as "web:2"');
    expect(out).toContain('Port 8080/tcp will be load balanced by service "web"');
    expect(out).not.toContain('WARNING');
    const svc = await admin.get<Service>(serviceKind, 'web', { namespace: NS });
    expect(svc.spec.ports?.map((p) => [p.name, p.port, p.protocol])).toEqual([
      ['5353-udp', 5353, 'UDP'],
      ['8080-tcp', 8080, 'TCP'],
      ['9090-tcp', 9090, 'TCP'],
    ]);
    await admin.get(deploymentConfigKind, 'web', { namespace: NS });
  });

  it('warns of an image that runs as root', async () => {
    const ref = `${registry.address}/team/rooted:1`;
    await pushImage(ref, `FROM ${PAUSE_IMAGE}\nEXPOSE 80\n`);
    const out = await ok(['new-app', ref, '--dry-run']);
    expect(out).toContain(`WARNING: Image "${ref}" runs as the 'root' user`);
    expect(out).toContain('Port 80/tcp will be load balanced');
  });

  it('refuses an image its registry does not have unless told to deploy it anyway', async () => {
    const ref = `${registry.address}/team/absent:1`;
    const err = await fails(['new-app', ref]);
    expect(err).toContain(
      `the image "${ref}" could not be read from its registry: ${ref}: not found`,
    );
    expect(err).toContain('--allow-missing-images');
    await expect(admin.get(imageStreamKind, 'absent', { namespace: NS })).rejects.toMatchObject({
      code: 404,
    });
    const out = await ok(['new-app', ref, '--allow-missing-images', '--port', '8080']);
    expect(out).toContain('WARNING: its registry could not be read');
    expect(
      (await admin.get<Service>(serviceKind, 'absent', { namespace: NS })).spec.ports?.[0]?.port,
    ).toBe(8080);
  });
});
