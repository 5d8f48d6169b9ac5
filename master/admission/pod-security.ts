/**
 * Pod security admission, after OpenShift's SCC admission: every pod is admitted under its
 * project's policy (`restricted` unless a cluster administrator granted the project `anyuid`),
 * defaulted from the project's UID block, checked with the shared policy
 * (src/api/security-policy.ts) and stamped `openshift.io/scc: POLICY`. Updates may change only
 * what Kubernetes lets a pod update change. Pure: the caller reads the project.
 */
import { ApiError, type StatusCause } from '../../src/api/errors.js';
import type { Container, Pod } from '../../src/api/kinds/pod.js';
import { jsonEqual } from '../../src/api/merge-patch.js';
import type { ApiObject } from '../../src/api/meta.js';
import {
  anyuidPolicy,
  MCS_ANNOTATION,
  parseIdBlock,
  POD_SCC_ANNOTATION,
  projectSccName,
  SUPPLEMENTAL_GROUPS_ANNOTATION,
  UID_RANGE_ANNOTATION,
  type IdBlock,
  type SccName,
} from '../../src/api/scc.js';
import {
  checkPodSecurity,
  restrictedPolicy,
  type SecurityPolicy,
} from '../../src/api/security-policy.js';

type PodSecurityContext = NonNullable<Pod['spec']['securityContext']>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function allContainers(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}

/**
 * `pods "web" is forbidden: unable to validate against any security context constraint:
 * [spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not
 * allowed by the restricted policy]`, with every cause in details.causes.
 */
export function podForbidden(pod: Pod, causes: StatusCause[]): ApiError {
  const name = pod.metadata.name ?? '';
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  return new ApiError(
    'Forbidden',
    `pods "${name}" is forbidden: unable to validate against any security context constraint: [${list}]`,
    { details: { name, kind: 'pods', causes } },
  );
}

function checkGroups(
  causes: StatusCause[],
  psc: PodSecurityContext,
  groups: IdBlock,
  policy: SecurityPolicy,
): void {
  const max = groups.start + groups.size - 1;
  const bad = (field: string, gid: number): void => {
    causes.push({
      field,
      reason: 'FieldValueForbidden',
      message: `Forbidden: ${gid} is not an allowed group: must be in the range [${groups.start}, ${max}] of the ${policy.name} policy`,
    });
  };
  if (psc.fsGroup !== undefined && (psc.fsGroup < groups.start || psc.fsGroup > max))
    bad('spec.securityContext.fsGroup', psc.fsGroup);
  (psc.supplementalGroups ?? []).forEach((gid, i) => {
    if (gid < groups.start || gid > max) bad(`spec.securityContext.supplementalGroups[${i}]`, gid);
  });
}

/**
 * Admits a new pod into `project`, changing it in place, or throws 403 Forbidden naming every
 * offending field and the policy.
 *
 * restricted: a pod and its containers that name no runAsUser run as the first UID of the
 * project's block (an explicit one must lie in the block, so never root); fsGroup defaults to
 * the first group of the block, and explicit groups must lie in it. anyuid: runAsUser and groups
 * are left as given, so containers run as the image's user, root included. Both: the project's
 * MCS level, and no privileged containers, host namespaces, host ports, hostPath volumes, added
 * capabilities or privilege escalation.
 */
export function admitPod(pod: Pod, project: ApiObject): SccName {
  const scc = projectSccName(project);
  const annotations = project.metadata.annotations ?? {};
  const spec = pod.spec;
  const causes: StatusCause[] = [];
  let policy: SecurityPolicy = anyuidPolicy;
  const psc: PodSecurityContext = { ...spec.securityContext };

  if (scc === 'restricted') {
    const uids = parseIdBlock(annotations[UID_RANGE_ANNOTATION]);
    if (!uids) {
      throw podForbidden(pod, [
        {
          message: `the project ${project.metadata.name ?? ''} has no valid ${UID_RANGE_ANNOTATION} annotation, so the restricted policy cannot assign a user`,
        },
      ]);
    }
    const groups = parseIdBlock(annotations[SUPPLEMENTAL_GROUPS_ANNOTATION]) ?? uids;
    policy = {
      ...restrictedPolicy,
      uidRange: { min: uids.start, max: uids.start + uids.size - 1 },
    };
    psc.runAsUser ??= uids.start;
    psc.fsGroup ??= groups.start;
    for (const c of allContainers(pod)) {
      if (c.securityContext?.runAsUser === undefined)
        c.securityContext = { ...c.securityContext, runAsUser: psc.runAsUser };
    }
    checkGroups(causes, psc, groups, policy);
  }
  const mcs = annotations[MCS_ANNOTATION];
  const selinux = isPlainObject(psc.seLinuxOptions) ? psc.seLinuxOptions : {};
  if (mcs && selinux.level === undefined) psc.seLinuxOptions = { ...selinux, level: mcs };
  if (Object.keys(psc).length > 0) spec.securityContext = psc;

  causes.unshift(...checkPodSecurity(spec, policy));
  if (causes.length > 0) throw podForbidden(pod, causes);
  pod.metadata.annotations = { ...pod.metadata.annotations, [POD_SCC_ANNOTATION]: scc };
  return scc;
}

