import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigMap } from '../../src/api/index.js';
import {
  assembleWithTrust,
  readTrustedCa,
  SYSTEM_BUNDLES,
  TRUST_DIR,
  trustEnv,
} from './trusted-ca.js';

const CERT = (n: string): string =>
  `-----BEGIN CERTIFICATE-----\nMIIB${n}\n-----END CERTIFICATE-----`;

function bundle(data: Record<string, string> | undefined): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'user-ca-bundle', namespace: 'openshift-config' },
    ...(data ? { data } : {}),
  };
}

describe('readTrustedCa', () => {
  it('takes the PEM certificates of ca-bundle.crt and nothing else', () => {
    const read = readTrustedCa(
      bundle({ 'ca-bundle.crt': `# corporate CAs\n${CERT('a')}\ntrailing words\n${CERT('b')}\n` }),
    );
    expect(read).toEqual({ pem: `${CERT('a')}\n${CERT('b')}\n`, certificates: 2 });
  });

  it('says where the bundle should be when it is missing or empty', () => {
    expect(readTrustedCa(undefined)).toEqual({
      problem:
        'the cluster has no trusted CA bundle (ConfigMap openshift-config/user-ca-bundle, key ca-bundle.crt)',
    });
    expect(readTrustedCa(bundle({ 'other.crt': CERT('a') }))).toMatchObject({
      problem: expect.stringContaining('has no PEM certificate') as string,
    });
    expect(readTrustedCa(bundle(undefined))).toMatchObject({
      problem: expect.any(String) as string,
    });
  });
});

describe('trustEnv', () => {
  it('points the tools at the bundles, leaving what the build sets itself', () => {
    expect(trustEnv('/tmp', ['PATH=/bin', 'REQUESTS_CA_BUNDLE=/mine.pem'])).toEqual([
      'NODE_EXTRA_CA_CERTS=/tmp/.slipway-trust/ca-bundle.crt',
      'SSL_CERT_FILE=/tmp/.slipway-trust/tls-ca-bundle.pem',
      'PIP_CERT=/tmp/.slipway-trust/tls-ca-bundle.pem',
      'CURL_CA_BUNDLE=/tmp/.slipway-trust/tls-ca-bundle.pem',
      'GIT_SSL_CAINFO=/tmp/.slipway-trust/tls-ca-bundle.pem',
    ]);
  });
});

describe('assembleWithTrust, run by /bin/sh', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the command as the container would: the upload tar on stdin. */
  async function run(assembleBody: string): Promise<{ code: number; dest: string; out: string }> {
    dir = await mkdtemp(join(tmpdir(), 'slipway-trust-'));
    const upload = join(dir, 'upload');
    const dest = join(dir, 'dest');
    await mkdir(join(upload, TRUST_DIR), { recursive: true });
    await mkdir(dest);
    await writeFile(join(upload, TRUST_DIR, 'ca-bundle.crt'), `${CERT('cluster')}\n`);
    const assemble = join(dir, 'assemble');
    const out = join(dir, 'seen');
    await writeFile(assemble, `#!/bin/sh\nOUT=${out}\n${assembleBody}\n`);
    await chmod(assemble, 0o755);
    const code = await new Promise<number>((resolve) => {
      // A clean environment, as a container's: this machine may set some of the variables.
      const child = execFile(
        '/bin/sh',
        ['-c', assembleWithTrust(dest, assemble, ['PIP_CERT=/mine.pem'])],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
        (err) => resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
      );
      pack(upload).pipe(child.stdin!);
    });
    return { code, dest, out: existsSync(out) ? await readFile(out, 'utf8') : '' };
  }

  it('merges the system bundle with the cluster one, and removes both after assemble', async () => {
    const { code, dest, out } = await run(
      `cp "$(dirname "$0")/dest/${TRUST_DIR}/tls-ca-bundle.pem" "$OUT"`,
    );
    expect(code).toBe(0);
    expect(out.trimEnd().endsWith(CERT('cluster'))).toBe(true);
    const system = SYSTEM_BUNDLES.find((p) => existsSync(p));
    if (system) expect(out.startsWith((await readFile(system, 'utf8')).slice(0, 200))).toBe(true);
    expect(existsSync(join(dest, TRUST_DIR))).toBe(false);
  });

  it('exports the variables to assemble, except those the build sets', async () => {
    const { code, dest, out } = await run(
      'echo "$NODE_EXTRA_CA_CERTS $SSL_CERT_FILE ${PIP_CERT:-unset}" > "$OUT"',
    );
    expect(code).toBe(0);
    const dir = join(dest, TRUST_DIR);
    expect(out).toBe(`${dir}/ca-bundle.crt ${dir}/tls-ca-bundle.pem unset\n`);
  });

  it("exits with assemble's status, and still removes the bundles", async () => {
    const { code, dest } = await run('exit 3');
    expect(code).toBe(3);
    expect(existsSync(join(dest, TRUST_DIR))).toBe(false);
  });
});
