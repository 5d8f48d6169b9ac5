/**
 * The agent's container runtime: everything the pod reconciler asks of Docker, idempotent and
 * keyed by pod uid, with no state of its own. What runs is rediscovered from labels (listPods);
 * creating an instance that already exists adopts it; stopping or removing something already
 * gone succeeds. Every mutation first proves ownership: the object must carry this node's
 * `io.slipway.managed-by` and `io.slipway.node` labels, or the runtime refuses (NotManaged).
 *
 * The Dockerode client and the logger are injected; nothing connects at import time.
 */
import { BlockList, isIPv4 } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../../src/util/logger.js';
import type { NamedCreateSpec } from '../pods/docker-spec.js';
import {
  checkCreateSpec,
  containerCreateSpec,
  DEFAULT_PAUSE_IMAGE,
  SANDBOX_VOLUME_ROOT,
  sandboxCreateSpec,
  type ContainerPlan,
  type InstanceInfo,
  type PodPlan,
} from '../pods/plan.js';
import type { VolumePlan } from '../pods/volumes.js';
import { callDocker, isRuntimeError, mapDockerError, RuntimeError } from './errors.js';
import { runtimeEvents, WATCHED_ACTIONS, type RuntimeEvent } from './events.js';
import {
  buildPauseImage,
  ensureImage,
  inspectImage,
  lookupImage,
  type EnsureImageOptions,
  type ImageInfo,
} from './images.js';
import {
  groupPods,
  selectGarbage,
  toManagedContainer,
  type ContainerListEntry,
  type ContainerStateName,
  type PodInventory,
  type VolumeListEntry,
} from './inventory.js';
import {
  isOwned,
  LABELS,
  ownedFilters,
  parseContainerLabels,
  SANDBOX_NAME,
  type ContainerLabelInfo,
} from './labels.js';
import { collectOutput, FrameParser, logLines } from './streams.js';

export type { LogLine } from './streams.js';
export type { RuntimeEvent } from './events.js';
export type { PodInventory, ManagedContainer } from './inventory.js';
export type { ImageInfo, PullProgress, RegistryAuth } from './images.js';
import { createTar, type TarEntry } from './tar.js';

export const DEFAULT_BUSYBOX_PATH = '/bin/busybox';

export interface DockerRuntimeOptions {
  docker: Docker;
  logger: Logger;
  /** This node; only objects labelled with it are ever touched. */
  nodeName: string;
  /** The sandbox image the runtime builds itself when missing (default slipway/pause:1). */
  pauseImage?: string;
  /** Static BusyBox used to build the pause image (Debian's busybox-static). */
  busyboxPath?: string;
  /** Added to every container and volume the runtime creates (never overriding its own). */
  extraLabels?: Record<string, string>;
  /** Grace for sandboxes in removePod (the pause process exits on SIGTERM at once). */
  sandboxGraceSeconds?: number;
}

export interface SandboxInfo {
  id: string;
  name: string;
  ip: string;
}

export interface ContainerInfo {
  id: string;
  dockerName: string;
  /** Carries this node's ownership labels. */
  managed: boolean;
  /** Parsed pod labels (pod uid, container name, hash, attempt, restart count...). */
  labels: ContainerLabelInfo | undefined;
  state: ContainerStateName;
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
  /** The engine's error, e.g. why start failed. */
  error: string | undefined;
  createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** The image reference the container was created from. */
  image: string;
  imageID: string;
  /** Sandboxes: the pod IP. */
  ip: string | undefined;
  pid: number | undefined;
  tty: boolean;
  /** Containers joined to a sandbox: its ID. */
  sandboxId: string | undefined;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Output beyond maxOutputBytes was dropped. */
  truncated: boolean;
}

export interface ExecOptions {
  user?: string;
  env?: string[];
  workingDir?: string;
}

export interface ExecSession {
  /** The raw hijacked connection: writes go to the process's stdin. */
  stream: Duplex;
  /** Write side for stdin (null without `stdin`); `end()` closes the process's stdin. */
  stdin: Writable | null;
  /** Demultiplexed output (with a TTY everything arrives on stdout). */
  stdout: Readable;
  stderr: Readable;
  resize(size: { cols: number; rows: number }): Promise<void>;
  /** Resolves with the exit code when the process ends. */
  exitCode: Promise<number>;
  /** Hangs up (the process gets EOF/SIGHUP as its program decides). */
  close(): void;
}

