import { describe, expect, it } from 'vitest';
import { signAgentCredential, type SignInput } from '../../src/client/agent-credential.js';
import { joinTokenAuthenticator, type AgentRequest } from './auth.js';

const joinToken = 't'.repeat(43);
const request: AgentRequest = {
  verb: 'logs',
  namespace: 'ns',
  pod: 'p',
  container: 'c',
  target: '/containerLogs/ns/p/c?follow=true',
};
const signed: SignInput = { ...request, node: 'n1', uid: 'uid-1' };
let now = 1_800_000_000_000;
const authenticate = joinTokenAuthenticator({ joinToken, nodeName: 'n1', nowMs: () => now });
const bearer = (input: Partial<SignInput> = {}) =>
  `Bearer ${signAgentCredential(joinToken, { ...signed, ...input }, { nowMs: now })}`;

describe('the agent authenticator', () => {
  it('accepts the master credential for exactly this request, once', () => {
    const header = bearer();
    expect(authenticate(header, request)).toEqual({ ok: true, podUid: 'uid-1' });
    expect(authenticate(header, request)).toEqual({ ok: false, reason: 'credential already used' });
  });

  it('refuses a credential for another verb, pod, container or target', () => {
    expect(authenticate(bearer({ verb: 'exec' }), request).ok).toBe(false);
    expect(authenticate(bearer({ pod: 'q' }), request).ok).toBe(false);
    expect(authenticate(bearer({ container: 'd' }), request).ok).toBe(false);
    expect(authenticate(bearer({ target: '/containerLogs/ns/p/c' }), request)).toEqual({
      ok: false,
      reason: 'credential is for another request target',
    });
    expect(authenticate(bearer({ node: 'n2' }), request).ok).toBe(false);
  });

  it('refuses no credential, bearer tokens and expired credentials', () => {
    expect(authenticate(undefined, request)).toEqual({ ok: false, reason: 'no credential' });
    expect(authenticate(`Bearer ${joinToken}`, request)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    const header = bearer();
    now += 61_000;
    expect(authenticate(header, request)).toEqual({ ok: false, reason: 'expired' });
  });

  it('needs the join token', () => {
    expect(() => joinTokenAuthenticator({ joinToken: '', nodeName: 'n1' })).toThrow(
      'needs the join token',
    );
  });
});
