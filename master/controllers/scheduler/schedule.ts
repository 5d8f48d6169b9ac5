import type { Container, Node, Pod } from '../../../src/api/index.js';
import { quantityMillis, quantityUnits } from '../../../src/api/quantity.js';

export type ScheduleResult = { node: string } | { unschedulable: true; message: string };

/**
 * The pods occupying each node, by node name: those bound to it, plus any the caller has just
 * bound and its cache has not seen yet. Pods that have Succeeded or Failed, and the pod being
 * scheduled itself, are ignored.
 */
export type PodsOnNodes =
  ReadonlyMap<string, readonly Pod[]> | ((nodeName: string) => readonly Pod[]);

interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
}

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

interface HostPort {
  hostIP: string;
  protocol: string;
  port: number;
}

interface Resources {
  milliCpu: number;
  memory: number;
}

/** Reasons, worded as kube-scheduler words them. */
export const reasons = {
  notReady: 'node(s) were not ready',
  unschedulable: 'node(s) were unschedulable',
  nodeSelector: "node(s) didn't match node selector",
  ports: "node(s) didn't have free ports for the requested pod ports",
  tooManyPods: 'Too many pods',
  insufficientCpu: 'Insufficient cpu',
  insufficientMemory: 'Insufficient memory',
  untoleratedTaint: (t: Taint) => `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`,
} as const;

const MAX_NODE_SCORE = 100;
/** What scoring assumes a container without requests uses (kube-scheduler's defaults), so
 * pods without requests still spread by load. Filtering never uses these. */
const DEFAULT_MILLI_CPU_REQUEST = 100;
const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;
const UNSCHEDULABLE_TAINT: Taint = {
  key: 'node.kubernetes.io/unschedulable',
  effect: 'NoSchedule',
};

/**
 * Picks a node for `pod` the way kube-scheduler's default profile does, reduced to what
 * Slipway needs. Filters: node Ready, not cordoned, NoSchedule/NoExecute taints tolerated,
 * nodeSelector matched, host ports free, cpu/memory requests and pod count within what is
 * allocatable. Scores: least allocated (mean free fraction of cpu and memory after placement)
 * plus spreading of pods with the same controller owner; equal scores go to the node whose
 * name sorts first. When nothing fits, the message is kube-scheduler's FitError text.
 */
export function schedule(
  pod: Pod,
  nodes: readonly Node[],
  podsOnNodes: PodsOnNodes,
): ScheduleResult {
  if (nodes.length === 0)
    return { unschedulable: true, message: 'no nodes available to schedule pods' };
  const lookup =
    typeof podsOnNodes === 'function' ? podsOnNodes : (name: string) => podsOnNodes.get(name) ?? [];
  const request = podRequests(pod, false);
  const ports = hostPorts(pod);
  const feasible: { name: string; node: Node; pods: Pod[] }[] = [];
  const failures: string[][] = [];
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const pods = lookup(name).filter((p) => occupies(p) && !samePod(p, pod));
    const why = filter(pod, node, pods, request, ports);
    if (why.length > 0) failures.push(why);
    else feasible.push({ name, node, pods });
  }
  if (feasible.length === 0)
    return { unschedulable: true, message: fitErrorMessage(nodes.length, failures) };

  const scoringRequest = podRequests(pod, true);
  const owner = controllerUid(pod);
  const sameOwner = feasible.map(({ pods }) =>
    owner === undefined ? 0 : pods.filter((p) => controllerUid(p) === owner).length,
  );
  const maxSameOwner = Math.max(...sameOwner);
  const scored = feasible.map(({ name, node, pods }, i) => {
    const spread =
      maxSameOwner === 0
        ? MAX_NODE_SCORE
        : Math.trunc((MAX_NODE_SCORE * (maxSameOwner - sameOwner[i]!)) / maxSameOwner);
    return { name, score: leastAllocated(node, pods, scoringRequest) + spread };
  });
  scored.sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { node: scored[0]!.name };
}

/** `0/3 nodes are available: 1 node(s) didn't match node selector, 2 Insufficient memory.`:
 * each reason counted over the nodes, as "count reason", sorted as strings (Go's sort.Strings),
 * exactly as kube-scheduler prints it. */
