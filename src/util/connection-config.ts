/**
 * The master URL and token every component that joins a cluster (agent, router) is configured
 * with: one schema each, so their checks and messages stay the same.
 */
import { z } from 'zod';

/** `--server URL`, an http(s) URL; `env` names the variable that may give it. */
export function serverUrlSchema(env: string): z.ZodType<string, string> {
  const required = `Required value: pass --server URL or set ${env}`;
  return z
    .string({ message: required })
    .min(1, required)
    .refine((v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    }, 'must be an http(s) URL such as http://127.0.0.1:8443');
}

/** `--token T`, non-empty. */
export function tokenSchema(env: string): z.ZodType<string, string> {
  const required = `Required value: pass --token or set ${env}`;
  return z.string({ message: required }).min(1, required);
}
