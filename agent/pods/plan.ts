/**
 * From a pod (plus the ConfigMaps/Secrets it references, the node and the project's UID) to what
 * the runtime must create: one sandbox that owns the pod's network/IPC namespaces, one Docker
 * volume per pod volume, and one container per pod container, each as a plain Docker create body
 * with its spec hash. Pure: no Docker, no clock, no I/O, so it is unit-tested with plain objects
 * and the reconciler can recompute it at any time and compare hashes with what Docker has.
 *
 * Security is not optional here: every container gets CapDrop ALL, no-new-privileges, a pids
 * limit, a numeric `UID:GID` user, no host namespaces and only named-volume/tmpfs mounts; a pod
 * that asks for more is refused with the offending field named (see src/api/security-policy.ts).
 */
import type { ConfigMap, Container, Pod, Secret, StatusCause } from '../../src/api/index.js';
import { cpuMillis, cpuNanos, memoryBytes, QuantityError } from '../../src/api/quantity.js';
import {
  checkPodSecurity,
  effectiveUser,
  restrictedPolicy,
  type SecurityPolicy,
} from '../../src/api/security-policy.js';
import {
  containerDockerName,
  LABELS,
  podLabels,
  SANDBOX_NAME,
  volumeDockerName,
  type PodRef,
} from '../docker/labels.js';
import type { CreateSpec, MountSpec, NamedCreateSpec } from './docker-spec.js';
import { expandVars, resolveEnv } from './env.js';
import { stableHash } from './hash.js';
import { planVolumes, VolumeError, type VolumePlan } from './volumes.js';

export const DEFAULT_PAUSE_IMAGE = 'slipway/pause:1';
export const DEFAULT_PIDS_LIMIT = 1024;
export const SANDBOX_PIDS_LIMIT = 32;
/** The sandbox never needs root: it runs the pause script as nobody. */
export const SANDBOX_USER = '65534:65534';
export const DEFAULT_GRACE_SECONDS = 30;
/** Where the sandbox mounts the pod's volumes read-write, so the runtime can fill them. */
export const SANDBOX_VOLUME_ROOT = '/.slipway/volumes';
/** Docker refuses memory limits below 6 MiB. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface DnsSettings {
  nameservers?: string[];
  searches?: string[];
  options?: string[];
}

/** The cluster DNS pods use under dnsPolicy ClusterFirst (the default), once the node has it. */
export interface ClusterDnsSettings {
  /** The cluster DNS Service's ClusterIP. */
  nameserver: string;
  /** `cluster.local`. */
  domain: string;
  /** The host's search domains, after the cluster's. */
  hostSearches?: string[];
}

/** Node-level settings: the agent's configuration, the same for every pod. */
export interface PlanOptions {
  nodeName: string;
  /** The UID/GID the project was assigned; used for containers that name none. */
  uid: number;
  gid: number;
  policy?: SecurityPolicy;
  pauseImage?: string;
  /** Max processes per container (X2). */
  pidsLimit?: number;
  /** Make every container's root filesystem read-only, whatever the pod asks. */
  readonlyRootfs?: boolean;
  /** Docker network the sandbox joins. */
  network?: string;
  /** The node's resolver settings, passed to every sandbox (dnsPolicy None ignores them). */
  dns?: DnsSettings;
  /** With it, ClusterFirst pods resolve through the cluster DNS instead of `dns`. */
  clusterDns?: ClusterDnsSettings;
  /** json-file rotation, so a chatty container cannot fill the node's disk. */
  logMaxSize?: string;
  logMaxFiles?: number;
  hostIP?: string;
  nodeCapacity?: { cpu?: string; memory?: string };
}

export interface PlanInput {
  pod: Pod;
  /** ConfigMaps and Secrets of the pod's namespace that the pod references, by name. */
  configMaps?: Readonly<Record<string, ConfigMap>>;
  secrets?: Readonly<Record<string, Secret>>;
  /** Known once the sandbox runs; needed only by env `fieldRef: status.podIP`. */
  podIP?: string;
}

