import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { podKind, projectKind } from './kinds/index.js';
import type { ApiObject } from './meta.js';
import {
  fieldMatcher,
  formatFieldSelector,
  formatLabelSelector,
  labelSelectorFromMap,
  matchesLabels,
  objectMatcher,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';

function badRequest(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).reason).toBe('BadRequest');
    return err as ApiError;
  }
  throw new Error('expected a BadRequest');
}

describe('parseLabelSelector', () => {
  it('parses every operator', () => {
    expect(parseLabelSelector('a=b, c==d,e!=f,g in (x, y),h notin (z),i,!j')).toEqual([
      { key: 'a', operator: 'Equals', values: ['b'] },
      { key: 'c', operator: 'Equals', values: ['d'] },
      { key: 'e', operator: 'NotEquals', values: ['f'] },
      { key: 'g', operator: 'In', values: ['x', 'y'] },
      { key: 'h', operator: 'NotIn', values: ['z'] },
      { key: 'i', operator: 'Exists', values: [] },
      { key: 'j', operator: 'DoesNotExist', values: [] },
    ]);
  });

  it('accepts empty selectors, empty values and prefixed keys', () => {
    expect(parseLabelSelector('')).toEqual([]);
    expect(parseLabelSelector('   ')).toEqual([]);
    expect(parseLabelSelector('a=')).toEqual([{ key: 'a', operator: 'Equals', values: [''] }]);
    expect(parseLabelSelector('app.kubernetes.io/name=web')).toEqual([
      { key: 'app.kubernetes.io/name', operator: 'Equals', values: ['web'] },
    ]);
  });

  it.each([
    ['a=b=c', '"="'],
    ['a in x', '"x"'],
    ['a in (x', 'end of string'],
    ['a in ()', "can't be empty"],
    ['a b', '"b"'],
    [',a', '","'],
    ['a=b,', 'end of string'],
    ['!', 'end of string'],
    ['a=(', '"("'],
    ['bad key!=x', '"key"'],
    ['-a=b', 'invalid label key "-a"'],
    ['a=b c', '"c"'],
    ['a=-x', 'invalid label value "-x"'],
  ])('refuses %j naming %s', (input, token) => {
    const err = badRequest(() => parseLabelSelector(input));
    expect(err.message).toContain(token);
    expect(err.message).toContain(input);
  });

  it('round-trips through formatLabelSelector', () => {
    const text = 'a=b,c!=d,e in (x,y),f notin (z),g,!h';
    expect(formatLabelSelector(parseLabelSelector(text))).toBe(text);
    expect(labelSelectorFromMap({ app: 'web', tier: 'fe' })).toBe('app=web,tier=fe');
  });
});

describe('matchesLabels', () => {
  const labels = { app: 'web', tier: 'fe' };
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (db,web)', true],
    ['app in (db)', false],
    ['missing in (x)', false],
    ['app notin (db)', true],
    ['app notin (web)', false],
    ['missing notin (x)', true],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['app=web,tier=fe', true],
    ['app=web,tier=be', false],
  ])('%j -> %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it('treats missing labels as empty', () => {
    expect(matchesLabels(parseLabelSelector('!a'), undefined)).toBe(true);
    expect(matchesLabels(parseLabelSelector('a'), undefined)).toBe(false);
  });

  it('does not see inherited properties as labels', () => {
    expect(matchesLabels(parseLabelSelector('constructor'), {})).toBe(false);
    expect(matchesLabels(parseLabelSelector('toString in (x)'), {})).toBe(false);
  });
});

describe('parseFieldSelector', () => {
  it('parses =, == and !=', () => {
    expect(parseFieldSelector('metadata.name=a,spec.nodeName==n1,status.phase!=Running')).toEqual([
      { field: 'metadata.name', operator: 'Equals', value: 'a' },
      { field: 'spec.nodeName', operator: 'Equals', value: 'n1' },
      { field: 'status.phase', operator: 'NotEquals', value: 'Running' },
    ]);
    expect(parseFieldSelector('')).toEqual([]);
    expect(parseFieldSelector('spec.nodeName=')).toEqual([
      { field: 'spec.nodeName', operator: 'Equals', value: '' },
    ]);
  });

  it('handles escapes', () => {
    const sel = parseFieldSelector('a=x\\,y\\=z\\\\,b!=1');
    expect(sel).toEqual([
      { field: 'a', operator: 'Equals', value: 'x,y=z\\' },
      { field: 'b', operator: 'NotEquals', value: '1' },
    ]);
    expect(parseFieldSelector(formatFieldSelector(sel))).toEqual(sel);
  });

  it.each([
    ['metadata.name', 'metadata.name'],
    ['=x', '=x'],
    ['a=b=c', 'a=b=c'],
    ['a=b\\q', 'a=b\\q'],
    ['a b=c', 'a b'],
  ])('refuses %j naming %j', (input, term) => {
    const err = badRequest(() => parseFieldSelector(input));
    expect(err.message).toContain(term);
  });
});

describe('fieldMatcher', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p1', namespace: 'ns1', labels: { app: 'web' } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] },
    status: { phase: 'Running' },
  } as ApiObject;

  it('matches metadata and kind fields', () => {
    const m = (s: string): boolean => fieldMatcher(podKind, parseFieldSelector(s))(pod);
    expect(m('metadata.name=p1')).toBe(true);
    expect(m('metadata.namespace=ns1')).toBe(true);
    expect(m('metadata.namespace!=ns1')).toBe(false);
    expect(m('spec.nodeName=n1,status.phase=Running')).toBe(true);
    expect(m('spec.nodeName=n2')).toBe(false);
    expect(m('status.podIP=')).toBe(true);
  });

  it('refuses unknown fields as Kubernetes does', () => {
    const err = badRequest(() => fieldMatcher(podKind, parseFieldSelector('spec.image=x')));
    expect(err.message).toBe('field label not supported: spec.image');
    badRequest(() => fieldMatcher(projectKind, parseFieldSelector('spec.nodeName=x')));
  });

  it('treats a missing nested field as empty', () => {
    const bare = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } } as ApiObject;
    expect(fieldMatcher(podKind, parseFieldSelector('spec.nodeName='))(bare)).toBe(true);
  });

  it('combines labels and fields in objectMatcher', () => {
    expect(objectMatcher(podKind, {})(pod)).toBe(true);
    expect(
      objectMatcher(podKind, { labelSelector: 'app=web', fieldSelector: 'spec.nodeName=n1' })(pod),
    ).toBe(true);
    expect(
      objectMatcher(podKind, { labelSelector: 'app=db', fieldSelector: 'spec.nodeName=n1' })(pod),
    ).toBe(false);
  });
});
