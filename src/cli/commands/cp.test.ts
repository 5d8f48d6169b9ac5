import { describe, expect, it } from 'vitest';
import { parseCpSpec, splitRemote } from './cp.js';

describe('cp arguments', () => {
  it('tells container paths from local ones', () => {
    expect(parseCpSpec('web-1:/tmp/x')).toEqual({ kind: 'pod', pod: 'web-1', path: '/tmp/x' });
    expect(parseCpSpec('team/web-1:data')).toEqual({
      kind: 'pod',
      namespace: 'team',
      pod: 'web-1',
      path: 'data',
    });
    for (const local of ['./web:1', '/tmp/a:b', 'out', 'Web:/x', '../x:y']) {
      expect(parseCpSpec(local), local).toEqual({ kind: 'local', path: local });
    }
    expect(() => parseCpSpec('web:')).toThrow('"web:": a path in the container is required');
  });

  it('splits a container path into where tar runs and what it copies', () => {
    expect(splitRemote('/tmp/dir/')).toEqual({ dir: '/tmp', name: 'dir' });
    expect(splitRemote('/a/./b/../c')).toEqual({ dir: '/a', name: 'c' });
    expect(splitRemote('file')).toEqual({ dir: '.', name: 'file' });
    for (const bad of ['/', '.', '..', '/tmp/..']) {
      expect(() => splitRemote(bad), bad).toThrow('name a file or directory to copy');
    }
  });
});
