/**
 * The pod security policy every node enforces (OpenShift's `restricted` SCC, roughly): no
 * privileged containers, no host namespaces, ports or paths, no added capabilities, no privilege
 * escalation, no root unless an admin grants it. Pure, so the master's admission and the agent
 * apply the same rules and report the same field paths.
 */
import { ApiError, type StatusCause } from './errors.js';
import type { Container, Pod, PodSpec } from './kinds/pod.js';

export interface SecurityPolicy {
  /** Shown in messages: "... not allowed by the restricted policy". */
  name: string;
  /** May containers run as UID 0 (explicitly, or because the assigned UID is 0)? */
  allowRunAsRoot: boolean;
  /** When set, an explicit runAsUser must fall in this inclusive range. */
  uidRange?: { min: number; max: number };
  /** Capabilities a container may add back after everything is dropped. Default: none. */
  allowedCapabilities: readonly string[];
}

export const restrictedPolicy: SecurityPolicy = Object.freeze({
  name: 'restricted',
  allowRunAsRoot: false,
  allowedCapabilities: Object.freeze([]),
});

const FORBIDDEN = 'FieldValueForbidden';

function forbid(causes: StatusCause[], field: string, what: string, policy: SecurityPolicy): void {
  causes.push({
    field,
    reason: FORBIDDEN,
    message: `Forbidden: ${what} not allowed by the ${policy.name} policy`,
  });
}

/** Reads an optional field of a loosely typed object (specs keep unknown fields). */
function get(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null
    ? (obj as Record<string, unknown>)[key]
    : undefined;
}

function checkUser(
  causes: StatusCause[],
  field: string,
  uid: number | undefined,
  policy: SecurityPolicy,
): void {
  if (uid === undefined) return;
  if (uid === 0 && !policy.allowRunAsRoot) {
    forbid(causes, field, 'running as root (UID 0) is', policy);
    return;
  }
  const range = policy.uidRange;
  if (range && (uid < range.min || uid > range.max)) {
    causes.push({
      field,
      reason: FORBIDDEN,
      message: `Forbidden: ${uid} is not an allowed user: must be in the range [${range.min}, ${range.max}] of the ${policy.name} policy`,
    });
  }
}

function checkProfiles(
  causes: StatusCause[],
  base: string,
  sc: unknown,
  policy: SecurityPolicy,
): void {
  const seccomp = get(get(sc, 'seccompProfile'), 'type');
  if (seccomp === 'Unconfined') {
    forbid(causes, `${base}.seccompProfile.type`, 'an unconfined seccomp profile is', policy);
  }
  const apparmor = get(get(sc, 'appArmorProfile'), 'type');
  if (apparmor === 'Unconfined') {
    forbid(causes, `${base}.appArmorProfile.type`, 'an unconfined AppArmor profile is', policy);
  }
  if (get(get(sc, 'windowsOptions'), 'hostProcess') === true) {
    forbid(causes, `${base}.windowsOptions.hostProcess`, 'host processes are', policy);
  }
}

function checkContainer(
  causes: StatusCause[],
  base: string,
  c: Container,
  policy: SecurityPolicy,
): void {
  const sc = c.securityContext;
  const scField = `${base}.securityContext`;
  if (sc?.privileged === true)
    forbid(causes, `${scField}.privileged`, 'privileged containers are', policy);
  if (sc?.allowPrivilegeEscalation === true) {
    forbid(causes, `${scField}.allowPrivilegeEscalation`, 'privilege escalation is', policy);
  }
  const added = (sc?.capabilities?.add ?? []).filter((cap) => !capabilityAllowed(cap, policy));
  if (added.length > 0) {
    forbid(
      causes,
      `${scField}.capabilities.add`,
      `adding capabilities (${added.join(', ')}) is`,
      policy,
    );
  }
  checkUser(causes, `${scField}.runAsUser`, sc?.runAsUser, policy);
  if (sc?.runAsNonRoot === true && sc.runAsUser === 0) {
    causes.push({
      field: `${scField}.runAsNonRoot`,
      reason: 'FieldValueInvalid',
      message: 'Invalid value: true: runAsNonRoot conflicts with runAsUser 0',
    });
  }
  const procMount = get(sc, 'procMount');
  if (procMount !== undefined && procMount !== 'Default') {
    forbid(causes, `${scField}.procMount`, 'an unmasked /proc is', policy);
  }
  checkProfiles(causes, scField, sc, policy);
  (c.ports ?? []).forEach((p, i) => {
    if (p.hostPort !== undefined)
      forbid(causes, `${base}.ports[${i}].hostPort`, 'host ports are', policy);
  });
}

