// The glue between probes, checks and the judge: looks from probe windows, and check rounds counted against
// failure-threshold.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checks, lookFrom, MIN_FOR_P50, MIN_FOR_P99, type CheckContext } from '../../src/health/analysis.ts';
import { Histogram } from '../../src/health/histogram.ts';
import { emptyWindow, type Window } from '../../src/health/probe.ts';
import { parseWebhooks } from '../../src/health/webhooks.ts';
import { parseAnalysis } from '../../src/health/analysis-config.ts';

const window = (ms: number[], errors = 0, warm = ms): Window => {
  const w = emptyWindow();
  w.requests = ms.length + errors;
  w.errors = errors;
  for (const x of ms) w.latency.record(x);
  for (const x of warm) w.warm.record(x);
  return w;
};

describe('lookFrom', () => {
  it('takes no latency thresholds until the stable revision has answered enough', () => {
    const before = new Histogram();
    for (let i = 0; i < MIN_FOR_P50 - 1; i++) before.record(10);
    const look = lookFrom(window([50]), window([10]), before, undefined, 0);
    expect([look.p50Ms, look.p99Ms]).toEqual([undefined, undefined]);
    expect(look.candidate.overP50).toBe(0);
  });

  it('counts each arm over the stable thresholds known before the look, on warm answers only', () => {
    const before = new Histogram();
    for (let i = 1; i <= MIN_FOR_P99; i++) before.record(i); // p50 100 ms, p99 198 ms
    const cand = window([50, 150, 250, 260], 1, [150, 250]);
    const look = lookFrom(cand, window([50, 120]), before, 200, 1000);
    expect(look.p50Ms).toBeCloseTo(100, 0);
    expect(look.p99Ms).toBeGreaterThanOrEqual(198);
    expect(look.p99Ms).toBeLessThan(198 * (1 + 1 / 64));
    expect(look.candidate).toEqual({
      requests: 5,
      errors: 1,
      timed: 2,
      overP50: 2,
      overP99: 1,
      overLimit: 1,
      all: { timed: 4, overP99: 2, overLimit: 2 },
    });
    expect(look.stable).toMatchObject({ requests: 2, timed: 2, overP50: 1, overP99: 0 });
    expect(look.atMs).toBe(1000);
  });
});

describe('Checks', () => {
  let url = '';
  let status = 500;
  const srv = createServer((_q, res) => res.writeHead(status).end());
  beforeAll(async () => {
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  afterAll(() => srv.close());

  const ctx: CheckContext = {
    namespace: 'default',
    service: 'hello',
    candidate: 'hello-v2',
    stable: ['hello-v1'],
    step: 1,
    steps: 2,
    percent: 10,
    intervalMs: 60_000,
  };
  const analysis = { headers: {}, timeoutMs: 1000, queries: [] };

  it('rolls back once failure-threshold rounds have failed, counting across steps', async () => {
    status = 500;
    const log: string[] = [];
    const hooks = parseWebhooks(`- { name: gate, type: rollout, url: "${url}", retries: 0 }`);
    const checks = new Checks(analysis, hooks, 1000, 2, (ok, text) => log.push(`${ok} ${text}`));
    expect(checks.enabled).toBe(true);
    checks.startStep(0);
    checks.tick(500, ctx); // not due yet
    expect(await checks.final(ctx)).toBeUndefined(); // 1 of 2
    checks.startStep(10_000);
    expect(await checks.final(ctx)).toMatch(
      /^rollout webhook gate: .*→ 500 \(2 failed checks, failure-threshold 2\)$/,
    );
    expect(log).toHaveLength(2);
    expect(log[0]).toMatch(/^false webhook gate: POST http:\/\/127\.0\.0\.1:\d+\/ → 500$/);
  });

  it('a rollback hook answering 2xx ends the step at once; otherwise it is no failure', async () => {
    const hooks = parseWebhooks(`- { name: stop, type: rollback, url: "${url}", retries: 0 }`);
    const checks = new Checks(analysis, hooks, 1000, 1, () => undefined);
    status = 404;
    expect(await checks.final(ctx)).toBeUndefined();
    status = 200;
    expect(await checks.final(ctx)).toMatch(/^rollback webhook stop asked for a rollback/);
  });

  it('is off without queries or rollout/rollback hooks', async () => {
    const hooks = parseWebhooks(`- { name: p, type: pre-rollout, url: "${url}" }`);
    const checks = new Checks(analysis, hooks, 1000, 1, () => undefined);
    expect(checks.enabled).toBe(false);
    expect(await checks.final(ctx)).toBeUndefined();
  });
});

describe('Checks with metrics: auto', () => {
  // A fake Prometheus: the series of Knative up to 1.18 exist once `present` is set; every other query is 0.995.
  let present = false;
  const asked: string[] = [];
  const prom = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const q = new URLSearchParams(body).get('query') ?? '';
      asked.push(q);
      const none = q.startsWith('count(') && (!present || !q.includes('revision_request_count'));
      const result = none ? [] : [{ metric: {}, value: [0, q.startsWith('count(') ? '2' : '0.995'] }];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
    });
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => prom.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;
  });
  afterAll(() => prom.close());

  it('has no data for the built-ins until a schema has series, then uses it for the rest of the run', async () => {
    const cfg = parseAnalysis(
      `prometheus: { url: "${url}" }\nqueries: [{ name: ok, builtin: request-success-rate, min: 0.99 }]`,
    );
    const log: string[] = [];
    const checks = new Checks(cfg, [], 1000, 1, (ok, text) => log.push(`${ok ? '✔' : '✘'} ${text}`));
    const ctx: CheckContext = {
      namespace: 'default',
      service: 'hello',
      candidate: 'hello-v2',
      stable: ['hello-v1'],
      step: 1,
      steps: 1,
      percent: 10,
      intervalMs: 60_000,
    };
    expect(await checks.final(ctx)).toBeUndefined();
    expect(await checks.final(ctx)).toBeUndefined();
    // Asked twice (two schemas) per round, no built-in sent; said once.
    expect(asked).toHaveLength(4);
    expect(log.filter((l) => l.includes('auto found no series'))).toHaveLength(1);
    expect(log).toContain('✔ query ok: no data (ignored)');
    present = true;
    asked.length = 0;
    expect(await checks.final(ctx)).toBeUndefined();
    expect(log).toContain(
      '✔ metrics: auto found knative-opencensus (Knative up to 1.18) series (revision_request_count) for hello-v1 or hello-v2',
    );
    expect(asked[2]).toContain('revision_request_count{namespace_name="default",revision_name="hello-v2"');
    expect(log.at(-1)).toBe('✔ query ok = 0.995 ≥ min 0.99');
    // Resolved: not asked again.
    asked.length = 0;
    await checks.final(ctx);
    expect(asked).toHaveLength(1);
  });
});
