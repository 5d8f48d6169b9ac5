import { describe, expect, it } from 'vitest';
import { isUpdateArg, metadataPatch, parseUpdates } from './label.js';

describe('label arguments', () => {
  it('tells updates from resources', () => {
    expect(
      ['pods', 'web-1', 'pod/web-1', 'a=b', 'a-', 'a=', 'example.com/x=y'].map(isUpdateArg),
    ).toEqual([false, false, false, true, true, true, true]);
  });

  it('parses sets and removals', () => {
    expect(parseUpdates(['a=b', 'c-', 'note=x=y'], 'annotation')).toEqual({
      set: { a: 'b', note: 'x=y' },
      remove: ['c'],
    });
    expect(() => parseUpdates([], 'label')).toThrow('at least one label update is required');
    expect(() => parseUpdates(['a=1', 'a-'], 'label')).toThrow(
      'can not both modify and remove a label in the same command',
    );
    expect(() => parseUpdates(['=x'], 'label')).toThrow('invalid label spec: =x');
  });
});

describe('metadataPatch', () => {
  it('refuses to overwrite without --overwrite, as kubectl', () => {
    expect(() =>
      metadataPatch({ app: 'web' }, { set: { app: 'api' }, remove: [] }, false, 'labels'),
    ).toThrow("'app' already has a value (web), and --overwrite is false");
    expect(
      metadataPatch({ app: 'web' }, { set: { app: 'api' }, remove: [] }, true, 'labels').patch,
    ).toEqual({
      metadata: { labels: { app: 'api' } },
    });
  });

  it('reports nothing to do and missing keys', () => {
    expect(
      metadataPatch({ app: 'web' }, { set: { app: 'web' }, remove: ['gone'] }, false, 'labels'),
    ).toEqual({
      missing: ['gone'],
    });
    expect(metadataPatch(undefined, { set: {}, remove: ['x'] }, false, 'annotations')).toEqual({
      missing: ['x'],
    });
    expect(
      metadataPatch({ x: '1' }, { set: {}, remove: ['x'] }, false, 'annotations').patch,
    ).toEqual({
      metadata: { annotations: { x: null } },
    });
  });
});
