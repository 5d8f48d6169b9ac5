import { ApiError } from '../../src/api/errors.js';
import { SHARED_IMAGES_NAMESPACE } from '../../src/api/registry-scope.js';
import type { Verb } from '../../src/api/registry.js';
import {
  AUTHENTICATED_GROUP,
  CLUSTER_ADMINS_GROUP,
  CONTROLLER_MANAGER_USER,
  NODE_BOOTSTRAPPERS_GROUP,
  ROUTER_USER,
  type UserInfo,
} from './user.js';

/** What a request wants to do, in RBAC terms. */
export interface RequestAttributes {
  verb: Verb;
  /** API group; '' for core. */
  group: string;
  /** Plural resource name: `pods`. */
  resource: string;
  subresource?: string | undefined;
  /** Absent for cluster-scoped resources and for lists across all namespaces. */
  namespace?: string | undefined;
  name?: string | undefined;
}

/** One RBAC-style rule. `*` matches anything; resources may name a subresource: `pods/status`. */
export interface PolicyRule {
  verbs: readonly (Verb | '*')[];
  apiGroups: readonly string[];
  resources: readonly string[];
}

export interface Subject {
  kind: 'User' | 'Group';
  name: string;
}

/** Grants rules to subjects, cluster-wide or (with namespace) in one project. */
export interface Binding {
  subjects: readonly Subject[];
  /** Limits the binding to one project; absent means every project and cluster-scoped objects. */
  namespace?: string;
  rules: readonly PolicyRule[];
}

export const CLUSTER_ADMIN_RULES: readonly PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
];

/**
 * Not a URL: the subresource a `delete` of a pod is checked against when the user may not
 * delete pods but may confirm that a terminating pod's containers are gone (a node agent). The
 * API server then accepts only grace 0 with the pod's uid as a precondition, on a pod that is
 * terminating (see master/server/app.ts). So the shared join token cannot delete running pods.
 */
export const POD_DELETION_CONFIRMATION = 'terminated';

