/**
 * `.s2iignore`: glob patterns, one per line (blank lines and `#` comments skipped), naming files
 * and directories of the source (relative to the context directory) that are not given to the
 * builder. As in S2I, a pattern matches a path from the source's root (`*` does not cross `/`);
 * a matched directory drops its whole subtree; there is no negation. `.git` is never given to
 * the builder either (S2I's default exclusion). Pure.
 */
import { matchesGlob } from 'node:path';

export function parseS2iIgnore(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/^\.?\/+/, '').replace(/\/+$/, ''))
    .filter((l) => l !== '');
}

/** A predicate over paths relative to the source root: true to leave the path out. */
export function ignoreMatcher(patterns: readonly string[]): (rel: string) => boolean {
  return (rel) => {
    if (rel === '.git' || rel.startsWith('.git/')) return true;
    return patterns.some((p) => matchesGlob(rel, p));
  };
}
