// Certificates for TLS tests, made with the openssl CLI in a directory the test owns: P-256 keys,
// valid for a day, the name in both CN and subjectAltName.
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface PemFiles {
  /** Paths of the PEM files. */
  certFile: string;
  keyFile: string;
  /** Their contents. */
  cert: string;
  key: string;
}

async function files(certFile: string, keyFile: string): Promise<PemFiles> {
  return {
    certFile,
    keyFile,
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
  };
}

/** A self-signed certificate for `host`. */
export async function selfSigned(dir: string, host: string): Promise<PemFiles> {
  const certFile = join(dir, `${host}.crt`);
  const keyFile = join(dir, `${host}.key`);
  await run('openssl', [
    'req',
    '-x509',
    ...NEW_KEY,
    '-days',
    '1',
    '-subj',
    `/CN=${host}`,
    '-addext',
    `subjectAltName=DNS:${host}`,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return files(certFile, keyFile);
}

/** A certificate for `name` signed by the CA `ca` (made on first use); `caCert` is the CA's. */
export async function signedBy(
  dir: string,
  ca: string,
  name: string,
): Promise<PemFiles & { caCert: string }> {
  const p = (f: string): string => join(dir, f);
  const exists = await access(p(`${ca}.crt`)).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const args = ['req', '-x509', ...NEW_KEY, '-days', '1', '-subj', `/CN=${ca}`];
    await run('openssl', [...args, '-keyout', p(`${ca}.key`), '-out', p(`${ca}.crt`)]);
  }
  const subject = ['-subj', `/CN=${name}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`)];
  await run('openssl', ['req', ...NEW_KEY, ...subject]);
  await writeFile(p(`${name}.ext`), `subjectAltName=DNS:${name}\n`);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    p(`${name}.csr`),
    '-CA',
    p(`${ca}.crt`),
    '-CAkey',
    p(`${ca}.key`),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    p(`${name}.ext`),
    '-out',
    p(`${name}.crt`),
  ]);
  return {
    ...(await files(p(`${name}.crt`), p(`${name}.key`))),
    caCert: await readFile(p(`${ca}.crt`), 'utf8'),
  };
}
