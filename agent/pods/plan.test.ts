import { describe, expect, it } from 'vitest';
import type { ConfigMap, Pod, PodSpec, Secret } from '../../src/api/index.js';
import { LABELS, MANAGED_BY } from '../docker/labels.js';
import {
  checkCreateSpec,
  containerCreateSpec,
  defaultPullPolicy,
  planPod,
  PodPlanError,
  podHostname,
  sandboxCreateSpec,
  type ContainerPlan,
  type PlanInput,
  type PlanOptions,
  type PodPlan,
} from './plan.js';

const UID = '6f1c2a9e-0d4b-4c1e-9a53-0c8f5d7e2b11';

function pod(spec: Partial<PodSpec> = {}, meta: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', uid: UID, ...meta },
    spec: { containers: [{ name: 'app', image: 'registry.local/shop/web:1.0' }], ...spec },
  };
}

const options: PlanOptions = { nodeName: 'node-a', uid: 1000680000, gid: 0 };

const cm: ConfigMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg' },
  data: { 'app.conf': 'port=8080\n', MODE: 'prod' },
  binaryData: { 'logo.bin': Buffer.from([0, 1, 2]).toString('base64') },
};
const secret: Secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db' },
  data: { password: Buffer.from('s3cret').toString('base64') },
};

function plan(p: Pod, extra: Partial<PlanInput> = {}, opts: Partial<PlanOptions> = {}): PodPlan {
  return planPod(
    { pod: p, configMaps: { cfg: cm }, secrets: { db: secret }, ...extra },
    { ...options, ...opts },
  );
}

function only(p: PodPlan, i = 0): ContainerPlan {
  const r = p.containers[i];
  if (!r?.plan) throw new Error(`container ${i} has no plan: ${r?.error?.message}`);
  return r.plan;
}

function refusal(fn: () => unknown): PodPlanError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PodPlanError) return err;
    throw err;
  }
  throw new Error('expected a PodPlanError');
}

