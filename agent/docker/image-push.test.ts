import { describe, expect, it } from 'vitest';
import { pushedDigest, splitImageRef } from './images.js';

describe('splitImageRef', () => {
  it('splits repository and tag, minding registry ports', () => {
    expect(splitImageRef('127.0.0.1:5000/openshift/nodejs:18')).toEqual({
      repo: '127.0.0.1:5000/openshift/nodejs',
      tag: '18',
    });
    expect(splitImageRef('127.0.0.1:5000/openshift/nodejs')).toEqual({
      repo: '127.0.0.1:5000/openshift/nodejs',
      tag: 'latest',
    });
    expect(splitImageRef('openshift/python:3.11')).toEqual({
      repo: 'openshift/python',
      tag: '3.11',
    });
  });
});

describe('pushedDigest', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;

  it("takes the digest from the engine's aux message", () => {
    expect(
      pushedDigest([
        { status: 'Pushed', id: 'abc' },
        { status: `18: digest: ${digest} size: 1570` },
        { progressDetail: {}, aux: { Tag: '18', Digest: digest, Size: 1570 } },
      ]),
    ).toBe(digest);
  });

  it('falls back to the status line, and is undefined when neither says', () => {
    expect(pushedDigest([{ status: `latest: digest: ${digest} size: 527` }])).toBe(digest);
    expect(pushedDigest([{ status: 'Layer already exists' }])).toBeUndefined();
  });
});
