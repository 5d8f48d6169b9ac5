import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { dns1123Label } from '../names.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';

const quantity = z.union([z.string().min(1), z.number()]);
const resourceList = z.record(z.string(), quantity);

const keySelector = z.looseObject({
  name: z.string().min(1),
  key: z.string().min(1),
  optional: z.boolean().optional(),
});

const envVar = z.looseObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z
    .looseObject({
      configMapKeyRef: keySelector.optional(),
      secretKeyRef: keySelector.optional(),
      fieldRef: z
        .looseObject({ fieldPath: z.string().min(1), apiVersion: z.string().optional() })
        .optional(),
      resourceFieldRef: z
        .looseObject({ resource: z.string().min(1), containerName: z.string().optional() })
        .optional(),
    })
    .optional(),
});

const envFromSource = z.looseObject({
  prefix: z.string().optional(),
  configMapRef: z
    .looseObject({ name: z.string().min(1), optional: z.boolean().optional() })
    .optional(),
  secretRef: z
    .looseObject({ name: z.string().min(1), optional: z.boolean().optional() })
    .optional(),
});

const port = z.union([z.number().int().min(1).max(65535), z.string().min(1)]);

const handler = {
  exec: z.looseObject({ command: z.array(z.string()).min(1) }).optional(),
  httpGet: z
    .looseObject({
      path: z.string().optional(),
      port,
      host: z.string().optional(),
      scheme: z.enum(['HTTP', 'HTTPS']).optional(),
      httpHeaders: z.array(z.looseObject({ name: z.string(), value: z.string() })).optional(),
    })
    .optional(),
  tcpSocket: z.looseObject({ port, host: z.string().optional() }).optional(),
};

const probe = z.looseObject({
  ...handler,
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().int().min(1).optional(),
  timeoutSeconds: z.number().int().min(1).optional(),
  successThreshold: z.number().int().min(1).optional(),
  failureThreshold: z.number().int().min(1).optional(),
  terminationGracePeriodSeconds: z.number().int().min(0).optional(),
});

const securityContext = z.looseObject({
  runAsUser: z.number().int().min(0).optional(),
  runAsGroup: z.number().int().min(0).optional(),
  runAsNonRoot: z.boolean().optional(),
  privileged: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  capabilities: z
    .looseObject({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() })
    .optional(),
});

export const containerSchema = z.looseObject({
  name: z.string().min(1),
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  env: z.array(envVar).optional(),
  envFrom: z.array(envFromSource).optional(),
  ports: z
    .array(
      z.looseObject({
        name: z.string().optional(),
        containerPort: z.number().int().min(1).max(65535),
        hostPort: z.number().int().min(1).max(65535).optional(),
        protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
      }),
    )
    .optional(),
  resources: z
    .looseObject({ limits: resourceList.optional(), requests: resourceList.optional() })
    .optional(),
  volumeMounts: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        mountPath: z.string().min(1),
        readOnly: z.boolean().optional(),
        subPath: z.string().optional(),
      }),
    )
    .optional(),
  livenessProbe: probe.optional(),
  readinessProbe: probe.optional(),
  startupProbe: probe.optional(),
  lifecycle: z
    .looseObject({
      preStop: z.looseObject(handler).optional(),
      postStart: z.looseObject(handler).optional(),
    })
    .optional(),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  securityContext: securityContext.optional(),
  stdin: z.boolean().optional(),
  tty: z.boolean().optional(),
});

const volume = z.looseObject({
  name: z.string().min(1),
  emptyDir: z
    .looseObject({ medium: z.string().optional(), sizeLimit: quantity.optional() })
    .optional(),
  configMap: z
    .looseObject({
      name: z.string().min(1),
      optional: z.boolean().optional(),
      defaultMode: z.number().int().optional(),
    })
    .optional(),
  secret: z
    .looseObject({
      secretName: z.string().min(1),
      optional: z.boolean().optional(),
      defaultMode: z.number().int().optional(),
    })
    .optional(),
  hostPath: z.looseObject({ path: z.string() }).optional(),
  persistentVolumeClaim: z.looseObject({ claimName: z.string().min(1) }).optional(),
});