export interface LogOptions {
  follow?: boolean;
  /** Number of lines from the end (all when undefined). */
  tail?: number;
  timestamps?: boolean;
  sinceSeconds?: number;
  stdout?: boolean;
  stderr?: boolean;
  signal?: AbortSignal;
}

/** What the engine says about its host: the node's capacity and identity. */
export interface EngineInfo {
  /** `20.10.24+dfsg1` */
  serverVersion: string;
  operatingSystem: string;
  kernelVersion: string;
  /** As the engine reports it (`x86_64`, `aarch64`). */
  architecture: string;
  osType: string;
  cpus: number;
  memoryBytes: number;
  dockerRootDir: string;
  /** The engine host's name. */
  name: string;
  /** Gateway of the default bridge network: the host as pods reach it. */
  bridgeGateway: string | undefined;
}

export interface RemovePodResult {
  containers: string[];
  volumes: string[];
}

function emptyDate(s: string | undefined): string | undefined {
  return !s || s.startsWith('0001-01-01') ? undefined : s;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What `bridgeGatewayOf` reads of the default bridge network's inspection. */
export interface BridgeNetwork {
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null };
  Options?: Record<string, string> | null;
}

/**
 * Where pods on the default bridge reach the node: the gateway of the network's IPAM config.
 * The engine records none when it chose the bridge's subnet itself (a first start, without
 * `--bip`); the bridge then has the subnet's first address, which its IPAM gave it. The
 * interface's own address wins when this host lists it (only while the bridge is up and has
 * a container attached). Undefined without a subnet to go by.
 */
export function bridgeGatewayOf(
  network: BridgeNetwork,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): string | undefined {
  const config = network.IPAM?.Config ?? [];
  const recorded = config.map((c) => c.Gateway).find((g) => !!g);
  if (recorded) return recorded;
  const subnets = config.flatMap((c) => {
    const [base, bits] = (c.Subnet ?? '').split('/');
    const prefix = Number(bits);
    return base && isIPv4(base) && Number.isInteger(prefix) && prefix >= 8 && prefix <= 30
      ? [{ base, prefix }]
      : [];
  });
  const within = new BlockList();
  for (const { base, prefix } of subnets) within.addSubnet(base, prefix, 'ipv4');
  const name = network.Options?.['com.docker.network.bridge.name'] ?? 'docker0';
  const listed = (interfaces[name] ?? []).find(
    (a) => a.family === 'IPv4' && within.check(a.address, 'ipv4'),
  );
  if (listed) return listed.address;
  const first = subnets[0];
  if (!first) return undefined;
  // A network address with a prefix of at most /30 ends in an even number: +1 stays in it.
  const octets = first.base.split('.').map(Number);
  return [...octets.slice(0, 3), octets[3]! + 1].join('.');
}

export class DockerRuntime {
  private readonly docker: Docker;
  private readonly log: Logger;
  readonly nodeName: string;
  readonly pauseImage: string;
  private readonly busyboxPath: string;
  private readonly extraLabels: Record<string, string>;
  private readonly sandboxGrace: number;
  private pauseImageReady: Promise<void> | undefined;

  constructor(options: DockerRuntimeOptions) {
    this.docker = options.docker;
    this.nodeName = options.nodeName;
    this.log = options.logger.child({ component: 'docker-runtime', node: options.nodeName });
    this.pauseImage = options.pauseImage ?? DEFAULT_PAUSE_IMAGE;
    this.busyboxPath = options.busyboxPath ?? DEFAULT_BUSYBOX_PATH;
    this.extraLabels = { ...(options.extraLabels ?? {}) };
    this.sandboxGrace = options.sandboxGraceSeconds ?? 10;
  }

  /** Resolves when the engine answers. */
  async ping(): Promise<void> {
    await callDocker('ping', () => this.docker.ping());
  }

