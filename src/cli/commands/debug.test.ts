import { describe, expect, it } from 'vitest';
import type { PodTemplateSpec } from '../../api/kinds/pod-template.js';
import { debugPod, IDLE_COMMAND } from './debug.js';

const probe = { httpGet: { path: '/healthz', port: 8080 } };
const template: PodTemplateSpec = {
  metadata: { labels: { app: 'web', deploymentconfig: 'web' } },
  spec: {
    nodeName: 'node-1',
    restartPolicy: 'Always',
    containers: [
      {
        name: 'web',
        image: 'registry/team/web@sha256:abc',
        command: ['node'],
        args: ['server.js'],
        env: [{ name: 'MODE', value: 'prod' }],
        readinessProbe: probe,
        livenessProbe: probe,
      },
      { name: 'sidecar', image: 'proxy', readinessProbe: probe },
    ],
  },
};

describe('debug', () => {
  it('copies the pod idle: no labels, probes, node or restarts; the rest as it was', () => {
    const { pod, container } = debugPod(
      { resource: 'deploymentconfigs', name: 'web' },
      template,
      undefined,
    );
    expect(container).toBe('web');
    expect(pod.metadata).toEqual({
      generateName: 'web-debug-',
      annotations: {
        'debug.openshift.io/source-container': 'web',
        'debug.openshift.io/source-resource': 'deploymentconfigs/web',
      },
    });
    expect(pod.spec?.nodeName).toBeUndefined();
    expect(pod.spec?.restartPolicy).toBe('Never');
    expect(pod.spec?.containers).toEqual([
      {
        name: 'web',
        image: 'registry/team/web@sha256:abc',
        command: IDLE_COMMAND,
        env: [{ name: 'MODE', value: 'prod' }],
      },
      { name: 'sidecar', image: 'proxy' },
    ]);
  });

  it('idles the container asked for, and names the choices when it does not exist', () => {
    const { pod } = debugPod({ resource: 'pods', name: 'web-1-x' }, template, 'sidecar');
    expect(pod.spec?.containers.map((c) => c.command)).toEqual([['node'], IDLE_COMMAND]);
    expect(() => debugPod({ resource: 'pods', name: 'p' }, template, 'db')).toThrow(
      'container "db" not found in pods/p; choose one of: web, sidecar',
    );
  });
});
