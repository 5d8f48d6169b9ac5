import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import type { Pod, PodSpec } from './kinds/pod.js';
import {
  assertPodSecurity,
  checkPodSecurity,
  effectiveUser,
  restrictedPolicy,
  type SecurityPolicy,
} from './security-policy.js';

const spec = (extra: Partial<PodSpec> = {}, container: Record<string, unknown> = {}): PodSpec => ({
  containers: [{ name: 'app', image: 'img', ...container }],
  ...extra,
});

const messages = (s: PodSpec, policy?: SecurityPolicy): string[] =>
  checkPodSecurity(s, policy).map((c) => `${c.field}: ${c.message}`);

describe('checkPodSecurity', () => {
  it('accepts an ordinary pod', () => {
    expect(checkPodSecurity(spec())).toEqual([]);
    expect(
      checkPodSecurity(
        spec(
          { securityContext: { runAsUser: 1001, runAsNonRoot: true, fsGroup: 2000 } },
          {
            securityContext: {
              allowPrivilegeEscalation: false,
              privileged: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
            ports: [{ containerPort: 8080 }],
          },
        ),
      ),
    ).toEqual([]);
  });

  it('refuses privileged containers, naming the field', () => {
    expect(messages(spec({}, { securityContext: { privileged: true } }))).toEqual([
      'spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the restricted policy',
    ]);
  });

  it('refuses host namespaces, host paths and host ports', () => {
    const out = messages(
      spec(
        {
          hostNetwork: true,
          hostPID: true,
          hostIPC: true,
          volumes: [
            { name: 'v', emptyDir: {} },
            { name: 'sock', hostPath: { path: '/var/run/docker.sock' } },
          ],
        },
        { ports: [{ containerPort: 80, hostPort: 80 }] },
      ),
    );
    expect(out).toEqual([
      'spec.hostNetwork: Forbidden: host networking is not allowed by the restricted policy',
      'spec.hostPID: Forbidden: sharing the host PID namespace is not allowed by the restricted policy',
      'spec.hostIPC: Forbidden: sharing the host IPC namespace is not allowed by the restricted policy',
      'spec.volumes[1].hostPath: Forbidden: hostPath volumes are not allowed by the restricted policy',
      'spec.containers[0].ports[0].hostPort: Forbidden: host ports are not allowed by the restricted policy',
    ]);
  });

  it('refuses added capabilities, escalation and root, also in init containers', () => {
    const s = spec(
      { initContainers: [{ name: 'init', image: 'i', securityContext: { runAsUser: 0 } }] },
      {
        securityContext: {
          capabilities: { add: ['NET_ADMIN', 'SYS_ADMIN'] },
          allowPrivilegeEscalation: true,
        },
      },
    );
    expect(messages(s)).toEqual([
      'spec.initContainers[0].securityContext.runAsUser: Forbidden: running as root (UID 0) is not allowed by the restricted policy',
      'spec.containers[0].securityContext.allowPrivilegeEscalation: Forbidden: privilege escalation is not allowed by the restricted policy',
      'spec.containers[0].securityContext.capabilities.add: Forbidden: adding capabilities (NET_ADMIN, SYS_ADMIN) is not allowed by the restricted policy',
    ]);
  });

  it('refuses pod-level root, sysctls and unconfined profiles', () => {
    const s = spec({
      securityContext: {
        runAsUser: 0,
        sysctls: [{ name: 'net.core.somaxconn', value: '1024' }],
        seccompProfile: { type: 'Unconfined' },
      },
    });
    expect(messages(s)).toEqual([
      'spec.securityContext.runAsUser: Forbidden: running as root (UID 0) is not allowed by the restricted policy',
      'spec.securityContext.sysctls: Forbidden: setting sysctls is not allowed by the restricted policy',
      'spec.securityContext.seccompProfile.type: Forbidden: an unconfined seccomp profile is not allowed by the restricted policy',
    ]);
  });

  it('lets an admin-granted policy allow root and some capabilities', () => {
    const anyuid: SecurityPolicy = {
      name: 'anyuid',
      allowRunAsRoot: true,
      allowedCapabilities: ['NET_BIND_SERVICE'],
    };
    expect(
      checkPodSecurity(
        spec(
          { securityContext: { runAsUser: 0 } },
          { securityContext: { capabilities: { add: ['CAP_NET_BIND_SERVICE'] } } },
        ),
        anyuid,
      ),
    ).toEqual([]);
    // Still never privileged.
    expect(messages(spec({}, { securityContext: { privileged: true } }), anyuid)[0]).toMatch(
      /anyuid policy/,
    );
  });

  it('enforces a UID range when the policy has one', () => {
    const ranged: SecurityPolicy = { ...restrictedPolicy, uidRange: { min: 1000, max: 1999 } };
    expect(messages(spec({}, { securityContext: { runAsUser: 5000 } }), ranged)).toEqual([
      'spec.containers[0].securityContext.runAsUser: Forbidden: 5000 is not an allowed user: must be in the range [1000, 1999] of the restricted policy',
    ]);
    expect(checkPodSecurity(spec({}, { securityContext: { runAsUser: 1500 } }), ranged)).toEqual(
      [],
    );
  });

  it('checks the assigned UID for containers that name none', () => {
    const s = spec({}, {});
    expect(checkPodSecurity(s, restrictedPolicy, { assigned: { uid: 1001, gid: 0 } })).toEqual([]);
    expect(
      checkPodSecurity(s, restrictedPolicy, { assigned: { uid: 0, gid: 0 } }).map((c) => c.field),
    ).toEqual(['spec.containers[0].securityContext.runAsUser']);
  });
});

describe('effectiveUser', () => {
  it('prefers the container, then the pod, then the assigned UID/GID', () => {
    const assigned = { uid: 1000680000, gid: 0 };
    expect(effectiveUser(spec(), spec().containers[0]!, assigned)).toEqual(assigned);
    const s = spec({ securityContext: { runAsUser: 1001, runAsGroup: 5 } });
    expect(effectiveUser(s, s.containers[0]!, assigned)).toEqual({ uid: 1001, gid: 5 });
    const c = { name: 'c', image: 'i', securityContext: { runAsUser: 2002, runAsGroup: 7 } };
    expect(effectiveUser(s, c, assigned)).toEqual({ uid: 2002, gid: 7 });
  });
});

describe('assertPodSecurity', () => {
  it('throws a Forbidden ApiError listing the causes', () => {
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web' },
      spec: spec({ hostNetwork: true }),
    };
    let err: unknown;
    try {
      assertPodSecurity(pod);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).reason).toBe('Forbidden');
    expect((err as ApiError).message).toBe(
      'pods "web" is forbidden: violates the restricted policy: spec.hostNetwork: Forbidden: host networking is not allowed by the restricted policy',
    );
    expect((err as ApiError).details?.causes?.[0]?.field).toBe('spec.hostNetwork');
  });
});
