/**
 * The routing table: an immutable value built from routes, services and endpoints, looked up
 * by (scheme, host, path). Building it is pure; the proxy swaps a whole new table in at once, so
 * a request sees either the old table or the new one, never a mix.
 *
 * Rules (OpenShift's router):
 * - only admitted routes: status.ingress[routerName].conditions Admitted=True; a route with no
 *   status for this router is served only when admission is not required;
 * - a host belongs to the namespace of its oldest route (creationTimestamp, then name); routes of
 *   other namespaces for that host are not served (X5/B5: never another tenant);
 * - within the owning namespace one route per (host, path), the oldest;
 * - backends resolve only inside the route's own namespace, to ready endpoint addresses, on the
 *   port the route's targetPort names (through the Service's ports);
 * - exact host match, then the longest path prefix on a segment boundary.
 */
import { createHash } from 'node:crypto';
import {
  olderFirst,
  type EndpointPort,
  type Endpoints,
  type IntOrString,
  type Route,
  type RouteTargetReference,
  type Service,
} from '../src/api/index.js';
import { routeOptions, type Balance } from './annotations.js';
import { normalizeRoutePath, pathMatches } from './host.js';

export type Scheme = 'http' | 'https';

/** One upstream address of a backend. */
export interface Target {
  /** `ip:port` (`[ip]:port` for IPv6): the upstream's identity across tables. */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  /** The service it was reached through. */
  readonly service: string;
  /** Share of the route's traffic (> 0): the service's weight divided among its targets. */
  readonly weight: number;
  /** Opaque sticky-session value: names the target without revealing its address. */
  readonly cookie: string;
}

export interface EdgeTls {
  certificate: string | undefined;
  key: string | undefined;
  caCertificate: string | undefined;
  insecure: 'None' | 'Allow' | 'Redirect';
  /** Reencrypt: the CA the backend's certificate must chain to (spec.tls.destinationCACertificate). */
  destinationCA: string | undefined;
}

/**
 * How a reencrypt route's target is spoken to: TLS, its certificate verified against the
 * route's destination CA for the name `SERVICE.NAMESPACE.svc` (what service serving
 * certificates carry, as OpenShift's router checks).
 */
export interface UpstreamTls {
  ca: string;
  servername: string;
}

/** The TLS a backend's target is spoken to with; undefined for plain HTTP. */
export function upstreamTls(backend: Backend, target: Target): UpstreamTls | undefined {
  const ca = backend.tls?.destinationCA;
  return ca ? { ca, servername: `${target.service}.${backend.namespace}.svc` } : undefined;
}

/** A served route: where its traffic goes and how. */
export interface Backend {
  /** `namespace/name` of the route. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly host: string;
  /** Normalised spec.path: '' for everything. */
  readonly path: string;
  readonly targets: readonly Target[];
  readonly totalWeight: number;
  /** All targets weigh the same (plain round robin will do). */
  readonly uniformWeights: boolean;
  readonly balance: Balance;
  readonly cookieName: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly tunnelTimeoutMs: number | undefined;
  readonly tls: EdgeTls | undefined;
  /** TLS passthrough: HTTPS connections for the host go to the backend untouched, by SNI. */
  readonly passthrough: boolean;
  /** Everything above as text: equal signatures mean an identical backend. */
  readonly signature: string;
}

/** What a lookup found: a backend to proxy to, or a redirect to HTTPS. */
export interface Match {
  backend: Backend;
  redirect: boolean;
}

interface Entry {
  path: string;
  backend: Backend;
  redirect: boolean;
}

export interface TableInput {
  routes: readonly Route[];
  services: readonly Service[];
  endpoints: readonly Endpoints[];
}

export interface TableOptions {
  routerName: string;
  /** Serve routes that carry no status for this router (until an admission controller writes
   * one). Routes rejected for this router are never served. */
  requireAdmission: boolean;
  /** Loopback endpoint addresses would let any tenant reach the router host's own ports. */
  allowLoopback: boolean;
  defaultBalance: Balance;
}

export interface TableProblem {
  /** `namespace/name` of the route. */
  route: string;
  reason:
    | 'NoHost'
    | 'NotAdmitted'
    | 'HostAlreadyClaimed'
    | 'PathAlreadyClaimed'
    | 'UnsupportedTermination'
    | 'InvalidAnnotation'
    | 'LoopbackEndpoint';
  message: string;
}

