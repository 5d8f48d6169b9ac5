import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The version in the package's package.json (found upward from this file, so it works both
 * from src/ and from dist/). */
export function clientVersion(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'slipway' && pkg.version) return (cached = pkg.version);
    } catch {
      // keep looking
    }
    dir = dirname(dir);
  }
  return (cached = 'unknown');
}
