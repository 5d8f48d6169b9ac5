/**
 * What `slipway expose` creates, as `oc expose` builds it: a Route for a Service, or a Service
 * for a pod or a workload (ReplicationController, ReplicaSet, Deployment, DeploymentConfig).
 * Workloads are read as generic objects (`spec.selector`, `spec.template.spec.containers`), so
 * any kind with those fields can be exposed.
 */
import type { ApiObject, Route, Service } from '../../api/index.js';
import { CliError } from '../errors.js';
import { SERVICE_TYPES, type ServiceSpec } from '../../api/kinds/service.js';

/** Kinds exposed as a Service; a Service itself is exposed as a Route. */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set([
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'DeploymentConfig',
]);

/** Kubernetes service names are DNS-1035 labels: at most 63 characters. */
const SERVICE_NAME_MAX = 63;

type Json = Record<string, unknown>;

function isMapping(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (!isMapping(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.some(([, v]) => typeof v !== 'string')) return undefined;
  return Object.fromEntries(entries) as Record<string, string>;
}

/** `8080` is a number, `http` a name. */
export function portValue(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

export interface RouteOptions {
  name?: string | undefined;
  hostname?: string | undefined;
  path?: string | undefined;
  /** `--port`: the service port (name or number) the route sends to. */
  port?: string | undefined;
  wildcardPolicy?: string | undefined;
  /** `-l`; by default the service's own labels. */
  labels?: Record<string, string> | undefined;
}

/**
 * The route `oc expose svc/NAME` creates: named after the service, with its labels, to the
 * port `--port` names, else the first TCP port's name, else that port's targetPort.
 */
export function routeForService(svc: Service, options: RouteOptions = {}): Route {
  const name = svc.metadata.name ?? '';
  const tcp = (svc.spec.ports ?? []).find((p) => (p.protocol ?? 'TCP') === 'TCP');
  if (!tcp) {
    throw new CliError(
      `service "${name}" has no TCP port to route to; add a port to the service first`,
    );
  }
  const targetPort = options.port
    ? portValue(options.port)
    : tcp.name
      ? tcp.name
      : (tcp.targetPort ?? tcp.port);
  const labels = options.labels ?? svc.metadata.labels;
  if (options.wildcardPolicy && !['None', 'Subdomain'].includes(options.wildcardPolicy))
    throw new CliError('only "Subdomain" or "None" are supported for wildcard-policy');
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: {
      name: options.name || name,
      ...(labels && Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}),
    },
    spec: {
      ...(options.hostname ? { host: options.hostname } : {}),
      ...(options.path ? { path: options.path } : {}),
      to: { kind: 'Service', name },
      port: { targetPort },
      ...(options.wildcardPolicy ? { wildcardPolicy: options.wildcardPolicy as 'None' } : {}),
    },
  };
}

/** The pod selector of an exposed object: a pod's labels, a workload's `spec.selector`
 * (a map, or `matchLabels` without expressions), else its pod template's labels. */
export function selectorOf(obj: ApiObject): Record<string, string> {
  const what = `${obj.kind.toLowerCase()} "${obj.metadata.name ?? ''}"`;
  if (obj.kind === 'Pod') {
    const labels = obj.metadata.labels ?? {};
    if (Object.keys(labels).length === 0)
      throw new CliError(`the ${what} has no labels and cannot be exposed`);
    return { ...labels };
  }
  const spec = isMapping(obj.spec) ? obj.spec : {};
  const selector = spec.selector;
  if (isMapping(selector) && ('matchLabels' in selector || 'matchExpressions' in selector)) {
    const expressions = selector.matchExpressions;
    if (Array.isArray(expressions) && expressions.length > 0) {
      throw new CliError(
        `couldn't retrieve selectors from ${what}: its selector has matchExpressions, which a service cannot use; pass --selector`,
      );
    }
    const labels = stringMap(selector.matchLabels);
    if (labels && Object.keys(labels).length > 0) return labels;
  } else {
    const labels = stringMap(selector);
    if (labels && Object.keys(labels).length > 0) return labels;
  }
  const template = isMapping(spec.template) ? spec.template : {};
  const templateLabels = stringMap(isMapping(template.metadata) ? template.metadata.labels : {});
  if (templateLabels && Object.keys(templateLabels).length > 0) return templateLabels;
  throw new CliError(
    `couldn't retrieve selectors from ${what}: it has no selector; pass --selector`,
  );
}