/** What a node agent joining with the bootstrap token may do. */
export const NODE_BOOTSTRAP_RULES: readonly PolicyRule[] = [
  {
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
    apiGroups: [''],
    resources: ['nodes', 'nodes/status'],
  },
  { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'] },
  { verbs: ['get', 'update', 'patch'], apiGroups: [''], resources: ['pods/status'] },
  { verbs: ['delete'], apiGroups: [''], resources: [`pods/${POD_DELETION_CONFIRMATION}`] },
  { verbs: ['create', 'update', 'patch'], apiGroups: [''], resources: ['events'] },
  { verbs: ['get'], apiGroups: [''], resources: ['configmaps', 'secrets'] },
  // Builds: a node reads the Build its build pod carries and fetches binary inputs.
  { verbs: ['get', 'list', 'watch'], apiGroups: ['build.openshift.io'], resources: ['builds'] },
  { verbs: ['get'], apiGroups: ['build.openshift.io'], resources: ['builds/source'] },
  // Services and DNS: a node's service proxy and DNS server follow every namespace's.
  { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['services', 'endpoints'] },
  // The cluster registry: a node pulls the images of the pods it runs, whatever their project
  // (a push only goes to a running build's output: master/server/registry-token.ts).
  { verbs: ['get'], apiGroups: ['image.openshift.io'], resources: ['imagestreams/layers'] },
];

/**
 * What the master's controller-manager may do, cluster-wide: the scheduler binds pods and
 * reports PodScheduled; the node lifecycle controller marks silent nodes Unknown and evicts
 * their pods; both record events.
 */
export const CONTROLLER_MANAGER_RULES: readonly PolicyRule[] = [
  {
    verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'],
    apiGroups: [''],
    resources: ['pods'],
  },
  { verbs: ['get', 'update', 'patch'], apiGroups: [''], resources: ['pods/status'] },
  { verbs: ['create'], apiGroups: [''], resources: ['pods/binding'] },
  { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['nodes'] },
  { verbs: ['get', 'update', 'patch'], apiGroups: [''], resources: ['nodes/status'] },
  {
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
    apiGroups: [''],
    resources: ['events'],
  },
  // The endpoints controller.
  { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['services'] },
  {
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    apiGroups: [''],
    resources: ['endpoints'],
  },
];

/**
 * What the controller-manager's build controllers may do, cluster-wide: run builds through
 * their pods, start builds for triggers (instantiate), prune old builds, keep image streams'
 * status (a build's output, imported tags) and import scheduled tags again.
 */
export const BUILD_CONTROLLER_RULES: readonly PolicyRule[] = [
  {
    verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'],
    apiGroups: ['build.openshift.io'],
    resources: ['builds'],
  },
  {
    verbs: ['get', 'list', 'watch'],
    apiGroups: ['build.openshift.io'],
    resources: ['buildconfigs'],
  },
  {
    verbs: ['create'],
    apiGroups: ['build.openshift.io'],
    resources: ['buildconfigs/instantiate'],
  },
  {
    verbs: ['get', 'list', 'watch'],
    apiGroups: ['image.openshift.io'],
    resources: ['imagestreams'],
  },
  {
    verbs: ['get', 'update', 'patch'],
    apiGroups: ['image.openshift.io'],
    resources: ['imagestreams/status'],
  },
  // Scheduled imports: an import may create or change the stream it imports into.
  {
    verbs: ['create'],
    apiGroups: ['image.openshift.io'],
    resources: ['imagestreamimports', 'imagestreams'],
  },
  { verbs: ['update'], apiGroups: ['image.openshift.io'], resources: ['imagestreams'] },
  { verbs: ['get', 'list', 'watch', 'create', 'delete'], apiGroups: [''], resources: ['pods'] },
];

/** What the controller-manager's route admission may do, cluster-wide: read routes and write
 * their status.ingress (which router admitted them). */
export const ROUTE_ADMISSION_RULES: readonly PolicyRule[] = [
  { verbs: ['get', 'list', 'watch'], apiGroups: ['route.openshift.io'], resources: ['routes'] },
  {
    verbs: ['get', 'update', 'patch'],
    apiGroups: ['route.openshift.io'],
    resources: ['routes/status'],
  },
];

/** What a router may do, cluster-wide: read what it serves (it writes nothing; route status
 * is the admission controller's). */
export const ROUTER_RULES: readonly PolicyRule[] = [
  { verbs: ['get', 'list', 'watch'], apiGroups: ['route.openshift.io'], resources: ['routes'] },
  { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['services', 'endpoints'] },
];

/**
 * What the controller-manager's replication controllers may do, cluster-wide: read their
 * ReplicationControllers and ReplicaSets (a live read before adopting a pod) and write their
 * status; create, adopt, release and delete pods (patch and delete are in
 * CONTROLLER_MANAGER_RULES).
 */
export const REPLICATION_CONTROLLER_RULES: readonly PolicyRule[] = [
  { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['replicationcontrollers'] },
  {
    verbs: ['get', 'update', 'patch'],
    apiGroups: [''],
    resources: ['replicationcontrollers/status'],
  },
  { verbs: ['get', 'list', 'watch'], apiGroups: ['apps'], resources: ['replicasets'] },
  { verbs: ['get', 'update', 'patch'], apiGroups: ['apps'], resources: ['replicasets/status'] },
  { verbs: ['create'], apiGroups: [''], resources: ['pods'] },
];

/**
 * What the controller-manager's garbage collector may do, cluster-wide, besides reading and
 * deleting pods (CONTROLLER_MANAGER_RULES): delete ReplicationControllers and ReplicaSets whose
 * owners are gone (or drop the dangling references), and watch the owner kinds it reacts to.
 */
export const GARBAGE_COLLECTOR_RULES: readonly PolicyRule[] = [
  { verbs: ['get', 'patch', 'delete'], apiGroups: [''], resources: ['replicationcontrollers'] },
  { verbs: ['get', 'patch', 'delete'], apiGroups: ['apps'], resources: ['replicasets'] },
  {
    verbs: ['get', 'list', 'watch'],
    apiGroups: ['apps.openshift.io'],
    resources: ['deploymentconfigs'],
  },
  { verbs: ['get', 'list', 'watch'], apiGroups: ['apps'], resources: ['deployments'] },
];

/**
 * What the controller-manager's deployment controllers may do, cluster-wide: follow
 * DeploymentConfigs and Deployments (the image trigger writes a DeploymentConfig's template,
 * the controllers their status and revision annotation), make, scale and delete their
 * ReplicationControllers and ReplicaSets, read image streams for ImageChange triggers, and run
 * lifecycle hook pods.
 */
export const DEPLOYMENT_CONTROLLER_RULES: readonly PolicyRule[] = [
  {
    verbs: ['get', 'list', 'watch', 'update'],
    apiGroups: ['apps.openshift.io'],
    resources: ['deploymentconfigs'],
  },
  {
    verbs: ['get', 'update', 'patch'],
    apiGroups: ['apps.openshift.io'],
    resources: ['deploymentconfigs/status'],
  },
  { verbs: ['get', 'list', 'watch', 'update'], apiGroups: ['apps'], resources: ['deployments'] },
  { verbs: ['get', 'update', 'patch'], apiGroups: ['apps'], resources: ['deployments/status'] },
  {
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    apiGroups: [''],
    resources: ['replicationcontrollers'],
  },
  {
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    apiGroups: ['apps'],
    resources: ['replicasets'],
  },
  {
    verbs: ['get', 'list', 'watch'],
    apiGroups: ['image.openshift.io'],
    resources: ['imagestreams'],
  },
  { verbs: ['get', 'list', 'watch', 'create', 'delete'], apiGroups: [''], resources: ['pods'] },
];

/** The `openshift` project holds the shared builder images: every user may read its streams. */
export const SHARED_IMAGES_RULES: readonly PolicyRule[] = [
  {
    verbs: ['get', 'list', 'watch'],
    apiGroups: ['image.openshift.io'],
    resources: ['imagestreams', 'imagestreamtags'],
  },
  // ... pull its images from the cluster registry ...
  { verbs: ['get'], apiGroups: ['image.openshift.io'], resources: ['imagestreams/layers'] },
  // ... and its templates (`slipway process openshift//NAME`).
  {
    verbs: ['get', 'list', 'watch'],
    apiGroups: ['template.openshift.io'],
    resources: ['templates'],
  },
];

/**
 * Reaching into a pod's containers, as OpenShift's `view` and `edit` roles grant it: reading
 * logs is `get` on `pods/log`; `exec` and `rsh` are `create` on `pods/exec`, `port-forward` on
 * `pods/portforward` (also for the WebSocket GET, as Kubernetes now requires). Nodes and the
 * controllers get none of them: the node agent serves these streams, it never asks for them.
 * Bind these per project.
 */
export const POD_LOG_RULES: readonly PolicyRule[] = [
  { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'] },
  { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] },
];
export const POD_EXEC_RULES: readonly PolicyRule[] = [
  ...POD_LOG_RULES,
  { verbs: ['create'], apiGroups: [''], resources: ['pods/exec', 'pods/portforward'] },
];

export const DEFAULT_BINDINGS: readonly Binding[] = [
  { subjects: [{ kind: 'Group', name: CLUSTER_ADMINS_GROUP }], rules: CLUSTER_ADMIN_RULES },
  { subjects: [{ kind: 'Group', name: NODE_BOOTSTRAPPERS_GROUP }], rules: NODE_BOOTSTRAP_RULES },
  {
    subjects: [{ kind: 'User', name: CONTROLLER_MANAGER_USER }],
    rules: CONTROLLER_MANAGER_RULES,
  },
  { subjects: [{ kind: 'User', name: CONTROLLER_MANAGER_USER }], rules: BUILD_CONTROLLER_RULES },
  { subjects: [{ kind: 'User', name: CONTROLLER_MANAGER_USER }], rules: ROUTE_ADMISSION_RULES },
  {
    subjects: [{ kind: 'User', name: CONTROLLER_MANAGER_USER }],
    rules: REPLICATION_CONTROLLER_RULES,
  },
  { subjects: [{ kind: 'User', name: CONTROLLER_MANAGER_USER }], rules: GARBAGE_COLLECTOR_RULES },
  {
    subjects: [{ kind: 'User', name: CONTROLLER_MANAGER_USER }],
    rules: DEPLOYMENT_CONTROLLER_RULES,
  },
  { subjects: [{ kind: 'User', name: ROUTER_USER }], rules: ROUTER_RULES },
  {
    subjects: [{ kind: 'Group', name: AUTHENTICATED_GROUP }],
    namespace: SHARED_IMAGES_NAMESPACE,
    rules: SHARED_IMAGES_RULES,
  },
];

function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  return (
    (rule.verbs.includes('*') || rule.verbs.includes(attrs.verb)) &&
    (rule.apiGroups.includes('*') || rule.apiGroups.includes(attrs.group)) &&
    (rule.resources.includes('*') ||
      rule.resources.includes(resource) ||
      (attrs.subresource !== undefined && rule.resources.includes(`${attrs.resource}/*`)))
  );
}

