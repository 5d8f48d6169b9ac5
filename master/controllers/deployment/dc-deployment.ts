/**
 * A DeploymentConfig's N-th ReplicationController (pure; OpenShift's MakeDeployment): named
 * `DC-N`, controlled by the configuration, starting at 0 replicas in phase New, with the
 * configuration recorded on it for history and undo.
 */
import {
  APPS_GROUP,
  DC_ANNOTATIONS,
  DC_LABELS,
  deploymentNameFor,
  type DeploymentConfig,
} from '../../../src/api/kinds/deployment-config.js';
import type { ReplicationController } from '../../../src/api/kinds/replication-controller.js';

export function makeDeployment(dc: DeploymentConfig): ReplicationController {
  const name = dc.metadata.name ?? '';
  const version = dc.status?.latestVersion ?? 0;
  const rcName = deploymentNameFor(name, version);
  const template = structuredClone(dc.spec.template!);
  for (const c of [...template.spec.containers, ...(template.spec.initContainers ?? [])]) {
    c.image = (c.image ?? '').trim();
  }
  const selector = {
    ...dc.spec.selector,
    [DC_LABELS.config]: name,
    [DC_LABELS.deployment]: rcName,
  };
  template.metadata = {
    ...template.metadata,
    labels: {
      ...template.metadata?.labels,
      [DC_LABELS.config]: name,
      [DC_LABELS.deployment]: rcName,
    },
    annotations: {
      ...template.metadata?.annotations,
      [DC_ANNOTATIONS.deploymentName]: rcName,
      [DC_ANNOTATIONS.configName]: name,
      [DC_ANNOTATIONS.latestVersion]: String(version),
    },
  };
  const encoded: DeploymentConfig = {
    apiVersion: `${APPS_GROUP}/v1`,
    kind: 'DeploymentConfig',
    metadata: { ...dc.metadata },
    spec: dc.spec,
    ...(dc.status ? { status: dc.status } : {}),
  };
  const annotations: Record<string, string> = {
    [DC_ANNOTATIONS.configName]: name,
    [DC_ANNOTATIONS.encodedConfig]: JSON.stringify(encoded),
    [DC_ANNOTATIONS.phase]: 'New',
    [DC_ANNOTATIONS.latestVersion]: String(version),
    [DC_ANNOTATIONS.desiredReplicas]: String(dc.spec.replicas ?? 0),
    [DC_ANNOTATIONS.replicas]: '0',
  };
  const message = dc.status?.details?.message;
  if (message) annotations[DC_ANNOTATIONS.statusReason] = message;
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: {
      name: rcName,
      namespace: dc.metadata.namespace ?? '',
      labels: { ...dc.metadata.labels, [DC_ANNOTATIONS.configName]: name },
      annotations,
      ownerReferences: [
        {
          apiVersion: `${APPS_GROUP}/v1`,
          kind: 'DeploymentConfig',
          name,
          uid: dc.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: 0,
      selector,
      minReadySeconds: dc.spec.minReadySeconds ?? 0,
      template,
    },
  };
}
