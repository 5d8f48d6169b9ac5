/**
 * `describe` for DeploymentConfigs and Deployments, in `oc describe` / `kubectl describe`
 * words: strategy, triggers, the pod template, the versions (ReplicationControllers or
 * ReplicaSets) with their pods' states, and the conditions.
 */
import {
  podKind,
  replicaSetKind,
  replicationControllerKind,
  type ApiObject,
  type Pod,
} from '../api/index.js';
import type { ApiClient } from '../client/index.js';
import {
  DC_ANNOTATIONS,
  DC_LABELS,
  deploymentPhaseOf,
  deploymentVersionOf,
  type DeploymentConfig,
} from '../api/kinds/deployment-config.js';
import { revisionOf, type Deployment } from '../api/kinds/deployment.js';
import type { PodTemplateSpec, WorkloadCondition } from '../api/kinds/pod-template.js';
import type { ReplicaSet } from '../api/kinds/replica-set.js';
import type { ReplicationController } from '../api/kinds/replication-controller.js';
import { formatLabelSelector } from '../api/selectors.js';
import { selectorFromStructured } from '../api/kinds/pod-template.js';
import { age } from '../util/age.js';
import type { DescribeWriter } from './describe-writer.js';
import { formatTable } from './table.js';

function labelsText(map: Record<string, string> | undefined, sep = ','): string {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(sep) : '<none>';
}