function bindingApplies(binding: Binding, user: UserInfo, attrs: RequestAttributes): boolean {
  if (binding.namespace !== undefined && binding.namespace !== attrs.namespace) return false;
  return binding.subjects.some((s) =>
    s.kind === 'User' ? s.name === user.name : user.groups.includes(s.name),
  );
}

/** Decides from a list of bindings; deny unless some rule allows. */
export class RuleAuthorizer {
  private readonly bindings: readonly Binding[];

  constructor(bindings: readonly Binding[] = DEFAULT_BINDINGS) {
    this.bindings = bindings;
  }

  allows(user: UserInfo, attrs: RequestAttributes): boolean {
    return this.bindings.some(
      (b) => bindingApplies(b, user, attrs) && b.rules.some((r) => ruleAllows(r, attrs)),
    );
  }

  /** Throws a Forbidden ApiError naming the user, verb and resource unless allowed. */
  authorize(user: UserInfo, attrs: RequestAttributes): void {
    if (!this.allows(user, attrs)) throw forbidden(user, attrs);
  }
}

/** `User "x" cannot list resource "pods" in project "y"`, as OpenShift words it. */
export function forbidden(user: UserInfo, attrs: RequestAttributes): ApiError {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const group = attrs.group ? ` in API group "${attrs.group}"` : '';
  const scope = attrs.namespace ? ` in project "${attrs.namespace}"` : ' at the cluster scope';
  const what = attrs.name ? `${resource} "${attrs.name}"` : resource;
  const message = `${what} is forbidden: User "${user.name}" cannot ${attrs.verb} resource "${resource}"${group}${scope}`;
  return new ApiError('Forbidden', message, {
    details: {
      kind: attrs.resource,
      group: attrs.group,
      ...(attrs.name ? { name: attrs.name } : {}),
    },
  });
}
