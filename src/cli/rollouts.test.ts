import { describe, expect, it } from 'vitest';
import type { Deployment } from '../api/kinds/deployment.js';
import type { DeploymentConfig } from '../api/kinds/deployment-config.js';
import type { ReplicaSet } from '../api/kinds/replica-set.js';
import type { ReplicationController } from '../api/kinds/replication-controller.js';
import { applyEnv, listEnv, splitEnvArgs } from './commands/set.js';
import {
  dcHistory,
  dcRolloutStatus,
  deploymentRolloutStatus,
  rollbackDeployment,
  rollbackDeploymentConfig,
} from './rollouts.js';

function dc(status: DeploymentConfig['status'], generation = 2): DeploymentConfig {
  return {
    apiVersion: 'apps.openshift.io/v1',
    kind: 'DeploymentConfig',
    metadata: { name: 'web', generation },
    spec: {
      replicas: 4,
      template: { spec: { containers: [{ name: 'web', image: 'example/web:2' }] } },
      triggers: [
        { type: 'ConfigChange' },
        {
          type: 'ImageChange',
          imageChangeParams: {
            automatic: true,
            containerNames: ['web'],
            from: { name: 'web:latest' },
          },
        },
      ],
    },
    status: { observedGeneration: 2, latestVersion: 2, ...status },
  };
}

const progressing = (reason: string, message: string) => ({
  conditions: [{ type: 'Progressing', status: 'True' as const, reason, message }],
});

describe('dcRolloutStatus', () => {
  it("prints oc's messages as the rollout moves", () => {
    const view = (s: DeploymentConfig['status'], gen?: number) =>
      dcRolloutStatus(dc(s, gen), 'slipway rollout resume dc/web').message;
    expect(view({}, 3)).toBe(
      'Waiting for latest deployment config spec to be observed by the controller loop...',
    );
    expect(view({ updatedReplicas: 1, replicas: 5 })).toBe(
      'Waiting for rollout to finish: 1 out of 4 new replicas have been updated...',
    );
    expect(view({ updatedReplicas: 4, replicas: 5 })).toBe(
      'Waiting for rollout to finish: 1 old replicas are pending termination...',
    );
    expect(view({ updatedReplicas: 4, replicas: 4, availableReplicas: 3 })).toBe(
      'Waiting for rollout to finish: 3 of 4 updated replicas are available...',
    );
    // A success about the previous version does not end the wait for this one.
    expect(
      dcRolloutStatus(
        dc({
          updatedReplicas: 4,
          replicas: 4,
          availableReplicas: 4,
          ...progressing(
            'NewReplicationControllerAvailable',
            'replication controller "web-1" successfully rolled out',
          ),
        }),
        'x',
      ).done,
    ).toBe(false);
    expect(
      dcRolloutStatus(
        dc(
          progressing(
            'NewReplicationControllerAvailable',
            'replication controller "web-2" successfully rolled out',
          ),
        ),
        'x',
      ),
    ).toEqual({ message: 'replication controller "web-2" successfully rolled out', done: true });
    expect(
      dcRolloutStatus(
        dc(
          progressing(
            'RolloutCancelled',
            'rollout of replication controller "web-2" was cancelled',
          ),
        ),
        'x',
      ),
    ).toMatchObject({ done: true, error: true });
  });
});

describe('deploymentRolloutStatus', () => {
  it("prints kubectl's messages", () => {
    const d = (status: Deployment['status']): Deployment => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', generation: 1 },
      spec: { replicas: 2, selector: {} },
      status: { observedGeneration: 1, ...status },
    });
    expect(deploymentRolloutStatus(d({ updatedReplicas: 1, replicas: 3 })).message).toBe(
      'Waiting for deployment "api" rollout to finish: 1 out of 2 new replicas have been updated...',
    );
    expect(
      deploymentRolloutStatus(d({ updatedReplicas: 2, replicas: 2, availableReplicas: 2 })),
    ).toEqual({
      message: 'deployment "api" successfully rolled out',
      done: true,
    });
    expect(
      deploymentRolloutStatus(
        d({
          conditions: [
            { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' },
          ],
        }),
      ),
    ).toEqual({
      message: 'deployment "api" exceeded its progress deadline',
      done: true,
      error: true,
    });
  });
});

