import { describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../src/api/index.js';
import {
  genericOutcome,
  githubOutcome,
  redactWebhookPath,
  refMatches,
  secretsEqual,
} from './build-webhooks.js';

function bc(ref?: string): BuildConfig {
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: { name: 'app', namespace: 'ns' },
    spec: {
      source: { git: { uri: 'https://x.example.com/r.git', ...(ref ? { ref } : {}) } },
      strategy: { type: 'Docker', dockerStrategy: {} },
    },
  };
}

const commit = '0123456789abcdef0123456789abcdef01234567';

describe('webhook payloads', () => {
  it('generic: the ref must match; the commit becomes the revision; env only when allowed', () => {
    expect(genericOutcome(bc('main'), {}, undefined)).toEqual({
      build: true,
      request: { triggeredBy: [{ message: 'Generic WebHook', genericWebHook: {} }] },
    });
    const payload = {
      git: { ref: 'refs/heads/main', commit, message: 'm' },
      env: [{ name: 'X', value: '1' }],
    };
    const out = genericOutcome(bc('main'), { allowEnv: false }, payload);
    expect(out).toMatchObject({
      build: true,
      request: { revision: { type: 'Git', git: { commit, message: 'm' } } },
    });
    expect(out.build && out.request.env).toBeUndefined();
    const withEnv = genericOutcome(bc('main'), { allowEnv: true }, payload);
    expect(withEnv.build && withEnv.request.env).toEqual([{ name: 'X', value: '1' }]);
    expect(genericOutcome(bc('main'), {}, { git: { ref: 'other' } })).toMatchObject({
      build: false,
    });
    // OpenShift's default branch for a BuildConfig without a ref.
    expect(genericOutcome(bc(), {}, { git: { ref: 'master' } }).build).toBe(true);
    expect(() => genericOutcome(bc(), {}, { git: { commit: '-x' } })).toThrow(/payload is invalid/);
    expect(() => genericOutcome(bc(), {}, { git: { ref: '--upload-pack=x' } })).toThrow(/git.ref/);
  });

  it('github: push events only, to the built branch (or the default branch)', () => {
    const push = {
      ref: 'refs/heads/main',
      after: commit,
      head_commit: { id: commit, author: { name: 'A', email: 'a@x', username: 'a' } },
      repository: { default_branch: 'main' },
    };
    const out = githubOutcome(bc('main'), 'push', push);
    expect(out).toMatchObject({
      build: true,
      request: { revision: { git: { commit, author: { name: 'A', email: 'a@x' } } } },
    });
    expect(JSON.stringify(out)).not.toContain('username');
    expect(githubOutcome(bc(), 'push', push).build).toBe(true);
    expect(githubOutcome(bc('release'), 'push', push).build).toBe(false);
    expect(
      githubOutcome(bc('main'), 'push', { ...push, deleted: true, after: '0'.repeat(40) }).build,
    ).toBe(false);
    expect(githubOutcome(bc('main'), 'ping', {}).build).toBe(false);
    expect(() => githubOutcome(bc('main'), 'pull_request', {})).toThrow(/only push events/);
    expect(() => githubOutcome(bc('main'), 'push', { after: commit })).toThrow(
      /payload is invalid/,
    );
  });

  it('compares refs and secrets, and keeps secrets out of logged paths', () => {
    expect(refMatches('refs/heads/main', 'main', 'master')).toBe(true);
    expect(refMatches('main', 'refs/heads/main', 'master')).toBe(true);
    expect(refMatches('refs/tags/v1', undefined, 'master')).toBe(false);
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abcd')).toBe(false);
    expect(
      redactWebhookPath(
        '/apis/build.openshift.io/v1/namespaces/a/buildconfigs/b/webhooks/s3cr3t/github',
      ),
    ).toBe('/apis/build.openshift.io/v1/namespaces/a/buildconfigs/b/webhooks/redacted/github');
    expect(redactWebhookPath('/api/v1/pods')).toBe('/api/v1/pods');
  });
});
