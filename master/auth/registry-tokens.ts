/**
 * Tokens for the cluster registry, as OpenShift's integrated registry takes them: the registry
 * runs Docker Distribution's token authentication (`auth.token`), trusting one certificate; the
 * master holds its key and signs short-lived JWTs whose `access` claim lists what the bearer may
 * do (`repository:PROJECT/NAME:pull,push`). Clients get them from the master's token endpoint
 * (master/server/registry-token.ts) with their Slipway token, as `docker login -p $(slipway
 * whoami -t)` does; the master also signs them for its own reads and pushes.
 *
 * The key (RSA 2048, RS256) and its self-signed certificate live in DATA_DIR/registry-auth/,
 * made on first start; the certificate is what the registry's `rootcertbundle` names. Tokens
 * carry the certificate in their `x5c` header, which Distribution checks against that bundle.
 */
import { createPrivateKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import forge from 'node-forge';
import { CLUSTER_REGISTRY_SERVICE, type RegistryAccess } from '../../src/api/registry-scope.js';
import { writeFileAtomic } from '../../src/util/atomic-file.js';

/** The tokens' `iss`, which the registry's `auth.token.issuer` must name. */
export const REGISTRY_TOKEN_ISSUER = 'slipway';
/** How long a token is valid: a client asks again for each pull or push. */
export const REGISTRY_TOKEN_TTL_SECONDS = 300;
/** The `sub` of tokens the master signs for itself (imports, the builder images' push). */
export const MASTER_REGISTRY_SUBJECT = 'system:master';
/** Folder of DATA_DIR holding the signing key and its certificate. */
export const REGISTRY_AUTH_DIR = 'registry-auth';
const KEY_FILE = 'token-signing.key';
const CERT_FILE = 'token-signing.crt';
/** Ten years: the certificate only anchors trust in the key; it is never presented for TLS. */
const CERT_YEARS = 10;

export interface RegistrySigningKey {
  key: KeyObject;
  /** The certificate, PEM: the registry's root certificate bundle. */
  certPem: string;
  /** Where the certificate is, for the registry container to mount. */
  certFile: string;
}

function selfSignedCertificate(privatePem: string, publicPem: string): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now);
  cert.validity.notAfter.setFullYear(now.getFullYear() + CERT_YEARS);
  const name = [{ name: 'commonName', value: 'slipway registry token signer' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privatePem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/**
 * The data directory's signing key and certificate, made on first start (key 0600, certificate
 * 0644). A half-written pair (one file missing) is made again: tokens signed before are then
 * refused, and clients simply ask for new ones.
 */
export async function loadOrCreateSigningKey(dataDir: string): Promise<RegistrySigningKey> {
  const dir = join(dataDir, REGISTRY_AUTH_DIR);
  const keyFile = join(dir, KEY_FILE);
  const certFile = join(dir, CERT_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await Promise.all([
    readFile(keyFile, 'utf8').catch(() => undefined),
    readFile(certFile, 'utf8').catch(() => undefined),
  ]);
  if (existing[0] !== undefined && existing[1] !== undefined) {
    try {
      return { key: createPrivateKey(existing[0]), certPem: existing[1], certFile };
    } catch (err) {
      throw new Error(
        `${keyFile} is not a private key (${(err as Error).message}); remove ${dir} to make a new one`,
        { cause: err },
      );
    }
  }
  const pair = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const certPem = selfSignedCertificate(privatePem, publicPem);
  await writeFileAtomic(keyFile, privatePem, 0o600);
  await writeFileAtomic(certFile, certPem, 0o644);
  return { key: pair.privateKey, certPem, certFile };
}

/** The certificate's DER, base64 (standard alphabet): the JWS `x5c` header's one entry. */
function certificateBase64(pem: string): string {
  return pem
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '')
    .trim();
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

/** Signs registry tokens for the cluster registry's service. */
export class RegistryTokenIssuer {
  readonly #key: KeyObject;
  readonly #x5c: string;
  readonly #now: () => number;
  readonly service: string;

  constructor(signing: RegistrySigningKey, options: { service?: string; now?: () => number } = {}) {
    this.#key = signing.key;
    this.#x5c = certificateBase64(signing.certPem);
    this.#now = options.now ?? Date.now;
    this.service = options.service ?? CLUSTER_REGISTRY_SERVICE;
  }

  /** A token for `subject` granting exactly `access`. */
  async issue(subject: string, access: readonly RegistryAccess[]): Promise<IssuedToken> {
    const now = Math.floor(this.#now() / 1000);
    const token = await new SignJWT({ access: access.map((a) => ({ ...a })) })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5c: [this.#x5c] })
      .setIssuer(REGISTRY_TOKEN_ISSUER)
      .setSubject(subject)
      .setAudience(this.service)
      .setIssuedAt(now)
      // A little slack for clocks that differ between the master and the registry.
      .setNotBefore(now - 10)
      .setExpirationTime(now + REGISTRY_TOKEN_TTL_SECONDS)
      .setJti(randomBytes(16).toString('hex'))
      .sign(this.#key);
    return {
      token,
      expiresIn: REGISTRY_TOKEN_TTL_SECONDS,
      issuedAt: new Date(now * 1000).toISOString(),
    };
  }
}