  /** The engine's version, the host's CPUs, memory and OS, and the bridge gateway. */
  async info(): Promise<EngineInfo> {
    const i = (await callDocker('docker info', () => this.docker.info())) as Record<
      string,
      unknown
    >;
    let bridgeGateway: string | undefined;
    try {
      const net = (await this.docker.getNetwork('bridge').inspect()) as BridgeNetwork;
      bridgeGateway = bridgeGatewayOf(net, networkInterfaces());
    } catch (err) {
      const mapped = mapDockerError(err, { op: 'inspect network bridge' });
      if (mapped.code === 'EngineUnavailable') throw mapped;
      // No default bridge (dockerd --bridge=none): the caller picks another address.
    }
    const str = (k: string): string => {
      const v = i[k];
      return typeof v === 'string' ? v : '';
    };
    const num = (k: string): number => {
      const v = i[k];
      return typeof v === 'number' ? v : 0;
    };
    return {
      serverVersion: str('ServerVersion'),
      operatingSystem: str('OperatingSystem'),
      kernelVersion: str('KernelVersion'),
      architecture: str('Architecture'),
      osType: str('OSType') || 'linux',
      cpus: num('NCPU'),
      memoryBytes: num('MemTotal'),
      dockerRootDir: str('DockerRootDir'),
      name: str('Name'),
      bridgeGateway,
    };
  }

  // ---- images ------------------------------------------------------------------------------

  /** Makes an image available according to its pull policy; see images.ts. */
  async ensureImage(ref: string, options: EnsureImageOptions): Promise<ImageInfo> {
    return ensureImage(this.docker, ref, options, this.log);
  }

  /** The image if the node has it (no pull). */
  async imageInfo(ref: string): Promise<ImageInfo | undefined> {
    return lookupImage(this.docker, ref);
  }

  /** Builds the pause image from the host's BusyBox if the node lacks it (once per runtime). */
  async ensurePauseImage(): Promise<string> {
    this.pauseImageReady ??= (async () => {
      if (await inspectImage(this.docker, this.pauseImage)) return;
      this.log.info(
        { image: this.pauseImage },
        'pause image missing; building it from the host BusyBox',
      );
      await buildPauseImage(this.docker, this.pauseImage, {
        busyboxPath: this.busyboxPath,
        labels: this.extraLabels,
        logger: this.log,
      });
    })();
    try {
      await this.pauseImageReady;
    } catch (err) {
      this.pauseImageReady = undefined; // try again next time
      throw err;
    }
    return this.pauseImage;
  }

  private async ensureSandboxImage(ref: string): Promise<void> {
    if (ref === this.pauseImage) {
      await this.ensurePauseImage();
      return;
    }
    await this.ensureImage(ref, { pullPolicy: 'IfNotPresent' });
  }

  // ---- ownership ---------------------------------------------------------------------------

  private async inspectRaw(id: string): Promise<Docker.ContainerInspectInfo> {
    return callDocker(
      `inspect container ${id}`,
      () => this.docker.getContainer(id).inspect(),
      'container',
    );
  }

  /** Inspects `id` and refuses (NotManaged) unless this node's agent owns it. */
  private async owned(id: string, op: string): Promise<Docker.ContainerInspectInfo> {
    const info = await this.inspectRaw(id);
    if (!isOwned(info.Config.Labels, this.nodeName)) {
      throw new RuntimeError(
        'NotManaged',
        `${op}: container ${id} is not managed by the agent of node ${this.nodeName}`,
      );
    }
    return info;
  }

  /** Like owned(), and the container must be a sandbox of the plan's pod. */
  private async ownedSandbox(
    id: string,
    plan: PodPlan,
    op: string,
  ): Promise<Docker.ContainerInspectInfo> {
    const info = await this.owned(id, op);
    const labels = info.Config.Labels;
    if (labels[LABELS.podUid] !== plan.pod.uid || labels[LABELS.containerName] !== SANDBOX_NAME) {
      throw new RuntimeError('Conflict', `${op}: ${id} is not a sandbox of pod ${plan.pod.uid}`);
    }
    return info;
  }

  private labelsWithExtra(labels: Record<string, string>): Record<string, string> {
    return { ...this.extraLabels, ...labels };
  }

  // ---- volumes -----------------------------------------------------------------------------

