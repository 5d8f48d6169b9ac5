import { describe, expect, it } from 'vitest';
import { PushProgressLines } from './push.js';

describe('push progress lines', () => {
  it('counts pushed layers and never goes back in percent', () => {
    let t = 0;
    const p = new PushProgressLines(() => t);
    const lines: string[] = [];
    const feed = (id: string, status: string, current?: number, total?: number): void => {
      const line = p.update({
        id,
        status,
        ...(current ? { current } : {}),
        ...(total ? { total } : {}),
      });
      if (line) lines.push(line);
      t += 100;
    };
    feed('aaaaaaaaaaaa', 'Preparing');
    feed('aaaaaaaaaaaa', 'Pushing', 50, 100);
    feed('bbbbbbbbbbbb', 'Pushing', 10, 1000);
    feed('aaaaaaaaaaaa', 'Pushed');
    feed('bbbbbbbbbbbb', 'Layer already exists');
    expect(lines[0]).toBe('Pushed 0/1 layers, 50% complete');
    expect(lines).toContain('Pushed 1/2 layers, 50% complete');
    expect(lines.at(-1)).toBe('Pushed 2/2 layers, 100% complete');
    expect(p.update({ status: 'The push refers to repository [x]' })).toBeUndefined();
  });

  it('counts layers the registry mounts from another repository as pushed', () => {
    const p = new PushProgressLines(() => 0);
    p.update({ id: 'aaaaaaaaaaaa', status: 'Preparing' });
    p.update({ id: 'bbbbbbbbbbbb', status: 'Preparing' });
    p.update({ id: 'aaaaaaaaaaaa', status: 'Mounted from openshift/nodejs' });
    p.update({ id: 'bbbbbbbbbbbb', status: 'Pushed' });
    expect(p.line()).toBe('Pushed 2/2 layers, 100% complete');
  });
});