export function fitErrorMessage(
  numNodes: number,
  nodeReasons: readonly (readonly string[])[],
): string {
  const counts = new Map<string, number>();
  for (const list of nodeReasons) for (const r of list) counts.set(r, (counts.get(r) ?? 0) + 1);
  const histogram = [...counts].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${numNodes} nodes are available: ${histogram.join(', ')}.`;
}

function filter(
  pod: Pod,
  node: Node,
  pods: readonly Pod[],
  request: Resources,
  ports: HostPort[],
): string[] {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return [reasons.notReady];

  const tolerations = podTolerations(pod);
  if (node.spec?.unschedulable && !tolerations.some((t) => tolerates(t, UNSCHEDULABLE_TAINT))) {
    return [reasons.unschedulable];
  }

  const taint = (node.spec?.taints ?? []).find(
    (t) =>
      (t.effect === 'NoSchedule' || t.effect === 'NoExecute') &&
      !tolerations.some((tol) => tolerates(tol, t)),
  );
  if (taint) return [reasons.untoleratedTaint(taint)];

  const labels = node.metadata.labels ?? {};
  const selector = pod.spec.nodeSelector ?? {};
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) return [reasons.nodeSelector];

  if (ports.length > 0) {
    const used = pods.flatMap(hostPorts);
    if (ports.some((want) => used.some((have) => portsConflict(want, have))))
      return [reasons.ports];
  }

  const why: string[] = [];
  const allocatable = nodeAllocatable(node);
  if (pods.length + 1 > allocatable.pods) why.push(reasons.tooManyPods);
  const used = sum(pods.map((p) => podRequests(p, false)));
  if (request.milliCpu > 0 && request.milliCpu > allocatable.milliCpu - used.milliCpu) {
    why.push(reasons.insufficientCpu);
  }
  if (request.memory > 0 && request.memory > allocatable.memory - used.memory) {
    why.push(reasons.insufficientMemory);
  }
  return why;
}

/** kube-scheduler's LeastAllocated with equal cpu and memory weights, in integer arithmetic. */
function leastAllocated(node: Node, pods: readonly Pod[], request: Resources): number {
  const allocatable = nodeAllocatable(node);
  const requested = sum([...pods.map((p) => podRequests(p, true)), request]);
  const free = (capacity: number, used: number): number =>
    capacity <= 0 || used > capacity
      ? 0
      : Math.trunc(((capacity - used) * MAX_NODE_SCORE) / capacity);
  return Math.trunc(
    (free(allocatable.milliCpu, requested.milliCpu) + free(allocatable.memory, requested.memory)) /
      2,
  );
}

function nodeAllocatable(node: Node): Resources & { pods: number } {
  const list = node.status?.allocatable ?? node.status?.capacity ?? {};
  const read = (name: string, milli: boolean): number => {
    const q = list[name];
    return (q === undefined ? 0 : milli ? quantityMillis(q) : quantityUnits(q)) ?? 0;
  };
  return { milliCpu: read('cpu', true), memory: read('memory', false), pods: read('pods', false) };
}

/**
 * What the pod asks for: the sum over its containers, or the largest init container if that is
 * more (init containers run one at a time, before the others). A container with limits but
 * no requests requests its limits. With `nonZero`, containers that request nothing count with
 * kube-scheduler's scoring defaults.
 */
function podRequests(pod: Pod, nonZero: boolean): Resources {
  const total = sum(pod.spec.containers.map((c) => containerRequests(c, nonZero)));
  for (const init of pod.spec.initContainers ?? []) {
    const r = containerRequests(init, nonZero);
    total.milliCpu = Math.max(total.milliCpu, r.milliCpu);
    total.memory = Math.max(total.memory, r.memory);
  }
  return total;
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  const read = (name: string, milli: boolean, fallback: number): number => {
    const q = c.resources?.requests?.[name] ?? c.resources?.limits?.[name];
    if (q === undefined) return nonZero ? fallback : 0;
    return (milli ? quantityMillis(q) : quantityUnits(q)) ?? 0;
  };
  return {
    milliCpu: read('cpu', true, DEFAULT_MILLI_CPU_REQUEST),
    memory: read('memory', false, DEFAULT_MEMORY_REQUEST),
  };
}

function sum(list: readonly Resources[]): Resources {
  return list.reduce(
    (a, b) => ({ milliCpu: a.milliCpu + b.milliCpu, memory: a.memory + b.memory }),
    {
      milliCpu: 0,
      memory: 0,
    },
  );
}

function hostPorts(pod: Pod): HostPort[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => p.hostPort !== undefined && p.hostPort > 0)
      .map((p) => ({
        hostIP: typeof p.hostIP === 'string' && p.hostIP !== '' ? p.hostIP : '0.0.0.0',
        protocol: p.protocol ?? 'TCP',
        port: p.hostPort!,
      })),
  );
}

/** The same port and protocol on the same address, or on the wildcard address. */
function portsConflict(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.hostIP === b.hostIP || a.hostIP === '0.0.0.0' || b.hostIP === '0.0.0.0';
}

function podTolerations(pod: Pod): Toleration[] {
  const list = (pod.spec as { tolerations?: unknown }).tolerations;
  return Array.isArray(list) ? (list as Toleration[]) : [];
}

/** Kubernetes' Toleration.ToleratesTaint: an empty key with Exists tolerates every taint; an
 * empty effect matches every effect. */
function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (!t.key) return false;
  return (t.value ?? '') === (taint.value ?? '');
}

function occupies(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

function samePod(a: Pod, b: Pod): boolean {
  if (a.metadata.uid && b.metadata.uid) return a.metadata.uid === b.metadata.uid;
  return a.metadata.namespace === b.metadata.namespace && a.metadata.name === b.metadata.name;
}

function controllerUid(pod: Pod): string | undefined {
  return pod.metadata.ownerReferences?.find((ref) => ref.controller)?.uid;
}
