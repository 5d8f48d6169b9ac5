import {
  ApiError,
  dns1123Subdomain,
  routeKind,
  type ApiObject,
  type Route,
  type StatusCause,
} from '../../src/api/index.js';
import type { ResourceStore } from './resources.js';

/** Marks a host the server chose, as OpenShift does. */
export const HOST_GENERATED_ANNOTATION = 'openshift.io/host.generated';

/** `NAME-NAMESPACE.SUBDOMAIN`, lowercased: OpenShift's default route host. */
export function generatedRouteHost(name: string, namespace: string, subdomain: string): string {
  return `${name}-${namespace}.${subdomain}`.toLowerCase();
}

function hostProblems(host: string): StatusCause[] {
  const causes = dns1123Subdomain(host).map((e) => ({
    field: 'spec.host',
    message: `Invalid value: "${host}": ${e}`,
  }));
  if (host.split('.').some((label) => label.length > 63)) {
    causes.push({
      field: 'spec.host',
      message: `Invalid value: "${host}": each label must be no more than 63 characters (the generated host is NAME-NAMESPACE.SUBDOMAIN: set spec.host or use a shorter name)`,
    });
  }
  return causes;
}

/**
 * A route created without spec.host gets `NAME-NAMESPACE.SUBDOMAIN`, or `SPEC.SUBDOMAIN` when it
 * asks for `spec.subdomain` (the route API's "host populated automatically" for a server with
 * one router domain), and the annotation `openshift.io/host.generated: "true"`. Runs at
 * admission, when a generated name is known. Changing spec.host later stays open to anyone who
 * may update the route (OpenShift asks for the `routes/custom-host` permission); the admission
 * controller still refuses a host another project holds.
 */
export function defaultRouteHost(obj: ApiObject, subdomain: string): void {
  const route = obj as Route;
  if (route.spec.host) return;
  const name = route.metadata.name ?? '';
  const namespace = route.metadata.namespace ?? '';
  const host = route.spec.subdomain
    ? `${route.spec.subdomain}.${subdomain}`.toLowerCase()
    : generatedRouteHost(name, namespace, subdomain);
  const causes = hostProblems(host);
  if (causes.length) throw ApiError.invalid(routeKind.kind, name, causes);
  route.spec = { ...route.spec, host };
  route.metadata.annotations = {
    ...route.metadata.annotations,
    [HOST_GENERATED_ANNOTATION]: 'true',
  };
}

export function registerRouteHostDefault(
  resources: ResourceStore,
  options: { subdomain: string },
): void {
  resources.registerHooks(routeKind, {
    admitCreate: (obj) => {
      defaultRouteHost(obj, options.subdomain);
      return Promise.resolve(undefined);
    },
  });
}
