import { isIP } from 'node:net';
import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { dns1123Label } from '../names.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';

const targetRefSchema = z.looseObject({
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});

const addressSchema = z.looseObject({
  ip: z.string().min(1),
  hostname: z.string().optional(),
  nodeName: z.string().optional(),
  targetRef: targetRefSchema.optional(),
});
export type EndpointAddress = z.infer<typeof addressSchema>;

const endpointPortSchema = z.looseObject({
  name: z.string().optional(),
  port: z.number().int().min(1).max(65535),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
  appProtocol: z.string().optional(),
});
export type EndpointPort = z.infer<typeof endpointPortSchema>;

const subsetSchema = z.looseObject({
  addresses: z.array(addressSchema).optional(),
  notReadyAddresses: z.array(addressSchema).optional(),
  ports: z.array(endpointPortSchema).optional(),
});
export type EndpointSubset = z.infer<typeof subsetSchema>;

/**
 * The addresses behind a Service, named after it: `addresses` are ready pods (what traffic goes
 * to), `notReadyAddresses` the others. Written by the endpoints controller for services with a
 * selector, by hand for the others.
 */
export interface Endpoints extends ApiObject {
  metadata: ObjectMeta;
  subsets?: EndpointSubset[];
}

/** Why an address may not be an endpoint: the ranges Kubernetes refuses, except loopback (the
 * router refuses loopback targets itself unless told otherwise, so tests can use local ports). */
export function specialAddressProblem(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) return 'must be a valid IP address';
  if (family === 4) {
    const [a = 0, b = 0] = ip.split('.').map(Number);
    if (ip === '0.0.0.0') return 'may not be unspecified (0.0.0.0)';
    if (a === 169 && b === 254) return 'may not be in the link-local range (169.254.0.0/16)';
    if (a >= 224 && a <= 239) return 'may not be in the multicast range (224.0.0.0/4)';
    return undefined;
  }
  const lower = ip.toLowerCase();
  if (lower === '::') return 'may not be unspecified (::)';
  if (/^fe[89ab]/.test(lower)) return 'may not be in the link-local range (fe80::/10)';
  if (lower.startsWith('ff')) return 'may not be in the multicast range (ff00::/8)';
  return undefined;
}

function validateEndpoints(ep: Endpoints): StatusCause[] {
  const causes: StatusCause[] = [];
  (ep.subsets ?? []).forEach((subset, i) => {
    const base = `subsets[${i}]`;
    for (const group of ['addresses', 'notReadyAddresses'] as const) {
      (subset[group] ?? []).forEach((addr, j) => {
        const problem = specialAddressProblem(addr.ip);
        if (problem) {
          causes.push({
            field: `${base}.${group}[${j}].ip`,
            message: `Invalid value: "${addr.ip}": ${problem}`,
          });
        }
      });
    }
    const ports = subset.ports ?? [];
    const names = new Set<string>();
    ports.forEach((p, j) => {
      const field = `${base}.ports[${j}].name`;
      if (ports.length > 1 && !p.name) causes.push({ field, message: 'Required value' });
      if (!p.name) return;
      for (const e of dns1123Label(p.name))
        causes.push({ field, message: `Invalid value: "${p.name}": ${e}` });
      if (names.has(p.name)) causes.push({ field, message: `Duplicate value: "${p.name}"` });
      names.add(p.name);
    });
  });
  return causes;
}

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** ENDPOINTS column as kubectl prints it: ready `ip:port`s, three at most, then `+ N more...`. */
export function formatEndpoints(ep: Endpoints): string {
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const subset of ep.subsets ?? []) {
    const addresses = subset.addresses ?? [];
    const ports = subset.ports ?? [];
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) if (list.length < max) list.push(a.ip);
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) if (list.length < max) list.push(joinHostPort(a.ip, port.port));
    }
  }
  if (list.length === 0) return '<none>';
  const joined = list.join(',');
  return count > max ? `${joined} + ${count - max} more...` : joined;
}

export const endpointsKind = defineKind<Endpoints>({
  kind: 'Endpoints',
  group: '',
  version: 'v1',
  plural: 'endpoints',
  shortNames: ['ep'],
  namespaced: true,
  schema: z.looseObject({ subsets: z.array(subsetSchema).optional() }),
  validate: validateEndpoints,
  columns: [
    { header: 'ENDPOINTS', value: formatEndpoints },
    { header: 'AGE', value: (e, now) => age(e.metadata.creationTimestamp, now) },
  ],
});
