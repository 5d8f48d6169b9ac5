import { describe, expect, it } from 'vitest';
import {
  agentCredentialKey,
  requestTargetDigest,
  signAgentCredential,
  verifyAgentCredential,
  type SignInput,
} from './agent-credential.js';

const joinToken = 'j'.repeat(43);
const input: SignInput = {
  node: 'node-1',
  namespace: 'demo',
  pod: 'web-1',
  uid: '1234',
  container: 'web',
  verb: 'exec',
  target: '/exec/demo/web-1/web?command=sh&stdin=true',
};
const now = 1_800_000_000_000;
const key = agentCredentialKey(joinToken, 'node-1');

describe('agent credentials', () => {
  it('verify with the node key and carry the claim', () => {
    const credential = signAgentCredential(joinToken, input, { nowMs: now });
    expect(credential).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(credential).not.toContain(joinToken);
    const result = verifyAgentCredential(key, 'node-1', credential, { nowMs: now + 30_000 });
    expect(result).toMatchObject({
      ok: true,
      claim: {
        node: 'node-1',
        namespace: 'demo',
        pod: 'web-1',
        uid: '1234',
        container: 'web',
        verb: 'exec',
        target: requestTargetDigest(input.target),
        exp: now / 1000 + 60,
      },
    });
  });

  it('are unique per signing (nonce)', () => {
    const a = signAgentCredential(joinToken, input, { nowMs: now });
    const b = signAgentCredential(joinToken, input, { nowMs: now });
    expect(a).not.toBe(b);
  });

  it('refuse another key, another node, tampering, expiry and malformed input', () => {
    const credential = signAgentCredential(joinToken, input, { nowMs: now });
    const verify = (c: string, k = key, node = 'node-1', at = now) =>
      verifyAgentCredential(k, node, c, { nowMs: at });
    expect(verify(credential, agentCredentialKey('other-token', 'node-1'))).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    // The key is per node: node-2 cannot check (or mint) node-1's credentials.
    expect(verify(credential, agentCredentialKey(joinToken, 'node-2'), 'node-2').ok).toBe(false);
    const forNode2 = signAgentCredential(joinToken, { ...input, node: 'node-2' }, { nowMs: now });
    expect(verify(forNode2).ok).toBe(false);

    const [prefix, payload, sig] = credential.split('.') as [string, string, string];
    const claim = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const forged = Buffer.from(JSON.stringify({ ...claim, container: 'db' })).toString('base64url');
    expect(verify(`${prefix}.${forged}.${sig}`)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify(`${prefix}.${payload}.${sig.slice(0, -2)}`).ok).toBe(false);
    expect(verify(`v2.${payload}.${sig}`)).toEqual({ ok: false, reason: 'malformed' });
    expect(verify('')).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(`${credential}.x`)).toEqual({ ok: false, reason: 'malformed' });

    expect(verify(credential, key, 'node-1', now + 61_000)).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verify(credential, key, 'node-1', now - 600_000)).toEqual({
      ok: false,
      reason: 'expiry too far ahead (clock skew?)',
    });
  });
});
