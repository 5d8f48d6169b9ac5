import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { dns1123Subdomain } from '../names.js';
import { defineKind } from '../registry.js';
import { intOrString } from './service.js';

/** OpenShift's bound on a backend's weight; 0 sends it nothing. */
export const ROUTE_WEIGHT_MAX = 256;
export const ROUTE_WEIGHT_DEFAULT = 100;
/** OpenShift allows at most three alternate backends. */
export const ALTERNATE_BACKENDS_MAX = 3;

const targetSchema = z.looseObject({
  kind: z.string().optional(),
  name: z.string().min(1),
  weight: z.number().int().min(0).max(ROUTE_WEIGHT_MAX).optional(),
});
export type RouteTargetReference = z.infer<typeof targetSchema>;

const tlsSchema = z.looseObject({
  termination: z.enum(['edge', 'passthrough', 'reencrypt']),
  certificate: z.string().optional(),
  key: z.string().optional(),
  caCertificate: z.string().optional(),
  destinationCACertificate: z.string().optional(),
  insecureEdgeTerminationPolicy: z.enum(['None', 'Allow', 'Redirect', '']).optional(),
});
export type TLSConfig = z.infer<typeof tlsSchema>;

const routeSpecSchema = z.looseObject({
  host: z.string().optional(),
  subdomain: z.string().optional(),
  path: z.string().optional(),
  to: targetSchema,
  alternateBackends: z.array(targetSchema).optional(),
  port: z.looseObject({ targetPort: intOrString }).optional(),
  tls: tlsSchema.optional(),
  wildcardPolicy: z.enum(['None', 'Subdomain']).optional(),
});
export type RouteSpec = z.infer<typeof routeSpecSchema>;

export interface RouteIngressCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface RouteIngress {
  host?: string;
  routerName?: string;
  routerCanonicalHostname?: string;
  wildcardPolicy?: string;
  conditions?: RouteIngressCondition[];
}

/** A host (and optional path) exposed through the router, sent to one or more services. */
export interface Route extends ApiObject {
  metadata: ObjectMeta;
  spec: RouteSpec;
  status?: { ingress?: RouteIngress[] };
}

const conditionSchema = z.looseObject({
  type: z.string().min(1),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.string().optional(),
});

const statusSchema = z.looseObject({
  ingress: z
    .array(
      z.looseObject({
        host: z.string().optional(),
        routerName: z.string().optional(),
        routerCanonicalHostname: z.string().optional(),
        wildcardPolicy: z.string().optional(),
        conditions: z.array(conditionSchema).optional(),
      }),
    )
    .optional(),
});

const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/** The PEM blocks of a text, by label; undefined when there is text outside well-formed blocks. */
export function pemBlocks(text: string): { label: string; pem: string }[] | undefined {
  const blocks: { label: string; pem: string }[] = [];
  let rest = text;
  for (const m of text.matchAll(PEM_BLOCK_RE)) {
    blocks.push({ label: m[1]!, pem: m[0] });
    rest = rest.replace(m[0], '');
  }
  return rest.trim() === '' ? blocks : undefined;
}

/** Checks a PEM bundle of certificates; returns the first one, or a problem. Never echoes data. */
function parseCertificates(text: string): { cert?: X509Certificate; problem?: string } {
  const blocks = pemBlocks(text);
  if (!blocks || blocks.length === 0 || blocks.some((b) => b.label !== 'CERTIFICATE')) {
    return { problem: 'must be one or more PEM-encoded certificates (BEGIN CERTIFICATE)' };
  }
  try {
    const certs = blocks.map((b) => new X509Certificate(b.pem));
    return { cert: certs[0]! };
  } catch {
    return { problem: 'data does not contain a valid certificate' };
  }
}

function parseKey(text: string): { key?: KeyObject; problem?: string } {
  const blocks = pemBlocks(text);
  if (!blocks || blocks.length !== 1 || !/PRIVATE KEY$/.test(blocks[0]!.label)) {
    return { problem: 'must be exactly one PEM-encoded private key (BEGIN ... PRIVATE KEY)' };
  }
  try {
    return { key: createPrivateKey(blocks[0]!.pem) };
  } catch {
    return { problem: 'data does not contain a valid private key' };
  }
}

/** What certificate problems say in place of the data (as OpenShift: never the PEM itself). */
const REDACTED = '"redacted certificate data"';
const REDACTED_KEY = '"redacted key data"';

