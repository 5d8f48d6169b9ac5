import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/reconcile/testing/fake-clock.js';
import { Expectations } from './expectations.js';

describe('Expectations', () => {
  it('is satisfied when nothing is expected or everything was seen', () => {
    const e = new Expectations({ clock: new FakeClock() });
    expect(e.satisfied('ns/web')).toBe(true);
    e.expect('ns/web', 2);
    expect(e.satisfied('ns/web')).toBe(false);
    e.creationObserved('ns/web');
    expect(e.satisfied('ns/web')).toBe(false);
    e.creationObserved('ns/web');
    expect(e.satisfied('ns/web')).toBe(true);
  });

  it('counts each pod deletion once, however often it is seen', () => {
    const e = new Expectations({ clock: new FakeClock() });
    e.expect('ns/web', 0, ['ns/a', 'ns/b']);
    e.deletionObserved('ns/web', 'ns/a'); // seen terminating
    e.deletionObserved('ns/web', 'ns/a'); // then seen gone
    expect(e.satisfied('ns/web')).toBe(false);
    expect(e.pending('ns/web')).toEqual({ add: 0, del: 1 });
    e.deletionObserved('ns/web', 'ns/other');
    expect(e.satisfied('ns/web')).toBe(false);
    e.deletionObserved('ns/web', 'ns/b');
    expect(e.satisfied('ns/web')).toBe(true);
  });

  it('expires after the timeout and can be forgotten', () => {
    const clock = new FakeClock();
    const e = new Expectations({ clock, timeoutMs: 1000 });
    e.expect('ns/web', 1);
    clock.advance(999);
    expect(e.satisfied('ns/web')).toBe(false);
    clock.advance(1);
    expect(e.satisfied('ns/web')).toBe(true);
    e.expect('ns/db', 1);
    e.forget('ns/db');
    expect(e.satisfied('ns/db')).toBe(true);
    expect(e.pending('ns/db')).toBeUndefined();
  });
});
