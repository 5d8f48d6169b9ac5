import { describe, expect, it } from 'vitest';
import type { ApiObject } from '../api/index.js';
import type { Service } from '../api/kinds/service.js';
import { projectStatus, type ProjectObjects } from './status-graph.js';

const now = new Date('2026-01-01T12:00:00Z');
const minutesAgo = (m: number): string => new Date(now.getTime() - m * 60_000).toISOString();

function obj<T extends ApiObject>(kind: string, name: string, rest: Partial<T>): T {
  return {
    apiVersion: 'v1',
    kind,
    ...rest,
    metadata: { name, namespace: 'demo', creationTimestamp: minutesAgo(10), ...rest.metadata },
  } as T;
}

const container = { name: 'web', image: '127.0.0.1:5000/demo/web@sha256:abc' };

function project(overrides: Partial<ProjectObjects> = {}): ProjectObjects {
  return {
    routes: [
      obj('Route', 'web', {
        spec: { host: 'web-demo.apps.localhost', to: { kind: 'Service', name: 'web' } },
        status: {
          ingress: [{ conditions: [{ type: 'Admitted', status: 'True' }] }],
        },
      }),
    ],
    services: [
      obj('Service', 'web', {
        spec: {
          clusterIP: '172.30.0.7',
          ports: [{ port: 8080, targetPort: 8080 }],
          selector: { deploymentconfig: 'web' },
        },
      }),
    ],
    deploymentConfigs: [
      obj('DeploymentConfig', 'web', {
        spec: {
          template: {
            metadata: { labels: { deploymentconfig: 'web' } },
            spec: { containers: [container] },
          },
          triggers: [{ type: 'ImageChange', imageChangeParams: { from: { name: 'web:latest' } } }],
        },
        status: { latestVersion: 2 },
      }),
    ],
    replicationControllers: [1, 2].map((n) =>
      obj('ReplicationController', `web-${n}`, {
        metadata: {
          name: `web-${n}`,
          creationTimestamp: minutesAgo(n === 1 ? 9 : 2),
          annotations: {
            'openshift.io/deployment-config.name': 'web',
            'openshift.io/deployment-config.latest-version': String(n),
            'openshift.io/deployment.phase': 'Complete',
          },
        },
        spec: { replicas: n === 2 ? 2 : 0, selector: { deployment: `web-${n}` } },
      }),
    ),
    buildConfigs: [
      obj('BuildConfig', 'web', {
        spec: {
          source: { type: 'Git', git: { uri: 'https://git.example/web.git' } },
          strategy: {
            type: 'Source',
            sourceStrategy: {
              from: { kind: 'ImageStreamTag', namespace: 'openshift', name: 'nodejs:18' },
            },
          },
          output: { to: { kind: 'ImageStreamTag', name: 'web:latest' } },
        },
      }),
    ],
    builds: [
      obj('Build', 'web-1', {
        metadata: {
          name: 'web-1',
          labels: { 'openshift.io/build-config.name': 'web' },
          annotations: { 'openshift.io/build.number': '1' },
        },
        status: { phase: 'Complete', completionTimestamp: minutesAgo(3) },
      }),
    ],
    pods: [
      ...['a', 'b'].map((s) =>
        obj('Pod', `web-2-${s}`, {
          metadata: {
            name: `web-2-${s}`,
            labels: { deployment: 'web-2', deploymentconfig: 'web' },
          },
          spec: { containers: [container] },
        }),
      ),
      obj('Pod', 'debug', { spec: { containers: [{ name: 'sh', image: 'busybox' }] } }),
    ],
    ...overrides,
  } as ProjectObjects;
}

describe('status', () => {
  it('draws route -> service -> deployment config <- build config, then what is left', () => {
    const { lines, suggestions } = projectStatus(project(), 'demo', 'https://m:8443', now);
    expect(lines).toEqual([
      'In project demo on server https://m:8443',
      '',
      'http://web-demo.apps.localhost (svc/web)',
      '  dc/web deploys istag/web:latest <-',
      '    bc/web source builds https://git.example/web.git on openshift/nodejs:18',
      '      build #1 succeeded 3 minutes ago',
      '    deployment #2 deployed 2 minutes ago - 2 pods',
      '    deployment #1 deployed 9 minutes ago',
      '',
      'pod/debug runs busybox',
    ]);
    expect(suggestions).toEqual([
      expect.objectContaining({
        severity: 'info',
        text: expect.stringContaining('dc/web has no readiness probe') as string,
      }),
    ]);
  });

  it('warns about a refused route, a failed build and a service that selects nothing', () => {
    const base = project();
    const { lines, suggestions } = projectStatus(
      project({
        routes: [
          {
            ...base.routes[0]!,
            status: {
              ingress: [
                {
                  conditions: [{ type: 'Admitted', status: 'False', reason: 'HostAlreadyClaimed' }],
                },
              ],
            },
          },
        ],
        services: [
          ...base.services,
          obj<Service>('Service', 'db', {
            spec: { clusterIP: '172.30.0.9', ports: [{ port: 5432 }], selector: { app: 'db' } },
          }),
        ],
        builds: [
          {
            ...base.builds[0]!,
            status: {
              phase: 'Failed',
              reason: 'GenericBuildFailed',
              completionTimestamp: minutesAgo(1),
            },
          },
        ],
      }),
      'demo',
      'https://m:8443',
      now,
    );
    expect(lines).toContain('svc/db - 172.30.0.9:5432');
    expect(lines).toContain('      build #1 failed about a minute ago (GenericBuildFailed)');
    const texts = suggestions.map((s) => `${s.severity}: ${s.text}`);
    expect(texts).toContainEqual(
      expect.stringMatching(
        /^error: route\/web was not accepted by the router: HostAlreadyClaimed/,
      ),
    );
    expect(texts).toContainEqual(expect.stringMatching(/^warning: svc\/db selects no pods/));
    expect(texts).toContainEqual(
      expect.stringMatching(/^error: build\/web-1 failed \(GenericBuildFailed\)/),
    );
  });

  it('says how to start in an empty project', () => {
    const empty = projectStatus(
      {
        routes: [],
        services: [],
        deploymentConfigs: [],
        replicationControllers: [],
        buildConfigs: [],
        builds: [],
        pods: [],
      },
      'demo',
      'https://m:8443',
      now,
    );
    expect(empty.lines.at(-1)).toBe("Run 'slipway new-app' to create an application.");
  });
});
