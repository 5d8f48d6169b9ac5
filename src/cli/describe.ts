import { stringify } from 'yaml';
import {
  nodeReadyStatus,
  podDisplayStatus,
  type AnyKindDefinition,
  type ApiObject,
  type ConfigMap,
  type ContainerStatus,
  type Event,
  type Node,
  type Pod,
  type Secret,
} from '../api/index.js';
import { quantityMillis, quantityUnits } from '../api/quantity.js';
import { age } from '../util/age.js';
import type { Build } from '../api/kinds/build.js';
import type { BuildConfig } from '../api/kinds/build-config.js';
import { LAST_APPLIED } from './apply.js';
import { describeBuild, describeBuildConfig, describeImageStream } from './describe-builds.js';
import { describeDeployment, describeDeploymentConfig } from './describe-deployments.js';
import type { Deployment } from '../api/kinds/deployment.js';
import type { DeploymentConfig } from '../api/kinds/deployment-config.js';
import type { ReplicaSet } from '../api/kinds/replica-set.js';
import type { ReplicationController } from '../api/kinds/replication-controller.js';
import type { Endpoints } from '../api/kinds/endpoints.js';
import type { Service, ServicePort } from '../api/kinds/service.js';
import { formatTable } from './table.js';
import { DescribeWriter } from './describe-writer.js';

export { DescribeWriter };

function mapLines(
  map: Record<string, string> | undefined,
  skip: readonly string[] = [],
  separator = '\n',
): string {
  const entries = Object.entries(map ?? {})
    .filter(([k]) => !skip.includes(k))
    .sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(separator) : '<none>';
}

function timestamp(value: string | undefined, now: Date): string {
  if (!value) return '<unknown>';
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) return value;
  return `${t.toUTCString()} (${age(value, now)} ago)`;
}

/** `involvedObject` -> `Involved Object` */
export function titleCase(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Any value as readable, indented YAML-ish lines. */
function renderValue(w: DescribeWriter, indent: number, key: string, value: unknown): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    w.kv(indent, key, String(value));
    return;
  }
  if (typeof value !== 'object') return;
  if (Array.isArray(value) && value.length === 0) {
    w.kv(indent, key, '<none>');
    return;
  }
  if (!Array.isArray(value) && Object.keys(value).length === 0) {
    w.kv(indent, key, '<none>');
    return;
  }
  w.heading(indent, key);
  w.raw(indent + 1, stringify(value, { lineWidth: 0 }).trimEnd());
}

function stateLines(
  w: DescribeWriter,
  indent: number,
  title: string,
  state: ContainerStatus['state'] | undefined,
  now: Date,
): void {
  if (!state) return;
  if (state.running) {
    w.kv(indent, title, 'Running');
    if (state.running.startedAt)
      w.kv(indent + 1, 'Started', timestamp(state.running.startedAt, now));
  } else if (state.waiting) {
    w.kv(indent, title, 'Waiting');
    if (state.waiting.reason) w.kv(indent + 1, 'Reason', state.waiting.reason);
    if (state.waiting.message) w.kv(indent + 1, 'Message', state.waiting.message);
  } else if (state.terminated) {
    const t = state.terminated;
    w.kv(indent, title, 'Terminated');
    if (t.reason) w.kv(indent + 1, 'Reason', t.reason);
    if (t.message) w.kv(indent + 1, 'Message', t.message);
    w.kv(indent + 1, 'Exit Code', t.exitCode);
    if (t.startedAt) w.kv(indent + 1, 'Started', timestamp(t.startedAt, now));
    if (t.finishedAt) w.kv(indent + 1, 'Finished', timestamp(t.finishedAt, now));
  }
}