export interface SandboxPlan {
  name: typeof SANDBOX_NAME;
  image: string;
  hash: string;
  /** Create body without the per-instance name and labels (see sandboxCreateSpec). */
  create: CreateSpec;
}

export interface ContainerPlan {
  name: string;
  image: string;
  pullPolicy: PullPolicy;
  hash: string;
  /** Create body without the sandbox link and per-instance labels (see containerCreateSpec). */
  create: CreateSpec;
  /** The pod's container spec, for probes and lifecycle hooks. */
  spec: Container;
  gracePeriodSeconds: number;
  /** Signal `stop` sends first; undefined means the image's STOPSIGNAL (else SIGTERM). */
  stopSignal?: string;
  warnings: string[];
}

/** A container whose configuration cannot be built yet (Kubernetes' CreateContainerConfigError). */
export interface ContainerConfigError {
  reason: 'CreateContainerConfigError';
  message: string;
}

export type ContainerPlanResult =
  | { name: string; plan: ContainerPlan; error?: undefined }
  | { name: string; plan?: undefined; error: ContainerConfigError };

export interface PodPlan {
  pod: PodRef;
  nodeName: string;
  gracePeriodSeconds: number;
  sandbox: SandboxPlan;
  volumes: VolumePlan[];
  initContainers: ContainerPlanResult[];
  containers: ContainerPlanResult[];
}

export type PodPlanErrorReason = 'Forbidden' | 'Invalid' | 'FailedMount';

/** The pod as a whole cannot run here; `message` names the fields, `causes` lists them. */
export class PodPlanError extends Error {
  readonly reason: PodPlanErrorReason;
  readonly causes: StatusCause[];

  constructor(reason: PodPlanErrorReason, causes: StatusCause[]) {
    super(causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join('; '));
    this.name = 'PodPlanError';
    this.reason = reason;
    this.causes = causes;
  }
}