export const podSpecSchema = z.looseObject({
  containers: z.array(containerSchema).min(1),
  initContainers: z.array(containerSchema).optional(),
  volumes: z.array(volume).optional(),
  restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).optional(),
  terminationGracePeriodSeconds: z.number().int().min(0).optional(),
  activeDeadlineSeconds: z.number().int().min(1).optional(),
  nodeName: z.string().optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  serviceAccountName: z.string().optional(),
  /** Secrets holding registry credentials for this pod's image pulls. */
  imagePullSecrets: z.array(z.looseObject({ name: z.string() })).optional(),
  hostNetwork: z.boolean().optional(),
  hostPID: z.boolean().optional(),
  hostIPC: z.boolean().optional(),
  securityContext: z
    .looseObject({
      runAsUser: z.number().int().min(0).optional(),
      runAsGroup: z.number().int().min(0).optional(),
      runAsNonRoot: z.boolean().optional(),
      fsGroup: z.number().int().min(0).optional(),
      supplementalGroups: z.array(z.number().int().min(0)).optional(),
    })
    .optional(),
  hostname: z.string().optional(),
  subdomain: z.string().optional(),
});
export type PodSpec = z.infer<typeof podSpecSchema>;
export type Container = z.infer<typeof containerSchema>;

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    exitCode: number;
    signal?: number;
    reason?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
    containerID?: string;
  };
}

export interface ContainerStatus {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state: ContainerState;
  lastState?: ContainerState;
  image: string;
  imageID?: string;
  containerID?: string;
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  reason?: string;
  message?: string;
  conditions?: PodCondition[];
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
}

export interface Pod extends ApiObject {
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}

export const podSchema = z.looseObject({
  spec: podSpecSchema,
  status: z.looseObject({}).optional(),
});

/** Checks beyond the schema for a pod spec found at `path` (`spec`, `spec.template.spec`). */
export function validatePodSpec(spec: PodSpec, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  const groups: ['initContainers' | 'containers', Container[] | undefined][] = [
    ['initContainers', spec.initContainers],
    ['containers', spec.containers],
  ];
  for (const [group, list] of groups) {
    (list ?? []).forEach((c, i) => {
      const field = `${path}.${group}[${i}].name`;
      for (const e of dns1123Label(c.name))
        causes.push({ field, message: `Invalid value: "${c.name}": ${e}` });
      if (seen.has(c.name)) causes.push({ field, message: `Duplicate value: "${c.name}"` });
      seen.add(c.name);
      (c.volumeMounts ?? []).forEach((vm, j) => {
        if (!volumes.has(vm.name)) {
          causes.push({
            field: `${path}.${group}[${i}].volumeMounts[${j}].name`,
            message: `Not found: "${vm.name}"`,
          });
        }
      });
    });
  }
  return causes;
}

function validatePod(pod: Pod): StatusCause[] {
  return validatePodSpec(pod.spec, 'spec');
}

/** READY column: ready containers / all containers. */
function readyCount(pod: Pod): string {
  const statuses = pod.status?.containerStatuses ?? [];
  return `${statuses.filter((s) => s.ready).length}/${pod.spec.containers.length}`;
}

/** STATUS column, computed as kubectl does: the most telling container reason wins. */
export function podDisplayStatus(pod: Pod): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? 'Pending';
  for (const cs of pod.status?.initContainerStatuses ?? []) {
    const t = cs.state.terminated;
    if (t && t.exitCode === 0) continue;
    if (t) return t.reason ? `Init:${t.reason}` : `Init:ExitCode:${t.exitCode}`;
    if (cs.state.waiting?.reason && cs.state.waiting.reason !== 'PodInitializing') {
      return `Init:${cs.state.waiting.reason}`;
    }
    return 'PodInitializing';
  }
  let anyRunning = false;
  for (const cs of [...(pod.status?.containerStatuses ?? [])].reverse()) {
    if (cs.state.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state.terminated) {
      const t = cs.state.terminated;
      reason = t.reason ?? (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`);
    } else if (cs.state.running && cs.ready) anyRunning = true;
  }
  if (reason === 'Completed' && anyRunning) reason = 'Running';
  return reason;
}

function restarts(pod: Pod): string {
  const n = (pod.status?.containerStatuses ?? []).reduce((sum, s) => sum + s.restartCount, 0);
  return String(n);
}

export const podKind = defineKind<Pod>({
  kind: 'Pod',
  group: '',
  version: 'v1',
  plural: 'pods',
  shortNames: ['po'],
  namespaced: true,
  schema: podSchema,
  validate: validatePod,
  statusSubresource: true,
  fieldSelectors: {
    'spec.nodeName': (p) => p.spec.nodeName ?? '',
    'status.phase': (p) => p.status?.phase ?? '',
    'status.podIP': (p) => p.status?.podIP ?? '',
  },
  columns: [
    { header: 'READY', value: readyCount },
    { header: 'STATUS', value: podDisplayStatus },
    { header: 'RESTARTS', value: restarts },
    { header: 'AGE', value: (p, now) => age(p.metadata.creationTimestamp, now) },
    { header: 'IP', value: (p) => p.status?.podIP ?? '<none>', wide: true },
    { header: 'NODE', value: (p) => p.spec.nodeName ?? '<none>', wide: true },
  ],
});