function describePod(w: DescribeWriter, pod: Pod, now: Date): void {
  const node = pod.spec.nodeName
    ? `${pod.spec.nodeName}${pod.status?.hostIP ? `/${pod.status.hostIP}` : ''}`
    : '<none>';
  w.kv(0, 'Node', node);
  w.kv(0, 'Status', podDisplayStatus(pod));
  if (pod.status?.reason) w.kv(0, 'Reason', pod.status.reason);
  if (pod.status?.message) w.kv(0, 'Message', pod.status.message);
  w.kv(0, 'IP', pod.status?.podIP ?? '');
  w.heading(0, 'Containers');
  for (const c of pod.spec.containers) {
    const status = pod.status?.containerStatuses?.find((s) => s.name === c.name);
    w.heading(1, c.name);
    w.kv(2, 'Image', c.image);
    const ports = (c.ports ?? [])
      .map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`)
      .join(', ');
    w.kv(2, 'Port', ports);
    if (c.command) w.kv(2, 'Command', c.command.join('\n'));
    if (c.args) w.kv(2, 'Args', c.args.join('\n'));
    if (status) {
      stateLines(w, 2, 'State', status.state, now);
      if (status.lastState && Object.keys(status.lastState).length)
        stateLines(w, 2, 'Last State', status.lastState, now);
      w.kv(2, 'Ready', status.ready ? 'True' : 'False');
      w.kv(2, 'Restart Count', status.restartCount);
    }
    const limits = c.resources?.limits;
    if (limits)
      w.kv(
        2,
        'Limits',
        Object.entries(limits)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n'),
      );
    const env = (c.env ?? []).map((e) => {
      if (e.value !== undefined) return `${e.name}:  ${e.value}`;
      const from = e.valueFrom;
      if (from?.secretKeyRef)
        return `${e.name}:  <set to the key '${from.secretKeyRef.key}' in secret '${from.secretKeyRef.name}'>`;
      if (from?.configMapKeyRef)
        return `${e.name}:  <set to the key '${from.configMapKeyRef.key}' of config map '${from.configMapKeyRef.name}'>`;
      return `${e.name}:  <from ${Object.keys(from ?? {}).join(',') || 'unknown'}>`;
    });
    w.kv(2, 'Environment', env.join('\n'));
  }
  const conditions = pod.status?.conditions ?? [];
  if (conditions.length) {
    w.heading(0, 'Conditions');
    w.raw(
      1,
      formatTable(
        ['Type', 'Status'],
        conditions.map((c) => [c.type, c.status]),
        [],
        '  ',
      ).lines.join('\n'),
    );
  }
  const volumes = pod.spec.volumes ?? [];
  if (volumes.length) renderValue(w, 0, 'Volumes', volumes);
}

/** What describe shows beside an object: a node's pods. */
export interface Related {
  pods?: readonly Pod[] | undefined;
  /** A BuildConfig's builds. */
  builds?: readonly Build[] | undefined;
  /** The API server's URL (webhook URLs). */
  server?: string | undefined;
  /** A DeploymentConfig's ReplicationControllers. */
  replicationControllers?: readonly ReplicationController[] | undefined;
  /** A Deployment's ReplicaSets. */
  replicaSets?: readonly ReplicaSet[] | undefined;
  /** A Service's Endpoints (undefined: none, or not readable). */
  endpoints?: Endpoints | undefined;
}

type Amounts = Record<string, number>;

/** CPU in millicores, everything else in whole units; what cannot be parsed counts 0. */
function amount(resource: string, value: string | number | undefined): number {
  if (value === undefined) return 0;
  return (resource === 'cpu' ? quantityMillis(value) : quantityUnits(value)) ?? 0;
}

/** kubectl's sums: containers add up, an init container counts when it alone is larger; a
 * container's request defaults to its limit. */
export function podRequestsAndLimits(pod: Pod): { requests: Amounts; limits: Amounts } {
  const sum = (list: readonly Pod['spec']['containers'][number][], into: 'add' | 'max') => {
    const requests: Amounts = {};
    const limits: Amounts = {};
    for (const c of list) {
      const lim = c.resources?.limits ?? {};
      const req = { ...lim, ...c.resources?.requests };
      for (const [target, from] of [
        [requests, req],
        [limits, lim],
      ] as const) {
        for (const [k, v] of Object.entries(from)) {
          const n = amount(k, v);
          target[k] = into === 'add' ? (target[k] ?? 0) + n : Math.max(target[k] ?? 0, n);
        }
      }
    }
    return { requests, limits };
  };
  const main = sum(pod.spec.containers, 'add');
  const init = sum(pod.spec.initContainers ?? [], 'max');
  for (const key of ['requests', 'limits'] as const) {
    for (const [k, v] of Object.entries(init[key])) main[key][k] = Math.max(main[key][k] ?? 0, v);
  }
  return main;
}

/** `500m`, `2`, `128Mi`, `1G`, `0`: the shortest exact form. */
export function formatAmount(resource: string, n: number): string {
  if (n === 0) return '0';
  if (resource === 'cpu') return n % 1000 === 0 ? String(n / 1000) : `${n}m`;
  for (const [suffix, unit] of [
    ['Ei', 2 ** 60],
    ['Pi', 2 ** 50],
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
    ['T', 1e12],
    ['G', 1e9],
    ['M', 1e6],
    ['k', 1e3],
  ] as const) {
    if (n >= unit && n % unit === 0) return `${n / unit}${suffix}`;
  }
  return String(n);
}

function withPercent(resource: string, n: number, of: number): string {
  const pct = of > 0 ? Math.trunc((n / of) * 100) : 0;
  return `${formatAmount(resource, n)} (${pct}%)`;
}

function describeNodePods(w: DescribeWriter, node: Node, pods: readonly Pod[], now: Date): void {
  const running = pods.filter(
    (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
  );
  const allocatable = node.status?.allocatable ?? node.status?.capacity ?? {};
  const total = (resource: string): number => amount(resource, allocatable[resource]);
  const sums = { requests: {} as Amounts, limits: {} as Amounts };
  const rows = running.map((p) => {
    const { requests, limits } = podRequestsAndLimits(p);
    for (const key of ['requests', 'limits'] as const) {
      const from = key === 'requests' ? requests : limits;
      for (const [k, v] of Object.entries(from)) sums[key][k] = (sums[key][k] ?? 0) + v;
    }
    const cell = (r: string, from: Amounts): string => withPercent(r, from[r] ?? 0, total(r));
    return [
      p.metadata.namespace ?? '',
      p.metadata.name ?? '',
      cell('cpu', requests),
      cell('cpu', limits),
      cell('memory', requests),
      cell('memory', limits),
      age(p.metadata.creationTimestamp, now),
    ];
  });
  w.kv(0, 'Non-terminated Pods', `(${running.length} in total)`);
  const headers = [
    'Namespace',
    'Name',
    'CPU Requests',
    'CPU Limits',
    'Memory Requests',
    'Memory Limits',
    'Age',
  ];
  if (rows.length) {
    const rule = headers.map((h) => '-'.repeat(h.length));
    w.raw(1, formatTable(headers, [rule, ...rows], [], '  ').lines.join('\n'));
  }
  w.heading(0, 'Allocated resources');
  w.raw(1, '(Total limits may be over 100 percent, i.e., overcommitted.)');
  const resources = ['cpu', 'memory'];
  if (allocatable['ephemeral-storage'] !== undefined) resources.push('ephemeral-storage');
  for (const r of [...Object.keys(sums.requests), ...Object.keys(sums.limits)].sort())
    if (!resources.includes(r)) resources.push(r);
  const table = resources.map((r) => [
    r,
    withPercent(r, sums.requests[r] ?? 0, total(r)),
    withPercent(r, sums.limits[r] ?? 0, total(r)),
  ]);
  w.raw(
    1,
    formatTable(
      ['Resource', 'Requests', 'Limits'],
      [['--------', '--------', '------'], ...table],
      [],
      '  ',
    ).lines.join('\n'),
  );
}

function describeNode(w: DescribeWriter, node: Node, now: Date, related: Related = {}): void {
  w.kv(0, 'Status', nodeReadyStatus(node));
  w.kv(0, 'Unschedulable', node.spec?.unschedulable ? 'true' : 'false');
  w.kv(
    0,
    'Taints',
    (node.spec?.taints ?? [])
      .map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`)
      .join('\n'),
  );
  const conditions = node.status?.conditions ?? [];
  if (conditions.length) {
    w.heading(0, 'Conditions');
    const rows = conditions.map((c) => [
      c.type,
      c.status,
      c.lastHeartbeatTime ? age(c.lastHeartbeatTime, now) : '',
      c.reason ?? '',
      c.message ?? '',
    ]);
    w.raw(
      1,
      formatTable(
        ['Type', 'Status', 'LastHeartbeat', 'Reason', 'Message'],
        rows,
        [],
        '  ',
      ).lines.join('\n'),
    );
  }
  const addresses = node.status?.addresses ?? [];
  if (addresses.length) {
    w.heading(0, 'Addresses');
    for (const a of addresses) w.kv(1, a.type, a.address);
  }
  for (const [title, list] of [
    ['Capacity', node.status?.capacity],
    ['Allocatable', node.status?.allocatable],
  ] as const) {
    if (!list) continue;
    w.heading(0, title);
    for (const [k, v] of Object.entries(list)) w.kv(1, k, v);
  }
  if (node.status?.nodeInfo) {
    w.heading(0, 'System Info');
    for (const [k, v] of Object.entries(node.status.nodeInfo)) w.kv(1, titleCase(k), v);
  }
  if (related.pods) describeNodePods(w, node, related.pods, now);
}

