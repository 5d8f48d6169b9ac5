import { describe, expect, it } from 'vitest';
import { RouterMetrics } from './metrics.js';

describe('RouterMetrics', () => {
  it('exposes request counts by route and code, and forgets removed routes', async () => {
    const m = new RouterMetrics();
    m.request('shop', 'web', 200);
    m.request('shop', 'web', 200);
    m.request('shop', 'web', 502);
    m.request('', '', 503);
    let text = await m.registry.metrics();
    expect(text).toContain(
      'slipway_router_requests_total{namespace="shop",route="web",code="200"} 2',
    );
    expect(text).toContain(
      'slipway_router_requests_total{namespace="shop",route="web",code="502"} 1',
    );
    expect(text).toContain('slipway_router_requests_total{namespace="",route="",code="503"} 1');
    m.forgetRoutes(new Set());
    text = await m.registry.metrics();
    expect(text).not.toContain('route="web"');
    expect(text).toContain('code="503"} 1');
  });

  it('keeps request durations as a cumulative histogram', async () => {
    const m = new RouterMetrics();
    for (const s of [0.0004, 0.0005, 0.002, 0.02, 100]) m.duration.observe(s);
    const text = await m.registry.metrics();
    const line = (le: string) =>
      text
        .split('\n')
        .find((l) => l.startsWith(`slipway_router_request_duration_seconds_bucket{le="${le}"}`));
    expect(text).toContain('# TYPE slipway_router_request_duration_seconds histogram');
    expect(line('0.0005')).toMatch(/ 2$/);
    expect(line('0.0025')).toMatch(/ 3$/);
    expect(line('0.025')).toMatch(/ 4$/);
    expect(line('30')).toMatch(/ 4$/);
    expect(line('+Inf')).toMatch(/ 5$/);
    expect(text).toContain('slipway_router_request_duration_seconds_count 5');
    expect(text).toMatch(/slipway_router_request_duration_seconds_sum 100\.0229/);
  });
});