/** Kubernetes' default: Always for `:latest` or untagged images, else IfNotPresent. */
export function defaultPullPolicy(image: string): PullPolicy {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  const tag = colon === -1 ? '' : image.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Pod name as a hostname: at most 63 characters, no trailing '-' or '.'. */
export function podHostname(pod: Pod): string {
  const name = pod.spec.hostname ?? pod.metadata.name ?? 'pod';
  return name.slice(0, 63).replace(/[-.]+$/, '') || 'pod';
}

function get(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null
    ? (obj as Record<string, unknown>)[key]
    : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** `name:value` options by name, later ones replacing earlier ones of the same name. */
function mergeOptions(base: string[], own: string[]): string[] {
  const byName = new Map<string, string>();
  for (const o of [...base, ...own]) byName.set(o.split(':')[0]!, o);
  return [...byName.values()];
}

/**
 * Kubelet's ClusterFirst: the cluster DNS, the search domains of the pod's namespace, the
 * service and cluster domains and the host's, `ndots:5`; then the pod's dnsConfig.
 */
function clusterFirstDns(pod: Pod, cluster: ClusterDnsSettings, own: DnsSettings): DnsSettings {
  const d = cluster.domain;
  const namespace = pod.metadata.namespace ?? 'default';
  const uniq = (list: string[]): string[] => [...new Set(list)];
  return {
    nameservers: uniq([cluster.nameserver, ...(own.nameservers ?? [])]),
    searches: uniq([
      `${namespace}.svc.${d}`,
      `svc.${d}`,
      d,
      ...(cluster.hostSearches ?? []),
      ...(own.searches ?? []),
    ]),
    options: mergeOptions(['ndots:5'], own.options ?? []),
  };
}

function dnsFor(
  pod: Pod,
  node: DnsSettings | undefined,
  cluster?: ClusterDnsSettings,
): DnsSettings {
  const policy = get(pod.spec, 'dnsPolicy');
  const cfg = get(pod.spec, 'dnsConfig');
  const own: DnsSettings = {
    nameservers: strings(get(cfg, 'nameservers')),
    searches: strings(get(cfg, 'searches')),
    options: (Array.isArray(get(cfg, 'options')) ? (get(cfg, 'options') as unknown[]) : [])
      .map((o) => {
        const name = get(o, 'name');
        const value = get(o, 'value');
        if (typeof name !== 'string') return '';
        return typeof value === 'string' && value !== '' ? `${name}:${value}` : name;
      })
      .filter(Boolean),
  };
  if (policy === 'None') return own;
  if (cluster && policy !== 'Default') return clusterFirstDns(pod, cluster, own);
  const merge = (a: string[] | undefined, b: string[] | undefined): string[] => [
    ...new Set([...(a ?? []), ...(b ?? [])]),
  ];
  return {
    nameservers: merge(node?.nameservers, own.nameservers),
    searches: merge(own.searches, node?.searches),
    options: merge(node?.options, own.options),
  };
}

function logConfig(options: PlanOptions): CreateSpec['HostConfig']['LogConfig'] {
  return {
    Type: 'json-file',
    Config: {
      'max-size': options.logMaxSize ?? '10m',
      'max-file': String(options.logMaxFiles ?? 3),
    },
  };
}

function ref(pod: Pod): PodRef {
  const { uid, namespace, name } = pod.metadata;
  if (!uid || !name) {
    throw new PodPlanError('Invalid', [
      { field: uid ? 'metadata.name' : 'metadata.uid', message: 'Required value' },
    ]);
  }
  return { uid, namespace: namespace ?? 'default', name };
}

/** Plans the pod; throws PodPlanError when the pod as a whole cannot run on this node. */
export function planPod(input: PlanInput, options: PlanOptions): PodPlan {
  const { pod } = input;
  const podRef = ref(pod);
  const policy = options.policy ?? restrictedPolicy;
  const assigned = { uid: options.uid, gid: options.gid };
  const refused = checkPodSecurity(pod.spec, policy, { assigned });
  if (refused.length > 0) throw new PodPlanError('Forbidden', refused);

  const configMaps = input.configMaps ?? {};
  const secrets = input.secrets ?? {};
  const podUser = {
    uid: pod.spec.securityContext?.runAsUser ?? assigned.uid,
    gid: pod.spec.securityContext?.runAsGroup ?? assigned.gid,
  };
  const volumeOwner = { uid: podUser.uid, gid: pod.spec.securityContext?.fsGroup ?? podUser.gid };
  const base = podLabels(options.nodeName, podRef);

  let volumes: VolumePlan[];
  try {
    volumes = planVolumes({
      spec: pod.spec,
      namespace: podRef.namespace,
      configMaps,
      secrets,
      owner: volumeOwner,
      dockerName: (v) => volumeDockerName(podRef.uid, v),
      labels: (v, kind) => ({ ...base, [LABELS.volumeName]: v, [LABELS.volumeKind]: kind }),
    });
  } catch (err) {
    if (err instanceof VolumeError)
      throw new PodPlanError('FailedMount', [{ field: err.field, message: err.message }]);
    if (err instanceof QuantityError)
      throw new PodPlanError('Invalid', [{ field: 'spec.volumes', message: err.message }]);
    throw err;
  }

  const grace = pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  const sandbox = planSandbox(pod, podRef, volumes, options, grace);
  const ctx: ContainerContext = {
    input,
    options,
    podRef,
    volumes,
    volumeOwner,
    grace,
    configMaps,
    secrets,
  };
  return {
    pod: podRef,
    nodeName: options.nodeName,
    gracePeriodSeconds: grace,
    sandbox,
    volumes,
    initContainers: (pod.spec.initContainers ?? []).map((c, i) =>
      planContainerSafely(ctx, c, `spec.initContainers[${i}]`),
    ),
    containers: pod.spec.containers.map((c, i) =>
      planContainerSafely(ctx, c, `spec.containers[${i}]`),
    ),
  };
}

function planSandbox(
  pod: Pod,
  podRef: PodRef,
  volumes: VolumePlan[],
  options: PlanOptions,
  grace: number,
): SandboxPlan {
  const image = options.pauseImage ?? DEFAULT_PAUSE_IMAGE;
  const dns = dnsFor(pod, options.dns, options.clusterDns);
  const ports: Record<string, Record<string, never>> = {};
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? [])
      ports[`${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`] = {};
  }
  const extraHosts: string[] = [];
  const aliases = get(pod.spec, 'hostAliases');
  for (const alias of Array.isArray(aliases) ? (aliases as unknown[]) : []) {
    const ip = get(alias, 'ip');
    if (typeof ip !== 'string') continue;
    for (const host of strings(get(alias, 'hostnames'))) extraHosts.push(`${host}:${ip}`);
  }
  const mounts: MountSpec[] = volumes.map((v) => ({
    Type: 'volume',
    Source: v.dockerName,
    Target: `${SANDBOX_VOLUME_ROOT}/${v.name}`,
    ReadOnly: false,
    VolumeOptions: { NoCopy: true },
  }));
  const create: CreateSpec = {
    Image: image,
    Hostname: podHostname(pod),
    User: SANDBOX_USER,
    Env: [],
    Labels: {},
    ...(Object.keys(ports).length > 0 ? { ExposedPorts: ports } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    HostConfig: {
      NetworkMode: options.network ?? 'bridge',
      IpcMode: 'shareable',
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: SANDBOX_PIDS_LIMIT,
      // Writable so the runtime can extract `<volume>/` entries at SANDBOX_VOLUME_ROOT: only an
      // archive entry for the mount point itself sets a volume's root owner and mode (Docker
      // skips the "./" entry of an archive extracted inside the volume). The sandbox runs as
      // nobody without capabilities, so only its own /tmp is writable to it.
      ReadonlyRootfs: false,
      Mounts: mounts,
      ...(dns.nameservers?.length ? { Dns: dns.nameservers } : {}),
      ...(dns.searches?.length ? { DnsSearch: dns.searches } : {}),
      ...(dns.options?.length ? { DnsOptions: dns.options } : {}),
      ...(extraHosts.length ? { ExtraHosts: extraHosts } : {}),
      RestartPolicy: { Name: 'no' },
      LogConfig: logConfig(options),
    },
  };
  // Volume contents are not part of the hash: only which volumes exist and how they are backed.
  const hash = stableHash({
    create,
    volumes: volumes.map((v) => ({ name: v.name, kind: v.kind, driverOpts: v.driverOpts })),
    grace,
    pod: podRef,
  });
  return { name: SANDBOX_NAME, image, hash, create };
}

interface ContainerContext {
  input: PlanInput;
  options: PlanOptions;
  podRef: PodRef;
  volumes: VolumePlan[];
  volumeOwner: { uid: number; gid: number };
  grace: number;
  configMaps: Readonly<Record<string, ConfigMap>>;
  secrets: Readonly<Record<string, Secret>>;
}

/** A configuration problem specific to one container (reported, the others still run). */
class ContainerError extends Error {}

function planContainerSafely(
  ctx: ContainerContext,
  c: Container,
  field: string,
): ContainerPlanResult {
  try {
    return { name: c.name, plan: planContainer(ctx, c, field) };
  } catch (err) {
    if (err instanceof ContainerError) {
      return {
        name: c.name,
        error: { reason: 'CreateContainerConfigError', message: err.message },
      };
    }
    throw err;
  }
}

function quantity<T>(field: string, value: string | number, parse: (v: string | number) => T): T {
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof QuantityError)
      throw new ContainerError(`${field}: Invalid value: ${JSON.stringify(value)}: ${err.message}`);
    throw err;
  }
}

