/**
 * What builds ask of Docker, next to the pod runtime: containers for build steps (restricted as
 * pod containers are, on the build network, their stdin fed and their output streamed), commit,
 * tag, push with progress, Dockerfile builds, path checks inside containers, and the build
 * network. Every container carries this node's ownership labels and the build pod's identity, so
 * a restarted agent finds (and removes) what a build left behind; mutations prove ownership first.
 */
import type { Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../../src/util/logger.js';
import { checkCreateSpec } from '../pods/plan.js';
import type { NamedCreateSpec } from '../pods/docker-spec.js';
import { callDocker, isRuntimeError, mapDockerError, RuntimeError } from './errors.js';
import {
  ensureImage,
  inspectImage,
  lookupImage,
  splitImageRef,
  startPush,
  type EnsureImageOptions,
  type ImageInfo,
  type PushOptions,
  type RegistryAuth,
} from './images.js';
import { openProgress, progressHandler, readProgress, type PullProgress } from './progress.js';
import {
  containerDockerName,
  isOwned,
  LABELS,
  MANAGED_BY,
  ownedFilters,
  podLabels,
  type PodRef,
} from './labels.js';
import { FrameParser, type StdStream } from './streams.js';

export type { ImageInfo, PullProgress, RegistryAuth } from './images.js';

/** Label on every build step container (`true`). */
export const BUILD_CONTAINER_LABEL = 'io.slipway.build';

export interface BuildLimits {
  pidsLimit: number;
  memoryBytes?: number | undefined;
  nanoCpus?: number | undefined;
  cpuShares?: number | undefined;
}

/** One container of a build step (assemble, save-artifacts, the post-commit hook). */
export interface BuildContainerSpec {
  pod: PodRef;
  /** The step's container name, e.g. `sti-build`, `sti-build-save-artifacts`. */
  step: string;
  /** Distinguishes containers of the same step (Docker names must be unique). */
  attempt?: number;
  image: string;
  /** Numeric `UID:GID`: checkCreateSpec refuses anything else. */
  user: string;
  env: string[];
  /** Replaces the image's ENTRYPOINT; undefined keeps it. */
  entrypoint?: string[] | undefined;
  cmd: string[];
  workingDir?: string | undefined;
  /** Keep stdin open for one attached client (the injected tar). */
  stdin: boolean;
  network: string;
  limits: BuildLimits;
}

export interface RunOptions {
  /** Bytes for the process's stdin; it is closed afterwards. */
  stdin?: NodeJS.ReadableStream | undefined;
  /** Receives stdout bytes with back-pressure (save-artifacts' tar); else onOutput. */
  stdout?: Writable | undefined;
  onOutput?: ((stream: StdStream, data: Buffer) => void) | undefined;
  /** Aborting kills the container. */
  signal?: AbortSignal | undefined;
}

export interface RunResult {
  exitCode: number;
  oomKilled: boolean;
}

/** `HEAD /containers/ID/archive`: what is at a path inside a container's filesystem. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  linkTarget: string;
}

/** A push's progress: one message of the engine's stream. */
export type PushProgress = PullProgress;

export interface BuildImageOptions {
  /** Credentials by registry host for the images the engine pulls (X-Registry-Config). */
  registryConfig?: Record<string, RegistryAuth> | undefined;
  /** Repository:tag of the result (untagged when absent). */
  tag?: string;
  /** The Dockerfile's path inside the context. */
  dockerfile: string;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  pull?: boolean;
  network: string;
  labels?: Record<string, string>;
  memoryBytes?: number | undefined;
  cpuShares?: number | undefined;
  /** CPU quota per 100 ms period, from a CPU limit. */
  cpuQuota?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface BuildNetwork {
  name: string;
  id: string;
  /** The bridge interface on the host (the firewall rule matches it). */
  bridge: string;
  gateway: string | undefined;
  subnet: string | undefined;
}

interface ArchiveDial {
  dial(opts: Record<string, unknown>, cb: (err: Error | null, data: unknown) => void): void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `repo:tag` split at the last colon after the last slash (`127.0.0.1:5000/ns/is:tag`); a
 * digest reference is its repository with no tag.
 */
export function splitReference(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  if (at !== -1) return { repo: ref.slice(0, at), tag: '' };
  return splitImageRef(ref);
}

export class BuildEngine {
  readonly #docker: Docker;
  readonly #log: Logger;
  readonly nodeName: string;
  readonly #extraLabels: Record<string, string>;

  constructor(options: {
    docker: Docker;
    logger: Logger;
    nodeName: string;
    extraLabels?: Record<string, string>;
  }) {
    this.#docker = options.docker;
    this.nodeName = options.nodeName;
    this.#log = options.logger.child({ component: 'build-engine', node: options.nodeName });
    this.#extraLabels = { ...(options.extraLabels ?? {}) };
  }

  get #modem(): ArchiveDial {
    return this.#docker.modem as unknown as ArchiveDial;
  }

  #dial<T>(op: string, opts: Record<string, unknown>, kind?: 'container' | 'image'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#modem.dial(opts, (err, data) => {
        if (err) reject(mapDockerError(err, kind ? { op, kind } : { op }));
        else resolve(data as T);
      });
    });
  }

  /** The labels every build object carries, ownership first. */
  #labels(pod: PodRef, extra: Record<string, string> = {}): Record<string, string> {
    return { ...this.#extraLabels, ...extra, ...podLabels(this.nodeName, pod) };
  }

  // ---- images ------------------------------------------------------------------------------

  async ensureImage(ref: string, options: EnsureImageOptions): Promise<ImageInfo> {
    return ensureImage(this.#docker, ref, options, this.#log);
  }

  async imageInfo(ref: string): Promise<ImageInfo | undefined> {
    return lookupImage(this.#docker, ref);
  }

  /** Docker's image ID (`sha256:...`) and repo digests, or undefined when absent. */
  async imageId(ref: string): Promise<{ id: string; repoDigests: string[] } | undefined> {
    const info = await inspectImage(this.#docker, ref);
    return info ? { id: info.Id, repoDigests: info.RepoDigests ?? [] } : undefined;
  }

  async tagImage(image: string, ref: string): Promise<void> {
    const { repo, tag } = splitReference(ref);
    await callDocker(
      `tag ${image} as ${ref}`,
      () => this.#docker.getImage(image).tag({ repo, tag }),
      'image',
    );
  }

  /** Removes an image reference (or ID); absent is fine, an image in use stays. */
  async removeImage(ref: string): Promise<void> {
    try {
      await this.#docker.getImage(ref).remove({ noprune: false });
    } catch (err) {
      const mapped = mapDockerError(err, { op: `remove image ${ref}`, kind: 'image' });
      if (mapped.code === 'ImageNotFound' || mapped.code === 'Conflict') return;
      throw mapped;
    }
  }

  /**
   * Pushes `ref` (REGISTRY/REPO:TAG) and returns the manifest digest the registry reported.
   * ImagePushFailed with the registry's words on any failure.
   */
  async push(ref: string, options: PushOptions = {}): Promise<{ digest: string }> {
    const op = `push ${ref}`;
    const code = 'ImagePushFailed';
    const stream = await startPush(this.#docker, splitReference(ref), options, { op });
    const progress = progressHandler(options.onProgress);
    let digest: string | undefined;
    await readProgress(stream, {
      op,
      code,
      onMessage: (msg) => {
        if (msg.aux?.Digest) digest = msg.aux.Digest;
        progress?.(msg);
      },
    });
    if (!digest) throw new RuntimeError('ImagePushFailed', `${op}: the registry sent no digest`);
    return { digest };
  }

  /**
   * A Dockerfile build of `context` (a tar stream). `onMessage` gets the builder's output text
   * (steps, RUN output) and pull progress; returns the image ID. ImageBuildFailed with the
   * builder's words when a step fails.
   */
  async buildImage(
    context: NodeJS.ReadableStream,
    options: BuildImageOptions,
    onMessage: (text: string) => void,
  ): Promise<string> {
    const op = `build ${options.tag ?? 'image'}`;
    const code = 'ImageBuildFailed';
    const query: Record<string, unknown> = {
      ...(options.tag ? { t: options.tag } : {}),
      dockerfile: options.dockerfile,
      rm: true,
      forcerm: true,
      nocache: options.noCache ?? false,
      pull: options.pull ?? false,
      networkmode: options.network,
    };
    if (options.buildArgs) query.buildargs = JSON.stringify(options.buildArgs);
    if (options.registryConfig) query.registryconfig = options.registryConfig;
    if (options.labels) query.labels = JSON.stringify(options.labels);
    if (options.memoryBytes) {
      query.memory = options.memoryBytes;
      query.memswap = options.memoryBytes;
    }
    if (options.cpuShares) query.cpushares = options.cpuShares;
    if (options.cpuQuota) {
      query.cpuperiod = 100_000;
      query.cpuquota = options.cpuQuota;
    }
    const stream = await openProgress(
      () =>
        this.#docker.buildImage(context, {
          ...query,
          ...(options.signal ? { abortSignal: options.signal } : {}),
        } as Docker.ImageBuildOptions),
      { op, code },
    );
    let imageId: string | undefined;
    await readProgress(stream, {
      op,
      code,
      // The builder's own words: the build log says which step failed.
      errorText: (error) => error,
      timeoutSignal: options.signal,
      onMessage: (msg) => {
        if (msg.aux?.ID) imageId = msg.aux.ID;
        if (msg.stream) onMessage(msg.stream);
        else if (msg.status && !msg.progress)
          onMessage(`${msg.id ? `${msg.id}: ` : ''}${msg.status}\n`);
      },
    });
    if (!imageId) {
      const tagged = options.tag ? await inspectImage(this.#docker, options.tag) : undefined;
      if (!tagged) throw new RuntimeError('ImageBuildFailed', `${op}: no image was produced`);
      imageId = tagged.Id;
    }
    return imageId;
  }

  // ---- containers --------------------------------------------------------------------------

  #createSpec(spec: BuildContainerSpec): NamedCreateSpec {
    const labels = this.#labels(spec.pod, {
      [LABELS.containerName]: spec.step,
      [LABELS.attempt]: String(spec.attempt ?? 0),
      [LABELS.podGracePeriod]: '1',
      [BUILD_CONTAINER_LABEL]: 'true',
    });
    return {
      name: containerDockerName(spec.pod, spec.step, spec.attempt ?? 0),
      Image: spec.image,
      User: spec.user,
      Env: spec.env,
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      Cmd: spec.cmd,
      ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      Labels: labels,
      Tty: false,
      OpenStdin: spec.stdin,
      StdinOnce: spec.stdin,
      HostConfig: {
        NetworkMode: spec.network,
        Privileged: false,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: spec.limits.pidsLimit,
        ReadonlyRootfs: false,
        ...(spec.limits.memoryBytes
          ? { Memory: spec.limits.memoryBytes, MemorySwap: spec.limits.memoryBytes }
          : {}),
        ...(spec.limits.nanoCpus ? { NanoCpus: spec.limits.nanoCpus } : {}),
        ...(spec.limits.cpuShares ? { CpuShares: spec.limits.cpuShares } : {}),
        Mounts: [],
        RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
      },
    };
  }

  /**
   * Creates (not starts) a build step container. A leftover of the same name (an earlier
   * attempt of this pod's build) is removed first. Refuses a spec that fails the pod security
   * check (`Unsafe`); a missing image is `ImageNotFound`.
   */
  async createContainer(spec: BuildContainerSpec): Promise<string> {
    const body = this.#createSpec(spec);
    const problems = checkCreateSpec(body);
    if (problems.length > 0) {
      throw new RuntimeError('Unsafe', `refusing to create ${body.name}: ${problems.join('; ')}`);
    }
    const { name, ...rest } = body;
    const create = (): Promise<Docker.Container> =>
      this.#docker.createContainer({
        ...rest,
        name,
        AttachStdin: spec.stdin,
        AttachStdout: true,
        AttachStderr: true,
      } as Docker.ContainerCreateOptions);
    try {
      return (await create()).id;
    } catch (err) {
      const mapped = mapDockerError(err, { op: `create container ${name}`, kind: 'image' });
      if (mapped.code !== 'Conflict') throw mapped;
      await this.removeContainer(name);
      try {
        return (await create()).id;
      } catch (again) {
        throw mapDockerError(again, { op: `create container ${name}`, kind: 'image' });
      }
    }
  }

  async #owned(id: string, op: string): Promise<Docker.ContainerInspectInfo> {
    const info = await callDocker(
      `inspect container ${id}`,
      () => this.#docker.getContainer(id).inspect(),
      'container',
    );
    if (!isOwned(info.Config.Labels, this.nodeName)) {
      throw new RuntimeError(
        'NotManaged',
        `${op}: container ${id} is not managed by the agent of node ${this.nodeName}`,
      );
    }
    return info;
  }

  /**
   * Starts a created container with its streams attached: `stdin` is sent and closed, output
   * goes to `stdout`/`onOutput` as it comes. Resolves with the exit code once the container has
   * exited and its output is read. Aborting `signal` kills it (the promise then resolves with
   * the killed container's code).
   */
  async run(id: string, options: RunOptions = {}): Promise<RunResult> {
    await this.#owned(id, 'run build container');
    const container = this.#docker.getContainer(id);
    const stream = (await callDocker(
      `attach to ${id}`,
      () =>
        container.attach({
          stream: true,
          stdin: options.stdin !== undefined,
          stdout: true,
          stderr: true,
          hijack: true,
        }),
      'container',
    )) as NodeJS.ReadWriteStream & { destroy(): void; pause(): void; resume(): void };
    const parser = new FrameParser();
    const outputDone = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', (err: Error) => {
        this.#log.debug({ id, err: err.message }, 'build container stream error');
        resolve();
      });
    });
    stream.on('data', (chunk: Buffer) => {
      for (const f of parser.push(chunk)) {
        if (f.stream === 'stdout' && options.stdout) {
          if (!options.stdout.write(f.data)) {
            stream.pause();
            options.stdout.once('drain', () => stream.resume());
          }
        } else {
          options.onOutput?.(f.stream, f.data);
        }
      }
    });
    const kill = (): void => {
      container.kill().catch(() => undefined);
    };
    options.signal?.addEventListener('abort', kill, { once: true });
    try {
      if (options.signal?.aborted) throw new RuntimeError('Timeout', `run ${id}: aborted`);
      await callDocker(`start container ${id}`, () => container.start(), 'container');
      if (options.stdin) {
        const input = options.stdin;
        input.on('error', (err: Error) => {
          this.#log.debug({ id, err: err.message }, 'build container input failed');
          (stream as unknown as { end(): void }).end();
        });
        input.on('end', () => (stream as unknown as { end(): void }).end());
        input.pipe(stream, { end: false });
      }
      await callDocker(
        `wait for ${id}`,
        () => container.wait({ condition: 'not-running' }),
        'container',
      );
      // The output may still be in flight after the process ended.
      await Promise.race([outputDone, sleep(5000)]);
      const info = await callDocker(
        `inspect container ${id}`,
        () => container.inspect(),
        'container',
      );
      return { exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled };
    } finally {
      options.signal?.removeEventListener('abort', kill);
      options.stdout?.end();
      stream.destroy();
    }
  }

  /**
   * Unpacks `tar` into a created (or stopped) container's filesystem under the directory `path`,
   * entries owned as their headers say.
   */
  async putArchive(id: string, path: string, tar: Buffer): Promise<void> {
    await this.#owned(id, 'copy into build container');
    await callDocker(
      `copy into ${id}:${path}`,
      () => this.#docker.getContainer(id).putArchive(tar, { path }),
      'container',
    );
  }

  /**
   * A tar of what is at `path` in a container's filesystem (a file: one entry, its base name).
   * The engine reads it from the container's layers, far faster than its attached output.
   */
  async getArchive(id: string, path: string): Promise<NodeJS.ReadableStream> {
    await this.#owned(id, 'copy from build container');
    return callDocker(
      `copy from ${id}:${path}`,
      () => this.#docker.getContainer(id).getArchive({ path }),
      'container',
    );
  }

  /** What is at `path` in the container's filesystem (created or running); undefined if nothing. */
  async statPath(id: string, path: string): Promise<PathStat | undefined> {
    try {
      const res = await this.#dial<{ headers: Record<string, string | undefined>; resume(): void }>(
        `stat ${path} in ${id}`,
        {
          path: `/containers/${encodeURIComponent(id)}/archive?`,
          method: 'HEAD',
          isStream: true,
          options: { path },
          statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such path', 500: 'error' },
        },
        'container',
      );
      res.resume();
      const header = res.headers['x-docker-container-path-stat'];
      if (!header) return undefined;
      const stat = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
      return stat;
    } catch (err) {
      if (isRuntimeError(err, 'ContainerNotFound') || isRuntimeError(err, 'ImageNotFound'))
        return undefined;
      throw err;
    }
  }

  /**
   * Commits the container as `ref` with `config` (CMD, USER, ENTRYPOINT, Env, Labels...). The
   * engine merges the container's labels into the image's and cannot drop one, so the agent's
   * own label keys are set to empty values: an image built here never claims to be managed.
   */
  async commit(
    id: string,
    ref: string,
    config: {
      Cmd?: string[];
      Entrypoint?: string[];
      User?: string;
      Env?: string[];
      Labels?: Record<string, string>;
      WorkingDir?: string;
      ExposedPorts?: Record<string, Record<string, never>>;
    },
  ): Promise<string> {
    const info = await this.#owned(id, 'commit');
    const labels: Record<string, string> = {};
    const ours = new Set<string>([
      ...Object.values(LABELS),
      BUILD_CONTAINER_LABEL,
      ...Object.keys(this.#extraLabels),
    ]);
    for (const key of Object.keys(info.Config.Labels ?? {})) {
      if (ours.has(key)) labels[key] = '';
    }
    Object.assign(labels, config.Labels ?? {});
    const { repo, tag } = splitReference(ref);
    const res = await this.#dial<{ Id?: string }>(
      `commit ${id} as ${ref}`,
      {
        path: '/commit?',
        method: 'POST',
        options: {
          _query: { container: id, repo, tag, pause: true },
          _body: { ...config, Labels: labels },
        },
        statusCodes: { 200: true, 201: true, 404: 'no such container', 500: 'server error' },
      },
      'container',
    );
    if (!res?.Id) throw new RuntimeError('EngineError', `commit ${id}: the engine sent no image`);
    return res.Id;
  }

  /** Force-removes a build container (by ID or name); absent is fine. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.#owned(id, 'remove build container');
    } catch (err) {
      if (isRuntimeError(err, 'ContainerNotFound')) return;
      throw err;
    }
    try {
      await this.#docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const mapped = mapDockerError(err, { op: `remove container ${id}`, kind: 'container' });
      if (mapped.code === 'ContainerNotFound') return;
      if (mapped.code === 'Conflict' && /already in progress/.test(mapped.message)) return;
      throw mapped;
    }
  }

  /** IDs of every build container of a pod (any state). */
  async listContainers(podUid: string): Promise<string[]> {
    const list = await callDocker('list build containers', () =>
      this.#docker.listContainers({
        all: true,
        filters: {
          label: ownedFilters(this.nodeName, {
            [LABELS.podUid]: podUid,
            [BUILD_CONTAINER_LABEL]: 'true',
          }),
        },
      }),
    );
    return list.map((c) => c.Id);
  }

  // ---- the build network -------------------------------------------------------------------

  /**
   * A user-defined bridge network for build containers (Docker's embedded DNS works on it), with
   * a fixed host interface name so the agent's firewall rule can match it. Created when
   * missing; an existing network of that name must carry this node's labels.
   */
  async ensureNetwork(name: string, bridge: string): Promise<BuildNetwork> {
    const labels = {
      ...this.#extraLabels,
      [LABELS.managedBy]: MANAGED_BY,
      [LABELS.node]: this.nodeName,
    };
    let inspect = await this.#inspectNetwork(name);
    if (!inspect) {
      try {
        await this.#docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          Internal: false,
          Attachable: false,
          Labels: labels,
          Options: {
            'com.docker.network.bridge.name': bridge,
            'com.docker.network.bridge.enable_icc': 'false',
          },
        });
      } catch (err) {
        const mapped = mapDockerError(err, { op: `create network ${name}` });
        if (mapped.code !== 'Conflict') throw mapped;
      }
      inspect = await this.#inspectNetwork(name);
      if (!inspect)
        throw new RuntimeError('EngineError', `network ${name} vanished after creation`);
    }
    if (!isOwned(inspect.Labels, this.nodeName)) {
      throw new RuntimeError(
        'NotManaged',
        `network ${name} exists but is not managed by the agent of node ${this.nodeName}`,
      );
    }
    const cfg = (inspect.IPAM?.Config ?? [])[0];
    return {
      name,
      id: inspect.Id,
      bridge: inspect.Options?.['com.docker.network.bridge.name'] ?? bridge,
      gateway: cfg?.Gateway,
      subnet: cfg?.Subnet,
    };
  }

  async #inspectNetwork(name: string): Promise<Docker.NetworkInspectInfo | undefined> {
    try {
      return await this.#docker.getNetwork(name).inspect();
    } catch (err) {
      const mapped = mapDockerError(err, { op: `inspect network ${name}` });
      if (mapped.statusCode === 404) return undefined;
      throw mapped;
    }
  }

  /** Removes the build network if this node owns it; absent or still in use is fine. */
  async removeNetwork(name: string): Promise<void> {
    const inspect = await this.#inspectNetwork(name);
    if (!inspect || !isOwned(inspect.Labels, this.nodeName)) return;
    try {
      await this.#docker.getNetwork(name).remove();
    } catch (err) {
      const mapped = mapDockerError(err, { op: `remove network ${name}` });
      if (mapped.statusCode === 404 || mapped.code === 'Conflict' || mapped.statusCode === 403)
        return;
      throw mapped;
    }
  }
}
