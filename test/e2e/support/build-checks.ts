// What the end-to-end build tests check of a finished build and of the image it pushed.
import { expect } from 'vitest';
import { httpGet } from './apps.js';
import {
  finishedBuild,
  podIdentity,
  runAsPod,
  tagHistory,
  type BuildStack,
} from './build-stack.js';

export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What every successful first build (NAME-1) shows: Complete; in its log the clone of the commit,
 * the push and its digest; the output tag moved to REGISTRY/NS/NAME@DIGEST; and the same in
 * `get builds`, `get is` and `describe build`. Resolves with the pushed reference.
 */
export async function expectFirstBuild(
  stack: BuildStack,
  namespace: string,
  name: string,
  options: { strategy: 'Source' | 'Docker'; url: string; commit: string; log: string },
): Promise<string> {
  const { strategy, url, commit, log } = options;
  const short = commit.slice(0, 7);
  const build = await finishedBuild(stack, namespace, `${name}-1`);
  expect(build.status?.phase, log).toBe('Complete');
  const digest = build.status?.output?.to?.imageDigest ?? '';
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  const reference = `${stack.registry}/${namespace}/${name}@${digest}`;

  expect(log).toContain(`Build ${namespace}/${name}-1 (${strategy} strategy) on this node`);
  expect(log).toContain(`Cloning "${url}" ...`);
  expect(log).toContain(`Commit:\t${short} (Initial commit)`);
  expect(log).toMatch(/^Pushed \d+\/\d+ layers, 100% complete$/m);
  expect(log).toContain(`Successfully pushed ${reference}`);
  expect(log).toContain('Push successful');

  const [newest] = await tagHistory(stack, namespace, name);
  expect(newest).toMatchObject({ dockerImageReference: reference, image: digest });

  const n = ['-n', namespace];
  expect(await stack.ok(['get', 'builds', ...n])).toMatch(
    new RegExp(`^${name}-1\\s+${strategy}\\s+Git@${short}\\s+Complete\\s`, 'm'),
  );
  expect(await stack.ok(['get', 'is', ...n])).toMatch(
    new RegExp(
      `^${name}\\s+${escapeRegExp(stack.registry)}/${namespace}/${name}\\s+latest\\s`,
      'm',
    ),
  );
  const described = await stack.ok(['describe', 'build', `${name}-1`, ...n]);
  expect(described).toMatch(/^Status:\s+Complete$/m);
  expect(described).toMatch(new RegExp(`^Strategy:\\s+${strategy}$`, 'm'));
  expect(described).toMatch(new RegExp(`^Commit:\\s+${short} \\(Initial commit\\)$`, 'm'));
  expect(described).toMatch(new RegExp(`^Image Digest:\\s+${digest}$`, 'm'));
  expect(described).toMatch(
    new RegExp(
      `Normal\\s+BuildCompleted\\s+.*build-controller\\s+Build ${namespace}/${name}-1 completed successfully`,
    ),
  );
  return reference;
}

/**
 * Runs the image as a pod, checks it runs restricted (the project's UID, not the image's USER,
 * in group 0) and answers GET / with 200 and a body containing `body`; resolves with the body.
 */
export async function expectServes(
  stack: BuildStack,
  namespace: string,
  podName: string,
  reference: string,
  body: string,
): Promise<string> {
  const { pod, ip } = await runAsPod(stack, namespace, podName, reference);
  expect(pod.spec.containers[0]!.image).toBe(reference);
  const projectUid = pod.spec.securityContext?.runAsUser;
  expect(projectUid).toBeGreaterThan(1001);
  expect(await podIdentity(stack, namespace, podName)).toEqual({
    uid: String(projectUid),
    gid: '0',
  });
  const res = await httpGet(`http://${ip}:8080/`);
  expect(res.status).toBe(200);
  expect(res.body).toContain(body);
  return res.body;
}
