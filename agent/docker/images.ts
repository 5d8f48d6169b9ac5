/**
 * Images on the node: pull policies, pulls with progress, and the pause (infra) image, which the
 * agent builds itself from the host's static BusyBox when it is missing, so a node needs no
 * registry to run pods.
 */
import { readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import type { Logger } from '../../src/util/logger.js';
import { isRuntimeError, mapDockerError, RuntimeError, type RuntimeErrorCode } from './errors.js';
import {
  openProgress,
  readProgress,
  progressHandler,
  type ProgressMessage,
  type PullProgress,
} from './progress.js';
import { jsonLines } from './streams.js';
import { createTar } from './tar.js';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** Registry credentials for one pull; never logged. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
  /** A token the engine sends to the registry as it is (the cluster registry's, per request). */
  registrytoken?: string;
  auth?: string;
}

export type { PullProgress } from './progress.js';

export interface EnsureImageOptions {
  pullPolicy: PullPolicy;
  auth?: RegistryAuth;
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  /**
   * With `Always`, use the local copy when the pull fails (air-gapped nodes). Off by default:
   * Kubernetes fails the pull.
   */
  fallbackToLocal?: boolean;
}

export interface ImageInfo {
  ref: string;
  id: string;
  /** True when this call pulled it. */
  pulled: boolean;
  user: string;
  stopSignal: string | undefined;
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  labels: Record<string, string>;
  /** `repo@sha256:...` for images pulled from a registry; empty for local builds. */
  repoDigests: string[];
}

/** Label the platform puts on the images it builds (same as scripts/lib/images.sh). */
export const IMAGE_LABEL = 'io.slipway.image';

function toInfo(ref: string, inspect: Docker.ImageInspectInfo, pulled: boolean): ImageInfo {
  const cfg = inspect.Config as Partial<Docker.ImageInspectInfo['Config']> & {
    StopSignal?: string;
  };
  const list = (v: unknown): string[] | undefined =>
    Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : undefined;
  return {
    ref,
    id: inspect.Id,
    pulled,
    user: cfg.User ?? '',
    stopSignal: cfg.StopSignal || undefined,
    entrypoint: list(cfg.Entrypoint),
    cmd: list(cfg.Cmd),
    labels: cfg.Labels ?? {},
    repoDigests: inspect.RepoDigests ?? [],
  };
}

/** The image as ImageInfo, or undefined when it is not on the node. */
export async function lookupImage(docker: Docker, ref: string): Promise<ImageInfo | undefined> {
  const local = await inspectImage(docker, ref);
  return local ? toInfo(ref, local, false) : undefined;
}

/** The image's inspect info, or undefined when it is not on the node. */
export async function inspectImage(
  docker: Docker,
  ref: string,
): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    const mapped = mapDockerError(err, { op: `inspect image ${ref}`, kind: 'image' });
    if (mapped.code === 'ImageNotFound') return undefined;
    throw mapped;
  }
}

/** Pulls `ref` (`:latest` when untagged), reporting progress; ImagePullFailed with the engine's words. */
export async function pullImage(
  docker: Docker,
  ref: string,
  options: { auth?: RegistryAuth; onProgress?: (p: PullProgress) => void; signal?: AbortSignal },
): Promise<void> {
  const op = `pull image ${ref}`;
  const code = 'ImagePullFailed';
  const stream = await openProgress(
    () =>
      docker.pull(ref, {
        ...(options.auth ? { authconfig: options.auth } : {}),
        ...(options.signal ? { abortSignal: options.signal } : {}),
      }),
    { op, code },
  );
  await readProgress(stream, { op, code, onMessage: progressHandler(options.onProgress) });
}

/** Makes `ref` available according to the pull policy (Kubernetes semantics). */
export async function ensureImage(
  docker: Docker,
  ref: string,
  options: EnsureImageOptions,
  logger: Logger,
): Promise<ImageInfo> {
  const local = options.pullPolicy === 'Always' ? undefined : await inspectImage(docker, ref);
  if (local) return toInfo(ref, local, false);
  if (options.pullPolicy === 'Never') {
    throw new RuntimeError(
      'ImageNotFound',
      `Container image "${ref}" is not present with pull policy of Never`,
    );
  }
  const started = Date.now();
  try {
    await pullImage(docker, ref, options);
  } catch (err) {
    if (
      options.pullPolicy === 'Always' &&
      options.fallbackToLocal &&
      isRuntimeError(err, 'ImagePullFailed')
    ) {
      const cached = await inspectImage(docker, ref);
      if (cached) {
        logger.warn({ image: ref, err: err.message }, 'pull failed; using the local image');
        return toInfo(ref, cached, false);
      }
    }
    throw err;
  }
  logger.info({ image: ref, ms: Date.now() - started }, 'pulled image');
  const pulled = await inspectImage(docker, ref);
  if (!pulled)
    throw new RuntimeError(
      'ImagePullFailed',
      `pull image ${ref}: the engine reported success but the image is missing`,
    );
  return toInfo(ref, pulled, true);
}