function describeSecret(w: DescribeWriter, secret: Secret): void {
  w.raw(0, '');
  w.kv(0, 'Type', secret.type ?? 'Opaque');
  w.raw(0, '\nData\n====');
  const data = Object.entries(secret.data ?? {}).sort(([a], [b]) => a.localeCompare(b));
  for (const [k, v] of data) w.kv(0, k, `${Buffer.from(v, 'base64').length} bytes`);
}

function describeConfigMap(w: DescribeWriter, cm: ConfigMap): void {
  w.raw(0, '\nData\n====');
  for (const [k, v] of Object.entries(cm.data ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    w.raw(0, `${k}:\n----\n${v.replace(/\n$/, '')}`);
  }
  w.raw(0, '\nBinaryData\n====');
  for (const [k, v] of Object.entries(cm.binaryData ?? {}))
    w.kv(0, k, `${Buffer.from(v, 'base64').length} bytes`);
  w.raw(0, '');
}

function describeProject(w: DescribeWriter, project: ApiObject): void {
  const annotations = project.metadata.annotations ?? {};
  w.kv(0, 'Display Name', annotations['openshift.io/display-name'] ?? '');
  w.kv(0, 'Description', annotations['openshift.io/description'] ?? '');
  w.kv(0, 'Status', (project.status as { phase?: string } | undefined)?.phase ?? 'Active');
}

/** `ip:port` of the ready addresses serving one Service port, as kubectl lists them. */
function endpointsOf(endpoints: Endpoints | undefined, port: ServicePort): string {
  const out: string[] = [];
  for (const subset of endpoints?.subsets ?? []) {
    const match = (subset.ports ?? []).find(
      (p) =>
        (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP'),
    );
    if (!match) continue;
    for (const a of subset.addresses ?? []) out.push(`${a.ip}:${match.port}`);
  }
  if (out.length === 0) return '<none>';
  return out.length > 3
    ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...`
    : out.join(',');
}

function describeService(w: DescribeWriter, svc: Service, related: Related): void {
  const spec = svc.spec;
  w.kv(0, 'Selector', mapLines(spec.selector, [], ','));
  w.kv(0, 'Type', spec.type ?? 'ClusterIP');
  w.kv(0, 'IP', spec.clusterIP || '<none>');
  if (spec.type === 'LoadBalancer') w.kv(0, 'LoadBalancer Ingress', '<pending>');
  for (const port of spec.ports ?? []) {
    const name = port.name || '<unset>';
    const protocol = port.protocol ?? 'TCP';
    w.kv(0, 'Port', `${name}  ${port.port}/${protocol}`);
    w.kv(0, 'TargetPort', `${port.targetPort ?? port.port}/${protocol}`);
    if (port.nodePort !== undefined) w.kv(0, 'NodePort', `${name}  ${port.nodePort}/${protocol}`);
    w.kv(0, 'Endpoints', endpointsOf(related.endpoints, port));
  }
  w.kv(0, 'Session Affinity', spec.sessionAffinity ?? 'None');
  if (spec.externalTrafficPolicy) w.kv(0, 'External Traffic Policy', spec.externalTrafficPolicy);
}

function describeGeneric(w: DescribeWriter, obj: ApiObject): void {
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
    renderValue(w, 0, titleCase(key), value);
  }
}

/** The Events table at the end of describe: TYPE REASON AGE FROM MESSAGE, oldest first. */
export function formatEvents(events: readonly Event[], now: Date): string {
  if (events.length === 0) return 'Events:  <none>\n';
  const sorted = [...events].sort(
    (a, b) => Date.parse(a.lastTimestamp) - Date.parse(b.lastTimestamp),
  );
  const rows = sorted.map((e) => {
    const last = age(e.lastTimestamp, now);
    const when = e.count > 1 ? `${last} (x${e.count} over ${age(e.firstTimestamp, now)})` : last;
    return [e.type, e.reason, when, e.source?.component ?? '', e.message.replace(/\s*\n\s*/g, ' ')];
  });
  const table = formatTable(
    ['Type', 'Reason', 'Age', 'From', 'Message'],
    [['----', '------', '----', '----', '-------'], ...rows],
    [],
    '  ',
  );
  return `Events:\n${table.lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** The human-readable description of one object (without events). */
export function describeObject(
  def: AnyKindDefinition,
  obj: ApiObject,
  now: Date,
  related: Related = {},
): string {
  const w = new DescribeWriter();
  w.kv(0, 'Name', obj.metadata.name ?? '');
  if (def.namespaced) w.kv(0, 'Namespace', obj.metadata.namespace ?? '');
  w.kv(0, 'Labels', mapLines(obj.metadata.labels));
  w.kv(0, 'Annotations', mapLines(obj.metadata.annotations, [LAST_APPLIED]));
  w.kv(0, 'Created', timestamp(obj.metadata.creationTimestamp, now));
  if (obj.metadata.deletionTimestamp)
    w.kv(0, 'Deleting Since', timestamp(obj.metadata.deletionTimestamp, now));
  const owners = obj.metadata.ownerReferences ?? [];
  if (owners.length) w.kv(0, 'Controlled By', owners.map((o) => `${o.kind}/${o.name}`).join('\n'));
  switch (def.kind) {
    case 'Pod':
      describePod(w, obj as Pod, now);
      break;
    case 'Node':
      describeNode(w, obj, now, related);
      break;
    case 'Secret':
      describeSecret(w, obj);
      break;
    case 'ConfigMap':
      describeConfigMap(w, obj);
      break;
    case 'Project':
      describeProject(w, obj);
      break;
    case 'BuildConfig':
      describeBuildConfig(w, obj as BuildConfig, now, related);
      break;
    case 'Build':
      describeBuild(w, obj as Build, now);
      break;
    case 'ImageStream':
      describeImageStream(w, obj, now);
      break;
    case 'DeploymentConfig':
      describeDeploymentConfig(w, obj as DeploymentConfig, now, related);
      break;
    case 'Deployment':
      describeDeployment(w, obj as Deployment, related);
      break;
    case 'Service':
      describeService(w, obj as Service, related);
      break;
    default:
      describeGeneric(w, obj);
  }
  return w.render();
}
