import { isIP } from 'node:net';
import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { dns1123Label } from '../names.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';

/** A named port: an IANA service name (at most 15 characters, lower case, a letter, no `--`). */
const ianaSvcNameRe = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Problems with a port given by name, as Kubernetes words them. */
export function portName(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 15) errs.push('must be no more than 15 characters');
  if (!ianaSvcNameRe.test(value)) {
    errs.push(
      'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), and must start and end with an alpha-numeric character',
    );
  }
  if (value.includes('--')) errs.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(value)) errs.push('must contain at least one letter (a-z)');
  return errs;
}

/** A port number or a port name: `8080`, `http`. */
export const intOrString = z.union([z.number().int(), z.string().min(1)]);
export type IntOrString = z.infer<typeof intOrString>;

const servicePortSchema = z.looseObject({
  name: z.string().optional(),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
  port: z.number().int().min(1).max(65535),
  targetPort: intOrString.optional(),
  nodePort: z.number().int().optional(),
  appProtocol: z.string().optional(),
});
export type ServicePort = z.infer<typeof servicePortSchema>;

/** Service types served here; LoadBalancer behaves as NodePort (no load balancer provider, the
 * external IP stays pending, as on a Kubernetes cluster without one). */
export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;

const serviceSpecSchema = z.looseObject({
  type: z.enum(SERVICE_TYPES).optional(),
  externalTrafficPolicy: z.enum(['Cluster']).optional(),
  clusterIP: z.string().optional(),
  clusterIPs: z.array(z.string()).optional(),
  ports: z.array(servicePortSchema).optional(),
  selector: z.record(z.string(), z.string()).optional(),
  sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
  sessionAffinityConfig: z
    .looseObject({
      clientIP: z
        .looseObject({ timeoutSeconds: z.number().int().min(1).max(86_400).optional() })
        .optional(),
    })
    .optional(),
});

/** How long a client keeps its endpoint under `sessionAffinity: ClientIP` (Kubernetes' 3 h). */
export const DEFAULT_AFFINITY_SECONDS = 10_800;
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

/** A stable name (and, once allocated, a virtual IP) for a set of pods chosen by labels. */
export interface Service extends ApiObject {
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status?: { loadBalancer?: Record<string, unknown> };
}

/** `clusterIP: None`: no virtual IP, DNS names the pods directly. */
export const HEADLESS = 'None';

/** NodePort and LoadBalancer Services: each port is also served on every node at its nodePort. */
export function hasNodePorts(spec: { type?: string | undefined }): boolean {
  return spec.type === 'NodePort' || spec.type === 'LoadBalancer';
}

