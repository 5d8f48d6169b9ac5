import { jsonEqual } from '../../../src/api/merge-patch.js';
import type {
  EndpointAddress,
  EndpointPort,
  Endpoints,
  EndpointSubset,
} from '../../../src/api/kinds/endpoints.js';
import type { Pod } from '../../../src/api/kinds/pod.js';
import type { Service, ServicePort } from '../../../src/api/kinds/service.js';

/** Set on Endpoints of headless Services, as Kubernetes' endpoints controller does. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** Whether a Service picks its pods by labels (an empty or missing selector: it does not, and
 * whoever made its Endpoints keeps them). */
export function hasSelector(svc: Service): boolean {
  return Object.keys(svc.spec.selector ?? {}).length > 0;
}

export function selects(svc: Service, pod: Pod): boolean {
  if (!hasSelector(svc) || pod.metadata.namespace !== svc.metadata.namespace) return false;
  const labels = pod.metadata.labels ?? {};
  return Object.entries(svc.spec.selector ?? {}).every(([k, v]) => labels[k] === v);
}

function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The container port a Service port reaches on a pod: a number as is, a name looked up in the
 * pod's containers (same protocol); undefined when the pod has no port of that name. */
export function resolveTargetPort(port: ServicePort, pod: Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  const protocol = port.protocol ?? 'TCP';
  for (const container of pod.spec.containers) {
    for (const p of container.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/**
 * Kubernetes' ShouldPodBeInEndpoints: a pod needs an IP, must not have finished, and must not
 * be terminating unless the Service publishes not-ready addresses.
 */
function shouldBeInEndpoints(pod: Pod, publishNotReady: boolean): boolean {
  if (!pod.status?.podIP) return false;
  const phase = pod.status.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (pod.metadata.deletionTimestamp !== undefined && !publishNotReady) return false;
  return true;
}

function portKey(ports: readonly EndpointPort[]): string {
  return JSON.stringify(ports.map((p) => [p.name ?? '', p.port, p.protocol ?? 'TCP']));
}

function byAddress(a: EndpointAddress, b: EndpointAddress): number {
  const ka = `${a.ip}/${a.targetRef?.uid ?? ''}`;
  const kb = `${b.ip}/${b.targetRef?.uid ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The subsets of a Service's Endpoints, as Kubernetes' endpoints controller computes them:
 * each selected pod's address (ready ones in `addresses`, the others in `notReadyAddresses`,
 * all of them ready when `publishNotReadyAddresses`) with the ports its targetPorts resolve to
 * on that pod; pods that resolve none of the Service's ports are left out, and addresses with
 * the same ports share a subset (RepackSubsets). A headless Service without ports lists its
 * pods with no ports. Deterministic: subsets, addresses and ports are sorted.
 */
export function computeSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady =
    (svc.spec as { publishNotReadyAddresses?: boolean }).publishNotReadyAddresses === true;
  const servicePorts = svc.spec.ports ?? [];
  const groups = new Map<
    string,
    { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }
  >();
  for (const pod of pods) {
    if (!selects(svc, pod) || !shouldBeInEndpoints(pod, publishNotReady)) continue;
    const ports: EndpointPort[] = [];
    for (const sp of servicePorts) {
      const port = resolveTargetPort(sp, pod);
      if (port === undefined) continue;
      ports.push({
        ...(sp.name ? { name: sp.name } : {}),
        port,
        protocol: sp.protocol ?? 'TCP',
        ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
      });
    }
    if (servicePorts.length > 0 && ports.length === 0) continue;
    ports.sort((a, b) => (portKey([a]) < portKey([b]) ? -1 : 1));
    const address: EndpointAddress = {
      ip: pod.status!.podIP!,
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: {
        kind: 'Pod',
        namespace: pod.metadata.namespace ?? '',
        name: pod.metadata.name ?? '',
        uid: pod.metadata.uid ?? '',
      },
    };
    const key = portKey(ports);
    let group = groups.get(key);
    if (!group) {
      group = { ports, ready: [], notReady: [] };
      groups.set(key, group);
    }
    (publishNotReady || isReady(pod) ? group.ready : group.notReady).push(address);
  }
  return [...groups.keys()].sort().map((key) => {
    const group = groups.get(key)!;
    return {
      ...(group.ready.length ? { addresses: group.ready.sort(byAddress) } : {}),
      ...(group.notReady.length ? { notReadyAddresses: group.notReady.sort(byAddress) } : {}),
      ...(group.ports.length ? { ports: group.ports } : {}),
    };
  });
}

/** The labels of a Service's Endpoints: the Service's own, plus the headless mark. */
export function endpointsLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...svc.metadata.labels };
  if (svc.spec.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

/** The Endpoints a Service should have, or undefined when `current` already is it. */
export function desiredEndpoints(
  svc: Service,
  pods: readonly Pod[],
  current: Endpoints | undefined,
): Endpoints | undefined {
  const subsets = computeSubsets(svc, pods);
  const labels = endpointsLabels(svc);
  if (
    current &&
    jsonEqual(current.subsets ?? [], subsets) &&
    jsonEqual(current.metadata.labels ?? {}, labels)
  ) {
    return undefined;
  }
  const metadata = current
    ? { ...current.metadata, labels }
    : { name: svc.metadata.name ?? '', namespace: svc.metadata.namespace ?? '', labels };
  return { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets };
}
