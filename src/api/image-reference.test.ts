import { describe, expect, it } from 'vitest';
import {
  formatDockerImageReference,
  parseDockerImageReference,
  referenceTag,
  type DockerImageReference,
} from './image-reference.js';

function parsed(input: string): DockerImageReference {
  const result = parseDockerImageReference(input);
  if (!result.ok) throw new Error(result.message);
  return result.reference;
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseDockerImageReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.25', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/org/a', { registry: 'docker.io', repository: 'org/a' }],
    ['quay.io/org/app:v2', { registry: 'quay.io', repository: 'org/app', tag: 'v2' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['127.0.0.1:5000/ns/app:1', { registry: '127.0.0.1:5000', repository: 'ns/app', tag: '1' }],
    ['[::1]:5000/ns/app', { registry: '[::1]:5000', repository: 'ns/app' }],
    ['Registry/app', { registry: 'Registry', repository: 'app' }],
    ['a/b/c.d__e-f', { registry: 'docker.io', repository: 'a/b/c.d__e-f' }],
    [`app@${DIGEST}`, { registry: 'docker.io', repository: 'library/app', digest: DIGEST }],
    [`host:1/app:t@${DIGEST}`, { registry: 'host:1', repository: 'app', tag: 't', digest: DIGEST }],
  ])('%s', (input, expected) => {
    expect(parsed(input)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['Nginx', /"Nginx" is not a repository name component/],
    ['org/App', /"App" is not a repository name component/],
    ['app:', /a tag is at most 128/],
    [`app:${'x'.repeat(129)}`, /a tag is at most 128/],
    ['app@sha256:12', /the digest must be sha256/],
    ['app@md5:00', /the digest must be sha256/],
    ['quay.io/', /repository name is missing/],
    ['host:99999/app', /port 99999 is out of range/],
    ['-host.io/app', /"-host.io" is not a registry/],
    ['a//b', /"" is not a repository name component/],
    [`quay.io/${'a'.repeat(250)}`, /longer than 255/],
  ])('refuses %j', (input, message) => {
    const result = parseDockerImageReference(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toMatch(message);
      expect(result.message).toContain(JSON.stringify(input));
    }
  });

  it('writes the reference out in full and knows its tag', () => {
    expect(formatDockerImageReference(parsed('nginx'))).toBe('docker.io/library/nginx');
    expect(formatDockerImageReference(parsed(`q.io/a:1@${DIGEST}`))).toBe(`q.io/a:1@${DIGEST}`);
    expect(referenceTag(parsed('nginx'))).toBe('latest');
    expect(referenceTag(parsed('nginx:2'))).toBe('2');
    expect(referenceTag(parsed(`nginx@${DIGEST}`))).toBeUndefined();
  });
});