  /** Creates the pod's Docker volumes if missing (idempotent; refuses volumes it does not own). */
  async ensureVolumes(plan: PodPlan): Promise<void> {
    this.checkNode(plan);
    for (const v of plan.volumes) {
      const created = await callDocker(
        `create volume ${v.dockerName}`,
        async () => {
          const volume = await this.docker.createVolume({
            Name: v.dockerName,
            Driver: 'local',
            ...(v.driverOpts ? { DriverOpts: v.driverOpts } : {}),
            Labels: this.labelsWithExtra(v.labels),
          });
          return await volume.inspect();
        },
        'volume',
      );
      // Creating an existing volume returns it unchanged: make sure it is this pod's.
      const labels = created.Labels ?? {};
      if (!isOwned(labels, this.nodeName) || labels[LABELS.podUid] !== plan.pod.uid) {
        throw new RuntimeError(
          'NotManaged',
          `volume ${v.dockerName} exists but does not belong to pod ${plan.pod.uid} on ${this.nodeName}`,
        );
      }
    }
  }

  /**
   * Writes volume roots (owner, mode) and projected files into the pod's volumes through the
   * running sandbox, which mounts them read-write (app containers mount projections read-only).
   * Idempotent; call again to refresh ConfigMap/Secret contents.
   */
  async populateVolumes(plan: PodPlan, sandboxId: string): Promise<void> {
    this.checkNode(plan);
    const info = await this.ownedSandbox(sandboxId, plan, 'populate volumes');
    // Writing a volume the sandbox does not mount would land in its root filesystem instead.
    const mounted = new Set(
      (info.Mounts ?? [])
        .filter((m) => m.Type === 'volume')
        .map((m) => `${m.Name}:${m.Destination}`),
    );
    for (const v of plan.volumes) {
      if (!mounted.has(`${v.dockerName}:${SANDBOX_VOLUME_ROOT}/${v.name}`)) {
        throw new RuntimeError(
          'Conflict',
          `populate volumes: sandbox ${sandboxId} does not mount volume ${v.name} (the pod's volumes changed; replace the sandbox)`,
        );
      }
    }
    if (plan.volumes.length === 0) return;
    const mtime = Math.floor(Date.now() / 1000);
    // One archive for all volumes, extracted above the mount points: its `<volume>/` entries set
    // each volume root's owner and mode (an archive's "./" entry would be ignored).
    const tar = createTar(plan.volumes.flatMap((v) => volumeEntries(v, mtime)));
    await callDocker(
      `populate volumes of pod ${plan.pod.uid}`,
      () => this.docker.getContainer(sandboxId).putArchive(tar, { path: SANDBOX_VOLUME_ROOT }),
      'container',
    );
  }

  // ---- containers --------------------------------------------------------------------------

  private checkNode(plan: PodPlan): void {
    if (plan.nodeName !== this.nodeName) {
      throw new RuntimeError(
        'InvalidRequest',
        `plan for node ${plan.nodeName} given to the runtime of ${this.nodeName}`,
      );
    }
  }

