import { describe, expect, it } from 'vitest';
import type { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import {
  imageStreamKind,
  parseImageStreamTagName,
  resolveImageReference,
  TAG_HISTORY_MAX,
  withTagEvent,
  type ImageStream,
} from './image-stream.js';
import { imageStreamTagOf, imageStreamTagsOf } from './image-stream-tag.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function stream(name: string, tags: Record<string, string[]>, namespace = 'ns'): ImageStream {
  return {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name, namespace, generation: 2 },
    status: {
      tags: Object.entries(tags).map(([tag, refs]) => ({
        tag,
        items: refs.map((r, i) => ({
          created: `2030-01-0${i + 1}T00:00:00Z`,
          dockerImageReference: r,
          image: r.split('@')[1],
        })),
      })),
    },
  };
}

describe('image references', () => {
  const streams = new Map([
    [
      'ns/nodejs',
      stream('nodejs', { '20': [`r/ns/nodejs@${D2}`, `r/ns/nodejs@${D1}`], empty: [] }),
    ],
    ['openshift/python', stream('python', { '3.12': [`r/openshift/python@${D1}`] }, 'openshift')],
  ]);
  const lookup = (ns: string, name: string) => streams.get(`${ns}/${name}`);

  it('resolves tags to their newest image, in the reference’s namespace or the given one', () => {
    expect(
      resolveImageReference({ kind: 'ImageStreamTag', name: 'nodejs:20' }, 'ns', lookup),
    ).toEqual({
      ok: true,
      dockerImageReference: `r/ns/nodejs@${D2}`,
      image: D2,
    });
    expect(
      resolveImageReference(
        { kind: 'ImageStreamTag', name: 'python:3.12', namespace: 'openshift' },
        'ns',
        lookup,
      ),
    ).toMatchObject({ ok: true, image: D1 });
    expect(
      resolveImageReference({ kind: 'ImageStreamImage', name: `nodejs@${D1}` }, 'ns', lookup),
    ).toMatchObject({
      ok: true,
      dockerImageReference: `r/ns/nodejs@${D1}`,
    });
    expect(resolveImageReference({ kind: 'DockerImage', name: `x/y@${D1}` }, 'ns', lookup)).toEqual(
      {
        ok: true,
        dockerImageReference: `x/y@${D1}`,
        image: D1,
      },
    );
    expect(
      resolveImageReference({ kind: 'ImageStreamTag', name: '20' }, 'ns', lookup, 'nodejs'),
    ).toMatchObject({
      ok: true,
    });
  });

  it('says why a reference does not resolve', () => {
    expect(
      resolveImageReference({ kind: 'ImageStreamTag', name: 'nodejs:empty' }, 'ns', lookup),
    ).toEqual({
      ok: false,
      message: 'the image stream tag ns/nodejs:empty has no image yet',
    });
    expect(resolveImageReference({ kind: 'ImageStreamTag', name: 'ruby:3' }, 'ns', lookup)).toEqual(
      {
        ok: false,
        message: 'the image stream ns/ruby does not exist',
      },
    );
  });

  it('parses STREAM:TAG', () => {
    expect(parseImageStreamTagName('a:b')).toEqual({ stream: 'a', tag: 'b' });
    expect(parseImageStreamTagName('a')).toBeUndefined();
    expect(parseImageStreamTagName(':b')).toBeUndefined();
    expect(parseImageStreamTagName('a:b:c')).toBeUndefined();
  });
});

describe('withTagEvent', () => {
  it('puts the new image first, keeps history, and changes nothing for the same image', () => {
    const s = stream('app', { latest: [`r@${D1}`] }).status;
    const next = withTagEvent(s, 'latest', {
      created: 'now',
      dockerImageReference: `r@${D2}`,
      image: D2,
    });
    expect(next.tags![0]!.items.map((i) => i.image)).toEqual([D2, D1]);
    expect(
      withTagEvent(next, 'latest', {
        created: 'later',
        dockerImageReference: `r@${D2}`,
        image: D2,
      }),
    ).toBe(next);
    const fresh = withTagEvent(undefined, 'v1', { created: 'now', dockerImageReference: 'x' });
    expect(fresh.tags).toEqual([
      { tag: 'v1', items: [{ created: 'now', dockerImageReference: 'x' }] },
    ]);
    let many = fresh;
    for (let i = 0; i < 20; i += 1)
      many = withTagEvent(many, 'v1', { created: 'now', dockerImageReference: `x${i}` });
    expect(many.tags![0]!.items).toHaveLength(TAG_HISTORY_MAX);
  });
});

describe('ImageStream validation and ImageStreamTag', () => {
  it('names duplicate and invalid spec tags', () => {
    const bad = {
      apiVersion: 'image.openshift.io/v1',
      kind: 'ImageStream',
      metadata: { name: 'x', namespace: 'ns' },
      spec: {
        tags: [
          { name: 'a', from: { kind: 'DockerImage', name: 'img' } },
          { name: 'a' },
          { name: '-bad' },
          { name: 'b', from: { kind: 'Build', name: 'x' } },
          { name: 'c', from: { kind: 'ImageStreamTag', name: 'c' } },
        ],
      },
    };
    let fields: string[] = [];
    try {
      validateObject(imageStreamKind, bad);
    } catch (err) {
      fields = ((err as ApiError).details?.causes ?? []).map((c) => c.field ?? '');
    }
    expect(fields).toEqual([
      'spec.tags[1].name',
      'spec.tags[2].name',
      'spec.tags[3].from.kind',
      'spec.tags[4].from.name',
    ]);
  });

  it('computes tags with images, and prints IMAGE REPOSITORY TAGS UPDATED', () => {
    const is = stream('nodejs', { latest: [`r@${D1}`], '20': [`r@${D2}`], none: [] });
    is.status!.dockerImageRepository = 'r/ns/nodejs';
    is.spec = { tags: [{ name: '20', from: { kind: 'DockerImage', name: `r@${D2}` } }] };
    expect(imageStreamTagsOf(is).map((t) => t.metadata.name)).toEqual([
      'nodejs:20',
      'nodejs:latest',
    ]);
    expect(imageStreamTagOf(is, '20')).toMatchObject({
      metadata: { name: 'nodejs:20', namespace: 'ns' },
      tag: { name: '20' },
      image: { dockerImageReference: `r@${D2}`, metadata: { name: D2 } },
    });
    expect(imageStreamTagOf(is, 'none')).toBeUndefined();
    const now = new Date('2030-01-01T00:05:00Z');
    expect(imageStreamKind.columns.map((c) => c.value(is, now))).toEqual([
      'r/ns/nodejs',
      'latest,20',
      '5 minutes ago',
    ]);
  });
});
