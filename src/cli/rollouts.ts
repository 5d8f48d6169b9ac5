/**
 * What `rollout status`, `history` and `undo` compute (pure): oc's DeploymentConfig status
 * viewer and kubectl's Deployment one, the history tables, and the rollback of a template.
 */
import { jsonEqual } from '../api/merge-patch.js';
import {
  DC_ANNOTATIONS,
  decodeDeploymentConfig,
  deploymentNameFor,
  deploymentPhaseOf,
  deploymentVersionOf,
  type DeploymentConfig,
} from '../api/kinds/deployment-config.js';
import {
  DEPLOYMENT_ANNOTATIONS,
  POD_TEMPLATE_HASH_LABEL,
  revisionOf,
  type Deployment,
} from '../api/kinds/deployment.js';
import type { PodTemplateSpec } from '../api/kinds/pod-template.js';
import type { ReplicaSet } from '../api/kinds/replica-set.js';
import type { ReplicationController } from '../api/kinds/replication-controller.js';
import { formatTable } from './table.js';

/** One look at a rollout: a line to print, and whether it is over (`error`: it failed). */
export interface RolloutView {
  message: string;
  done: boolean;
  error?: boolean;
}

const OBSERVING =
  'Waiting for latest deployment config spec to be observed by the controller loop...';

/** oc's DeploymentConfig status viewer. */
export function dcRolloutStatus(dc: DeploymentConfig, resumeCommand: string): RolloutView {
  const name = dc.metadata.name ?? '';
  const latest = deploymentNameFor(name, dc.status?.latestVersion ?? 0);
  const observed = (dc.metadata.generation ?? 1) <= (dc.status?.observedGeneration ?? 0);
  if (!observed || (dc.status?.latestVersion ?? 0) === 0)
    return { message: OBSERVING, done: false };
  const cond = dc.status?.conditions?.find((c) => c.type === 'Progressing');
  // A condition about an older RC has not caught up with the latest version yet.
  const current = cond?.message?.includes(`"${latest}"`) ?? false;
  if (cond?.reason === 'DeploymentConfigPaused') {
    return {
      message: `Deployment config "${name}" waiting on manual update (use '${resumeCommand}')`,
      done: true,
      error: true,
    };
  }
  if (current && cond?.reason === 'NewReplicationControllerAvailable') {
    return { message: cond.message ?? '', done: true };
  }
  if (
    current &&
    (cond?.reason === 'ProgressDeadlineExceeded' || cond?.reason === 'RolloutCancelled')
  ) {
    return { message: cond.message ?? '', done: true, error: true };
  }
  const updated = dc.status?.updatedReplicas ?? 0;
  const replicas = dc.spec.replicas ?? 0;
  const available = dc.status?.availableReplicas ?? 0;
  if (updated < replicas) {
    return {
      message: `Waiting for rollout to finish: ${updated} out of ${replicas} new replicas have been updated...`,
      done: false,
    };
  }
  if ((dc.status?.replicas ?? 0) > updated) {
    return {
      message: `Waiting for rollout to finish: ${(dc.status?.replicas ?? 0) - updated} old replicas are pending termination...`,
      done: false,
    };
  }
  if (available < updated) {
    return {
      message: `Waiting for rollout to finish: ${available} of ${updated} updated replicas are available...`,
      done: false,
    };
  }
  return { message: OBSERVING, done: false };
}

/** kubectl's Deployment status viewer. */
export function deploymentRolloutStatus(d: Deployment): RolloutView {
  const name = d.metadata.name ?? '';
  if ((d.metadata.generation ?? 1) > (d.status?.observedGeneration ?? 0)) {
    return { message: 'Waiting for deployment spec update to be observed...', done: false };
  }
  const cond = d.status?.conditions?.find((c) => c.type === 'Progressing');
  if (cond?.reason === 'ProgressDeadlineExceeded') {
    return {
      message: `deployment "${name}" exceeded its progress deadline`,
      done: true,
      error: true,
    };
  }
  const s = d.status ?? {};
  const replicas = d.spec.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const wait = (what: string): RolloutView => ({
    message: `Waiting for deployment "${name}" rollout to finish: ${what}...`,
    done: false,
  });
  if (updated < replicas)
    return wait(`${updated} out of ${replicas} new replicas have been updated`);
  if ((s.replicas ?? 0) > updated) {
    return wait(`${(s.replicas ?? 0) - updated} old replicas are pending termination`);
  }
  if ((s.availableReplicas ?? 0) < updated) {
    return wait(`${s.availableReplicas ?? 0} of ${updated} updated replicas are available`);
  }
  return { message: `deployment "${name}" successfully rolled out`, done: true };
}

