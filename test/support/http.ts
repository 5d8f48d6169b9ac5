// One plain HTTP GET on its own connection (no keep-alive): status and body as text.
import { request } from 'node:http';

export interface GetOnceOptions {
  path?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Names what did not answer, for the timeout error. */
  what?: string;
}

export function getOnce(
  port: number,
  options: GetOnceOptions = {},
): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.setTimeout(options.timeoutMs ?? 15_000, () =>
      req.destroy(new Error(`${options.what ?? `127.0.0.1:${port}`} did not answer`)),
    );
    req.end();
  });
}
