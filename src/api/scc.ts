/**
 * The names of OpenShift's security context constraints as Slipway uses them: the per-project
 * annotations that carry a project's UID range and MCS label, the pod annotation that records
 * which policy admitted a pod, and the grant of a policy to a project. Pure, shared by the
 * master's admission, the CLI and the node agent.
 */
import type { Pod } from './kinds/pod.js';
import type { ApiObject } from './meta.js';
import { restrictedPolicy, type SecurityPolicy } from './security-policy.js';

/** The project's UIDs, `FIRST/COUNT`: `1000650000/10000`. */
export const UID_RANGE_ANNOTATION = 'openshift.io/sa.scc.uid-range';
/** The project's groups (fsGroup, supplemental groups), `FIRST/COUNT`. */
export const SUPPLEMENTAL_GROUPS_ANNOTATION = 'openshift.io/sa.scc.supplemental-groups';
/** The project's SELinux MCS level: `s0:c26,c5`. */
export const MCS_ANNOTATION = 'openshift.io/sa.scc.mcs';
/** On a pod: the policy that admitted it (`restricted` or `anyuid`), written by the master. */
export const POD_SCC_ANNOTATION = 'openshift.io/scc';
/**
 * On a project: the policy its pods get when it is not `restricted`. Only cluster
 * administrators may set it (`slipway adm policy add-scc-to-project anyuid -n P`).
 */
export const PROJECT_SCC_ANNOTATION = 'security.slipway.io/scc';

export const SCC_NAMES = ['restricted', 'anyuid'] as const;
export type SccName = (typeof SCC_NAMES)[number];

/** Annotations on a project that only the server and cluster administrators may write. */
export const PROJECT_SECURITY_ANNOTATIONS: readonly string[] = [
  PROJECT_SCC_ANNOTATION,
  UID_RANGE_ANNOTATION,
  SUPPLEMENTAL_GROUPS_ANNOTATION,
  MCS_ANNOTATION,
];

export function isSccName(value: unknown): value is SccName {
  return typeof value === 'string' && (SCC_NAMES as readonly string[]).includes(value);
}

/**
 * OpenShift's `anyuid`: containers run as the image's user, root included; everything else is
 * as restricted as `restricted` (no privileged, no host namespaces, ports or paths, no added
 * capabilities, no privilege escalation).
 */
export const anyuidPolicy: SecurityPolicy = Object.freeze({
  name: 'anyuid',
  allowRunAsRoot: true,
  allowedCapabilities: Object.freeze([]),
});

export interface IdBlock {
  /** The first id of the block. */
  start: number;
  /** How many ids it holds. */
  size: number;
}

/** Parses `FIRST/COUNT` (OpenShift also writes `FIRST-LAST`; both are read). */
export function parseIdBlock(value: string | undefined): IdBlock | undefined {
  if (value === undefined) return undefined;
  const slash = /^(\d{1,10})\/(\d{1,10})$/.exec(value.trim());
  const dash = /^(\d{1,10})-(\d{1,10})$/.exec(value.trim());
  let start: number;
  let size: number;
  if (slash) {
    start = Number(slash[1]);
    size = Number(slash[2]);
  } else if (dash) {
    start = Number(dash[1]);
    size = Number(dash[2]) - start + 1;
  } else return undefined;
  if (size < 1 || start + size - 1 > 0xffffffff) return undefined;
  return { start, size };
}

export function formatIdBlock(block: IdBlock): string {
  return `${block.start}/${block.size}`;
}

/** The policy a project's pods get: its grant, else restricted. */
export function projectSccName(project: ApiObject): SccName {
  const granted = project.metadata.annotations?.[PROJECT_SCC_ANNOTATION];
  return granted === 'anyuid' ? 'anyuid' : 'restricted';
}

/**
 * The policy a pod was admitted under, from its `openshift.io/scc` annotation, for nodes that
 * check it again before running it: `anyuid` allows root; anything else is `restricted`, with
 * `uidRange` when the caller knows the project's range.
 */
export function podSecurityPolicy(pod: Pod, uidRange?: IdBlock): SecurityPolicy {
  if (pod.metadata.annotations?.[POD_SCC_ANNOTATION] === 'anyuid') return anyuidPolicy;
  if (!uidRange) return restrictedPolicy;
  return {
    ...restrictedPolicy,
    uidRange: { min: uidRange.start, max: uidRange.start + uidRange.size - 1 },
  };
}
