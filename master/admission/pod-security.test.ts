import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import type { Pod } from '../../src/api/kinds/pod.js';
import type { ApiObject } from '../../src/api/meta.js';
import {
  MCS_ANNOTATION,
  POD_SCC_ANNOTATION,
  PROJECT_SCC_ANNOTATION,
  SUPPLEMENTAL_GROUPS_ANNOTATION,
  UID_RANGE_ANNOTATION,
} from '../../src/api/scc.js';
import { admitPod, admitPodUpdate, diffPaths } from './pod-security.js';

const FIRST = 1000650000;

function project(grant?: string, extra: Record<string, string> = {}): ApiObject {
  return {
    apiVersion: 'project.openshift.io/v1',
    kind: 'Project',
    metadata: {
      name: 'demo',
      annotations: {
        [UID_RANGE_ANNOTATION]: `${FIRST}/10000`,
        [SUPPLEMENTAL_GROUPS_ANNOTATION]: `${FIRST}/10000`,
        [MCS_ANNOTATION]: 's0:c26,c5',
        ...(grant ? { [PROJECT_SCC_ANNOTATION]: grant } : {}),
        ...extra,
      },
    },
  };
}

function pod(spec: Partial<Pod['spec']> = {}, container: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'demo' },
    spec: { containers: [{ name: 'app', image: 'busybox:1', ...container }], ...spec },
  };
}

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('admitPod under restricted', () => {
  it("runs containers as the project's first UID, with its groups and MCS level", () => {
    const p = pod({ initContainers: [{ name: 'init', image: 'busybox:1' }] });
    expect(admitPod(p, project())).toBe('restricted');
    expect(p.spec.securityContext).toEqual({
      runAsUser: FIRST,
      fsGroup: FIRST,
      seLinuxOptions: { level: 's0:c26,c5' },
    });
    expect(p.spec.containers[0]!.securityContext).toEqual({ runAsUser: FIRST });
    expect(p.spec.initContainers![0]!.securityContext).toEqual({ runAsUser: FIRST });
    expect(p.metadata.annotations).toEqual({ [POD_SCC_ANNOTATION]: 'restricted' });
  });

  it('keeps UIDs and groups in the range, and containers inherit the pod UID', () => {
    const p = pod({ securityContext: { runAsUser: FIRST + 5, fsGroup: FIRST + 7 } }, {});
    admitPod(p, project());
    expect(p.spec.securityContext).toMatchObject({ runAsUser: FIRST + 5, fsGroup: FIRST + 7 });
    expect(p.spec.containers[0]!.securityContext?.runAsUser).toBe(FIRST + 5);
    const q = pod({}, { securityContext: { runAsUser: FIRST + 9 } });
    admitPod(q, project());
    expect(q.spec.containers[0]!.securityContext?.runAsUser).toBe(FIRST + 9);
  });

  it('overwrites an scc annotation the client sent', () => {
    const p = pod();
    p.metadata.annotations = { [POD_SCC_ANNOTATION]: 'anyuid', keep: 'me' };
    admitPod(p, project());
    expect(p.metadata.annotations).toEqual({ [POD_SCC_ANNOTATION]: 'restricted', keep: 'me' });
  });

  it('refuses privileged containers naming the field and the policy', () => {
    const err = refusal(() =>
      admitPod(pod({}, { securityContext: { privileged: true } }), project()),
    );
    expect(err.reason).toBe('Forbidden');
    expect(err.message).toBe(
      'pods "web" is forbidden: unable to validate against any security context constraint: ' +
        '[spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the restricted policy]',
    );
    expect(err.details?.causes?.map((c) => c.field)).toEqual([
      'spec.containers[0].securityContext.privileged',
    ]);
  });

  it('refuses root and UIDs outside the range', () => {
    const root = refusal(() => admitPod(pod({}, { securityContext: { runAsUser: 0 } }), project()));
    expect(root.message).toContain(
      'spec.containers[0].securityContext.runAsUser: Forbidden: running as root (UID 0) is not allowed by the restricted policy',
    );
    const podRoot = refusal(() => admitPod(pod({ securityContext: { runAsUser: 0 } }), project()));
    expect(podRoot.details?.causes?.map((c) => c.field)).toContain(
      'spec.securityContext.runAsUser',
    );
    const outside = refusal(() =>
      admitPod(pod({}, { securityContext: { runAsUser: 1001 } }), project()),
    );
    expect(outside.message).toContain(
      `1001 is not an allowed user: must be in the range [${FIRST}, ${FIRST + 9999}] of the restricted policy`,
    );
  });

  it('refuses groups outside the range', () => {
    const err = refusal(() =>
      admitPod(
        pod({ securityContext: { fsGroup: 0, supplementalGroups: [FIRST, 10] } }),
        project(),
      ),
    );
    expect(err.details?.causes?.map((c) => c.field)).toEqual([
      'spec.securityContext.fsGroup',
      'spec.securityContext.supplementalGroups[1]',
    ]);
  });

  it('refuses every host access and extra privilege at once', () => {
    const err = refusal(() =>
      admitPod(
        pod(
          {
            hostNetwork: true,
            hostPID: true,
            hostIPC: true,
            volumes: [{ name: 'root', hostPath: { path: '/' } }],
          },
          {
            ports: [{ containerPort: 80, hostPort: 80 }],
            securityContext: {
              capabilities: { add: ['NET_ADMIN'] },
              allowPrivilegeEscalation: true,
            },
          },
        ),
        project(),
      ),
    );
    expect(err.details?.causes?.map((c) => c.field)).toEqual([
      'spec.hostNetwork',
      'spec.hostPID',
      'spec.hostIPC',
      'spec.volumes[0].hostPath',
      'spec.containers[0].securityContext.allowPrivilegeEscalation',
      'spec.containers[0].securityContext.capabilities.add',
      'spec.containers[0].ports[0].hostPort',
    ]);
  });

  it('refuses pods in a project without a UID range', () => {
    const bare: ApiObject = { apiVersion: 'v1', kind: 'Project', metadata: { name: 'demo' } };
    const err = refusal(() => admitPod(pod(), bare));
    expect(err.reason).toBe('Forbidden');
    expect(err.message).toContain(`has no valid ${UID_RANGE_ANNOTATION} annotation`);
  });
});