describe('rollbacks', () => {
  const rc = (version: number, image: string): ReplicationController => ({
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: {
      name: `web-${version}`,
      annotations: {
        'openshift.io/deployment-config.latest-version': String(version),
        'openshift.io/deployment.phase': 'Complete',
        'openshift.io/deployment.status-reason': 'image change',
        'openshift.io/encoded-deployment-config': JSON.stringify({
          spec: {
            template: {
              spec: {
                containers: [{ name: 'web', image, env: [{ name: 'A', value: String(version) }] }],
              },
            },
          },
        }),
      },
    },
    spec: {},
  });

  it('a DeploymentConfig gets the old template and its automatic image triggers switched off', () => {
    const { dc: next, disabled } = rollbackDeploymentConfig(dc({}), rc(1, 'r/web@sha256:1'));
    expect(next.spec.template?.spec.containers[0]).toEqual({
      name: 'web',
      image: 'r/web@sha256:1',
      env: [{ name: 'A', value: '1' }],
    });
    expect(next.spec.triggers?.[1]?.imageChangeParams?.automatic).toBe(false);
    expect(disabled).toEqual(['web:latest']);
    expect(dcHistory('web', [rc(2, 'b'), rc(1, 'a')]).split('\n')).toEqual([
      'deploymentconfigs "web"',
      'REVISION   STATUS     CAUSE',
      '1          Complete   image change',
      '2          Complete   image change',
    ]);
  });

  it('a Deployment gets the previous revision, without the pod-template-hash, or is skipped', () => {
    const rs = (revision: number, image: string): ReplicaSet => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `api-${revision}`,
        annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      },
      spec: {
        selector: {},
        template: {
          metadata: { labels: { app: 'api', 'pod-template-hash': `h${revision}` } },
          spec: { containers: [{ name: 'api', image }] },
        },
      },
    });
    const d: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: {
        selector: {},
        template: {
          metadata: { labels: { app: 'api' } },
          spec: { containers: [{ name: 'api', image: 'b' }] },
        },
      },
    };
    const result = rollbackDeployment(d, [rs(1, 'a'), rs(2, 'b')], 0);
    expect(result).toMatchObject({ revision: 1 });
    expect('deployment' in result && result.deployment.spec.template).toEqual({
      metadata: { labels: { app: 'api' } },
      spec: { containers: [{ name: 'api', image: 'a' }] },
    });
    expect(rollbackDeployment(d, [rs(1, 'a'), rs(2, 'b')], 2)).toEqual({
      skipped: 'skipped rollback (current template already matches revision 2)',
    });
    expect(() => rollbackDeployment(d, [rs(2, 'b')], 0)).toThrow('no rollout history found');
  });
});

describe('set env helpers', () => {
  it('split arguments and apply changes in place', () => {
    expect(splitEnvArgs(['dc/web', 'A=1', 'B=x=y', 'C-', 'rc', 'web'])).toEqual({
      resources: ['dc/web', 'rc', 'web'],
      change: {
        set: [
          { name: 'A', value: '1' },
          { name: 'B', value: 'x=y' },
        ],
        remove: ['C'],
      },
    });
    const containers = [
      {
        name: 'a',
        image: 'i',
        env: [
          { name: 'A', value: '0' },
          { name: 'C', value: '2' },
        ],
      },
    ];
    expect(applyEnv(containers, { set: [{ name: 'A', value: '1' }], remove: ['C'] })).toBe(true);
    expect(containers[0]!.env).toEqual([{ name: 'A', value: '1' }]);
    expect(applyEnv(containers, { set: [{ name: 'A', value: '1' }], remove: [] })).toBe(false);
    expect(listEnv('pods', 'p', containers)).toEqual(['# pods/p, container a', 'A=1']);
  });
});
