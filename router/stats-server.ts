/**
 * The stats port (OpenShift's 1936): `/healthz` answers while the process runs,
 * `/healthz/ready` once a routing table is loaded (from the API or the snapshot), `/metrics`
 * in Prometheus' text format. Kept off the traffic ports.
 */
import { createServer, type Server } from 'node:http';

export interface MetricsSource {
  contentType: string;
  /** The exposition text; with several workers, their metrics added up. */
  metrics(): Promise<string>;
}

export function createStatsServer(source: MetricsSource, ready: () => boolean): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
    if (path === '/healthz') return text(200, 'ok');
    if (path === '/healthz/ready') {
      return ready() ? text(200, 'ok') : text(503, 'no routing table yet');
    }
    if (path === '/metrics') {
      source
        .metrics()
        .then((body) => text(200, body, source.contentType))
        .catch(() => text(500, 'metrics failed\n'));
      return;
    }
    text(404, 'not found\n');
  });
}