describe('admitPod under anyuid', () => {
  it('leaves the user to the image, root allowed, and records the policy', () => {
    const p = pod();
    expect(admitPod(p, project('anyuid'))).toBe('anyuid');
    expect(p.spec.containers[0]!.securityContext).toBeUndefined();
    expect(p.spec.securityContext).toEqual({ seLinuxOptions: { level: 's0:c26,c5' } });
    expect(p.metadata.annotations?.[POD_SCC_ANNOTATION]).toBe('anyuid');
    const root = pod({}, { securityContext: { runAsUser: 0 } });
    admitPod(root, project('anyuid'));
    expect(root.spec.containers[0]!.securityContext?.runAsUser).toBe(0);
  });

  it('still refuses privileged containers, host namespaces and hostPath', () => {
    const err = refusal(() =>
      admitPod(
        pod(
          { hostNetwork: true, volumes: [{ name: 'd', hostPath: { path: '/var/run' } }] },
          { securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } },
        ),
        project('anyuid'),
      ),
    );
    expect(err.message).toContain(
      'spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the anyuid policy',
    );
    expect(err.details?.causes?.map((c) => c.field)).toEqual([
      'spec.hostNetwork',
      'spec.volumes[0].hostPath',
      'spec.containers[0].securityContext.privileged',
      'spec.containers[0].securityContext.capabilities.add',
    ]);
  });
});

describe('admitPodUpdate', () => {
  function admitted(): Pod {
    const p = pod({ activeDeadlineSeconds: 100 });
    admitPod(p, project());
    return p;
  }

  it('allows image changes and refills what admission set', () => {
    const current = admitted();
    const next = pod({ activeDeadlineSeconds: 50 }, { image: 'busybox:2' });
    next.metadata.labels = { a: 'b' };
    admitPodUpdate(current, next);
    expect(next.spec.containers[0]!.securityContext?.runAsUser).toBe(FIRST);
    expect(next.spec.securityContext).toEqual(current.spec.securityContext);
    expect(next.metadata.annotations?.[POD_SCC_ANNOTATION]).toBe('restricted');
  });

  it('refuses other spec changes naming the field', () => {
    const current = admitted();
    const next = structuredClone(current);
    next.spec.containers[0]!.securityContext = { runAsUser: 0 };
    next.spec.nodeName = 'n1';
    const err = refusal(() => admitPodUpdate(current, next));
    expect(err.reason).toBe('Invalid');
    expect(err.details?.causes?.map((c) => c.field)).toEqual([
      'spec.containers[0].securityContext.runAsUser',
      'spec.nodeName',
    ]);
    expect(err.message).toContain(
      'Pod "web" is invalid: spec.containers[0].securityContext.runAsUser: Forbidden: pod updates may not change fields other than spec.containers[*].image',
    );
  });

  it('refuses raising or removing activeDeadlineSeconds', () => {
    const current = admitted();
    const raised = structuredClone(current);
    raised.spec.activeDeadlineSeconds = 200;
    expect(refusal(() => admitPodUpdate(current, raised)).message).toContain(
      'spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value',
    );
    const removed = structuredClone(current);
    delete removed.spec.activeDeadlineSeconds;
    expect(refusal(() => admitPodUpdate(current, removed)).details?.causes?.[0]?.field).toBe(
      'spec.activeDeadlineSeconds',
    );
  });

  it('allows added tolerations but not removed ones', () => {
    const current = admitted();
    const added = structuredClone(current) as Pod & { spec: { tolerations?: unknown[] } };
    added.spec.tolerations = [{ key: 'k', operator: 'Exists' }];
    admitPodUpdate(current, added);
    const removed = structuredClone(current);
    const withOne = structuredClone(added);
    withOne.spec.tolerations = [];
    expect(() => admitPodUpdate(added, withOne)).toThrow(ApiError);
    expect(() => admitPodUpdate(current, removed)).not.toThrow();
  });

  it('keeps the admitting policy: changing it is refused', () => {
    const current = admitted();
    const next = structuredClone(current);
    next.metadata.annotations = { [POD_SCC_ANNOTATION]: 'anyuid' };
    expect(refusal(() => admitPodUpdate(current, next)).details?.causes?.[0]?.field).toBe(
      `metadata.annotations[${POD_SCC_ANNOTATION}]`,
    );
  });
});

describe('diffPaths', () => {
  it('names the most specific differing fields', () => {
    expect(diffPaths({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] }, 'spec')).toEqual(['spec.a[1].b']);
    expect(diffPaths({ a: [1] }, { a: [1, 2] }, 'spec')).toEqual(['spec.a']);
    expect(diffPaths({ a: 1 }, { b: 1 }, 'spec')).toEqual(['spec.a', 'spec.b']);
    expect(diffPaths({ a: 1 }, { a: 1 }, 'spec')).toEqual([]);
  });
});
