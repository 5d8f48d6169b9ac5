/**
 * The Docker operations the platform's own services need (the cluster registry: a long-lived
 * container the engine supervises, on its own network, with a published port; the images it and
 * the builders run), behind a small interface so agent/platform/ is tested with a fake.
 *
 * Nothing here touches pod containers: platform containers carry `io.slipway.platform`, never the
 * agent's `io.slipway.managed-by`, so the agent's reconciler and garbage collection ignore them.
 */
import type Docker from 'dockerode';
import { createDockerClient } from './client.js';
import { mapDockerError, RuntimeError, isRuntimeError } from './errors.js';
import {
  buildImage,
  inspectImage,
  pullImage,
  pushImage,
  tagImage,
  type BuildImageOptions,
  type PushOptions,
  type PushResult,
} from './images.js';
import type { Labels } from './labels.js';

/** Label naming which platform service a Docker object belongs to (`registry`, `network`). */
export const PLATFORM_LABEL = 'io.slipway.platform';

export interface PublishedPort {
  hostIp: string;
  hostPort: number;
}

export interface PlatformContainerSpec {
  name: string;
  image: string;
  labels: Labels;
  env: Record<string, string>;
  /** `uid:gid`; the image's user when absent. */
  user?: string;
  /** One container port published on the host; hostPort 0 lets the engine pick a free port. */
  publish: { containerPort: number; hostIp: string; hostPort: number };
  binds: { source: string; target: string; readOnly?: boolean }[];
  /** A user-defined network the container joins (created beforehand with ensureNetwork). */
  network: string;
  restartPolicy: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  readOnlyRootfs?: boolean;
  /** tmpfs mounts: path -> options (`rw,size=64m`). */
  tmpfs?: Record<string, string>;
  pidsLimit?: number;
  /** Rotate the json-file log at this size (e.g. `10m`), keeping `maxFiles` files. */
  log?: { maxSize: string; maxFiles: number };
}

export interface PlatformContainer {
  id: string;
  name: string;
  image: string;
  labels: Labels;
  running: boolean;
  /** Docker's state: created, running, restarting, exited, ... */
  status: string;
  /** The first host binding of the first published port, when the container has one. */
  published: PublishedPort | undefined;
  /** Bind mounts as `source:target`. */
  binds: string[];
  /** The container's address on each network it joined. */
  networks: Record<string, string>;
}

export interface PlatformImage {
  id: string;
  labels: Labels;
}

/** What agent/platform/ needs from the engine. */
export interface PlatformDocker {
  inspectContainer(nameOrId: string): Promise<PlatformContainer | undefined>;
  /** Containers (running or not) carrying every `key=value` of `labels`. */
  listContainers(labels: Labels): Promise<PlatformContainer[]>;
  /** Creates and starts the container; removes it again when it cannot start. */
  runContainer(spec: PlatformContainerSpec): Promise<PlatformContainer>;
  /** Force-removes a container (a missing one is fine). */
  removeContainer(nameOrId: string): Promise<void>;
  /** The last lines of a container's output, for error messages. */
  containerLogs(nameOrId: string, tail: number): Promise<string>;
  /** Creates a bridge network unless it exists. */
  ensureNetwork(name: string, labels: Labels): Promise<void>;
  inspectImage(ref: string): Promise<PlatformImage | undefined>;
  /**
   * Removes an image by ID unless a tag or a container still uses it (a replaced platform image
   * should not linger as a dangling one); resolves with whether it went.
   */
  removeUnusedImage(id: string): Promise<boolean>;
  pullImage(ref: string, options: { timeoutMs: number }): Promise<void>;
  buildImage(context: Buffer, options: BuildImageOptions): Promise<string>;
  tagImage(source: string, target: string): Promise<void>;
  /** Removes the tag `ref` (not the image, which keeps its other tags); a missing tag is fine. */
  untagImage(ref: string): Promise<void>;
  pushImage(ref: string, options?: PushOptions): Promise<PushResult>;
}