function resources(c: Container, field: string): Partial<CreateSpec['HostConfig']> {
  const out: Partial<CreateSpec['HostConfig']> = {};
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  if (limits.memory !== undefined) {
    const bytes = quantity(`${field}.resources.limits.memory`, limits.memory, memoryBytes);
    if (bytes < MIN_MEMORY_BYTES) {
      throw new ContainerError(
        `${field}.resources.limits.memory: Invalid value: ${JSON.stringify(limits.memory)}: must be at least 6Mi`,
      );
    }
    out.Memory = bytes;
    out.MemorySwap = bytes; // no swap: the limit is the limit
  }
  if (limits.cpu !== undefined) {
    const nanos = quantity(`${field}.resources.limits.cpu`, limits.cpu, cpuNanos);
    if (nanos > 0) out.NanoCpus = Math.max(nanos, 10_000_000); // Docker's minimum is 0.01 CPU
  }
  // Kubernetes: requests default to limits; CPU shares = millicores * 1024 / 1000, at least 2.
  const cpuRequest = requests.cpu ?? limits.cpu;
  if (cpuRequest !== undefined) {
    const millis = quantity(`${field}.resources.requests.cpu`, cpuRequest, cpuMillis);
    out.CpuShares = Math.max(2, Math.floor((millis * 1024) / 1000));
  }
  if (requests.memory !== undefined)
    quantity(`${field}.resources.requests.memory`, requests.memory, memoryBytes);
  return out;
}