export interface ContainerPort {
  port: number;
  protocol: string;
}

/** The container ports of a pod, or of a workload's pod template, without repeats. */
export function containerPortsOf(obj: ApiObject): ContainerPort[] {
  const spec = isMapping(obj.spec) ? obj.spec : {};
  const template = isMapping(spec.template) ? spec.template : {};
  const podSpec = obj.kind === 'Pod' ? spec : isMapping(template.spec) ? template.spec : {};
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
  const out: ContainerPort[] = [];
  for (const c of containers) {
    if (!isMapping(c) || !Array.isArray(c.ports)) continue;
    for (const p of c.ports) {
      if (!isMapping(p) || typeof p.containerPort !== 'number') continue;
      const protocol = typeof p.protocol === 'string' ? p.protocol : 'TCP';
      if (!out.some((o) => o.port === p.containerPort && o.protocol === protocol))
        out.push({ port: p.containerPort, protocol });
    }
  }
  return out;
}

export interface ServiceOptions {
  name?: string | undefined;
  /** `--port`: the service's one port. */
  port?: string | undefined;
  /** `--target-port`: the container port (name or number) every service port sends to. */
  targetPort?: string | undefined;
  protocol?: string | undefined;
  /** `--type`: ClusterIP (default), NodePort or LoadBalancer. */
  type?: string | undefined;
  /** `--selector k=v,...`, instead of the object's own. */
  selector?: Record<string, string> | undefined;
  /** `-l`; by default the exposed object's labels. */
  labels?: Record<string, string> | undefined;
}

/** `--type` in any case (`nodeport`, `NodePort`) as the API spells it. */
function serviceType(value: string): ServiceSpec['type'] {
  const found = SERVICE_TYPES.find((t) => t.toLowerCase() === value.toLowerCase());
  if (!found) throw new CliError(`--type "${value}": must be ${SERVICE_TYPES.join(', ')}`);
  return found;
}

/**
 * The service `oc expose dc/NAME` (or pod, rc, rs, deployment) creates: named after the object,
 * with its labels, selecting its pods, on `--port` or on every container port (named `port-1`,
 * `port-2`, ... when there are several), each sent to the same port number unless
 * `--target-port`.
 */
export function serviceForWorkload(obj: ApiObject, options: ServiceOptions = {}): Service {
  const objName = obj.metadata.name ?? '';
  const selector = options.selector ?? selectorOf(obj);
  const found = containerPortsOf(obj);
  let ports: ContainerPort[];
  if (options.port) {
    if (!/^\d+$/.test(options.port))
      throw new CliError(`--port "${options.port}": must be a port number`);
    const port = Number(options.port);
    ports = [{ port, protocol: found.find((p) => p.port === port)?.protocol ?? 'TCP' }];
  } else {
    ports = found;
  }
  if (ports.length === 0) {
    throw new CliError(
      `couldn't find port via --port flag or introspection: ${obj.kind.toLowerCase()} "${objName}" declares no container ports`,
    );
  }
  const type = options.type === undefined ? undefined : serviceType(options.type);
  const labels = options.labels ?? obj.metadata.labels;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: options.name || objName.slice(0, SERVICE_NAME_MAX),
      ...(labels && Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}),
    },
    spec: {
      ...(type ? { type } : {}),
      selector,
      ports: ports.map((p, i) => ({
        ...(ports.length > 1 ? { name: `port-${i + 1}` } : {}),
        protocol: (options.protocol ?? p.protocol) as 'TCP',
        port: p.port,
        targetPort: options.targetPort ? portValue(options.targetPort) : p.port,
      })),
    },
  };
}
