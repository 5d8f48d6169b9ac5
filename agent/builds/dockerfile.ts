/**
 * Dockerfile edits a Docker strategy build makes: the `from` of the strategy replaces the image
 * of the last stage's FROM (keeping `--platform=` flags and `AS name`), as OpenShift does. Pure.
 */

const FROM = /^(\s*FROM\s+(?:--[A-Za-z-]+=\S+\s+)*)(\S+)(.*)$/i;

/** The Dockerfile with its last FROM's image replaced; undefined when it has no FROM. */
export function replaceLastFrom(dockerfile: string, image: string): string | undefined {
  const lines = dockerfile.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = FROM.exec(lines[i]!);
    if (!m) continue;
    lines[i] = `${m[1]}${image}${m[3]}`;
    return lines.join('\n');
  }
  return undefined;
}
