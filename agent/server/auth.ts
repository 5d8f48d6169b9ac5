/**
 * Who may use the agent's server: only the master, proving it with a credential signed by a key
 * derived from the join token and this node's name (src/client/agent-credential.ts). Each
 * credential is good for one request: the verb, pod, container and exact request target it
 * names, before its expiry, and once (its nonce is remembered until it expires).
 */
import {
  agentCredentialKey,
  requestTargetDigest,
  verifyAgentCredential,
  type AgentVerb,
} from '../../src/client/agent-credential.js';

/** What the agent is about to serve, from its URL. */
export interface AgentRequest {
  verb: AgentVerb;
  namespace: string;
  pod: string;
  container: string;
  /** Path and query exactly as on the request line. */
  target: string;
}

export type AuthResult = { ok: true; podUid: string } | { ok: false; reason: string };

/** Decides on one request from its `Authorization` header. Reasons are for logs only. */
export type AgentAuthenticator = (
  authorization: string | undefined,
  request: AgentRequest,
) => AuthResult;

export interface JoinTokenAuthenticatorOptions {
  joinToken: string;
  nodeName: string;
  /** For tests. */
  nowMs?: () => number;
  /** Most nonces remembered at once (each for at most the credential lifetime). */
  maxNonces?: number;
}

/** The authenticator for a node that joined with `joinToken`. */
export function joinTokenAuthenticator(options: JoinTokenAuthenticatorOptions): AgentAuthenticator {
  if (!options.joinToken)
    throw new Error('the agent server needs the join token to check credentials');
  const key = agentCredentialKey(options.joinToken, options.nodeName);
  const now = options.nowMs ?? Date.now;
  const maxNonces = options.maxNonces ?? 100_000;
  /** nonce -> expiry (unix seconds). */
  const seen = new Map<string, number>();

  const prune = (nowSeconds: number): void => {
    for (const [nonce, exp] of seen) if (exp < nowSeconds) seen.delete(nonce);
  };

  return (authorization, request) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return { ok: false, reason: 'no credential' };
    const nowMs = now();
    const result = verifyAgentCredential(key, options.nodeName, match[1]!, { nowMs });
    if (!result.ok) return result;
    const { claim } = result;
    if (
      claim.verb !== request.verb ||
      claim.namespace !== request.namespace ||
      claim.pod !== request.pod ||
      claim.container !== request.container
    ) {
      return { ok: false, reason: 'credential is for another request' };
    }
    if (claim.target !== requestTargetDigest(request.target)) {
      return { ok: false, reason: 'credential is for another request target' };
    }
    const nowSeconds = Math.floor(nowMs / 1000);
    if (seen.size >= maxNonces) prune(nowSeconds);
    if (seen.has(claim.nonce)) return { ok: false, reason: 'credential already used' };
    if (seen.size >= maxNonces) return { ok: false, reason: 'too many credentials in flight' };
    seen.set(claim.nonce, claim.exp);
    if (seen.size % 256 === 0) prune(nowSeconds);
    return { ok: true, podUid: claim.uid };
  };
}