/** kubectl's Pod Template block. */
export function describePodTemplate(
  w: DescribeWriter,
  template: PodTemplateSpec | undefined,
  indent = 0,
): void {
  w.heading(indent, 'Pod Template');
  if (!template) {
    w.raw(indent + 1, '<none>');
    return;
  }
  w.kv(indent + 1, 'Labels', labelsText(template.metadata?.labels, '\n'));
  const annotations = template.metadata?.annotations;
  if (annotations && Object.keys(annotations).length) {
    w.kv(indent + 1, 'Annotations', labelsText(annotations, '\n'));
  }
  const groups = [
    ['Init Containers', template.spec.initContainers ?? []],
    ['Containers', template.spec.containers],
  ] as const;
  for (const [title, containers] of groups) {
    if (containers.length === 0) continue;
    w.heading(indent + 1, title);
    for (const c of containers) {
      w.heading(indent + 2, c.name);
      w.kv(indent + 3, 'Image', (c.image ?? '').trim() || '<none: filled by an image trigger>');
      const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`);
      w.kv(indent + 3, 'Port', ports.join(', '));
      if (c.command) w.kv(indent + 3, 'Command', c.command.join('\n'));
      if (c.args) w.kv(indent + 3, 'Args', c.args.join('\n'));
      const env = (c.env ?? []).map((e) =>
        e.value !== undefined ? `${e.name}:  ${e.value}` : `${e.name}:  <set from a reference>`,
      );
      w.kv(indent + 3, 'Environment', env.join('\n'));
      const mounts = (c.volumeMounts ?? []).map(
        (m) => `${m.mountPath} from ${m.name}${m.readOnly ? ' (ro)' : ' (rw)'}`,
      );
      w.kv(indent + 3, 'Mounts', mounts.join('\n'));
    }
  }
  const volumes = (template.spec.volumes ?? []).map((v) => v.name);
  w.kv(indent + 1, 'Volumes', volumes.join('\n'));
}

/** `4 Running / 0 Waiting / 0 Succeeded / 0 Failed` */
export function podsStatus(pods: readonly Pod[]): string {
  const count = (phase: string) =>
    pods.filter((p) => (p.status?.phase ?? 'Pending') === phase).length;
  return `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`;
}

function conditionsTable(
  w: DescribeWriter,
  conditions: readonly WorkloadCondition[] | undefined,
): void {
  if (!conditions?.length) return;
  w.heading(0, 'Conditions');
  const rows = conditions.map((c) => [c.type, c.status, c.reason ?? '']);
  w.raw(
    1,
    formatTable(
      ['Type', 'Status', 'Reason'],
      [['----', '------', '------'], ...rows],
      [],
      '  ',
    ).lines.join('\n'),
  );
}

function triggersText(dc: DeploymentConfig): string {
  const parts = (dc.spec.triggers ?? []).map((t) => {
    if (t.type === 'ConfigChange') return 'Config';
    const p = t.imageChangeParams;
    if (!p) return 'Image';
    const from = p.from.name.replace(':', '@');
    return `Image(${from}, auto=${p.automatic ? 'true' : 'false'})`;
  });
  return parts.join(', ') || '<none>';
}

function strategyText(dc: DeploymentConfig): string[] {
  const s = dc.spec.strategy;
  const lines: string[] = [];
  if (s?.type === 'Recreate') {
    lines.push(`Recreate (timeout ${s.recreateParams?.timeoutSeconds ?? 600}s)`);
  } else {
    const p = s?.rollingParams;
    lines.push(
      `Rolling: max surge ${String(p?.maxSurge ?? '25%')}, max unavailable ${String(p?.maxUnavailable ?? '25%')}, timeout ${p?.timeoutSeconds ?? 600}s, update period ${p?.updatePeriodSeconds ?? 1}s`,
    );
  }
  const hooks = s?.type === 'Recreate' ? s.recreateParams : s?.rollingParams;
  for (const type of ['pre', 'mid', 'post'] as const) {
    const hook = (
      hooks as
        | Record<
            string,
            | {
                failurePolicy?: string;
                execNewPod?: { command?: string[]; containerName?: string };
              }
            | undefined
          >
        | undefined
    )?.[type];
    if (!hook?.execNewPod) continue;
    lines.push(
      `${type} hook (failure policy: ${hook.failurePolicy ?? ''}): ${(hook.execNewPod.command ?? []).join(' ')} in ${hook.execNewPod.containerName ?? ''}`,
    );
  }
  return lines;
}

export function describeDeploymentConfig(
  w: DescribeWriter,
  dc: DeploymentConfig,
  now: Date,
  related: {
    replicationControllers?: readonly ReplicationController[] | undefined;
    pods?: readonly Pod[] | undefined;
  },
): void {
  w.kv(0, 'Latest Version', dc.status?.latestVersion ?? 0);
  w.kv(0, 'Selector', labelsText(dc.spec.selector));
  w.kv(
    0,
    'Replicas',
    `${dc.spec.replicas ?? 0}${dc.spec.paused ? ' (paused)' : ''}${dc.spec.test ? ' (test)' : ''}`,
  );
  w.kv(0, 'Triggers', triggersText(dc));
  w.kv(0, 'Strategy', strategyText(dc).join('\n'));
  w.kv(0, 'Min Ready Seconds', dc.spec.minReadySeconds ?? 0);
  describePodTemplate(w, dc.spec.template);
  const rcs = [...(related.replicationControllers ?? [])].sort(
    (a, b) => deploymentVersionOf(b) - deploymentVersionOf(a),
  );
  const latestVersion = dc.status?.latestVersion ?? 0;
  if (rcs.length === 0) {
    w.raw(0, '');
    w.kv(0, 'Latest Deployment', '<none>');
  }
  for (const rc of rcs) {
    const version = deploymentVersionOf(rc);
    w.raw(0, '');
    w.heading(0, `Deployment #${version}${version === latestVersion ? ' (latest)' : ''}`);
    w.kv(1, 'Name', rc.metadata.name ?? '');
    w.kv(1, 'Created', `${age(rc.metadata.creationTimestamp, now)} ago`);
    const reason = rc.metadata.annotations?.[DC_ANNOTATIONS.statusReason];
    w.kv(1, 'Status', `${deploymentPhaseOf(rc)}${reason ? ` (${reason})` : ''}`);
    w.kv(1, 'Replicas', `${rc.status?.replicas ?? 0} current / ${rc.spec.replicas ?? 0} desired`);
    if (version === latestVersion) {
      w.kv(1, 'Selector', labelsText(rc.spec.selector));
      w.kv(1, 'Labels', labelsText(rc.metadata.labels));
      const pods = (related.pods ?? []).filter(
        (p) => p.metadata.labels?.deployment === rc.metadata.name,
      );
      w.kv(1, 'Pods Status', podsStatus(pods));
    }
  }
  w.raw(0, '');
  conditionsTable(w, dc.status?.conditions);
}

export function describeDeployment(
  w: DescribeWriter,
  d: Deployment,
  related: { replicaSets?: readonly ReplicaSet[] | undefined },
): void {
  const s = d.status ?? {};
  w.kv(0, 'Selector', formatLabelSelector(selectorFromStructured(d.spec.selector)) || '<none>');
  w.kv(
    0,
    'Replicas',
    `${d.spec.replicas ?? 1} desired | ${s.updatedReplicas ?? 0} updated | ${s.replicas ?? 0} total | ${s.availableReplicas ?? 0} available | ${s.unavailableReplicas ?? 0} unavailable`,
  );
  const type = d.spec.strategy?.type ?? 'RollingUpdate';
  w.kv(0, 'StrategyType', type);
  w.kv(0, 'MinReadySeconds', d.spec.minReadySeconds ?? 0);
  if (type === 'RollingUpdate') {
    const r = d.spec.strategy?.rollingUpdate;
    w.kv(
      0,
      'RollingUpdateStrategy',
      `${String(r?.maxUnavailable ?? '25%')} max unavailable, ${String(r?.maxSurge ?? '25%')} max surge`,
    );
  }
  if (d.spec.paused) w.kv(0, 'Paused', 'true');
  describePodTemplate(w, d.spec.template);
  conditionsTable(w, d.status?.conditions);
  const sets = [...(related.replicaSets ?? [])].sort((a, b) => revisionOf(b) - revisionOf(a));
  const current = revisionOf(d);
  const text = (rs: ReplicaSet) =>
    `${rs.metadata.name ?? ''} (${rs.status?.replicas ?? 0}/${rs.spec.replicas ?? 0} replicas created)`;
  const newRs = sets.find((rs) => revisionOf(rs) === current);
  const old = sets.filter(
    (rs) => rs !== newRs && ((rs.spec.replicas ?? 0) > 0 || (rs.status?.replicas ?? 0) > 0),
  );
  w.kv(0, 'OldReplicaSets', old.map(text).join(', ') || '<none>');
  w.kv(0, 'NewReplicaSet', newRs ? text(newRs) : '<none>');
}

/** What describe shows beside a DeploymentConfig (its RCs and pods) or a Deployment (its
 * ReplicaSets); nothing when they cannot be read. */
export async function deploymentRelated(
  client: ApiClient,
  obj: ApiObject,
): Promise<{
  replicationControllers?: ReplicationController[];
  replicaSets?: ReplicaSet[];
  pods?: Pod[];
}> {
  const namespace = obj.metadata.namespace;
  const name = obj.metadata.name ?? '';
  try {
    if (obj.kind === 'DeploymentConfig') {
      const rcs = await client.list<ReplicationController>(replicationControllerKind, {
        namespace,
        labelSelector: `${DC_ANNOTATIONS.configName}=${name}`,
      });
      const pods = await client.list<Pod>(podKind, {
        namespace,
        labelSelector: `${DC_LABELS.config}=${name}`,
      });
      return { replicationControllers: rcs.items, pods: pods.items };
    }
    if (obj.kind === 'Deployment') {
      const rss = await client.list<ReplicaSet>(replicaSetKind, { namespace });
      const uid = obj.metadata.uid;
      return {
        replicaSets: rss.items.filter((rs) =>
          rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid),
        ),
      };
    }
  } catch {
    // Not readable: describe shows the object alone.
  }
  return {};
}
