/**
 * What Docker says this node runs, grouped by pod: the agent's only memory. Built from the
 * engine's container and volume lists (their labels), so a restarted agent adopts everything it
 * left behind. Pure: takes the engine's list entries as plain data.
 */
import { LABELS, isOwned, parseContainerLabels, type PodRef } from './labels.js';

/** The fields of a `GET /containers/json` entry this module reads. */
export interface ContainerListEntry {
  Id: string;
  Names?: string[];
  Image?: string;
  ImageID?: string;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  Created?: number;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string } | undefined> | null } | null;
}

/** The fields of a `GET /volumes` entry this module reads. */
export interface VolumeListEntry {
  Name: string;
  Labels?: Record<string, string> | null;
}

export type ContainerStateName =
  'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ManagedContainer {
  id: string;
  /** Docker's name, without the leading '/'. */
  dockerName: string;
  pod: PodRef;
  /** Pod container name, `POD` for the sandbox. */
  containerName: string;
  isSandbox: boolean;
  hash: string;
  attempt: number;
  restartCount: number;
  /** Restart back-off after this instance dies (ms). */
  backoffMs: number;
  gracePeriodSeconds: number | undefined;
  state: ContainerStateName;
  /** Seconds since the epoch. */
  createdAt: number;
  image: string;
  imageID: string;
  /** From the list's status text ("Exited (137) 5 seconds ago"); inspect for certainty. */
  exitCode: number | undefined;
  /** The sandbox this container joined (`container:<id>` network mode). */
  sandboxId: string | undefined;
  /** Sandboxes only: the pod IP. */
  ip: string | undefined;
}

export interface PodInventory extends PodRef {
  /** Newest first (highest attempt). */
  sandboxes: ManagedContainer[];
  /** All app and init container instances, newest first within each name. */
  containers: ManagedContainer[];
  /** Docker volume names. */
  volumes: string[];
}

const STATES = new Set<string>([
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
]);

function exitCodeFromStatus(status: string | undefined): number | undefined {
  const m = /^Exited \((-?\d+)\)/.exec(status ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Parses one list entry; undefined unless the agent of `node` owns it and it is a pod container. */
export function toManagedContainer(
  entry: ContainerListEntry,
  node: string,
): ManagedContainer | undefined {
  if (!isOwned(entry.Labels, node)) return undefined;
  const info = parseContainerLabels(entry.Labels);
  if (!info) return undefined;
  const state = STATES.has(entry.State ?? '') ? (entry.State as ContainerStateName) : 'dead';
  const networkMode = entry.HostConfig?.NetworkMode ?? '';
  const ips = Object.values(entry.NetworkSettings?.Networks ?? {})
    .map((n) => n?.IPAddress)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  return {
    id: entry.Id,
    dockerName: (entry.Names?.[0] ?? '').replace(/^\//, ''),
    pod: { uid: info.uid, namespace: info.namespace, name: info.name },
    containerName: info.containerName,
    isSandbox: info.isSandbox,
    hash: info.hash,
    attempt: info.attempt,
    restartCount: info.restartCount,
    backoffMs: info.backoffMs,
    gracePeriodSeconds: info.gracePeriodSeconds,
    state,
    createdAt: entry.Created ?? 0,
    image: entry.Image ?? '',
    imageID: entry.ImageID ?? '',
    exitCode: exitCodeFromStatus(entry.Status),
    sandboxId: networkMode.startsWith('container:')
      ? networkMode.slice('container:'.length)
      : undefined,
    ip: info.isSandbox ? ips[0] : undefined,
  };
}

/** Newest instance first: higher attempt, then later creation. */
function newestFirst(a: ManagedContainer, b: ManagedContainer): number {
  return b.attempt - a.attempt || b.createdAt - a.createdAt || a.id.localeCompare(b.id);
}

/** Groups the node's containers and volumes by pod uid (pods with only volumes left included). */
export function groupPods(
  containers: readonly ContainerListEntry[],
  volumes: readonly VolumeListEntry[],
  node: string,
): PodInventory[] {
  const pods = new Map<string, PodInventory>();
  const podFor = (ref: PodRef): PodInventory => {
    let p = pods.get(ref.uid);
    if (!p) {
      p = { ...ref, sandboxes: [], containers: [], volumes: [] };
      pods.set(ref.uid, p);
    } else if (!p.name && ref.name) {
      Object.assign(p, { namespace: ref.namespace, name: ref.name });
    }
    return p;
  };
  for (const entry of containers) {
    const c = toManagedContainer(entry, node);
    if (!c) continue;
    const p = podFor(c.pod);
    (c.isSandbox ? p.sandboxes : p.containers).push(c);
  }
  for (const v of volumes) {
    if (!isOwned(v.Labels, node)) continue;
    const uid = v.Labels?.[LABELS.podUid];
    if (!uid) continue;
    podFor({
      uid,
      namespace: v.Labels?.[LABELS.podNamespace] ?? '',
      name: v.Labels?.[LABELS.podName] ?? '',
    }).volumes.push(v.Name);
  }
  for (const p of pods.values()) {
    p.sandboxes.sort(newestFirst);
    p.containers.sort(
      (a, b) => a.containerName.localeCompare(b.containerName) || newestFirst(a, b),
    );
    p.volumes.sort();
  }
  return [...pods.values()].sort((a, b) => a.uid.localeCompare(b.uid));
}

const DEAD = new Set<ContainerStateName>(['exited', 'dead']);

/**
 * Dead containers to remove: per pod and container name, all exited/dead instances beyond the
 * newest `keep` (kept for `logs --previous`), and every dead sandbox once a newer one runs. Never
 * running or created ones (the reconciler may be about to start them), and never a sandbox a
 * remaining container still joins.
 */
export function selectGarbage(pods: readonly PodInventory[], keep = 1): ManagedContainer[] {
  const garbage: ManagedContainer[] = [];
  for (const pod of pods) {
    const remove = new Set<string>();
    const byName = new Map<string, ManagedContainer[]>();
    for (const c of pod.containers) {
      if (!DEAD.has(c.state)) continue;
      const list = byName.get(c.containerName) ?? [];
      list.push(c);
      byName.set(c.containerName, list);
    }
    for (const list of byName.values()) {
      list.sort(newestFirst);
      for (const c of list.slice(Math.max(0, keep))) remove.add(c.id);
    }
    const stillJoined = new Set(
      pod.containers
        .filter((c) => !remove.has(c.id) && c.sandboxId)
        .map((c) => c.sandboxId as string),
    );
    const deadSandboxes = pod.sandboxes.filter((s) => DEAD.has(s.state)).sort(newestFirst);
    // A dead sandbox holds no logs: once a new one runs, none is kept (one that died while the
    // engine stopped may be left `dead` by Docker, never to start again).
    const keepSandboxes = pod.sandboxes.some((s) => s.state === 'running') ? 0 : keep;
    for (const s of deadSandboxes.slice(Math.max(0, keepSandboxes))) {
      if (!stillJoined.has(s.id)) remove.add(s.id);
    }
    for (const c of [...pod.containers, ...pod.sandboxes]) if (remove.has(c.id)) garbage.push(c);
  }
  return garbage;
}