function validateTls(tls: TLSConfig): StatusCause[] {
  const causes: StatusCause[] = [];
  const field = 'spec.tls';
  const has = (v: string | undefined): v is string => v !== undefined && v !== '';
  if (tls.termination === 'passthrough') {
    for (const name of [
      'certificate',
      'key',
      'caCertificate',
      'destinationCACertificate',
    ] as const) {
      if (has(tls[name])) {
        causes.push({
          field: `${field}.${name}`,
          message: `Invalid value: ${REDACTED}: passthrough termination does not support certificates`,
        });
      }
    }
    if (tls.insecureEdgeTerminationPolicy === 'Allow') {
      causes.push({
        field: `${field}.insecureEdgeTerminationPolicy`,
        message:
          'Unsupported value: "Allow": supported values for passthrough termination: "None", "Redirect"',
      });
    }
    return causes;
  }
  if (tls.termination === 'edge' && has(tls.destinationCACertificate)) {
    causes.push({
      field: `${field}.destinationCACertificate`,
      message: `Invalid value: ${REDACTED}: edge termination does not support destination certificates`,
    });
  }
  if (has(tls.certificate) !== has(tls.key)) {
    causes.push({
      field: `${field}.${has(tls.certificate) ? 'key' : 'certificate'}`,
      message: 'Required value: certificate and key must be given together',
    });
  }
  let cert: X509Certificate | undefined;
  let key: KeyObject | undefined;
  if (has(tls.certificate)) {
    const parsed = parseCertificates(tls.certificate);
    if (parsed.problem) {
      causes.push({
        field: `${field}.certificate`,
        message: `Invalid value: ${REDACTED}: ${parsed.problem}`,
      });
    }
    cert = parsed.cert;
  }
  if (has(tls.key)) {
    const parsed = parseKey(tls.key);
    if (parsed.problem) {
      causes.push({
        field: `${field}.key`,
        message: `Invalid value: ${REDACTED_KEY}: ${parsed.problem}`,
      });
    }
    key = parsed.key;
  }
  if (cert && key && !cert.checkPrivateKey(key)) {
    causes.push({
      field: `${field}.key`,
      message: `Invalid value: ${REDACTED_KEY}: the key does not match the certificate`,
    });
  }
  for (const name of ['caCertificate', 'destinationCACertificate'] as const) {
    const value = tls[name];
    if (!has(value)) continue;
    const parsed = parseCertificates(value);
    if (parsed.problem) {
      causes.push({
        field: `${field}.${name}`,
        message: `Invalid value: ${REDACTED}: ${parsed.problem}`,
      });
    }
  }
  return causes;
}

function validateTarget(target: RouteTargetReference, field: string, causes: StatusCause[]): void {
  if (target.kind !== undefined && target.kind !== 'Service') {
    causes.push({
      field: `${field}.kind`,
      message: `Unsupported value: "${target.kind}": supported values: "Service"`,
    });
  }
}

function validateRoute(route: Route): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = route.spec;
  if (spec.host) {
    for (const e of dns1123Subdomain(spec.host))
      causes.push({ field: 'spec.host', message: `Invalid value: "${spec.host}": ${e}` });
    if (spec.host.split('.').some((label) => label.length > 63)) {
      causes.push({
        field: 'spec.host',
        message: `Invalid value: "${spec.host}": each label must be no more than 63 characters`,
      });
    }
  }
  if (spec.subdomain) {
    for (const e of dns1123Subdomain(spec.subdomain))
      causes.push({ field: 'spec.subdomain', message: `Invalid value: "${spec.subdomain}": ${e}` });
  }
  if (spec.wildcardPolicy === 'Subdomain' && !spec.host) {
    causes.push({
      field: 'spec.wildcardPolicy',
      message: 'Invalid value: "Subdomain": a wildcard route needs spec.host',
    });
  }
  if (spec.path !== undefined && spec.path !== '') {
    if (!spec.path.startsWith('/')) {
      causes.push({
        field: 'spec.path',
        message: `Invalid value: "${spec.path}": path must begin with /`,
      });
    }
    if (/[\s?#]/.test(spec.path)) {
      causes.push({
        field: 'spec.path',
        message: `Invalid value: "${spec.path}": path must not contain whitespace, '?' or '#'`,
      });
    }
    if (spec.tls?.termination === 'passthrough') {
      causes.push({
        field: 'spec.path',
        message: `Invalid value: "${spec.path}": passthrough termination does not support paths`,
      });
    }
  }
  validateTarget(spec.to, 'spec.to', causes);
  const backends = spec.alternateBackends ?? [];
  if (backends.length > ALTERNATE_BACKENDS_MAX) {
    causes.push({
      field: 'spec.alternateBackends',
      message: `Too many: ${backends.length}: must have at most ${ALTERNATE_BACKENDS_MAX} items`,
    });
  }
  const seen = new Set([spec.to.name]);
  backends.forEach((b, i) => {
    validateTarget(b, `spec.alternateBackends[${i}]`, causes);
    if (seen.has(b.name)) {
      causes.push({
        field: `spec.alternateBackends[${i}].name`,
        message: `Duplicate value: "${b.name}"`,
      });
    }
    seen.add(b.name);
  });
  const target = spec.port?.targetPort;
  if (typeof target === 'number' && (target < 1 || target > 65535)) {
    causes.push({
      field: 'spec.port.targetPort',
      message: `Invalid value: ${target}: must be between 1 and 65535, inclusive`,
    });
  }
  if (spec.tls) causes.push(...validateTls(spec.tls));
  return causes;
}