/** The pause script: PID 1 of the sandbox; exits 0 at once on SIGTERM/SIGINT/HUP. */
export const PAUSE_SCRIPT = `#!/bin/sh
trap 'exit 0' TERM INT HUP
while :; do
  sleep 86400 &
  wait $!
done
`;

/** The build context of the pause image: a FROM-scratch image holding BusyBox and /pause. */
export function pauseImageContext(busybox: Buffer, labels: Record<string, string> = {}): Buffer {
  const labelLines = Object.entries({ [IMAGE_LABEL]: 'pause', ...labels })
    .map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`)
    .join('\n');
  const dockerfile = [
    'FROM scratch',
    'COPY rootfs/ /',
    // Link every applet (sh, sleep, ...) next to the static binary.
    'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
    'ENV PATH=/bin',
    'ENTRYPOINT ["/pause"]',
    labelLines,
    '',
  ].join('\n');
  return createTar([
    { path: 'Dockerfile', type: 'file', data: Buffer.from(dockerfile) },
    { path: 'rootfs', type: 'dir' },
    { path: 'rootfs/bin', type: 'dir' },
    { path: 'rootfs/bin/busybox', type: 'file', data: busybox, mode: 0o755 },
    { path: 'rootfs/etc', type: 'dir' },
    {
      path: 'rootfs/etc/passwd',
      type: 'file',
      data: Buffer.from('root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n'),
    },
    { path: 'rootfs/etc/group', type: 'file', data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { path: 'rootfs/tmp', type: 'dir', mode: 0o1777 },
    { path: 'rootfs/pause', type: 'file', data: Buffer.from(PAUSE_SCRIPT), mode: 0o755 },
  ]);
}

/** A statically linked ELF has no PT_INTERP program header; checked before building. */
export function isStaticElf(binary: Buffer): boolean {
  if (binary.length < 64 || binary.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = binary[4] === 2;
  const le = binary[5] === 1;
  const u16 = (o: number): number => (le ? binary.readUInt16LE(o) : binary.readUInt16BE(o));
  const u32 = (o: number): number => (le ? binary.readUInt32LE(o) : binary.readUInt32BE(o));
  const phoff = is64
    ? Number(le ? binary.readBigUInt64LE(32) : binary.readBigUInt64BE(32))
    : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > binary.length) return false;
    if (u32(off) === 3) return false; // PT_INTERP: needs a dynamic loader
  }
  return true;
}

/** Builds the pause image from the host's static BusyBox; ImageBuildFailed with the reason. */
export async function buildPauseImage(
  docker: Docker,
  ref: string,
  options: { busyboxPath: string; labels?: Record<string, string>; logger: Logger },
): Promise<void> {
  let busybox: Buffer;
  try {
    busybox = await readFile(options.busyboxPath);
  } catch (err) {
    throw new RuntimeError(
      'ImageBuildFailed',
      `build ${ref}: cannot read ${options.busyboxPath} (install Debian's busybox-static): ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!isStaticElf(busybox)) {
    throw new RuntimeError(
      'ImageBuildFailed',
      `build ${ref}: ${options.busyboxPath} is not a statically linked binary (install busybox-static)`,
    );
  }
  const started = Date.now();
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      pauseImageContext(busybox, options.labels) as unknown as NodeJS.ReadableStream,
      {
        t: ref,
        rm: true,
        forcerm: true,
        pull: false,
        networkmode: 'none',
      },
    );
  } catch (err) {
    const mapped = mapDockerError(err, { op: `build ${ref}` });
    if (mapped.code === 'EngineUnavailable') throw mapped;
    throw new RuntimeError('ImageBuildFailed', mapped.message, { cause: err });
  }
  for await (const raw of jsonLines(stream)) {
    const msg = raw as { error?: string; errorDetail?: { message?: string } };
    if (msg.error || msg.errorDetail?.message) {
      throw new RuntimeError(
        'ImageBuildFailed',
        `build ${ref}: ${msg.error ?? msg.errorDetail?.message}`,
      );
    }
  }
  if (!(await inspectImage(docker, ref)))
    throw new RuntimeError('ImageBuildFailed', `build ${ref}: image missing after build`);
  options.logger.info({ image: ref, ms: Date.now() - started }, 'built pause image');
}