function toContainer(info: Docker.ContainerInspectInfo): PlatformContainer {
  let published: PublishedPort | undefined;
  for (const bindings of Object.values(info.NetworkSettings?.Ports ?? {})) {
    const first = (bindings ?? [])[0];
    if (first?.HostPort) {
      published = { hostIp: first.HostIp ?? '', hostPort: Number(first.HostPort) };
      break;
    }
  }
  const networks: Record<string, string> = {};
  for (const [name, net] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
    networks[name] = (net as { IPAddress?: string }).IPAddress ?? '';
  }
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    labels: info.Config.Labels ?? {},
    running: info.State.Running === true,
    status: info.State.Status,
    published,
    binds: info.HostConfig.Binds ?? [],
    networks,
  };
}

/** Whether an engine error says the host port is taken. */
export function isPortConflict(message: string): boolean {
  return /port is already allocated|address already in use/i.test(message);
}

/** PlatformDocker over a dockerode client. */
export class PlatformEngine implements PlatformDocker {
  readonly docker: Docker;

  constructor(docker: Docker) {
    this.docker = docker;
  }

  /** For an endpoint such as `unix:///var/run/docker.sock` or DOCKER_HOST's value. */
  static fromEndpoint(endpoint?: string): PlatformEngine {
    return new PlatformEngine(createDockerClient(endpoint));
  }

  async inspectContainer(nameOrId: string): Promise<PlatformContainer | undefined> {
    try {
      return toContainer(await this.docker.getContainer(nameOrId).inspect());
    } catch (err) {
      const mapped = mapDockerError(err, {
        op: `inspect container ${nameOrId}`,
        kind: 'container',
      });
      if (mapped.code === 'ContainerNotFound') return undefined;
      throw mapped;
    }
  }