  /** Creates `spec`, or adopts the existing instance of the same name if it is ours with the same hash. */
  private async createOrAdopt(spec: NamedCreateSpec): Promise<string> {
    const problems = checkCreateSpec(spec);
    if (problems.length > 0) {
      throw new RuntimeError('Unsafe', `refusing to create ${spec.name}: ${problems.join('; ')}`);
    }
    const { name, ...body } = spec;
    const hash = body.Labels[LABELS.containerHash];
    try {
      const c = await this.docker.createContainer({
        ...body,
        name,
        Labels: this.labelsWithExtra(body.Labels),
      } as Docker.ContainerCreateOptions);
      this.log.debug({ container: name, id: c.id }, 'created container');
      return c.id;
    } catch (err) {
      const mapped = mapDockerError(err, { op: `create container ${name}`, kind: 'image' });
      if (mapped.code !== 'Conflict') {
        // 404 on create means the image is missing (the reconciler pulls first).
        throw mapped;
      }
      const existing = await this.inspectRaw(name);
      if (
        isOwned(existing.Config.Labels, this.nodeName) &&
        existing.Config.Labels[LABELS.containerHash] === hash
      ) {
        this.log.debug({ container: name, id: existing.Id }, 'adopted existing container');
        return existing.Id;
      }
      throw new RuntimeError(
        'Conflict',
        `create container ${name}: the name is taken by a container with a different spec or owner`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * Creates (or adopts) and starts the pod's sandbox instance, creates and fills the pod's
   * volumes, and returns the sandbox's ID and the pod IP. Builds the pause image if missing.
   */
  async runSandbox(plan: PodPlan, instance: InstanceInfo): Promise<SandboxInfo> {
    this.checkNode(plan);
    await this.ensureSandboxImage(plan.sandbox.image);
    await this.ensureVolumes(plan);
    const spec = sandboxCreateSpec(plan, instance);
    const id = await this.createOrAdopt(spec);
    await this.startContainer(id);
    await this.populateVolumes(plan, id);
    const info = await this.inspect(id);
    if (!info.running) {
      throw new RuntimeError(
        'EngineError',
        `sandbox ${spec.name} is not running (${info.state}, exit ${info.exitCode}${info.error ? `: ${info.error}` : ''})`,
      );
    }
    this.log.info(
      { pod: `${plan.pod.namespace}/${plan.pod.name}`, id, ip: info.ip },
      'sandbox running',
    );
    return { id, name: spec.name, ip: info.ip ?? '' };
  }

  /** Creates (or adopts) one instance of a pod container, joined to the sandbox's namespaces. */
  async createContainer(
    plan: PodPlan,
    container: ContainerPlan,
    sandboxId: string,
    instance: InstanceInfo,
  ): Promise<string> {
    this.checkNode(plan);
    const sandbox = await this.ownedSandbox(sandboxId, plan, 'create container');
    return this.createOrAdopt(containerCreateSpec(plan, container, sandbox.Id, instance));
  }

  /** Starts a created container; a running one is left alone. */
  async startContainer(id: string): Promise<void> {
    const info = await this.owned(id, 'start container');
    if (info.State.Running) return;
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 304) return; // already started
      throw mapDockerError(err, {
        op: `start container ${info.Name.replace(/^\//, '')}`,
        kind: 'container',
      });
    }
  }

  /**
   * Stops gracefully: the stop signal (the image's STOPSIGNAL, else SIGTERM, or `stopSignal`),
   * then SIGKILL once `graceSeconds` have passed. Returns when the container has exited;
   * succeeds if it already had.
   */
  async stopContainer(id: string, graceSeconds: number, stopSignal?: string): Promise<void> {
    const info = await this.owned(id, 'stop container');
    if (!info.State.Running) return;
    const grace = Math.max(0, Math.floor(graceSeconds));
    const c = this.docker.getContainer(id);
    const started = Date.now();
    try {
      if (!stopSignal) {
        await c.stop({ t: grace });
      } else {
        await c.kill({ signal: stopSignal });
        if (!(await this.waitNotRunning(id, grace * 1000))) {
          await c.kill({ signal: 'SIGKILL' });
          await this.waitNotRunning(id, 10_000);
        }
      }
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 304) return; // already stopped
      const mapped = mapDockerError(err, { op: `stop container ${id}`, kind: 'container' });
      // Exited between our inspect and the signal: that is what we wanted.
      if (
        mapped.code === 'ContainerNotFound' ||
        (mapped.code === 'Conflict' && /is not running/.test(mapped.message))
      )
        return;
      throw mapped;
    }
    this.log.debug({ id, ms: Date.now() - started }, 'stopped container');
  }

