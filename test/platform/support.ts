// Helpers for the platform tests: the Source-to-Image flow done by hand against a builder image
// (what a Source build does, without the build machinery), and an HTTP check of a container.
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { createTar, type TarEntry } from '../../agent/docker/tar.js';
import { directoryEntries } from '../../agent/platform/build-context.js';
import { TEST_RUN_LABEL } from '../support/docker.js';

/** The fixture applications, one per builder (test/fixtures/apps/). */
export const APPS_DIR = fileURLToPath(new URL('../fixtures/apps/', import.meta.url));

/** OpenShift's restricted default: a project UID, group 0. */
export const ARBITRARY_USER = '1000680000:0';

/** What a restricted pod gets: no capabilities, no privilege gain. */
const RESTRICTED: Docker.HostConfig = {
  CapDrop: ['ALL'],
  SecurityOpt: ['no-new-privileges'],
};

export interface AssembleResult {
  exitCode: number;
  output: string;
  /** The committed image (only when assemble succeeded). */
  image: string | undefined;
}

/**
 * The S2I protocol by hand: a container of the builder runs
 * `tar -C /tmp -xf - && /usr/libexec/s2i/assemble` with a tar holding `src/` on stdin; on
 * success it is committed with CMD = the run script (and the test run's label, for clean-up).
 */
export async function assemble(
  docker: Docker,
  options: {
    builder: string;
    /** The fixture app's folder. */
    source: string;
    labels: Record<string, string>;
    /** Run assemble as this `uid:gid` (default: the builder's USER). */
    user?: string;
    env?: string[];
    /** More of the injected tar, e.g. `artifacts/...` of an incremental build. */
    extra?: TarEntry[];
  },
): Promise<AssembleResult> {
  const tar = createTar([
    ...(await directoryEntries(options.source, 'src')),
    ...(options.extra ?? []),
  ]);
  const container = await docker.createContainer({
    Image: options.builder,
    Cmd: ['/bin/sh', '-c', 'tar -C /tmp -xf - && /usr/libexec/s2i/assemble'],
    Entrypoint: [],
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Labels: options.labels,
    ...(options.user ? { User: options.user } : {}),
    ...(options.env ? { Env: options.env } : {}),
    HostConfig: RESTRICTED,
  });
  try {
    const stream = await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    });
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    docker.modem.demuxStream(stream, out, out);
    await container.start();
    stream.end(tar);
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // Let the attach stream deliver its last bytes.
    await sleep(100);
    const output = Buffer.concat(chunks).toString('utf8');
    let image: string | undefined;
    if (StatusCode === 0) {
      const committed = (await container.commit({
        changes: [
          'CMD ["/usr/libexec/s2i/run"]',
          `LABEL ${TEST_RUN_LABEL}=${options.labels[TEST_RUN_LABEL]}`,
        ],
      })) as { Id: string };
      image = committed.Id;
    }
    return { exitCode: StatusCode, output, image };
  } finally {
    await container.remove({ force: true });
  }
}

/** Starts the application image as a restricted pod would run it; resolves with the container. */
export async function runApp(
  docker: Docker,
  image: string,
  labels: Record<string, string>,
  user = ARBITRARY_USER,
): Promise<{ container: Docker.Container; ip: string }> {
  const container = await docker.createContainer({
    Image: image,
    User: user,
    Labels: labels,
    HostConfig: RESTRICTED,
  });
  await container.start();
  const info = await container.inspect();
  return { container, ip: info.NetworkSettings.Networks.bridge?.IPAddress ?? '' };
}

/**
 * GET http://ip:port/ until it answers (the server needs a moment to listen), at most
 * `timeoutMs`; resolves with the first answer's status and body.
 */
export async function httpGet(
  url: string,
  timeoutMs = 30_000,
): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

/** Runs `cmd` in a throw-away container of `image`; resolves with its exit code and output. */
export async function runOnce(
  docker: Docker,
  image: string,
  cmd: string[],
  labels: Record<string, string>,
  options: { user?: string; entrypoint?: string[] } = {},
): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    Entrypoint: options.entrypoint ?? [],
    Labels: labels,
    ...(options.user ? { User: options.user } : {}),
    HostConfig: RESTRICTED,
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const raw = await container.logs({ stdout: true, stderr: true });
    // Non-TTY logs are multiplexed: an 8-byte header before each chunk.
    const chunks: Buffer[] = [];
    let offset = 0;
    while (offset + 8 <= raw.length) {
      const size = raw.readUInt32BE(offset + 4);
      chunks.push(raw.subarray(offset + 8, offset + 8 + size));
      offset += 8 + size;
    }
    return { exitCode: StatusCode, output: Buffer.concat(chunks).toString('utf8') };
  } finally {
    await container.remove({ force: true });
  }
}