/** `oc rollout history dc/NAME`: REVISION STATUS CAUSE, oldest first. */
export function dcHistory(name: string, rcs: readonly ReplicationController[]): string {
  const rows = [...rcs]
    .sort((a, b) => deploymentVersionOf(a) - deploymentVersionOf(b))
    .map((rc) => [
      String(deploymentVersionOf(rc)),
      deploymentPhaseOf(rc),
      rc.metadata.annotations?.[DC_ANNOTATIONS.statusReason] || '<unknown>',
    ]);
  const table = formatTable(['REVISION', 'STATUS', 'CAUSE'], rows).lines;
  return [`deploymentconfigs "${name}"`, ...table].join('\n');
}

/** `kubectl rollout history deployment/NAME`: REVISION CHANGE-CAUSE. */
export function deploymentHistory(name: string, rss: readonly ReplicaSet[]): string {
  const rows = [...rss]
    .filter((rs) => revisionOf(rs) > 0)
    .sort((a, b) => revisionOf(a) - revisionOf(b))
    .map((rs) => [
      String(revisionOf(rs)),
      rs.metadata.annotations?.[DEPLOYMENT_ANNOTATIONS.changeCause] ?? '<none>',
    ]);
  return [`deployment.apps/${name}`, ...formatTable(['REVISION', 'CHANGE-CAUSE'], rows).lines].join(
    '\n',
  );
}

/**
 * OpenShift's rollback (as `oc rollout undo` asks for it): the pod template recorded on the
 * RC of `revision` (images by digest and env together) becomes the configuration's, and its
 * automatic ImageChange triggers are switched off so they do not undo the rollback. Returns
 * the new configuration and the `stream:tag` of each trigger it switched off.
 */
export function rollbackDeploymentConfig(
  dc: DeploymentConfig,
  rc: ReplicationController,
): { dc: DeploymentConfig; disabled: string[] } {
  const recorded = decodeDeploymentConfig(rc);
  if (!recorded?.spec.template) {
    throw new Error(
      `replication controller "${rc.metadata.name ?? ''}" does not record its configuration`,
    );
  }
  const next = structuredClone(dc);
  next.spec.template = structuredClone(recorded.spec.template);
  const disabled: string[] = [];
  for (const t of next.spec.triggers ?? []) {
    if (t.type === 'ImageChange' && t.imageChangeParams?.automatic) {
      t.imageChangeParams.automatic = false;
      disabled.push(t.imageChangeParams.from.name);
    }
  }
  return { dc: next, disabled };
}

/** The ReplicaSet's template as a Deployment template (without the pod-template-hash). */
export function templateOf(rs: ReplicaSet): PodTemplateSpec | undefined {
  const template = rs.spec.template;
  if (!template) return undefined;
  const labels = { ...template.metadata?.labels };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...structuredClone(template), metadata: { ...template.metadata, labels } };
}

/** kubectl's rollback: the Deployment with the template of `revision` (0: the previous one),
 * or why not. */
export function rollbackDeployment(
  d: Deployment,
  rss: readonly ReplicaSet[],
  revision: number,
): { deployment: Deployment; revision: number } | { skipped: string } {
  const sorted = [...rss]
    .filter((rs) => revisionOf(rs) > 0)
    .sort((a, b) => revisionOf(b) - revisionOf(a));
  const target = revision > 0 ? sorted.find((rs) => revisionOf(rs) === revision) : sorted[1];
  if (!target) {
    throw new Error(
      revision > 0
        ? `unable to find specified revision ${revision} in history`
        : 'no rollout history found',
    );
  }
  const template = templateOf(target)!;
  if (jsonEqual(template, d.spec.template)) {
    return {
      skipped: `skipped rollback (current template already matches revision ${revisionOf(target)})`,
    };
  }
  return {
    deployment: { ...structuredClone(d), spec: { ...d.spec, template } },
    revision: revisionOf(target),
  };
}