  async listContainers(labels: Labels): Promise<PlatformContainer[]> {
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({
        all: true,
        filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) },
      });
    } catch (err) {
      throw mapDockerError(err, { op: 'list containers' });
    }
    const out: PlatformContainer[] = [];
    for (const c of list) {
      const info = await this.inspectContainer(c.Id);
      if (info) out.push(info);
    }
    return out;
  }

  async runContainer(spec: PlatformContainerSpec): Promise<PlatformContainer> {
    const port = `${spec.publish.containerPort}/tcp`;
    const options: Docker.ContainerCreateOptions = {
      name: spec.name,
      Image: spec.image,
      Labels: spec.labels,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      ...(spec.user ? { User: spec.user } : {}),
      ExposedPorts: { [port]: {} },
      HostConfig: {
        PortBindings: {
          [port]: [
            {
              HostIp: spec.publish.hostIp,
              HostPort: spec.publish.hostPort === 0 ? '' : String(spec.publish.hostPort),
            },
          ],
        },
        Binds: spec.binds.map((b) => `${b.source}:${b.target}${b.readOnly ? ':ro' : ''}`),
        NetworkMode: spec.network,
        RestartPolicy: { Name: spec.restartPolicy },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: spec.readOnlyRootfs === true,
        ...(spec.tmpfs ? { Tmpfs: spec.tmpfs } : {}),
        ...(spec.pidsLimit ? { PidsLimit: spec.pidsLimit } : {}),
        ...(spec.log
          ? {
              LogConfig: {
                Type: 'json-file',
                Config: { 'max-size': spec.log.maxSize, 'max-file': String(spec.log.maxFiles) },
              },
            }
          : {}),
      },
    };
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (err) {
      throw mapDockerError(err, { op: `create container ${spec.name}` });
    }
    try {
      await container.start();
    } catch (err) {
      const mapped = mapDockerError(err, { op: `start container ${spec.name}` });
      await this.removeContainer(container.id).catch(() => undefined);
      throw mapped;
    }
    const info = await this.inspectContainer(container.id);
    if (!info) {
      throw new RuntimeError('ContainerNotFound', `container ${spec.name} vanished after start`);
    }
    return info;
  }

  async removeContainer(nameOrId: string): Promise<void> {
    try {
      await this.docker.getContainer(nameOrId).remove({ force: true, v: false });
    } catch (err) {
      const mapped = mapDockerError(err, {
        op: `remove container ${nameOrId}`,
        kind: 'container',
      });
      if (mapped.code === 'ContainerNotFound') return;
      // "removal already in progress" is a 409: the container is going away anyway.
      if (mapped.code === 'Conflict' && /already in progress/i.test(mapped.message)) return;
      throw mapped;
    }
  }

  async containerLogs(nameOrId: string, tail: number): Promise<string> {
    try {
      const raw = await this.docker.getContainer(nameOrId).logs({
        stdout: true,
        stderr: true,
        tail,
        follow: false,
      });
      // Non-TTY logs are multiplexed: 8-byte frame headers before each chunk.
      const parts: Buffer[] = [];
      let offset = 0;
      while (offset + 8 <= raw.length) {
        const size = raw.readUInt32BE(offset + 4);
        parts.push(raw.subarray(offset + 8, offset + 8 + size));
        offset += 8 + size;
      }
      return Buffer.concat(parts).toString('utf8');
    } catch (err) {
      const mapped = mapDockerError(err, { op: `logs of ${nameOrId}`, kind: 'container' });
      if (mapped.code === 'ContainerNotFound') return '';
      throw mapped;
    }
  }

  async ensureNetwork(name: string, labels: Labels): Promise<void> {
    try {
      await this.docker.getNetwork(name).inspect();
      return;
    } catch (err) {
      const mapped = mapDockerError(err, { op: `inspect network ${name}` });
      if (mapped.statusCode !== 404) throw mapped;
    }
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: labels,
      });
    } catch (err) {
      const mapped = mapDockerError(err, { op: `create network ${name}` });
      // Created meanwhile by another `up`: fine.
      if (mapped.code === 'Conflict') return;
      throw mapped;
    }
  }

  async inspectImage(ref: string): Promise<PlatformImage | undefined> {
    const info = await inspectImage(this.docker, ref);
    return info ? { id: info.Id, labels: info.Config?.Labels ?? {} } : undefined;
  }

  async removeUnusedImage(id: string): Promise<boolean> {
    try {
      const info = await this.docker.getImage(id).inspect();
      if ((info.RepoTags ?? []).length > 0) return false;
      await this.docker.getImage(id).remove({ force: false, noprune: false });
      return true;
    } catch (err) {
      const mapped = mapDockerError(err, { op: `remove image ${id}`, kind: 'image' });
      // Gone already, or a container still uses it: nothing to do.
      if (mapped.code === 'ImageNotFound' || mapped.code === 'Conflict') return false;
      throw mapped;
    }
  }

  async pullImage(ref: string, options: { timeoutMs: number }): Promise<void> {
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      await pullImage(this.docker, ref, { signal });
    } catch (err) {
      if (signal.aborted && !isRuntimeError(err, 'EngineUnavailable')) {
        throw new RuntimeError(
          'ImagePullFailed',
          `pull image ${ref}: no answer within ${options.timeoutMs} ms`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  buildImage(context: Buffer, options: BuildImageOptions): Promise<string> {
    return buildImage(this.docker, context, options);
  }

  tagImage(source: string, target: string): Promise<void> {
    return tagImage(this.docker, source, target);
  }

  async untagImage(ref: string): Promise<void> {
    try {
      await this.docker.getImage(ref).remove({ force: false, noprune: true });
    } catch (err) {
      const mapped = mapDockerError(err, { op: `untag ${ref}`, kind: 'image' });
      if (mapped.code !== 'ImageNotFound') throw mapped;
    }
  }

  pushImage(ref: string, options: PushOptions = {}): Promise<PushResult> {
    return pushImage(this.docker, ref, options);
  }
}
