/**
 * DeploymentConfig lifecycle hooks (pure): the pod an `execNewPod` hook runs as, and what its
 * state means for the rollout. OpenShift runs hooks from its deployer pod; Slipway's controller
 * creates the hook pod itself: `RC-hook-pre` (`-mid`, `-post`), from the named container's image,
 * env, resources and the volumes the hook lists, with the hook's command and env, restart policy
 * Never, owned (not controlled) by the RC, so the RC's own pods never include it.
 */
import type { Pod } from '../../../src/api/index.js';
import {
  DC_ANNOTATIONS,
  DC_DEFAULTS,
  DC_LABELS,
  type DeploymentConfig,
  type LifecycleHook,
} from '../../../src/api/kinds/deployment-config.js';
import type { ReplicationController } from '../../../src/api/kinds/replication-controller.js';
import { hookAnnotation } from './sets.js';

export type HookType = 'pre' | 'mid' | 'post';

export function hookPodName(rcName: string, type: HookType): string {
  return `${rcName}-hook-${type}`;
}

/** The hook of `type` the configuration's strategy defines, if any. */
export function hookOf(dc: DeploymentConfig, type: HookType): LifecycleHook | undefined {
  const s = dc.spec.strategy;
  if (s?.type === 'Recreate') return s.recreateParams?.[type];
  if (type === 'mid') return undefined;
  return s?.rollingParams?.[type];
}

export function makeHookPod(
  dc: DeploymentConfig,
  rc: ReplicationController,
  hook: LifecycleHook,
  type: HookType,
): Pod {
  const exec = hook.execNewPod!;
  const spec = dc.spec.template!.spec;
  const container = [...spec.containers, ...(spec.initContainers ?? [])].find(
    (c) => c.name === exec.containerName,
  )!;
  const env = [...(container.env ?? [])];
  for (const e of exec.env ?? []) {
    const i = env.findIndex((x) => x.name === e.name);
    const value = { name: e.name, value: e.value ?? '' };
    if (i >= 0) env[i] = value;
    else env.push(value);
  }
  const wanted = new Set(exec.volumes ?? []);
  const volumes = (spec.volumes ?? []).filter((v) => wanted.has(v.name));
  const rcName = rc.metadata.name ?? '';
  const strategy = dc.spec.strategy ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: hookPodName(rcName, type),
      namespace: rc.metadata.namespace ?? '',
      labels: {
        ...strategy.labels,
        [DC_LABELS.deployerPodFor]: rcName,
        [DC_LABELS.deployerPodType]: `hook-${type}`,
      },
      annotations: { ...strategy.annotations, [DC_ANNOTATIONS.deploymentName]: rcName },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'ReplicationController',
          name: rcName,
          uid: rc.metadata.uid ?? '',
        },
      ],
    },
    spec: {
      containers: [
        {
          name: 'lifecycle',
          image: (container.image ?? '').trim(),
          command: exec.command,
          env,
          ...(container.resources ? { resources: container.resources } : {}),
          ...(container.workingDir ? { workingDir: container.workingDir } : {}),
          ...(container.securityContext ? { securityContext: container.securityContext } : {}),
          ...(container.imagePullPolicy ? { imagePullPolicy: container.imagePullPolicy } : {}),
          volumeMounts: (container.volumeMounts ?? []).filter((m) => wanted.has(m.name)),
        },
      ],
      ...(volumes.length ? { volumes } : {}),
      restartPolicy: 'Never',
      activeDeadlineSeconds: strategy.activeDeadlineSeconds ?? DC_DEFAULTS.activeDeadlineSeconds,
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(spec.securityContext ? { securityContext: spec.securityContext } : {}),
    },
  };
}

/** Where a hook stands for the rollout. */
export type HookProgress =
  | { state: 'done' }
  /** Create its pod. */
  | { state: 'start' }
  /** Its pod runs. */
  | { state: 'running' }
  /** It failed; `policy` says what now. */
  | { state: 'failed'; policy: LifecycleHook['failurePolicy']; message: string };

export function hookProgress(
  rc: ReplicationController,
  type: HookType,
  hook: LifecycleHook,
  pod: Pod | undefined,
): HookProgress {
  if (rc.metadata.annotations?.[hookAnnotation(type)]) return { state: 'done' };
  if (!pod || pod.metadata.deletionTimestamp)
    return pod ? { state: 'running' } : { state: 'start' };
  const phase = pod.status?.phase;
  if (phase === 'Succeeded') return { state: 'done' };
  if (phase === 'Failed') {
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    const why = terminated
      ? `exit code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}`
      : (pod.status?.reason ?? 'failed');
    return {
      state: 'failed',
      policy: hook.failurePolicy,
      message: `the ${type} hook failed: ${why}`,
    };
  }
  return { state: 'running' };
}