describe('planPod: containers', () => {
  it('produces a hardened create body with numeric non-root user', () => {
    const c = only(plan(pod()));
    expect(c.create.User).toBe('1000680000:0');
    expect(c.create.HostConfig).toMatchObject({
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 1024,
      ReadonlyRootfs: false,
      Mounts: [],
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    });
    expect(c.create.HostConfig).not.toHaveProperty('Memory');
    expect(c.create.HostConfig).not.toHaveProperty('NanoCpus');
    expect(checkCreateSpec(c.create)).toEqual([]);
  });

  it('maps command/args like Kubernetes: command replaces ENTRYPOINT, args replace CMD', () => {
    const both = only(
      plan(
        pod({
          containers: [{ name: 'a', image: 'i:1', command: ['/bin/app'], args: ['--port', '80'] }],
        }),
      ),
    );
    expect(both.create.Entrypoint).toEqual(['/bin/app']);
    expect(both.create.Cmd).toEqual(['--port', '80']);
    const cmdOnly = only(
      plan(pod({ containers: [{ name: 'a', image: 'i:1', command: ['/bin/app'] }] })),
    );
    expect(cmdOnly.create.Entrypoint).toEqual(['/bin/app']);
    expect(cmdOnly.create).not.toHaveProperty('Cmd');
    const argsOnly = only(plan(pod({ containers: [{ name: 'a', image: 'i:1', args: ['x'] }] })));
    expect(argsOnly.create).not.toHaveProperty('Entrypoint');
    expect(argsOnly.create.Cmd).toEqual(['x']);
    const neither = only(plan(pod({ containers: [{ name: 'a', image: 'i:1', command: [] }] })));
    expect(neither.create).not.toHaveProperty('Entrypoint');
    expect(neither.create).not.toHaveProperty('Cmd');
  });

  it('expands $(VAR) in command and args from the container env', () => {
    const c = only(
      plan(
        pod({
          containers: [
            {
              name: 'a',
              image: 'i:1',
              env: [{ name: 'PORT', value: '8080' }],
              command: ['sh', '-c', 'httpd -p $(PORT) $$HOME'],
              args: ['$(PORT)', '$(UNSET)'],
            },
          ],
        }),
      ),
    );
    expect(c.create.Entrypoint).toEqual(['sh', '-c', 'httpd -p 8080 $HOME']);
    expect(c.create.Cmd).toEqual(['8080', '$(UNSET)']);
    expect(c.create.Env).toEqual(['PORT=8080']);
  });

  it('converts resource limits and requests', () => {
    const c = only(
      plan(
        pod({
          containers: [
            {
              name: 'a',
              image: 'i:1',
              resources: { limits: { memory: '128Mi', cpu: '500m' }, requests: { cpu: '0.25' } },
            },
          ],
        }),
      ),
    );
    expect(c.create.HostConfig).toMatchObject({
      Memory: 134_217_728,
      MemorySwap: 134_217_728,
      NanoCpus: 500_000_000,
      CpuShares: 256,
    });
    const g = only(
      plan(
        pod({
          containers: [
            { name: 'a', image: 'i:1', resources: { limits: { memory: '1G', cpu: 1 } } },
          ],
        }),
      ),
    );
    expect(g.create.HostConfig).toMatchObject({
      Memory: 1_000_000_000,
      NanoCpus: 1_000_000_000,
      CpuShares: 1024,
    });
  });

  it('reports bad quantities and tiny memory limits as a container config error', () => {
    const p = plan(
      pod({
        containers: [
          { name: 'a', image: 'i:1', resources: { limits: { memory: '12XB' } } },
          { name: 'b', image: 'i:1', resources: { limits: { memory: '1Mi' } } },
          { name: 'c', image: 'i:1' },
        ],
      }),
    );
    expect(p.containers[0]?.error?.reason).toBe('CreateContainerConfigError');
    expect(p.containers[0]?.error?.message).toMatch(
      /^spec\.containers\[0\]\.resources\.limits\.memory: Invalid value: "12XB"/,
    );
    expect(p.containers[1]?.error?.message).toBe(
      'spec.containers[1].resources.limits.memory: Invalid value: "1Mi": must be at least 6Mi',
    );
    expect(p.containers[2]?.plan).toBeDefined();
  });

  it('reports missing env references per container', () => {
    const p = plan(
      pod({
        containers: [
          {
            name: 'a',
            image: 'i:1',
            env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k' } } }],
          },
          {
            name: 'b',
            image: 'i:1',
            env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } }],
          },
        ],
      }),
    );
    expect(p.containers[0]).toEqual({
      name: 'a',
      error: { reason: 'CreateContainerConfigError', message: 'configmap "missing" not found' },
    });
    expect(p.containers[1]?.plan?.create.Env).toEqual(['X=prod']);
  });

  it('uses the container, then pod, then assigned user, and adds the volume group', () => {
    const p = plan(
      pod({
        securityContext: { runAsUser: 1001, fsGroup: 2000, supplementalGroups: [3000] },
        containers: [
          { name: 'a', image: 'i:1' },
          { name: 'b', image: 'i:1', securityContext: { runAsUser: 1002, runAsGroup: 5 } },
        ],
      }),
    );
    expect(only(p, 0).create.User).toBe('1001:0');
    expect(only(p, 0).create.HostConfig.GroupAdd).toEqual(['3000', '2000']);
    expect(only(p, 1).create.User).toBe('1002:5');
  });

  it('honours readOnlyRootFilesystem, the node-wide switch and pidsLimit', () => {
    const ro = only(
      plan(
        pod({
          containers: [
            { name: 'a', image: 'i:1', securityContext: { readOnlyRootFilesystem: true } },
          ],
        }),
      ),
    );
    expect(ro.create.HostConfig.ReadonlyRootfs).toBe(true);
    const forced = only(plan(pod(), {}, { readonlyRootfs: true, pidsLimit: 64 }));
    expect(forced.create.HostConfig.ReadonlyRootfs).toBe(true);
    expect(forced.create.HostConfig.PidsLimit).toBe(64);
  });

  it('picks the Kubernetes default pull policy', () => {
    expect(defaultPullPolicy('nginx')).toBe('Always');
    expect(defaultPullPolicy('nginx:latest')).toBe('Always');
    expect(defaultPullPolicy('nginx:1.25')).toBe('IfNotPresent');
    expect(defaultPullPolicy('localhost:5000/app')).toBe('Always');
    expect(defaultPullPolicy('localhost:5000/app:v2')).toBe('IfNotPresent');
    expect(defaultPullPolicy('app@sha256:abc')).toBe('IfNotPresent');
    expect(
      only(plan(pod({ containers: [{ name: 'a', image: 'i', imagePullPolicy: 'Never' }] })))
        .pullPolicy,
    ).toBe('Never');
  });

  it('passes tty/stdin and the stop signal through', () => {
    const c = only(
      plan(
        pod({
          containers: [
            {
              name: 'a',
              image: 'i:1',
              tty: true,
              stdin: true,
              lifecycle: { stopSignal: 'SIGQUIT' },
            },
          ],
        }),
      ),
    );
    expect(c.create).toMatchObject({ Tty: true, OpenStdin: true, StopSignal: 'SIGQUIT' });
    expect(c.stopSignal).toBe('SIGQUIT');
  });
});