function mountsFor(ctx: ContainerContext, c: Container, field: string): MountSpec[] {
  const byName = new Map(ctx.volumes.map((v) => [v.name, v]));
  const seen = new Set<string>();
  return (c.volumeMounts ?? []).map((vm, j) => {
    const f = `${field}.volumeMounts[${j}]`;
    const volume = byName.get(vm.name);
    if (!volume) throw new ContainerError(`${f}.name: Not found: "${vm.name}"`);
    if (!vm.mountPath.startsWith('/'))
      throw new ContainerError(
        `${f}.mountPath: Invalid value: "${vm.mountPath}": must be an absolute path`,
      );
    if (vm.mountPath.split('/').includes('..'))
      throw new ContainerError(
        `${f}.mountPath: Invalid value: "${vm.mountPath}": must not contain '..'`,
      );
    const target = vm.mountPath.replace(/\/+$/, '') || '/';
    if (target === '/')
      throw new ContainerError(
        `${f}.mountPath: Invalid value: "/": cannot mount over the root filesystem`,
      );
    if (seen.has(target))
      throw new ContainerError(`${f}.mountPath: Duplicate value: "${vm.mountPath}"`);
    seen.add(target);
    if (vm.subPath) {
      throw new ContainerError(
        `${f}.subPath: Unsupported value: "${vm.subPath}": subPath mounts are not supported on this node`,
      );
    }
    return {
      Type: 'volume',
      Source: volume.dockerName,
      Target: target,
      // Projections are always read-only, whatever the pod says.
      ReadOnly: volume.kind === 'emptyDir' ? vm.readOnly === true : true,
      VolumeOptions: { NoCopy: true },
    };
  });
}

