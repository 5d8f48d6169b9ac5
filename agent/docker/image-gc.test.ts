import { describe, expect, it } from 'vitest';
import {
  bytesToFree,
  gcCandidates,
  ImageUsage,
  isBuildOutput,
  type ImageGcPolicy,
  type ImageRecord,
} from './image-gc.js';

const GiB = 1024 ** 3;
const policy: ImageGcPolicy = {
  highThresholdPercent: 85,
  lowThresholdPercent: 80,
  minimumAgeMs: 120_000,
};
const BUILT = { 'io.openshift.build.name': 'app-1', 'io.openshift.build.namespace': 'shop' };

function image(id: string, created: number, labels: Record<string, string> = BUILT): ImageRecord {
  return { id, created, sizeBytes: 10, labels, repoTags: [] };
}

describe('bytesToFree', () => {
  it('is 0 below the high threshold, and down to the low one above it', () => {
    expect(bytesToFree({ totalBytes: 100 * GiB, freeBytes: 16 * GiB }, policy)).toBe(0);
    expect(bytesToFree({ totalBytes: 100 * GiB, freeBytes: 15 * GiB }, policy)).toBe(5 * GiB);
    expect(bytesToFree({ totalBytes: 100 * GiB, freeBytes: 0 }, policy)).toBe(20 * GiB);
    expect(bytesToFree({ totalBytes: 0, freeBytes: 0 }, policy)).toBe(0);
  });
});

describe('isBuildOutput', () => {
  it('needs both build labels, not empty', () => {
    expect(isBuildOutput(image('a', 1))).toBe(true);
    expect(isBuildOutput(image('a', 1, { 'io.openshift.build.name': 'x' }))).toBe(false);
    expect(isBuildOutput(image('a', 1, { ...BUILT, 'io.openshift.build.name': '' }))).toBe(false);
    expect(isBuildOutput(image('a', 1, { 'io.openshift.s2i.scripts-url': 'image:///' }))).toBe(
      false,
    );
  });
});

describe('gcCandidates', () => {
  const t0 = 1_000_000;

  it('takes unused build outputs known for the minimum age, least recently used first', () => {
    const usage = new ImageUsage();
    const images = [
      image('old-used-lately', 1),
      image('in-use', 2),
      image('not-ours', 3, { 'io.openshift.s2i.scripts-url': 'image:///usr/libexec/s2i' }),
      image('never-used-new', 5),
      image('never-used-old', 4),
    ];
    const ids = images.map((i) => i.id);
    usage.observe(ids, new Set(['in-use']), t0);
    // A container of the oldest image ran for a while, and is gone now.
    usage.observe(ids, new Set(['in-use', 'old-used-lately']), t0 + 60_000);
    usage.observe(ids, new Set(['in-use']), t0 + policy.minimumAgeMs);
    const now = t0 + policy.minimumAgeMs;
    expect(gcCandidates(images, new Set(['in-use']), usage, policy, now).map((i) => i.id)).toEqual([
      'never-used-old',
      'never-used-new',
      'old-used-lately',
    ]);
  });

  it('spares images first seen less than the minimum age ago', () => {
    const usage = new ImageUsage();
    usage.observe(['a'], new Set(), t0);
    expect(gcCandidates([image('a', 1)], new Set(), usage, policy, t0 + 119_999)).toEqual([]);
    expect(gcCandidates([image('a', 1)], new Set(), usage, policy, t0 + 120_000)).toHaveLength(1);
    // Never observed: never a candidate.
    expect(gcCandidates([image('b', 1)], new Set(), usage, policy, t0 + 10 * 60_000)).toEqual([]);
  });

  it('keeps to the required labels when asked', () => {
    const usage = new ImageUsage();
    const mine = image('mine', 1, { ...BUILT, run: 'r1' });
    usage.observe(['mine', 'other'], new Set(), t0);
    expect(
      gcCandidates([mine, image('other', 1)], new Set(), usage, policy, t0 + 120_000, {
        run: 'r1',
      }).map((i) => i.id),
    ).toEqual(['mine']);
  });
});

describe('ImageUsage', () => {
  it('forgets images that are gone, so one that comes back counts as new', () => {
    const usage = new ImageUsage();
    usage.observe(['a'], new Set(['a']), 1);
    usage.observe([], new Set(), 2);
    expect(usage.firstSeen('a')).toBeUndefined();
    usage.observe(['a'], new Set(), 3);
    expect(usage.firstSeen('a')).toBe(3);
    expect(usage.lastUsed('a')).toBe(3);
  });
});