describe('planPod: hashes', () => {
  it('is stable across key order and changes when the spec or env changes', () => {
    const a = only(
      plan(
        pod({
          containers: [{ name: 'a', image: 'i:1', env: [{ name: 'X', value: '1' }], args: ['x'] }],
        }),
      ),
    );
    const b = only(
      plan(
        pod({
          containers: [{ args: ['x'], env: [{ value: '1', name: 'X' }], image: 'i:1', name: 'a' }],
        }),
      ),
    );
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(b.hash).toBe(a.hash);
    const image = only(
      plan(
        pod({
          containers: [{ name: 'a', image: 'i:2', env: [{ name: 'X', value: '1' }], args: ['x'] }],
        }),
      ),
    );
    expect(image.hash).not.toBe(a.hash);
  });

  it('follows node isolation settings but not log rotation', () => {
    const base = only(plan(pod())).hash;
    expect(only(plan(pod(), {}, { logMaxSize: '50m', logMaxFiles: 9 })).hash).toBe(base);
    expect(only(plan(pod(), {}, { pidsLimit: 100 })).hash).not.toBe(base);
    expect(only(plan(pod(), {}, { uid: 1001 })).hash).not.toBe(base);
  });

  it('changes when a referenced config value changes, not when an unrelated one does', () => {
    const spec = pod({
      containers: [
        {
          name: 'a',
          image: 'i:1',
          env: [{ name: 'M', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } }],
        },
      ],
    });
    const before = only(plan(spec)).hash;
    const changed = only(
      plan(spec, { configMaps: { cfg: { ...cm, data: { ...cm.data, MODE: 'dev' } } } }),
    ).hash;
    const unrelated = only(
      plan(spec, { configMaps: { cfg: { ...cm, data: { ...cm.data, OTHER: 'x' } } } }),
    ).hash;
    expect(changed).not.toBe(before);
    expect(unrelated).toBe(before);
  });

  it('changes when a used volume definition changes, not when an unused one does', () => {
    const withVolumes = (extra: NonNullable<PodSpec['volumes']>): Pod =>
      pod({
        volumes: [{ name: 'data', emptyDir: {} }, ...extra],
        containers: [
          { name: 'a', image: 'i:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
        ],
      });
    const base = only(plan(withVolumes([]))).hash;
    expect(only(plan(withVolumes([{ name: 'x', emptyDir: {} }]))).hash).toBe(base);
    const memory = pod({
      volumes: [{ name: 'data', emptyDir: { medium: 'Memory' } }],
      containers: [
        { name: 'a', image: 'i:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      ],
    });
    expect(only(plan(memory)).hash).not.toBe(base);
  });
});

describe('planPod: sandbox', () => {
  it('owns the network and IPC namespaces, runs as nobody without capabilities, labelled', () => {
    const p = plan(
      pod({
        containers: [
          { name: 'web', image: 'i:1', ports: [{ containerPort: 8080 }] },
          { name: 'dns', image: 'i:1', ports: [{ containerPort: 53, protocol: 'UDP' }] },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      }),
      {},
      { dns: { nameservers: ['10.0.0.10'], searches: ['cluster.local'] } },
    );
    const s = sandboxCreateSpec(p, { attempt: 0 });
    expect(s.name).toBe(`slipway_POD_web-1_shop_${UID}_0`);
    expect(s).toMatchObject({
      Image: 'slipway/pause:1',
      Hostname: 'web-1',
      User: '65534:65534',
      ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
      HostConfig: {
        NetworkMode: 'bridge',
        IpcMode: 'shareable',
        Privileged: false,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: 32,
        Dns: ['10.0.0.10'],
        DnsSearch: ['cluster.local'],
        Mounts: [
          {
            Type: 'volume',
            Source: `slipway-${UID}-data`,
            Target: '/.slipway/volumes/data',
            ReadOnly: false,
            VolumeOptions: { NoCopy: true },
          },
        ],
      },
    });
    expect(s.Labels).toEqual({
      [LABELS.managedBy]: MANAGED_BY,
      [LABELS.node]: 'node-a',
      [LABELS.podUid]: UID,
      [LABELS.podNamespace]: 'shop',
      [LABELS.podName]: 'web-1',
      [LABELS.podGracePeriod]: '30',
      [LABELS.containerName]: 'POD',
      [LABELS.containerHash]: p.sandbox.hash,
      [LABELS.attempt]: '0',
      [LABELS.restartCount]: '0',
    });
    expect(checkCreateSpec(s)).toEqual([]);
  });

  it('merges dnsConfig, honours dnsPolicy None and hostAliases', () => {
    const p = plan(
      pod({
        dnsPolicy: 'None',
        dnsConfig: {
          nameservers: ['1.2.3.4'],
          options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
        },
        hostAliases: [{ ip: '10.1.1.1', hostnames: ['db', 'db.local'] }],
      }),
      {},
      { dns: { nameservers: ['10.0.0.10'] } },
    );
    expect(p.sandbox.create.HostConfig).toMatchObject({
      Dns: ['1.2.3.4'],
      DnsOptions: ['ndots:2', 'edns0'],
      ExtraHosts: ['db:10.1.1.1', 'db.local:10.1.1.1'],
    });
  });

  it('truncates long pod names to a valid hostname', () => {
    expect(podHostname(pod({}, { name: `${'a'.repeat(62)}-b-c` }))).toBe('a'.repeat(62));
    expect(podHostname(pod({ hostname: 'custom' }))).toBe('custom');
  });
});

describe('planPod: instances', () => {
  it('joins the sandbox namespaces and labels the instance', () => {
    const p = plan(
      pod({
        containers: [
          {
            name: 'app',
            image: 'i:1',
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 1'] } } },
          },
        ],
      }),
    );
    const spec = containerCreateSpec(p, only(p), 'abc123', {
      attempt: 3,
      restartCount: 2,
      backoffMs: 40_000,
    });
    expect(spec.name).toBe(`slipway_app_web-1_shop_${UID}_3`);
    expect(spec.HostConfig.NetworkMode).toBe('container:abc123');
    expect(spec.HostConfig.IpcMode).toBe('container:abc123');
    expect(spec.HostConfig).not.toHaveProperty('PidMode');
    expect(spec.Labels).toMatchObject({
      [LABELS.containerName]: 'app',
      [LABELS.attempt]: '3',
      [LABELS.restartCount]: '2',
      [LABELS.backoff]: '40000',
      [LABELS.containerHash]: only(p).hash,
      [LABELS.preStop]: JSON.stringify({ exec: { command: ['sh', '-c', 'sleep 1'] } }),
    });
    expect(checkCreateSpec(spec)).toEqual([]);
  });

  it('shares the PID namespace only when asked', () => {
    const p = plan(pod({ shareProcessNamespace: true }));
    expect(containerCreateSpec(p, only(p), 'sb', { attempt: 0 }).HostConfig.PidMode).toBe(
      'container:sb',
    );
  });
});

describe('planPod: volumes', () => {
  const spec = pod({
    securityContext: { fsGroup: 3000 },
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'config', configMap: { name: 'cfg' } },
      { name: 'creds', secret: { secretName: 'db', defaultMode: 0o400 } },
      {
        name: 'picked',
        configMap: { name: 'cfg', items: [{ key: 'MODE', path: 'conf/mode.txt', mode: 0o600 }] },
      },
    ],
    containers: [
      {
        name: 'app',
        image: 'i:1',
        volumeMounts: [
          { name: 'scratch', mountPath: '/scratch' },
          { name: 'config', mountPath: '/etc/app/', readOnly: false },
          { name: 'creds', mountPath: '/secrets' },
        ],
      },
    ],
  });

  it('plans one labelled Docker volume per pod volume with the right backing and files', () => {
    const p = plan(spec);
    const byName = Object.fromEntries(p.volumes.map((v) => [v.name, v]));
    expect(byName.scratch).toMatchObject({
      kind: 'emptyDir',
      dockerName: `slipway-${UID}-scratch`,
      root: { uid: 1000680000, gid: 3000, mode: 0o777 },
      files: [],
      labels: {
        [LABELS.podUid]: UID,
        [LABELS.volumeName]: 'scratch',
        [LABELS.volumeKind]: 'emptyDir',
        [LABELS.managedBy]: MANAGED_BY,
      },
    });
    expect(byName.scratch).not.toHaveProperty('driverOpts');
    expect(byName.shm?.driverOpts).toEqual({
      type: 'tmpfs',
      device: 'tmpfs',
      o: 'size=67108864,mode=0777,uid=1000680000,gid=3000',
    });
    expect(byName.config?.files).toEqual([
      { path: 'app.conf', data: Buffer.from('port=8080\n'), mode: 0o644 },
      { path: 'MODE', data: Buffer.from('prod'), mode: 0o644 },
      { path: 'logo.bin', data: Buffer.from([0, 1, 2]), mode: 0o644 },
    ]);
    expect(byName.creds).toMatchObject({ kind: 'secret', driverOpts: { type: 'tmpfs' } });
    expect(byName.creds?.files).toEqual([
      { path: 'password', data: Buffer.from('s3cret'), mode: 0o400 },
    ]);
    expect(byName.picked?.files).toEqual([
      { path: 'conf/mode.txt', data: Buffer.from('prod'), mode: 0o600 },
    ]);
  });

  it('mounts projections read-only and emptyDir read-write, never binds', () => {
    const c = only(plan(spec));
    expect(c.create.HostConfig.Mounts).toEqual([
      {
        Type: 'volume',
        Source: `slipway-${UID}-scratch`,
        Target: '/scratch',
        ReadOnly: false,
        VolumeOptions: { NoCopy: true },
      },
      {
        Type: 'volume',
        Source: `slipway-${UID}-config`,
        Target: '/etc/app',
        ReadOnly: true,
        VolumeOptions: { NoCopy: true },
      },
      {
        Type: 'volume',
        Source: `slipway-${UID}-creds`,
        Target: '/secrets',
        ReadOnly: true,
        VolumeOptions: { NoCopy: true },
      },
    ]);
  });

  it('waits (FailedMount) for a missing configMap or key, unless optional', () => {
    const missing = refusal(() =>
      plan(pod({ volumes: [{ name: 'v', configMap: { name: 'nope' } }] })),
    );
    expect(missing.reason).toBe('FailedMount');
    expect(missing.message).toBe('spec.volumes[0].configMap.name: configmap "nope" not found');
    const key = refusal(() =>
      plan(
        pod({
          volumes: [{ name: 'v', secret: { secretName: 'db', items: [{ key: 'x', path: 'x' }] } }],
        }),
      ),
    );
    expect(key.message).toBe(
      "spec.volumes[0].secret.items[0].key: couldn't find key x in Secret shop/db",
    );
    const optional = plan(
      pod({ volumes: [{ name: 'v', configMap: { name: 'nope', optional: true } }] }),
    );
    expect(optional.volumes[0]?.files).toEqual([]);
  });

  it('refuses item paths that escape the volume and unsupported volume types', () => {
    const escape = refusal(() =>
      plan(
        pod({
          volumes: [
            {
              name: 'v',
              configMap: { name: 'cfg', items: [{ key: 'MODE', path: '../../etc/passwd' }] },
            },
          ],
        }),
      ),
    );
    expect(escape.message).toMatch(
      /^spec\.volumes\[0\]\.configMap\.items\[0\]\.path: Invalid value/,
    );
    const pvc = refusal(() =>
      plan(pod({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }] })),
    );
    expect(pvc.message).toMatch(
      /^spec\.volumes\[0\]: Unsupported value: volume type persistentVolumeClaim/,
    );
  });

  it('reports subPath and bad mount paths as container config errors', () => {
    const p = plan(
      pod({
        volumes: [{ name: 'v', emptyDir: {} }],
        containers: [
          { name: 'a', image: 'i:1', volumeMounts: [{ name: 'v', mountPath: '/x', subPath: 'y' }] },
          { name: 'b', image: 'i:1', volumeMounts: [{ name: 'v', mountPath: 'relative' }] },
          { name: 'c', image: 'i:1', volumeMounts: [{ name: 'v', mountPath: '/' }] },
        ],
      }),
    );
    expect(p.containers.map((c) => c.error?.message)).toEqual([
      'spec.containers[0].volumeMounts[0].subPath: Unsupported value: "y": subPath mounts are not supported on this node',
      'spec.containers[1].volumeMounts[0].mountPath: Invalid value: "relative": must be an absolute path',
      'spec.containers[2].volumeMounts[0].mountPath: Invalid value: "/": cannot mount over the root filesystem',
    ]);
  });
});

