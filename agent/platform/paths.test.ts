import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { platformPaths } from './paths.js';

describe('platformPaths', () => {
  it('finds images/ and scripts/base-image.sh above this module', () => {
    const paths = platformPaths();
    for (const name of ['registry', 'nodejs', 'python', 'static']) {
      expect(existsSync(`${paths.imagesDir}/${name}/Dockerfile`)).toBe(true);
    }
    expect(paths.baseImageScript).toMatch(/\/scripts\/base-image\.sh$/);
  });

  it('says where it looked when there is no installation above', () => {
    expect(() => platformPaths('/tmp/nowhere/x.js')).toThrow(
      "cannot find the platform's images/ and scripts/ folders above /tmp/nowhere",
    );
  });
});