// ---------------------------------------------------------------------------------------------
// Updates

const UPDATABLE =
  'pod updates may not change fields other than spec.containers[*].image, ' +
  'spec.initContainers[*].image, spec.activeDeadlineSeconds or spec.tolerations ' +
  '(only additions to existing tolerations)';

/** Paths where two JSON values differ, most specific first found, at most `limit`. */
export function diffPaths(a: unknown, b: unknown, path: string, limit = 3): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, at: string): void => {
    if (out.length >= limit || jsonEqual(x, y)) return;
    if (Array.isArray(x) && Array.isArray(y) && x.length === y.length) {
      x.forEach((v, i) => walk(v, y[i], `${at}[${i}]`));
      return;
    }
    if (isPlainObject(x) && isPlainObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
      for (const k of keys) walk(x[k], y[k], `${at}.${k}`);
      return;
    }
    out.push(at);
  };
  walk(a, b, path);
  return out;
}

/** Fields admission set at creation and an update left out come back (as defaults would). */
function refill(current: Pod, next: Pod): void {
  const was = current.spec.securityContext;
  if (was) {
    const psc: PodSecurityContext = { ...next.spec.securityContext };
    for (const key of ['runAsUser', 'fsGroup', 'seLinuxOptions'] as const) {
      if (was[key] !== undefined && psc[key] === undefined) psc[key] = was[key] as never;
    }
    if (Object.keys(psc).length > 0) next.spec.securityContext = psc;
  }
  const groups = [
    [current.spec.containers, next.spec.containers],
    [current.spec.initContainers ?? [], next.spec.initContainers ?? []],
  ] as const;
  for (const [before, after] of groups) {
    for (const c of after) {
      const uid = before.find((b) => b.name === c.name)?.securityContext?.runAsUser;
      if (uid !== undefined && c.securityContext?.runAsUser === undefined)
        c.securityContext = { ...c.securityContext, runAsUser: uid };
    }
  }
}

/**
 * Checks an update of a pod (not of its status), changing `next` in place: the policy that
 * admitted the pod stays recorded, what admission set comes back when the update leaves it out,
 * and the spec may change only in container images, activeDeadlineSeconds (set, or lowered) and
 * added tolerations, as in Kubernetes. Anything else is 422 Invalid naming the field.
 */
export function admitPodUpdate(current: Pod, next: Pod): void {
  const name = current.metadata.name ?? '';
  const recorded = current.metadata.annotations?.[POD_SCC_ANNOTATION];
  const asked = next.metadata.annotations?.[POD_SCC_ANNOTATION];
  if (asked === undefined && recorded !== undefined) {
    next.metadata.annotations = { ...next.metadata.annotations, [POD_SCC_ANNOTATION]: recorded };
  } else if (asked !== recorded) {
    throw ApiError.invalid('Pod', name, [
      {
        field: `metadata.annotations[${POD_SCC_ANNOTATION}]`,
        message: `Invalid value: "${asked}": field is immutable`,
        reason: 'FieldValueInvalid',
      },
    ]);
  }
  refill(current, next);

  const causes: StatusCause[] = [];
  const before = current.spec.activeDeadlineSeconds;
  const after = next.spec.activeDeadlineSeconds;
  if (before !== undefined && after === undefined) {
    causes.push({
      field: 'spec.activeDeadlineSeconds',
      message: 'Invalid value: "null": must not update from a positive integer to nil value',
      reason: 'FieldValueInvalid',
    });
  } else if (before !== undefined && after !== undefined && after > before) {
    causes.push({
      field: 'spec.activeDeadlineSeconds',
      message: `Invalid value: ${after}: must be less than or equal to previous value`,
      reason: 'FieldValueInvalid',
    });
  }

  // Compare with the allowed changes taken back out.
  const spec = structuredClone(next.spec) as Record<string, unknown> & Pod['spec'];
  const sameImages = (was: Container[] | undefined, is: Container[] | undefined): void => {
    (is ?? []).forEach((c, i) => {
      const old = was?.[i];
      if (old) c.image = old.image;
    });
  };
  sameImages(current.spec.containers, spec.containers);
  sameImages(current.spec.initContainers, spec.initContainers);
  if (before === undefined) delete spec.activeDeadlineSeconds;
  else spec.activeDeadlineSeconds = before;
  const oldTolerations = (current.spec as Record<string, unknown>).tolerations;
  const newTolerations = spec.tolerations;
  if (
    Array.isArray(newTolerations) &&
    (oldTolerations === undefined ||
      (Array.isArray(oldTolerations) &&
        oldTolerations.every((t) => newTolerations.some((n) => jsonEqual(n, t)))))
  ) {
    if (oldTolerations === undefined) delete spec.tolerations;
    else spec.tolerations = oldTolerations;
  }
  for (const field of diffPaths(current.spec, spec, 'spec')) {
    causes.push({ field, message: `Forbidden: ${UPDATABLE}`, reason: 'FieldValueForbidden' });
  }
  if (causes.length > 0) throw ApiError.invalid('Pod', name, causes);
}
