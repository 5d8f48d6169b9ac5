// The fixture applications (test/fixtures/apps/) as git repositories, and what a build needs to
// reach the npm registry from this machine.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export const APPS_DIR = fileURLToPath(new URL('../../fixtures/apps/', import.meta.url));

/** A fixture application's files, path -> content, for GitServer.createRepo. */
export async function fixtureFiles(app: string): Promise<Record<string, string>> {
  const root = join(APPS_DIR, app);
  const files: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files[relative(root, path)] = await readFile(path, 'utf8');
    }
  };
  await walk(root);
  return files;
}

/** Where the trusted certificates end up in a Node.js application built by the nodejs builder. */
const TRUST_PATH = '.trust/ca.pem';

/**
 * This machine's CA bundle (NODE_EXTRA_CA_CERTS, else the system bundle), or undefined. Builds
 * that install from the npm registry must trust what this machine trusts: where HTTPS leaves
 * through an intercepting proxy, the builder image's CA bundle alone does not verify it.
 */
export function hostBundle(): string | undefined {
  return [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find(
    (p): p is string => !!p && existsSync(p),
  );
}

/**
 * For builds that cannot use the cluster's bundle (`new-build` starts the first build at once,
 * before `spec.mountTrustedCA` could be set): the bundle goes into the repository and
 * NODE_EXTRA_CA_CERTS into the build environment (`new-build -e`); without a bundle on this
 * machine, nothing is added.
 */
export async function hostTrust(): Promise<{ files: Record<string, string>; env: string[] }> {
  const bundle = hostBundle();
  if (!bundle) return { files: {}, env: [] };
  return {
    files: { [TRUST_PATH]: await readFile(bundle, 'utf8') },
    env: ['-e', `NODE_EXTRA_CA_CERTS=/opt/app-root/src/${TRUST_PATH}`],
  };
}

/**
 * GET http://IP:PORT/ until it answers (at most `timeoutMs`); resolves with the status and body.
 * Plain node:http, no keep-alive: each pod is asked once.
 */
export async function httpGet(
  url: string,
  timeoutMs = 20_000,
): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await new Promise((resolve, reject) => {
        const req = request(url, { timeout: 3000 }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end();
      });
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms: ${(last as Error)?.message}`);
}