  /** Waits until the container is not running; false on timeout. */
  private async waitNotRunning(id: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.docker.getContainer(id).wait({
        condition: 'not-running',
        abortSignal: AbortSignal.timeout(Math.max(1, timeoutMs)),
      });
      return true;
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'AbortError' || name === 'TimeoutError') return false;
      throw mapDockerError(err, { op: `wait for container ${id}`, kind: 'container' });
    }
  }

  /** Removes a container (killing it if still running: stop first for a graceful end). */
  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<void> {
    try {
      await this.owned(id, 'remove container');
    } catch (err) {
      if (isRuntimeError(err, 'ContainerNotFound')) return;
      throw err;
    }
    try {
      await this.docker.getContainer(id).remove({ v: true, force: options.force ?? true });
    } catch (err) {
      const mapped = mapDockerError(err, { op: `remove container ${id}`, kind: 'container' });
      if (mapped.code === 'ContainerNotFound') return;
      // A removal already under way finishes on its own.
      if (mapped.code === 'Conflict' && /already in progress/.test(mapped.message)) return;
      throw mapped;
    }
  }

  /** A typed summary of the container's state (reads only; works on any container). */
  async inspect(id: string): Promise<ContainerInfo> {
    const i = await this.inspectRaw(id);
    const labels = i.Config.Labels ?? {};
    const networks = Object.values(i.NetworkSettings?.Networks ?? {}) as { IPAddress?: string }[];
    const ip =
      networks.map((n) => n.IPAddress).find((a) => a) ??
      ((i.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress || undefined);
    const networkMode = i.HostConfig.NetworkMode ?? '';
    return {
      id: i.Id,
      dockerName: i.Name.replace(/^\//, ''),
      managed: isOwned(labels, this.nodeName),
      labels: parseContainerLabels(labels),
      state: i.State.Status as ContainerStateName,
      running: i.State.Running,
      exitCode: i.State.ExitCode,
      oomKilled: i.State.OOMKilled,
      error: i.State.Error || undefined,
      createdAt: i.Created,
      startedAt: emptyDate(i.State.StartedAt),
      finishedAt: emptyDate(i.State.FinishedAt),
      image: i.Config.Image,
      imageID: i.Image,
      ip,
      pid: i.State.Pid || undefined,
      tty: i.Config.Tty === true,
      sandboxId: networkMode.startsWith('container:')
        ? networkMode.slice('container:'.length)
        : undefined,
    };
  }

  // ---- exec and logs -----------------------------------------------------------------------

  private async createExec(
    id: string,
    cmd: string[],
    attach: { stdin: boolean; tty: boolean },
    options: ExecOptions,
  ): Promise<Docker.Exec> {
    const info = await this.owned(id, 'exec');
    if (!info.State.Running)
      throw new RuntimeError('Conflict', `exec: container ${id} is not running`);
    return callDocker(
      `exec in container ${id}`,
      () =>
        this.docker.getContainer(id).exec({
          Cmd: cmd,
          AttachStdin: attach.stdin,
          AttachStdout: true,
          AttachStderr: true,
          Tty: attach.tty,
          Privileged: false,
          ...(options.user ? { User: options.user } : {}),
          ...(options.env ? { Env: options.env } : {}),
          ...(options.workingDir ? { WorkingDir: options.workingDir } : {}),
        }),
      'container',
    );
  }

  /** The exec's exit code once the engine has recorded it. */
  private async execExitCode(exec: Docker.Exec): Promise<number> {
    const deadline = Date.now() + 5000;
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      const info = await callDocker('inspect exec', () => exec.inspect(), 'exec');
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      if (Date.now() > deadline)
        throw new RuntimeError('Timeout', `exec ${exec.id}: no exit code after its output ended`);
      await sleep(delay);
    }
  }

  /**
   * Runs `cmd` in the container (as the container's user) and collects its output: exec probes
   * and preStop hooks. Timeout: RuntimeError 'Timeout' (the engine cannot kill an exec, so the
   * process may run on; its output is abandoned).
   */
  async execInContainer(
    id: string,
    cmd: string[],
    options: ExecOptions & { timeoutMs: number; maxOutputBytes?: number },
  ): Promise<ExecResult> {
    const exec = await this.createExec(id, cmd, { stdin: false, tty: false }, options);
    const stream = await callDocker(
      `start exec in ${id}`,
      () => exec.start({ hijack: true, stdin: false }),
      'exec',
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stream.destroy();
        reject(
          new RuntimeError(
            'Timeout',
            `exec ${JSON.stringify(cmd)} in ${id} timed out after ${options.timeoutMs} ms`,
          ),
        );
      }, options.timeoutMs);
    });
    try {
      const output = await Promise.race([
        collectOutput(stream, { tty: false, maxBytes: options.maxOutputBytes ?? 1024 * 1024 }),
        timeout,
      ]);
      const exitCode = await Promise.race([this.execExitCode(exec), timeout]);
      return { exitCode, ...output };
    } finally {
      clearTimeout(timer);
    }
  }

  /** An interactive process (`slipway exec`, `rsh`): streams, resize and the exit code. */
  async exec(
    id: string,
    cmd: string[],
    options: ExecOptions & { tty: boolean; stdin: boolean },
  ): Promise<ExecSession> {
    const exec = await this.createExec(
      id,
      cmd,
      { stdin: options.stdin, tty: options.tty },
      options,
    );
    const stream = await callDocker(
      `start exec in ${id}`,
      () => exec.start({ hijack: true, stdin: options.stdin, Tty: options.tty }),
      'exec',
    );
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const parser = new FrameParser();
    stream.on('data', (chunk: Buffer) => {
      if (options.tty) {
        stdout.write(chunk);
        return;
      }
      for (const f of parser.push(chunk)) (f.stream === 'stderr' ? stderr : stdout).write(f.data);
    });
    let ended = false;
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const finish = (): void => {
      if (ended) return;
      ended = true;
      stdout.end();
      stderr.end();
      resolveDone();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', (err) => {
      this.log.debug({ id, err: err.message }, 'exec stream error');
      finish();
    });
    const exitCode = done.then(() => this.execExitCode(exec));
    // Whoever awaits exitCode sees failures; do not crash if nobody does.
    exitCode.catch(() => undefined);
    return {
      stream,
      stdin: options.stdin ? stream : null,
      stdout,
      stderr,
      resize: async ({ cols, rows }) => {
        await callDocker('resize exec', () => exec.resize({ h: rows, w: cols }), 'exec');
      },
      exitCode,
      close: () => {
        stream.destroy();
      },
    };
  }

  /**
   * The container's log as a readable of LogLine objects (stdout and stderr demultiplexed and
   * split into lines). With `follow` it stays open until the container stops or `signal` aborts.
   */
  async logs(id: string, options: LogOptions = {}): Promise<Readable> {
    const info = await this.inspectRaw(id);
    const query: Record<string, string | number | boolean> = {
      stdout: options.stdout ?? true,
      stderr: options.stderr ?? true,
      follow: options.follow ?? false,
      timestamps: options.timestamps ?? false,
      tail: options.tail === undefined ? 'all' : Math.max(0, Math.floor(options.tail)),
    };
    if (options.sinceSeconds !== undefined)
      query.since = Math.floor(Date.now() / 1000 - options.sinceSeconds);
    // Always a stream (dockerode would buffer non-follow logs and try to parse them as JSON).
    const modem = this.docker.modem as unknown as {
      dial(
        opts: Record<string, unknown>,
        cb: (err: Error | null, data: NodeJS.ReadableStream) => void,
      ): void;
    };
    const stream = await callDocker(
      `logs of ${id}`,
      () =>
        new Promise<NodeJS.ReadableStream>((resolve, reject) => {
          modem.dial(
            {
              path: `/containers/${encodeURIComponent(info.Id)}/logs?`,
              method: 'GET',
              options: query,
              isStream: true,
              ...(options.signal ? { abortSignal: options.signal } : {}),
              statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
            },
            (err, data) => (err ? reject(err) : resolve(data)),
          );
        }),
      'container',
    );
    const lines = logLines(stream, {
      tty: info.Config.Tty === true,
      timestamps: options.timestamps ?? false,
    });
    if (options.signal) {
      const abort = (): void => {
        lines.destroy();
      };
      if (options.signal.aborted) abort();
      else options.signal.addEventListener('abort', abort, { once: true });
      lines.on('close', () => options.signal?.removeEventListener('abort', abort));
    }
    return lines;
  }

  // ---- pods --------------------------------------------------------------------------------

  private async listOwnedContainers(
    extra: Record<string, string> = {},
  ): Promise<ContainerListEntry[]> {
    return callDocker('list containers', () =>
      this.docker.listContainers({
        all: true,
        filters: { label: ownedFilters(this.nodeName, extra) },
      }),
    );
  }

  private async listOwnedVolumes(extra: Record<string, string> = {}): Promise<VolumeListEntry[]> {
    const res = await callDocker('list volumes', () =>
      this.docker.listVolumes({ filters: { label: ownedFilters(this.nodeName, extra) } }),
    );
    return res.Volumes ?? [];
  }

  /**
   * Everything this node's agent owns, grouped by pod uid: the input of adoption after a restart.
   * With `uid`, only that pod's objects (an empty list when it has none).
   */
  async listPods(filter: { uid?: string } = {}): Promise<PodInventory[]> {
    const extra: Record<string, string> =
      filter.uid === undefined ? {} : { [LABELS.podUid]: filter.uid };
    const [containers, volumes] = await Promise.all([
      this.listOwnedContainers(extra),
      this.listOwnedVolumes(extra),
    ]);
    return groupPods(containers, volumes, this.nodeName);
  }

  /**
   * Stops (gracefully: `graceSeconds`, else the grace recorded on each container) and removes all
   * of a pod's containers, then its volumes. Idempotent; tries everything before reporting errors.
   */
  async removePod(uid: string, options: { graceSeconds?: number } = {}): Promise<RemovePodResult> {
    const podFilter = { [LABELS.podUid]: uid };
    const containers = (await this.listOwnedContainers(podFilter))
      .map((c) => toManagedContainer(c, this.nodeName))
      .filter((c) => c !== undefined);
    const errors: unknown[] = [];
    const settle = async (work: Promise<unknown>[]): Promise<void> => {
      for (const r of await Promise.allSettled(work))
        if (r.status === 'rejected') errors.push(r.reason);
    };
    const apps = containers.filter((c) => !c.isSandbox);
    const sandboxes = containers.filter((c) => c.isSandbox);
    await settle(
      apps
        .filter((c) => c.state === 'running' || c.state === 'restarting' || c.state === 'paused')
        .map((c) => this.stopContainer(c.id, options.graceSeconds ?? c.gracePeriodSeconds ?? 30)),
    );
    await settle(apps.map((c) => this.removeContainer(c.id)));
    await settle(
      sandboxes
        .filter((c) => c.state === 'running')
        .map((c) =>
          this.stopContainer(
            c.id,
            Math.min(options.graceSeconds ?? this.sandboxGrace, this.sandboxGrace),
          ),
        ),
    );
    await settle(sandboxes.map((c) => this.removeContainer(c.id)));

    const volumes = await this.listOwnedVolumes(podFilter);
    const removedVolumes: string[] = [];
    await settle(
      volumes.map(async (v) => {
        try {
          await this.docker.getVolume(v.Name).remove();
          removedVolumes.push(v.Name);
        } catch (err) {
          const mapped = mapDockerError(err, { op: `remove volume ${v.Name}`, kind: 'volume' });
          if (mapped.code !== 'VolumeNotFound') throw mapped;
        }
      }),
    );
    if (errors.length > 0) {
      const first = errors[0];
      throw new RuntimeError(
        isRuntimeError(first) ? first.code : 'EngineError',
        `remove pod ${uid}: ${errors.map((e) => (e as Error).message).join('; ')}`,
        { cause: first },
      );
    }
    this.log.info(
      { uid, containers: containers.length, volumes: removedVolumes.length },
      'removed pod',
    );
    return { containers: containers.map((c) => c.id), volumes: removedVolumes.sort() };
  }

  /** Removes dead containers beyond the newest `keepPerContainer` per pod container. */
  async garbageCollect(keepPerContainer = 1): Promise<{ removed: string[] }> {
    const pods = await this.listPods();
    const removed: string[] = [];
    for (const c of selectGarbage(pods, keepPerContainer)) {
      try {
        await this.docker.getContainer(c.id).remove({ v: true });
        removed.push(c.id);
      } catch (err) {
        const mapped = mapDockerError(err, {
          op: `remove container ${c.dockerName}`,
          kind: 'container',
        });
        if (mapped.code !== 'ContainerNotFound')
          this.log.warn(
            { id: c.id, err: mapped.message },
            'garbage collection skipped a container',
          );
      }
    }
    if (removed.length > 0)
      this.log.debug({ removed: removed.length }, 'garbage collected containers');
    return { removed };
  }

  /**
   * Lifecycle events (start, die, oom, destroy) of this node's containers until `signal` aborts;
   * reconnects when the engine goes away and then yields `resync`.
   */
  events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    return runtimeEvents({
      signal,
      logger: this.log,
      connect: (s) =>
        callDocker('watch events', () =>
          this.docker.getEvents({
            filters: {
              type: ['container'],
              label: ownedFilters(this.nodeName),
              event: [...WATCHED_ACTIONS],
            },
            abortSignal: s,
          } as Docker.GetEventsOptions),
        ),
    });
  }
}

/** The archive entries that set up one volume: its root directory, parent directories, files. */
export function volumeEntries(v: VolumePlan, mtime: number): TarEntry[] {
  const owner = { uid: v.owner.uid, gid: v.owner.gid, mtime };
  const entries: TarEntry[] = [
    { path: `${v.name}/`, type: 'dir', mode: v.root.mode, uid: v.root.uid, gid: v.root.gid, mtime },
  ];
  const dirs = new Set<string>();
  for (const f of v.files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      entries.push({ path: `${v.name}/${dir}/`, type: 'dir', mode: 0o755, ...owner });
    }
    entries.push({
      path: `${v.name}/${f.path}`,
      type: 'file',
      data: f.data,
      mode: f.mode,
      ...owner,
    });
  }
  return entries;
}