describe('planPod: refusals', () => {
  it('refuses privileged pods, naming the field', () => {
    const err = refusal(() =>
      plan(pod({ containers: [{ name: 'a', image: 'i', securityContext: { privileged: true } }] })),
    );
    expect(err.reason).toBe('Forbidden');
    expect(err.message).toBe(
      'spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the restricted policy',
    );
  });

  it('refuses host namespaces, hostPath, added capabilities and root', () => {
    const err = refusal(() =>
      plan(
        pod({
          hostNetwork: true,
          hostPID: true,
          hostIPC: true,
          volumes: [{ name: 'sock', hostPath: { path: '/var/run/docker.sock' } }],
          containers: [
            {
              name: 'a',
              image: 'i',
              securityContext: { runAsUser: 0, capabilities: { add: ['SYS_ADMIN'] } },
            },
          ],
        }),
      ),
    );
    expect(err.causes.map((c) => c.field)).toEqual([
      'spec.hostNetwork',
      'spec.hostPID',
      'spec.hostIPC',
      'spec.volumes[0].hostPath',
      'spec.containers[0].securityContext.capabilities.add',
      'spec.containers[0].securityContext.runAsUser',
    ]);
  });

  it('refuses running as root through the assigned UID unless the policy allows it', () => {
    expect(refusal(() => plan(pod(), {}, { uid: 0 })).causes[0]?.field).toBe(
      'spec.containers[0].securityContext.runAsUser',
    );
    const granted = plan(
      pod(),
      {},
      { uid: 0, policy: { name: 'anyuid', allowRunAsRoot: true, allowedCapabilities: [] } },
    );
    // Under anyuid a container that names no user runs as its image's USER...
    expect(only(granted).create.User).toBe('');
    expect(only(granted).create.Labels).toEqual({ 'io.slipway.container.image-user': 'true' });
    expect(only(granted).create.HostConfig.GroupAdd).toContain('0');
    expect(
      checkCreateSpec(containerCreateSpec(granted, only(granted), 'sandbox', { attempt: 0 })),
    ).toEqual([]);
    // ...and one that names a user runs as that user.
    const explicit = plan(
      pod({ securityContext: { runAsUser: 0 } }),
      {},
      { uid: 1000, policy: { name: 'anyuid', allowRunAsRoot: true, allowedCapabilities: [] } },
    );
    expect(only(explicit).create.User).toBe('0:0');
  });

  it('never lets an empty User through without the image-user mark', () => {
    const c = only(plan(pod()));
    const spec = containerCreateSpec(plan(pod()), c, 'sandbox', { attempt: 0 });
    expect(checkCreateSpec({ ...spec, User: '' })).toEqual([
      'User must be numeric UID:GID, got ""',
    ]);
  });

  it('needs a uid and a name', () => {
    expect(refusal(() => plan(pod({}, { uid: undefined }))).message).toBe(
      'metadata.uid: Required value',
    );
  });
});