/** An immutable routing table. */
export class RouteTable {
  static readonly empty = new RouteTable(0, [], new Map(), new Map(), new Map());

  /** Increases with every table built from the previous one. */
  readonly generation: number;
  readonly backends: readonly Backend[];
  readonly #http: ReadonlyMap<string, readonly Entry[]>;
  readonly #https: ReadonlyMap<string, readonly Entry[]>;
  readonly #passthrough: ReadonlyMap<string, Backend>;
  readonly #byKey: ReadonlyMap<string, Backend>;

  constructor(
    generation: number,
    backends: readonly Backend[],
    http: ReadonlyMap<string, readonly Entry[]>,
    https: ReadonlyMap<string, readonly Entry[]>,
    passthrough: ReadonlyMap<string, Backend>,
  ) {
    this.generation = generation;
    this.backends = backends;
    this.#http = http;
    this.#https = https;
    this.#passthrough = passthrough;
    this.#byKey = new Map(backends.map((b) => [b.key, b]));
    Object.freeze(this);
  }

  /** The route serving `path` on an already normalised `host`, longest path prefix first. */
  match(scheme: Scheme, host: string, path: string): Match | undefined {
    const entries = (scheme === 'https' ? this.#https : this.#http).get(host);
    if (!entries) return undefined;
    for (const e of entries) if (pathMatches(e.path, path)) return e;
    return undefined;
  }

  backend(key: string): Backend | undefined {
    return this.#byKey.get(key);
  }

  /** The passthrough route of an already normalised TLS server name, if it has one. */
  passthrough(host: string): Backend | undefined {
    return this.#passthrough.get(host);
  }

  /** Whether any route is served by passthrough (the HTTPS listener then reads SNI first). */
  get hasPassthrough(): boolean {
    return this.#passthrough.size > 0;
  }

  /** Hosts served over HTTPS (edge routes), for the TLS certificate choice. */
  tlsHosts(): string[] {
    return [...this.#https.keys()];
  }

  /** The certificate of an edge host: its oldest route's that has one. */
  certificate(host: string): EdgeTls | undefined {
    for (const e of this.#https.get(host) ?? []) {
      if (e.backend.tls?.certificate && e.backend.tls.key) return e.backend.tls;
    }
    return undefined;
  }

  get targetCount(): number {
    return this.backends.reduce((n, b) => n + b.targets.length, 0);
  }
}

function keyOf(obj: { metadata: { namespace?: string | undefined; name?: string | undefined } }) {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** Admitted=True for this router, Admitted=False (or another status) for it, or no entry. */
export function admissionFor(route: Route, routerName: string): 'admitted' | 'rejected' | 'none' {
  const ingress = route.status?.ingress?.find((i) => i.routerName === routerName);
  if (!ingress) return 'none';
  const cond = ingress.conditions?.find((c) => c.type === 'Admitted');
  return cond?.status === 'True' ? 'admitted' : 'rejected';
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.toLowerCase().startsWith('::ffff:127.');
}

/**
 * The endpoint port a route's targetPort selects in one subset. A name matches an endpoint
 * port of that name, or the Service port whose targetPort has that name; a number matches an
 * endpoint port of that number, or the Service port of that number. Without a targetPort, the
 * Service's first port.
 */
export function resolvePort(
  subsetPorts: readonly EndpointPort[],
  service: Service,
  targetPort: IntOrString | undefined,
): number | undefined {
  if (subsetPorts.length === 0) return undefined;
  const servicePorts = service.spec.ports ?? [];
  const byServicePort = (name: string | undefined): number | undefined =>
    subsetPorts.find((p) => (p.name ?? '') === (name ?? ''))?.port;
  if (targetPort === undefined) {
    const first = servicePorts[0];
    if (!first) return subsetPorts[0]!.port;
    return (
      byServicePort(first.name) ?? (subsetPorts.length === 1 ? subsetPorts[0]!.port : undefined)
    );
  }
  if (typeof targetPort === 'string') {
    const direct = subsetPorts.find((p) => p.name === targetPort);
    if (direct) return direct.port;
    const sp = servicePorts.find((p) => p.targetPort === targetPort);
    return sp ? byServicePort(sp.name) : undefined;
  }
  const direct = subsetPorts.find((p) => p.port === targetPort);
  if (direct) return direct.port;
  const sp = servicePorts.find((p) => p.port === targetPort);
  return sp ? byServicePort(sp.name) : undefined;
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function cookieValue(routeKey: string, targetKey: string): string {
  return createHash('sha256').update(`${routeKey}|${targetKey}`).digest('hex').slice(0, 32);
}

interface Lookup {
  services: Map<string, Service>;
  endpoints: Map<string, Endpoints>;
}

function targetsFor(
  route: Route,
  lookup: Lookup,
  options: TableOptions,
  problems: TableProblem[],
): Target[] {
  const ns = route.metadata.namespace ?? '';
  const routeKey = keyOf(route);
  const refs: RouteTargetReference[] = [route.spec.to, ...(route.spec.alternateBackends ?? [])];
  const targets: Target[] = [];
  let loopback = 0;
  for (const ref of refs) {
    const weight = ref.weight ?? 100;
    if (weight <= 0 || (ref.kind !== undefined && ref.kind !== 'Service')) continue;
    // Only the route's own namespace: a route can never name another tenant's service.
    const service = lookup.services.get(`${ns}/${ref.name}`);
    const endpoints = lookup.endpoints.get(`${ns}/${ref.name}`);
    if (!service || !endpoints) continue;
    const seen = new Map<string, { ip: string; port: number }>();
    for (const subset of endpoints.subsets ?? []) {
      const port = resolvePort(subset.ports ?? [], service, route.spec.port?.targetPort);
      if (port === undefined) continue;
      for (const address of subset.addresses ?? []) {
        if (!options.allowLoopback && isLoopback(address.ip)) {
          loopback++;
          continue;
        }
        seen.set(hostPort(address.ip, port), { ip: address.ip, port });
      }
    }
    const share = weight / Math.max(1, seen.size);
    for (const [key, { ip, port }] of seen) {
      targets.push({
        key,
        ip,
        port,
        service: ref.name,
        weight: share,
        cookie: cookieValue(routeKey, key),
      });
    }
  }
  if (loopback > 0) {
    problems.push({
      route: routeKey,
      reason: 'LoopbackEndpoint',
      message: `${loopback} loopback endpoint address(es) ignored (the router does not proxy to its own host)`,
    });
  }
  return targets;
}

function edgeTls(route: Route): EdgeTls | undefined {
  const tls = route.spec.tls;
  if (!tls) return undefined;
  const policy = tls.insecureEdgeTerminationPolicy;
  return {
    certificate: tls.certificate || undefined,
    key: tls.key || undefined,
    caCertificate: tls.caCertificate || undefined,
    insecure: policy === 'Allow' || policy === 'Redirect' ? policy : 'None',
    destinationCA:
      tls.termination === 'reencrypt' ? tls.destinationCACertificate || undefined : undefined,
  };
}

function byPathLength(a: Entry, b: Entry): number {
  return b.path.length - a.path.length;
}

/**
 * Builds a table. With `previous`, backends that did not change are the previous objects
 * (balancer state keyed by them carries over). Never throws on bad objects: what cannot be
 * served is left out and reported in `problems`.
 */
export function buildRouteTable(
  input: TableInput,
  options: TableOptions,
  previous?: RouteTable,
): { table: RouteTable; problems: TableProblem[] } {
  const problems: TableProblem[] = [];
  const lookup: Lookup = {
    services: new Map(input.services.map((s) => [keyOf(s), s])),
    endpoints: new Map(input.endpoints.map((e) => [keyOf(e), e])),
  };

  // Candidates: routes this router may serve at all.
  const byHost = new Map<string, Route[]>();
  for (const route of input.routes) {
    const key = keyOf(route);
    const host = route.spec.host;
    if (!host) {
      problems.push({ route: key, reason: 'NoHost', message: 'spec.host is empty' });
      continue;
    }
    const admission = admissionFor(route, options.routerName);
    if (admission === 'rejected' || (admission === 'none' && options.requireAdmission)) {
      problems.push({
        route: key,
        reason: 'NotAdmitted',
        message:
          admission === 'rejected'
            ? `not admitted by router "${options.routerName}"`
            : `no status from router "${options.routerName}" yet (admission is required)`,
      });
      continue;
    }
    const term = route.spec.tls?.termination;
    if (term === 'reencrypt' && !route.spec.tls?.destinationCACertificate) {
      // There is no service CA to trust instead: an unverified backend would defeat the point.
      problems.push({
        route: key,
        reason: 'UnsupportedTermination',
        message:
          'reencrypt termination needs spec.tls.destinationCACertificate (there is no service CA to verify the backend against)',
      });
      continue;
    }
    const list = byHost.get(host);
    if (list) list.push(route);
    else byHost.set(host, [route]);
  }

  const backends: Backend[] = [];
  const http = new Map<string, Entry[]>();
  const https = new Map<string, Entry[]>();
  const passthrough = new Map<string, Backend>();
  const add = (map: Map<string, Entry[]>, host: string, entry: Entry): void => {
    const list = map.get(host);
    if (list) list.push(entry);
    else map.set(host, [entry]);
  };

  for (const [host, routes] of byHost) {
    routes.sort(olderFirst);
    const owner = routes[0]!.metadata.namespace ?? '';
    const paths = new Set<string>();
    for (const route of routes) {
      const key = keyOf(route);
      if ((route.metadata.namespace ?? '') !== owner) {
        problems.push({
          route: key,
          reason: 'HostAlreadyClaimed',
          message: `host ${host} is claimed by a route in namespace "${owner}"`,
        });
        continue;
      }
      const path = normalizeRoutePath(route.spec.path);
      const isPassthrough = route.spec.tls?.termination === 'passthrough';
      // One TLS server name goes to one place: a passthrough route's backend, or this router's
      // own TLS (edge routes). The older route of the two kinds keeps the host's HTTPS side.
      const tlsTaken = isPassthrough
        ? https.has(host)
          ? `host ${host} is served over HTTPS by edge routes of this router`
          : undefined
        : route.spec.tls && passthrough.has(host)
          ? `host ${host} is served over HTTPS by passthrough route ${passthrough.get(host)!.key}`
          : undefined;
      if (tlsTaken) {
        problems.push({ route: key, reason: 'HostAlreadyClaimed', message: tlsTaken });
        continue;
      }
      if (paths.has(path)) {
        problems.push({
          route: key,
          reason: 'PathAlreadyClaimed',
          message: `host ${host} path ${path || '/'} is served by an older route`,
        });
        continue;
      }
      paths.add(path);
      // Passthrough traffic shows nothing but its source: OpenShift balances it by source.
      const opts = routeOptions(route, isPassthrough ? 'source' : options.defaultBalance);
      for (const message of opts.problems) {
        problems.push({ route: key, reason: 'InvalidAnnotation', message });
      }
      const targets = targetsFor(route, lookup, options, problems);
      const totalWeight = targets.reduce((n, t) => n + t.weight, 0);
      const tls = edgeTls(route);
      const fields = {
        key,
        namespace: owner,
        name: route.metadata.name ?? '',
        host,
        path,
        targets,
        totalWeight,
        uniformWeights: targets.every((t) => t.weight === targets[0]!.weight),
        balance: opts.balance,
        cookieName: opts.cookieName,
        timeoutMs: opts.timeoutMs,
        tunnelTimeoutMs: opts.tunnelTimeoutMs,
        tls,
        passthrough: isPassthrough,
      };
      const signature = JSON.stringify(fields);
      const old = previous?.backend(key);
      const backend: Backend =
        old && old.signature === signature
          ? old
          : Object.freeze({ ...fields, targets: Object.freeze(targets), signature });
      backends.push(backend);
      if (!tls) add(http, host, { path, backend, redirect: false });
      else if (isPassthrough) {
        passthrough.set(host, backend);
        // Plain HTTP never reaches a passthrough backend: redirected to HTTPS, or not served.
        if (tls.insecure === 'Redirect') add(http, host, { path, backend, redirect: true });
      } else {
        add(https, host, { path, backend, redirect: false });
        if (tls.insecure === 'Allow') add(http, host, { path, backend, redirect: false });
        if (tls.insecure === 'Redirect') add(http, host, { path, backend, redirect: true });
      }
    }
  }
  for (const map of [http, https]) for (const list of map.values()) list.sort(byPathLength);
  const generation = (previous?.generation ?? 0) + 1;
  return { table: new RouteTable(generation, backends, http, https, passthrough), problems };
}
