/**
 * Which builder a repository needs, from the files at its top (or its context directory), in
 * the order `oc new-app` checks them: a Dockerfile means a Docker build; otherwise the language
 * markers pick one of the platform's builder image streams in the `openshift` project.
 */
export type Detected =
  { strategy: 'Docker'; reason: string } | { strategy: 'Source'; builder: string; reason: string };

const MARKERS: readonly { builder: string; files: readonly string[] }[] = [
  { builder: 'nodejs', files: ['package.json'] },
  {
    builder: 'python',
    files: ['requirements.txt', 'setup.py', 'Pipfile', 'pyproject.toml', 'app.py'],
  },
  { builder: 'static', files: ['index.html', 'index.htm'] },
];

export function detectBuilder(
  files: readonly string[],
  dockerfilePath = 'Dockerfile',
): Detected | undefined {
  const present = new Set(files);
  if (present.has(dockerfilePath)) return { strategy: 'Docker', reason: `found ${dockerfilePath}` };
  for (const marker of MARKERS) {
    const hit = marker.files.find((f) => present.has(f));
    if (hit) return { strategy: 'Source', builder: marker.builder, reason: `found ${hit}` };
  }
  return undefined;
}

/** The message when nothing matched, naming what was looked for. */
export function undetectedMessage(where: string): string {
  const looked = ['Dockerfile', ...MARKERS.flatMap((m) => m.files)].join(', ');
  return (
    `no language matched the source in ${where} (looked for ${looked}); ` +
    'name a builder with BUILDER~REPOSITORY or --strategy docker'
  );
}