/** What `buildImage` needs besides the context. */
export interface BuildImageOptions {
  /** The tag to give the result (`repo:tag`); more with tagImage. */
  tag: string;
  /** Labels added to the image (the build's `labels` parameter). */
  labels?: Record<string, string>;
  /** Path of the Dockerfile inside the context (default `Dockerfile`). */
  dockerfile?: string;
  /** The engine's build output, one line at a time (step headers, RUN output). */
  onOutput?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Builds an image from a tar context (never pulling the FROM image: builds here are FROM local
 * images); resolves with the image ID. ImageBuildFailed carries the failing step's error.
 */
export async function buildImage(
  docker: Docker,
  context: Buffer,
  options: BuildImageOptions,
): Promise<string> {
  const op = `build ${options.tag}`;
  const code = 'ImageBuildFailed';
  const stream = await openProgress(
    () =>
      docker.buildImage(
        context as unknown as NodeJS.ReadableStream,
        {
          t: options.tag,
          rm: true,
          forcerm: true,
          pull: false,
          ...(options.dockerfile ? { dockerfile: options.dockerfile } : {}),
          ...(options.labels ? { labels: options.labels } : {}),
          ...(options.signal ? { abortSignal: options.signal } : {}),
        } as Docker.ImageBuildOptions,
      ),
    { op, code },
  );
  let id: string | undefined;
  let partial = '';
  await readProgress(stream, {
    op,
    code,
    onMessage: (msg) => {
      if (msg.aux?.ID) id = msg.aux.ID;
      if (msg.stream && options.onOutput) {
        const lines = (partial + msg.stream).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) options.onOutput(line);
      }
    },
  });
  if (partial && options.onOutput) options.onOutput(partial);
  const built = await inspectImage(docker, options.tag);
  if (!built) throw new RuntimeError('ImageBuildFailed', `${op}: image missing after build`);
  return id ?? built.Id;
}

/** Splits `host:5000/ns/name:tag` into repository and tag (`latest` when untagged). */
export function splitImageRef(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: 'latest' };
}

/** Gives the image `source` the name `target` (`repo:tag`). */
export async function tagImage(docker: Docker, source: string, target: string): Promise<void> {
  const { repo, tag } = splitImageRef(target);
  try {
    await docker.getImage(source).tag({ repo, tag });
  } catch (err) {
    throw mapDockerError(err, { op: `tag ${source} as ${target}`, kind: 'image' });
  }
}

/** The digest a push reported, from its `aux` message or its final status line. */
export function pushedDigest(messages: readonly unknown[]): string | undefined {
  for (const raw of messages) {
    const msg = raw as ProgressMessage;
    if (msg.aux?.Digest) return msg.aux.Digest;
  }
  for (const raw of messages) {
    const m = /digest: (sha256:[0-9a-f]{64})/.exec((raw as ProgressMessage).status ?? '');
    if (m) return m[1];
  }
  return undefined;
}

export interface PushResult {
  /** The manifest digest the registry stored (`sha256:...`). */
  digest: string;
}

/** What a push takes besides the reference. */
export interface PushOptions {
  auth?: RegistryAuth | undefined;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal | undefined;
}

/**
 * Pushes `ref` (`registry/ns/name:tag`) through the engine; resolves with the manifest digest.
 * Failures (registry unreachable, refused) are ImagePushFailed with the engine's words.
 */
export async function pushImage(
  docker: Docker,
  ref: string,
  options: PushOptions = {},
): Promise<PushResult> {
  const op = `push ${ref}`;
  const code = 'ImagePushFailed';
  const stream = await startPush(docker, splitImageRef(ref), options, {
    op,
    keep: ['ImageNotFound'],
  });
  const messages: ProgressMessage[] = [];
  const progress = progressHandler(options.onProgress);
  await readProgress(stream, {
    op,
    code,
    onMessage: (msg) => {
      messages.push(msg);
      progress?.(msg);
    },
  });
  const digest = pushedDigest(messages);
  if (!digest) throw new RuntimeError('ImagePushFailed', `${op}: the engine reported no digest`);
  return { digest };
}

/** Starts pushing `repo:tag`; its progress stream, or ImagePushFailed. */
export function startPush(
  docker: Docker,
  target: { repo: string; tag: string },
  options: PushOptions,
  context: { op: string; keep?: readonly RuntimeErrorCode[] },
): Promise<NodeJS.ReadableStream> {
  return openProgress(
    () =>
      docker.getImage(target.repo).push({
        tag: target.tag,
        // The engine wants an X-Registry-Auth header even for registries without auth.
        authconfig: options.auth ?? {},
        ...(options.signal ? { abortSignal: options.signal } : {}),
      } as Docker.ImagePushOptions),
    { ...context, code: 'ImagePushFailed', kind: 'image' },
  );
}