describe('checkCreateSpec', () => {
  it('catches anything that weakens isolation', () => {
    const c = only(plan(pod()));
    const bad = {
      ...c.create,
      User: 'root',
      HostConfig: {
        ...c.create.HostConfig,
        Privileged: true,
        CapDrop: [],
        CapAdd: ['SYS_ADMIN'],
        SecurityOpt: ['seccomp=unconfined'],
        PidsLimit: 0,
        NetworkMode: 'host',
        PidMode: 'host',
        Binds: ['/var/run/docker.sock:/var/run/docker.sock'],
        Mounts: [{ Type: 'bind', Source: '/', Target: '/host' }],
      },
    } as unknown as ContainerPlan['create'];
    expect(checkCreateSpec(bad)).toEqual([
      'HostConfig.Privileged must be false',
      'HostConfig.CapDrop must include ALL',
      'HostConfig.CapAdd must be empty',
      'HostConfig.SecurityOpt must include no-new-privileges',
      'HostConfig.SecurityOpt must not disable confinement',
      'HostConfig.PidsLimit must be positive',
      'HostConfig.NetworkMode must not be host',
      'HostConfig.PidMode must not be host',
      'HostConfig.Binds must be empty',
      'mount /host: type bind is not allowed',
      'User must be numeric UID:GID, got "root"',
    ]);
  });
});
