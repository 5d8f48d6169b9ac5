import {
  olderFirst,
  type Route,
  type RouteIngress,
  type RouteIngressCondition,
} from '../../../src/api/index.js';

/** The router name whose admission this controller writes (the router's default). */
export const DEFAULT_ROUTER_NAME = 'default';

/** Whether a route may serve its host (and path), and if not, why. */
export type AdmissionDecision =
  { admitted: true } | { admitted: false; reason: 'HostAlreadyClaimed'; message: string };

/** `/`, `` and a trailing slash name the same path, as the router matches them. */
export function routePathKey(path: string | undefined): string {
  if (!path || path === '/') return '';
  return path.replace(/\/+$/, '');
}

function sameRoute(a: Route, b: Route): boolean {
  return a.metadata.namespace === b.metadata.namespace && a.metadata.name === b.metadata.name;
}

function claimed(by: Route, host: string): AdmissionDecision {
  return {
    admitted: false,
    reason: 'HostAlreadyClaimed',
    message: `route ${by.metadata.name ?? ''} already exposes ${host} and is older`,
  };
}

/**
 * OpenShift's host admission: the oldest route holding a host claims it for its namespace.
 * Routes of other namespaces on that host are refused, whatever their path (a tenant never
 * gets a path on another tenant's host). Inside the owning namespace every path is admitted;
 * two routes on the same host and path: the older wins. `routes` holds every route (any host).
 */
export function decideAdmission(route: Route, routes: readonly Route[]): AdmissionDecision {
  const host = route.spec.host ?? '';
  const holders = routes.filter((r) => (r.spec.host ?? '') === host && !sameRoute(r, route));
  holders.push(route);
  holders.sort(olderFirst);
  const owner = holders[0]!;
  if (owner.metadata.namespace !== route.metadata.namespace) return claimed(owner, host);
  const path = routePathKey(route.spec.path);
  const first = holders.find(
    (r) => r.metadata.namespace === route.metadata.namespace && routePathKey(r.spec.path) === path,
  )!;
  return sameRoute(first, route) ? { admitted: true } : claimed(first, host);
}

/**
 * The route's status with this router's ingress entry set to the decision; other routers'
 * entries are kept. `lastTransitionTime` moves only when the Admitted status flips.
 */
export function desiredRouteStatus(
  route: Route,
  decision: AdmissionDecision,
  routerName: string,
  now: string,
): { ingress: RouteIngress[] } {
  const ingress = route.status?.ingress ?? [];
  const previous = ingress
    .find((i) => i.routerName === routerName)
    ?.conditions?.find((c) => c.type === 'Admitted');
  const status = decision.admitted ? 'True' : 'False';
  const condition: RouteIngressCondition = {
    type: 'Admitted',
    status,
    ...(decision.admitted ? {} : { reason: decision.reason, message: decision.message }),
    lastTransitionTime:
      previous?.status === status && previous.lastTransitionTime
        ? previous.lastTransitionTime
        : now,
  };
  const entry: RouteIngress = {
    host: route.spec.host ?? '',
    routerName,
    wildcardPolicy: 'None',
    conditions: [condition],
  };
  const mine = ingress.findIndex((i) => i.routerName === routerName);
  if (mine < 0) return { ingress: [...ingress, entry] };
  return { ingress: ingress.map((i, n) => (n === mine ? entry : i)) };
}
