/**
 * The credential the master presents to a node agent when it proxies `logs`, `exec` and
 * `portforward`: a short-lived, single-use claim signed with HMAC-SHA256. The key is derived from
 * the cluster's node-join token and the node's name, so only the master and agents holding the
 * join token can mint one, and a credential made for one node is refused by every other node.
 *
 * Wire form (an `Authorization: Bearer` value): `v1.<base64url(JSON claim)>.<base64url(HMAC)>`.
 * The claim names the node, the pod (namespace, name and uid), the container, the verb, a digest
 * of the exact request target (path and query) and an expiry; the agent checks all of them, so a
 * credential cannot be re-pointed at another pod, container or command.
 *
 * Pure apart from node:crypto; the agent keeps the replay cache (see agent/server/auth.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type AgentVerb = 'logs' | 'exec' | 'portforward';

/** The `container` a port-forward claim names: the pod's network, held by its infra container
 * (upper case, so no container of the pod can have this name). */
export const POD_NETWORK_CONTAINER = 'POD';

export interface AgentClaim {
  v: 1;
  /** The node the credential is for. */
  node: string;
  namespace: string;
  pod: string;
  /** The pod's metadata.uid, so a re-created pod of the same name is a different target. */
  uid: string;
  container: string;
  verb: AgentVerb;
  /** sha256 (hex) of the request target the credential is for: `/containerLogs/ns/p/c?...`. */
  target: string;
  /** Unix time in seconds after which the credential is refused. */
  exp: number;
  /** Random; the agent accepts each nonce once. */
  nonce: string;
}

/** How long a credential is valid: the master signs it just before it connects. */
export const AGENT_CREDENTIAL_TTL_SECONDS = 60;
/** Agents refuse claims that expire further ahead than this (a clock far ahead, or a forgery
 * attempt that got past the signature would still be short-lived). */
export const AGENT_CREDENTIAL_MAX_AHEAD_SECONDS = 300;

const PREFIX = 'v1';
const KEY_CONTEXT = 'slipway agent credential v1';

/** The per-node signing key: HMAC-SHA256(join token, context || node name). */
export function agentCredentialKey(joinToken: string, nodeName: string): Buffer {
  return createHmac('sha256', joinToken).update(`${KEY_CONTEXT}\0${nodeName}`).digest();
}

/** sha256 hex of a request target (path plus query, exactly as sent on the request line). */
export function requestTargetDigest(target: string): string {
  return createHash('sha256').update(target, 'utf8').digest('hex');
}

export interface SignInput {
  node: string;
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  verb: AgentVerb;
  /** The request target the credential authorizes (path and query). */
  target: string;
}

/** Signs a credential for one request; valid for `ttlSeconds` from `nowMs`. */
export function signAgentCredential(
  joinToken: string,
  input: SignInput,
  options: { nowMs?: number; ttlSeconds?: number } = {},
): string {
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claim: AgentClaim = {
    v: 1,
    node: input.node,
    namespace: input.namespace,
    pod: input.pod,
    uid: input.uid,
    container: input.container,
    verb: input.verb,
    target: requestTargetDigest(input.target),
    exp: now + (options.ttlSeconds ?? AGENT_CREDENTIAL_TTL_SECONDS),
    nonce: randomBytes(16).toString('base64url'),
  };
  const payload = Buffer.from(JSON.stringify(claim), 'utf8').toString('base64url');
  const signature = createHmac('sha256', agentCredentialKey(joinToken, input.node))
    .update(`${PREFIX}.${payload}`)
    .digest('base64url');
  return `${PREFIX}.${payload}.${signature}`;
}

export type VerifyResult = { ok: true; claim: AgentClaim } | { ok: false; reason: string };

function isClaim(value: unknown): value is AgentClaim {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  const strings = ['node', 'namespace', 'pod', 'uid', 'container', 'target', 'nonce'];
  return (
    c.v === 1 &&
    strings.every((k) => typeof c[k] === 'string' && c[k] !== '') &&
    (c.verb === 'logs' || c.verb === 'exec' || c.verb === 'portforward') &&
    typeof c.exp === 'number' &&
    Number.isInteger(c.exp)
  );
}

/**
 * Checks the signature (in constant time), then the claim's shape, node and expiry. The caller
 * checks that the claim matches the request (verb, pod, container, target) and its nonce is new.
 * Reasons are for logs: they never contain the credential.
 */
export function verifyAgentCredential(
  key: Buffer,
  nodeName: string,
  credential: string,
  options: { nowMs?: number } = {},
): VerifyResult {
  const parts = credential.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed' };
  const [, payload = '', signature = ''] = parts;
  const expected = createHmac('sha256', key).update(`${PREFIX}.${payload}`).digest();
  const presented = Buffer.from(signature, 'base64url');
  // timingSafeEqual needs equal lengths; the length of a MAC is not a secret.
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return { ok: false, reason: 'bad signature' };
  }
  let claim: unknown;
  try {
    claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed claim' };
  }
  if (!isClaim(claim)) return { ok: false, reason: 'malformed claim' };
  if (claim.node !== nodeName) return { ok: false, reason: 'claim for another node' };
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (claim.exp < now) return { ok: false, reason: 'expired' };
  if (claim.exp > now + AGENT_CREDENTIAL_MAX_AHEAD_SECONDS) {
    return { ok: false, reason: 'expiry too far ahead (clock skew?)' };
  }
  return { ok: true, claim };
}