function validateService(svc: Service): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = svc.spec;
  const ports = spec.ports ?? [];
  const headless = spec.clusterIP === HEADLESS;
  if (spec.clusterIP && !headless && isIP(spec.clusterIP) === 0) {
    causes.push({
      field: 'spec.clusterIP',
      message: `Invalid value: "${spec.clusterIP}": must be empty, 'None', or a valid IP address`,
    });
  }
  if (ports.length === 0 && !headless) {
    causes.push({ field: 'spec.ports', message: 'Required value' });
  }
  const nodePorts = hasNodePorts(spec);
  if (nodePorts && headless) {
    causes.push({
      field: 'spec.clusterIP',
      message: `Invalid value: "None": may not be set to 'None' for ${spec.type} services`,
    });
  }
  const names = new Set<string>();
  const keys = new Set<string>();
  const nodePortKeys = new Set<string>();
  ports.forEach((p, i) => {
    const field = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) {
      causes.push({ field: `${field}.name`, message: 'Required value' });
    }
    if (p.name) {
      for (const e of dns1123Label(p.name))
        causes.push({ field: `${field}.name`, message: `Invalid value: "${p.name}": ${e}` });
      if (names.has(p.name))
        causes.push({ field: `${field}.name`, message: `Duplicate value: "${p.name}"` });
      names.add(p.name);
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (keys.has(key)) {
      causes.push({
        field: `${field}`,
        message: `Duplicate value: {"port":${p.port},"protocol":"${p.protocol ?? 'TCP'}"}`,
      });
    }
    keys.add(key);
    if (p.nodePort !== undefined) {
      const np = `${p.nodePort}/${p.protocol ?? 'TCP'}`;
      if (!nodePorts) {
        causes.push({
          field: `${field}.nodePort`,
          message: `Forbidden: may not be used when \`type\` is '${spec.type ?? 'ClusterIP'}'`,
        });
      } else if (p.nodePort < 1 || p.nodePort > 65535) {
        causes.push({
          field: `${field}.nodePort`,
          message: `Invalid value: ${p.nodePort}: must be between 1 and 65535, inclusive`,
        });
      } else if (nodePortKeys.has(np)) {
        causes.push({
          field: `${field}.nodePort`,
          message: `Duplicate value: ${p.nodePort}`,
        });
      }
      nodePortKeys.add(np);
    }
    const target = p.targetPort;
    if (typeof target === 'number' && (target < 1 || target > 65535)) {
      causes.push({
        field: `${field}.targetPort`,
        message: `Invalid value: ${target}: must be between 1 and 65535, inclusive`,
      });
    } else if (typeof target === 'string') {
      for (const e of portName(target))
        causes.push({ field: `${field}.targetPort`, message: `Invalid value: "${target}": ${e}` });
    }
  });
  return causes;
}

/** Kubernetes' defaults: type ClusterIP, protocol TCP, targetPort = port, affinity None,
 * externalTrafficPolicy Cluster where nodes serve the Service. */
function normalizeService(svc: Service): Service {
  // The policy only means something where nodes serve the Service (Kubernetes drops it too).
  const { externalTrafficPolicy: _policy, ...spec } = svc.spec;
  return {
    ...svc,
    spec: {
      ...spec,
      type: svc.spec.type ?? 'ClusterIP',
      sessionAffinity: svc.spec.sessionAffinity ?? 'None',
      ...(hasNodePorts(svc.spec)
        ? { externalTrafficPolicy: svc.spec.externalTrafficPolicy ?? 'Cluster' }
        : {}),
      ...(svc.spec.ports
        ? {
            ports: svc.spec.ports.map((p) => ({
              ...p,
              protocol: p.protocol ?? 'TCP',
              targetPort: p.targetPort ?? p.port,
            })),
          }
        : {}),
    },
  };
}

/** PORT(S) column: `80/TCP,443/TCP`. */
export function servicePorts(svc: Service): string {
  const ports = svc.spec.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports
    .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
    .join(',');
}

function selector(svc: Service): string {
  const entries = Object.entries(svc.spec.selector ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

export const serviceKind = defineKind<Service>({
  kind: 'Service',
  group: '',
  version: 'v1',
  plural: 'services',
  shortNames: ['svc'],
  namespaced: true,
  nameRule: 'dns1123-label',
  schema: z.looseObject({
    spec: serviceSpecSchema,
    status: z.looseObject({}).optional(),
  }),
  validate: validateService,
  normalize: normalizeService,
  statusSubresource: true,
  fieldSelectors: {
    'spec.clusterIP': (s) => s.spec.clusterIP ?? '',
    'spec.type': (s) => s.spec.type ?? 'ClusterIP',
  },
  columns: [
    { header: 'TYPE', value: (s) => s.spec.type ?? 'ClusterIP' },
    { header: 'CLUSTER-IP', value: (s) => s.spec.clusterIP || '<none>' },
    {
      header: 'EXTERNAL-IP',
      value: (s) => (s.spec.type === 'LoadBalancer' ? '<pending>' : '<none>'),
    },
    { header: 'PORT(S)', value: servicePorts },
    { header: 'AGE', value: (s, now) => age(s.metadata.creationTimestamp, now) },
    { header: 'SELECTOR', value: selector, wide: true },
  ],
});