function capabilityAllowed(cap: string, policy: SecurityPolicy): boolean {
  const norm = (s: string): string => s.toUpperCase().replace(/^CAP_/, '');
  return policy.allowedCapabilities.some((a) => norm(a) === norm(cap));
}

/**
 * Every way `spec` asks for more than `policy` grants, as field errors
 * (`spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not
 * allowed by the restricted policy`). An empty list means the pod is acceptable.
 */
export function checkPodSecurity(
  spec: PodSpec,
  policy: SecurityPolicy = restrictedPolicy,
  options: { assigned?: { uid: number; gid: number } } = {},
): StatusCause[] {
  const causes: StatusCause[] = [];
  if (spec.hostNetwork === true) forbid(causes, 'spec.hostNetwork', 'host networking is', policy);
  if (spec.hostPID === true)
    forbid(causes, 'spec.hostPID', 'sharing the host PID namespace is', policy);
  if (spec.hostIPC === true)
    forbid(causes, 'spec.hostIPC', 'sharing the host IPC namespace is', policy);

  const psc = spec.securityContext;
  checkUser(causes, 'spec.securityContext.runAsUser', psc?.runAsUser, policy);
  if (psc?.runAsNonRoot === true && psc.runAsUser === 0) {
    causes.push({
      field: 'spec.securityContext.runAsNonRoot',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: true: runAsNonRoot conflicts with runAsUser 0',
    });
  }
  const sysctls = get(psc, 'sysctls');
  if (Array.isArray(sysctls) && sysctls.length > 0) {
    forbid(causes, 'spec.securityContext.sysctls', 'setting sysctls is', policy);
  }
  checkProfiles(causes, 'spec.securityContext', psc, policy);

  (spec.volumes ?? []).forEach((v, i) => {
    if (v.hostPath !== undefined)
      forbid(causes, `spec.volumes[${i}].hostPath`, 'hostPath volumes are', policy);
  });
  (spec.initContainers ?? []).forEach((c, i) =>
    checkContainer(causes, `spec.initContainers[${i}]`, c, policy),
  );
  spec.containers.forEach((c, i) => checkContainer(causes, `spec.containers[${i}]`, c, policy));

  // The UID the node assigns applies to containers that name none; it must pass the policy too.
  const assigned = options.assigned;
  if (assigned && psc?.runAsUser === undefined) {
    const groups: ['initContainers' | 'containers', Container[]][] = [
      ['initContainers', spec.initContainers ?? []],
      ['containers', spec.containers],
    ];
    for (const [group, list] of groups) {
      list.forEach((c, i) => {
        if (c.securityContext?.runAsUser !== undefined) return;
        if (assigned.uid === 0 && !policy.allowRunAsRoot) {
          forbid(
            causes,
            `spec.${group}[${i}].securityContext.runAsUser`,
            'running as root (UID 0, the UID assigned to the project) is',
            policy,
          );
        }
      });
    }
  }
  return causes;
}

/**
 * The UID a container runs as: its own runAsUser, else the pod's, else `assignedUid` (the UID the
 * platform assigned the project; the image's USER is never used, so it cannot select root).
 */
export function effectiveUser(
  spec: PodSpec,
  container: Container,
  assigned: { uid: number; gid: number },
): { uid: number; gid: number } {
  return {
    uid: container.securityContext?.runAsUser ?? spec.securityContext?.runAsUser ?? assigned.uid,
    gid: container.securityContext?.runAsGroup ?? spec.securityContext?.runAsGroup ?? assigned.gid,
  };
}

/** Refusals as one error a client understands: 403 Forbidden naming every offending field. */
export function podSecurityError(
  pod: Pod,
  causes: StatusCause[],
  policy: SecurityPolicy = restrictedPolicy,
): ApiError {
  const name = pod.metadata.name ?? '';
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  return new ApiError(
    'Forbidden',
    `pods "${name}" is forbidden: violates the ${policy.name} policy: ${summary}`,
    {
      details: { name, kind: 'pods', causes },
    },
  );
}

/** Throws podSecurityError when the pod asks for more than the policy grants. */
export function assertPodSecurity(pod: Pod, policy: SecurityPolicy = restrictedPolicy): void {
  const causes = checkPodSecurity(pod.spec, policy);
  if (causes.length > 0) throw podSecurityError(pod, causes, policy);
}
