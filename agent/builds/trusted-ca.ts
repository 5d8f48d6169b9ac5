/**
 * The cluster's trusted CA bundle in a Source build (`spec.mountTrustedCA: true`), for builds
 * behind a TLS-intercepting proxy or fetching from a private-PKI repository: the bundle from
 * ConfigMap `openshift-config/user-ca-bundle` (key `ca-bundle.crt`) goes into the assemble
 * container beside the source, under `DEST/.slipway-trust/`:
 *
 * - `ca-bundle.crt`: the cluster's CAs alone, for `NODE_EXTRA_CA_CERTS` (Node.js adds them to its
 *   own);
 * - `tls-ca-bundle.pem`: the builder image's system bundle (the first of the usual paths it has)
 *   followed by the cluster's CAs, made in the container before assemble, for the variables that
 *   replace a tool's bundle: `SSL_CERT_FILE` (OpenSSL), `REQUESTS_CA_BUNDLE`, `PIP_CERT`,
 *   `CURL_CA_BUNDLE`, `GIT_SSL_CAINFO`.
 *
 * The variables are exported by the shell that runs assemble, never over a value the build's
 * own environment sets, and are not the container's (Docker's commit would copy a container's
 * variables into the image); the directory is removed when assemble ends, before the commit,
 * so nothing of it stays in the image.
 */
import type { ConfigMap } from '../../src/api/index.js';
import { TRUSTED_CA_CONFIGMAP } from '../../src/api/index.js';

export const TRUST_DIR = '.slipway-trust';
/** The cluster's CAs alone, in TRUST_DIR. */
export const CLUSTER_BUNDLE = 'ca-bundle.crt';
const MERGED_BUNDLE = 'tls-ca-bundle.pem';

/** Where distributions keep their system bundle, most common first. */
export const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

const MERGED_VARIABLES = [
  'SSL_CERT_FILE',
  'REQUESTS_CA_BUNDLE',
  'PIP_CERT',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
];

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The bundle's certificates, or a reason it cannot be used. */
export function readTrustedCa(
  configMap: ConfigMap | undefined,
): { pem: string; certificates: number } | { problem: string } {
  const where = `ConfigMap ${TRUSTED_CA_CONFIGMAP.namespace}/${TRUSTED_CA_CONFIGMAP.name}, key ${TRUSTED_CA_CONFIGMAP.key}`;
  if (!configMap) return { problem: `the cluster has no trusted CA bundle (${where})` };
  const text = configMap.data?.[TRUSTED_CA_CONFIGMAP.key] ?? '';
  const certificates = text.match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) {
    return { problem: `the cluster's trusted CA bundle has no PEM certificate (${where})` };
  }
  return { pem: `${certificates.join('\n')}\n`, certificates: certificates.length };
}

/** `NAME=VALUE` entries for the assemble container; names the build sets itself are left. */
export function trustEnv(destination: string, buildEnv: readonly string[]): string[] {
  const dir = `${destination}/${TRUST_DIR}`;
  const taken = new Set(buildEnv.map((e) => e.slice(0, e.indexOf('='))));
  const wanted: [string, string][] = [
    ['NODE_EXTRA_CA_CERTS', `${dir}/${CLUSTER_BUNDLE}`],
    ...MERGED_VARIABLES.map((name): [string, string] => [name, `${dir}/${MERGED_BUNDLE}`]),
  ];
  return wanted.filter(([name]) => !taken.has(name)).map(([name, value]) => `${name}=${value}`);
}

/**
 * The assemble container's shell command with the bundle: unpack, merge the image's system
 * bundle with the cluster's, export the variables (those `buildEnv` does not set), assemble,
 * then remove the directory whatever assemble did, and exit with assemble's status (or tar's).
 */
export function assembleWithTrust(
  destination: string,
  assemble: string,
  buildEnv: readonly string[],
): string {
  const dir = `${destination}/${TRUST_DIR}`;
  const system = SYSTEM_BUNDLES.join(' ');
  const exports = trustEnv(destination, buildEnv)
    .map((e) => `export ${e}`)
    .join('; ');
  return [
    `tar -C ${destination} -xf - && { for f in ${system}; do if [ -f "$f" ]; then cat "$f"; break; fi; done; cat ${dir}/${CLUSTER_BUNDLE}; } > ${dir}/${MERGED_BUNDLE} && { ${exports}; ${assemble}; }`,
    'status=$?',
    `rm -rf ${dir}`,
    'exit $status',
  ].join('; ');
}
