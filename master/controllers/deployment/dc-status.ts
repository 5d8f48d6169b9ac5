/**
 * A DeploymentConfig's status from its ReplicationControllers (pure; OpenShift's
 * calculateStatus and updateConditions): counts summed over the RCs' status, the latest RC's
 * pods as updatedReplicas, and the Available and Progressing conditions.
 */
import {
  dcFenceposts,
  deploymentPhaseOf,
  deploymentVersionOf,
  isCancelled,
  type DeploymentConfig,
  type DeploymentConfigStatus,
} from '../../../src/api/kinds/deployment-config.js';
import type { WorkloadCondition } from '../../../src/api/kinds/pod-template.js';
import type { ReplicationController } from '../../../src/api/kinds/replication-controller.js';
import { getCondition, removeCondition, setCondition } from './conditions.js';

/** Progressing reasons, in OpenShift's words. */
export const DC_CONDITION_REASONS = {
  newRcCreated: 'NewReplicationControllerCreated',
  newRcAvailable: 'NewReplicationControllerAvailable',
  rcUpdated: 'ReplicationControllerUpdated',
  timedOut: 'ProgressDeadlineExceeded',
  cancelled: 'RolloutCancelled',
  createFailed: 'ReplicationControllerCreateError',
  paused: 'DeploymentConfigPaused',
  /** Slipway's: the first rollout waits for an ImageChange trigger's image. */
  waitingForImage: 'WaitingForImage',
} as const;

export type ExtraCondition = Omit<WorkloadCondition, 'lastTransitionTime' | 'lastUpdateTime'>;

function isProgressing(dc: DeploymentConfig, next: DeploymentConfigStatus): boolean {
  const before = (dc.status?.replicas ?? 0) - (dc.status?.updatedReplicas ?? 0);
  const after = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (next.updatedReplicas ?? 0) > (dc.status?.updatedReplicas ?? 0) || after < before;
}

export function calculateDcStatus(
  dc: DeploymentConfig,
  rcs: readonly ReplicationController[],
  now: Date,
  options: { updateObservedGeneration: boolean; extra?: ExtraCondition[] },
): DeploymentConfigStatus {
  const latestVersion = dc.status?.latestVersion ?? 0;
  const latest =
    latestVersion > 0 ? rcs.find((rc) => deploymentVersionOf(rc) === latestVersion) : undefined;
  const sum = (f: (rc: ReplicationController) => number): number =>
    rcs.reduce((n, rc) => n + f(rc), 0);
  const available = sum((rc) => rc.status?.availableReplicas ?? 0);
  const total = sum((rc) => rc.spec.replicas ?? 0);
  const status: DeploymentConfigStatus = {
    latestVersion,
    observedGeneration: options.updateObservedGeneration
      ? (dc.metadata.generation ?? 1)
      : (dc.status?.observedGeneration ?? 0),
    replicas: sum((rc) => rc.status?.replicas ?? 0),
    updatedReplicas: latest?.status?.replicas ?? 0,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    readyReplicas: sum((rc) => rc.status?.readyReplicas ?? 0),
    ...(dc.status?.details ? { details: dc.status.details } : {}),
  };
  let conditions = dc.status?.conditions ? [...dc.status.conditions] : [];
  const replicas = dc.spec.replicas ?? 0;
  const maxUnavailable =
    (dc.spec.strategy?.type ?? 'Rolling') === 'Rolling'
      ? dcFenceposts(dc, replicas).maxUnavailable
      : 0;
  conditions =
    available >= replicas - maxUnavailable && available > 0
      ? setCondition(
          conditions,
          {
            type: 'Available',
            status: 'True',
            message: 'Deployment config has minimum availability.',
          },
          now,
        )
      : setCondition(
          conditions,
          {
            type: 'Available',
            status: 'False',
            message: 'Deployment config does not have minimum availability.',
          },
          now,
        );
  if (latest) {
    const name = latest.metadata.name ?? '';
    const progressing = getCondition(conditions, 'Progressing');
    const wasPaused = progressing?.reason === DC_CONDITION_REASONS.paused;
    switch (deploymentPhaseOf(latest)) {
      case 'New':
      case 'Pending':
      case 'Running':
        if (isProgressing(dc, status) || !progressing || wasPaused) {
          // Progress refreshes the condition's times (OpenShift removes and sets it again).
          conditions = setCondition(
            removeCondition(conditions, 'Progressing'),
            {
              type: 'Progressing',
              status: 'True',
              reason: DC_CONDITION_REASONS.rcUpdated,
              message: `replication controller "${name}" is progressing`,
            },
            now,
          );
        }
        break;
      case 'Failed':
        conditions = setCondition(
          conditions,
          isCancelled(latest)
            ? {
                type: 'Progressing',
                status: 'False',
                reason: DC_CONDITION_REASONS.cancelled,
                message: `rollout of replication controller "${name}" was cancelled`,
              }
            : {
                type: 'Progressing',
                status: 'False',
                reason: DC_CONDITION_REASONS.timedOut,
                message: `replication controller "${name}" has failed progressing`,
              },
          now,
        );
        break;
      case 'Complete':
        conditions = setCondition(
          conditions,
          {
            type: 'Progressing',
            status: 'True',
            reason: DC_CONDITION_REASONS.newRcAvailable,
            message: `replication controller "${name}" successfully rolled out`,
          },
          now,
        );
        break;
    }
  }
  for (const extra of options.extra ?? []) conditions = setCondition(conditions, extra, now);
  status.conditions = conditions;
  return status;
}