/** OpenShift's defaults: backends are Services of weight 100; wildcardPolicy None. */
function normalizeRoute(route: Route): Route {
  const target = (t: RouteTargetReference): RouteTargetReference => ({
    ...t,
    kind: t.kind ?? 'Service',
    weight: t.weight ?? ROUTE_WEIGHT_DEFAULT,
  });
  return {
    ...route,
    spec: {
      ...route.spec,
      to: target(route.spec.to),
      ...(route.spec.alternateBackends
        ? { alternateBackends: route.spec.alternateBackends.map(target) }
        : {}),
      wildcardPolicy: route.spec.wildcardPolicy ?? 'None',
    },
  };
}

/** HOST/PORT column, as oc prints it: the admitted host, `Pending`, or the rejection reason. */
export function routeHostColumn(route: Route): string {
  let host = route.spec.host ?? '';
  let matchedHost = false;
  let reason = '';
  let admitted = 0;
  let errors = 0;
  const ingress = route.status?.ingress;
  for (const ing of ingress ?? []) {
    const cond = ing.conditions?.find((c) => c.type === 'Admitted');
    if (cond?.status === 'True') {
      admitted++;
      if (!matchedHost) {
        matchedHost = ing.host === route.spec.host;
        host = ing.host ?? host;
      }
    } else if (cond?.status === 'False') {
      reason = cond.reason ?? '';
      errors++;
    }
  }
  if (ingress === undefined) return host;
  if (admitted === 0 && errors > 0) return reason;
  if (errors > 0) return `${host} ... ${errors} rejected`;
  if (admitted === 0) return 'Pending';
  if (admitted > 1) return `${host} ... ${admitted - 1} more`;
  return host;
}

/** SERVICES column: `web`, or `web(75%),canary(25%)` with alternate backends. */
export function routeServicesColumn(route: Route): string {
  const backends = [route.spec.to, ...(route.spec.alternateBackends ?? [])];
  const total = backends.reduce((n, b) => n + (b.weight ?? 0), 0);
  return backends
    .map((b) => {
      if (b.weight === undefined || (backends.length === 1 && total !== 0)) return b.name;
      if (total === 0) return `${b.name}(0%)`;
      return `${b.name}(${Math.floor((b.weight * 100) / total)}%)`;
    })
    .join(',');
}

/** TERMINATION column: `edge`, `edge/Redirect`, `default/Redirect`. */
export function routeTerminationColumn(route: Route): string {
  const term = route.spec.tls?.termination ?? '';
  const policy = route.spec.tls?.insecureEdgeTerminationPolicy ?? '';
  if (term && policy) return `${term}/${policy}`;
  if (term) return term;
  if (policy) return `default/${policy}`;
  return '';
}

/**
 * Claim order of routes for a host, as OpenShift's: the older route first (creationTimestamp),
 * then by name, then by namespace, so the order is total. Route admission and the router both
 * use it, so they always agree on a host's owner.
 */
export function olderFirst(a: Route, b: Route): number {
  const created = (r: Route): number => {
    const t = Date.parse(r.metadata.creationTimestamp ?? '');
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  };
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  const sa = a.metadata.namespace ?? '';
  const sb = b.metadata.namespace ?? '';
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export const routeKind = defineKind<Route>({
  kind: 'Route',
  group: 'route.openshift.io',
  version: 'v1',
  plural: 'routes',
  aliasApiVersions: ['v1'],
  namespaced: true,
  schema: z.looseObject({
    spec: routeSpecSchema,
    status: statusSchema.optional(),
  }),
  validate: validateRoute,
  normalize: normalizeRoute,
  statusSubresource: true,
  fieldSelectors: {
    'spec.host': (r) => r.spec.host ?? '',
    'spec.path': (r) => r.spec.path ?? '',
    'spec.to.name': (r) => r.spec.to.name,
  },
  columns: [
    { header: 'HOST/PORT', value: routeHostColumn },
    { header: 'PATH', value: (r) => r.spec.path ?? '' },
    { header: 'SERVICES', value: routeServicesColumn },
    {
      header: 'PORT',
      value: (r) => (r.spec.port === undefined ? '<all>' : String(r.spec.port.targetPort)),
    },
    { header: 'TERMINATION', value: routeTerminationColumn },
    { header: 'WILDCARD', value: (r) => r.spec.wildcardPolicy ?? 'None' },
  ],
});