function planContainer(ctx: ContainerContext, c: Container, field: string): ContainerPlan {
  const { input, options } = ctx;
  const pod = input.pod;
  const env = resolveEnv(
    {
      pod,
      nodeName: options.nodeName,
      configMaps: ctx.configMaps,
      secrets: ctx.secrets,
      podIP: input.podIP,
      hostIP: options.hostIP,
      nodeCapacity: options.nodeCapacity,
    },
    c,
  );
  if (!env.ok) throw new ContainerError(env.message);
  const envMap = new Map(env.env);
  const lookup = (n: string): string | undefined => envMap.get(n);
  const user = effectiveUser(pod.spec, c, { uid: options.uid, gid: options.gid });
  // Under a policy that allows any UID (anyuid), a container naming no user runs as its image's
  // USER, as OpenShift does; otherwise always the numeric UID from the project's range.
  const imageUser =
    (options.policy?.allowRunAsRoot ?? false) &&
    c.securityContext?.runAsUser === undefined &&
    pod.spec.securityContext?.runAsUser === undefined;

  const groups = new Set<string>();
  for (const g of pod.spec.securityContext?.supplementalGroups ?? []) groups.add(String(g));
  // The image's user must still read the pod's volumes: give it their group.
  if (imageUser || ctx.volumeOwner.gid !== user.gid) groups.add(String(ctx.volumeOwner.gid));

  const stopSignal = get(c.lifecycle, 'stopSignal');
  const command = c.command?.length ? c.command.map((s) => expandVars(s, lookup)) : undefined;
  const args = c.args?.length ? c.args.map((s) => expandVars(s, lookup)) : undefined;
  const mounts = mountsFor(ctx, c, field);

  const create: CreateSpec = {
    Image: c.image,
    User: imageUser ? '' : `${user.uid}:${user.gid}`,
    Env: env.env.map(([k, v]) => `${k}=${v}`),
    // Kubernetes: command replaces ENTRYPOINT (and drops the image's CMD), args replace CMD.
    ...(command ? { Entrypoint: command } : {}),
    ...(args ? { Cmd: args } : {}),
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    Labels: imageUser ? { [LABELS.imageUser]: 'true' } : {},
    Tty: c.tty === true,
    OpenStdin: c.stdin === true,
    StdinOnce: get(c, 'stdinOnce') === true,
    ...(typeof stopSignal === 'string' ? { StopSignal: stopSignal } : {}),
    HostConfig: {
      NetworkMode: 'container:', // completed with the sandbox ID per instance
      IpcMode: 'container:',
      ...(get(pod.spec, 'shareProcessNamespace') === true ? { PidMode: 'container:' } : {}),
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: options.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      ReadonlyRootfs:
        options.readonlyRootfs === true || c.securityContext?.readOnlyRootFilesystem === true,
      ...resources(c, field),
      ...(groups.size > 0 ? { GroupAdd: [...groups] } : {}),
      Mounts: mounts,
      RestartPolicy: { Name: 'no' },
      LogConfig: logConfig(options),
    },
  };

  const usedVolumes = ctx.volumes
    .filter((v) => (c.volumeMounts ?? []).some((vm) => vm.name === v.name))
    .map((v) => (pod.spec.volumes ?? []).find((pv) => pv.name === v.name));
  // The hash covers what the container is (spec, resolved env, the volumes it mounts, its user)
  // and the isolation it gets (so tightening the node's limits replaces running containers), but
  // not log rotation, which may change without restarting anything.
  const { LogConfig: _logConfig, ...isolation } = create.HostConfig;
  const hash = stableHash({
    container: c,
    env: env.env,
    volumes: usedVolumes,
    user,
    create: { ...create, HostConfig: isolation },
  });
  return {
    name: c.name,
    image: c.image,
    pullPolicy: c.imagePullPolicy ?? defaultPullPolicy(c.image),
    hash,
    create,
    spec: c,
    gracePeriodSeconds: ctx.grace,
    ...(typeof stopSignal === 'string' ? { stopSignal } : {}),
    warnings: env.warnings,
  };
}

/** Identifies one instance of a pod container. */
export interface InstanceInfo {
  attempt: number;
  restartCount?: number;
  /** Restart back-off to apply when this instance dies (ms); recorded in a label. */
  backoffMs?: number;
}

function instanceLabels(
  plan: PodPlan,
  name: string,
  hash: string,
  inst: InstanceInfo,
): Record<string, string> {
  return {
    ...podLabels(plan.nodeName, plan.pod),
    [LABELS.podGracePeriod]: String(plan.gracePeriodSeconds),
    [LABELS.containerName]: name,
    [LABELS.containerHash]: hash,
    [LABELS.attempt]: String(inst.attempt),
    [LABELS.restartCount]: String(inst.restartCount ?? inst.attempt),
    ...(inst.backoffMs === undefined ? {} : { [LABELS.backoff]: String(inst.backoffMs) }),
  };
}

