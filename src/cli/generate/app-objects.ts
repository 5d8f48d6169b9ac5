/**
 * The deploy half of `new-app`, as `oc new-app` writes it: a DeploymentConfig whose ImageChange
 * trigger follows an image stream tag (the build's output, or an image the user named) and a
 * Service in front of the pods for the ports the image serves. Pure: the caller resolves images
 * and creates the objects.
 */
import type { ApiObject } from '../../api/index.js';

export interface AppPort {
  port: number;
  protocol: 'TCP' | 'UDP';
}

export interface DeployPlan {
  name: string;
  /** Labels on every object (`app=NAME` and the user's `-l`). */
  labels: Record<string, string>;
  /** The image stream tag the DeploymentConfig deploys: `NAME:TAG` and its project if another. */
  from: { name: string; namespace?: string | undefined };
  env: { name: string; value: string }[];
  ports: AppPort[];
}

/** S2I builder images serve on 8080 (`io.openshift.expose-services="8080:http"`), ours included. */
export const S2I_PORTS: readonly AppPort[] = [{ port: 8080, protocol: 'TCP' }];

/** `8080-tcp`, oc's name for a generated port. */
export function portName(p: AppPort): string {
  return `${p.port}-${p.protocol.toLowerCase()}`;
}

/** `8080/TCP` -> a port; names the bad value otherwise. */
export function parsePort(value: string): AppPort | undefined {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(value.trim());
  if (!m) return undefined;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return undefined;
  return { port, protocol: (m[2]?.toUpperCase() ?? 'TCP') as AppPort['protocol'] };
}

function meta(plan: DeployPlan): ApiObject['metadata'] {
  return {
    name: plan.name,
    labels: { ...plan.labels },
    annotations: { 'openshift.io/generated-by': 'OpenShiftNewApp' },
  };
}

/** The pods' labels and the selector of both the DeploymentConfig and the Service. */
export function podSelector(plan: DeployPlan): Record<string, string> {
  return { ...plan.labels, deploymentconfig: plan.name };
}

export function deploymentConfig(plan: DeployPlan): ApiObject {
  const selector = podSelector(plan);
  return {
    apiVersion: 'apps.openshift.io/v1',
    kind: 'DeploymentConfig',
    metadata: meta(plan),
    spec: {
      replicas: 1,
      selector,
      strategy: { type: 'Rolling', resources: {} },
      template: {
        metadata: {
          labels: selector,
          annotations: { 'openshift.io/generated-by': 'OpenShiftNewApp' },
        },
        spec: {
          containers: [
            {
              name: plan.name,
              // Filled in with the tag's image (by digest) by the ImageChange trigger.
              image: ' ',
              ...(plan.ports.length > 0
                ? {
                    ports: plan.ports.map((p) => ({
                      containerPort: p.port,
                      protocol: p.protocol,
                    })),
                  }
                : {}),
              ...(plan.env.length > 0 ? { env: plan.env } : {}),
              resources: {},
            },
          ],
        },
      },
      test: false,
      triggers: [
        { type: 'ConfigChange' },
        {
          type: 'ImageChange',
          imageChangeParams: {
            automatic: true,
            containerNames: [plan.name],
            from: {
              kind: 'ImageStreamTag',
              name: plan.from.name,
              ...(plan.from.namespace ? { namespace: plan.from.namespace } : {}),
            },
          },
        },
      ],
    },
  };
}

/** A Service for the app's ports, or undefined when it serves none that are known. */
export function service(plan: DeployPlan): ApiObject | undefined {
  if (plan.ports.length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(plan),
    spec: {
      ports: plan.ports.map((p) => ({
        name: portName(p),
        port: p.port,
        protocol: p.protocol,
        targetPort: p.port,
      })),
      selector: podSelector(plan),
    },
  };
}