/** The complete create body of sandbox instance `attempt`. */
export function sandboxCreateSpec(plan: PodPlan, inst: InstanceInfo): NamedCreateSpec {
  const s = plan.sandbox;
  return {
    ...s.create,
    name: containerDockerName(plan.pod, SANDBOX_NAME, inst.attempt),
    Labels: { ...s.create.Labels, ...instanceLabels(plan, SANDBOX_NAME, s.hash, inst) },
  };
}

/** The complete create body of one instance of a pod container, joined to `sandboxId`. */
export function containerCreateSpec(
  plan: PodPlan,
  container: ContainerPlan,
  sandboxId: string,
  inst: InstanceInfo,
): NamedCreateSpec {
  const hc = container.create.HostConfig;
  const labels = instanceLabels(plan, container.name, container.hash, inst);
  const preStop = container.spec.lifecycle?.preStop;
  if (preStop) labels[LABELS.preStop] = JSON.stringify(preStop);
  return {
    ...container.create,
    name: containerDockerName(plan.pod, container.name, inst.attempt),
    Labels: { ...container.create.Labels, ...labels },
    HostConfig: {
      ...hc,
      NetworkMode: `container:${sandboxId}`,
      IpcMode: `container:${sandboxId}`,
      ...(hc.PidMode ? { PidMode: `container:${sandboxId}` } : {}),
    },
  };
}

const HOST_MODE_KEYS = [
  'NetworkMode',
  'PidMode',
  'IpcMode',
  'UTSMode',
  'UsernsMode',
  'CgroupnsMode',
] as const;

/**
 * Last line of defence, run by the runtime on every body before it reaches the engine: anything
 * that would weaken isolation is an error here even if a bug let it into a plan.
 */
export function checkCreateSpec(spec: CreateSpec): string[] {
  const problems: string[] = [];
  const hc = spec.HostConfig as unknown as Record<string, unknown>;
  if (hc.Privileged !== false) problems.push('HostConfig.Privileged must be false');
  if (!spec.HostConfig.CapDrop.includes('ALL'))
    problems.push('HostConfig.CapDrop must include ALL');
  if (Array.isArray(hc.CapAdd) && hc.CapAdd.length > 0)
    problems.push('HostConfig.CapAdd must be empty');
  if (!spec.HostConfig.SecurityOpt.includes('no-new-privileges'))
    problems.push('HostConfig.SecurityOpt must include no-new-privileges');
  if (spec.HostConfig.SecurityOpt.some((o) => /unconfined/.test(o)))
    problems.push('HostConfig.SecurityOpt must not disable confinement');
  if (!(spec.HostConfig.PidsLimit > 0)) problems.push('HostConfig.PidsLimit must be positive');
  for (const key of HOST_MODE_KEYS) {
    if (hc[key] === 'host') problems.push(`HostConfig.${key} must not be host`);
  }
  if (Array.isArray(hc.Binds) && hc.Binds.length > 0)
    problems.push('HostConfig.Binds must be empty');
  if (Array.isArray(hc.Devices) && hc.Devices.length > 0)
    problems.push('HostConfig.Devices must be empty');
  if (Array.isArray(hc.VolumesFrom) && hc.VolumesFrom.length > 0)
    problems.push('HostConfig.VolumesFrom must be empty');
  for (const m of spec.HostConfig.Mounts) {
    if (m.Type !== 'volume' && m.Type !== 'tmpfs')
      problems.push(`mount ${m.Target}: type ${String(m.Type)} is not allowed`);
    if (m.Type === 'volume' && (!m.Source || m.Source.includes('/'))) {
      problems.push(`mount ${m.Target}: only named volumes are allowed`);
    }
  }
  const imageUser = spec.User === '' && spec.Labels[LABELS.imageUser] === 'true';
  if (!imageUser && !/^\d+:\d+$/.test(spec.User))
    problems.push(`User must be numeric UID:GID, got "${spec.User}"`);
  return problems;
}
