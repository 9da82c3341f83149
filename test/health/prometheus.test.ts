// Queries to Prometheus: against a scripted HTTP server (the API's edge cases, retries), and against the real
// Prometheus scraping the emulator, where the built-in queries must give what the gateway served.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateQueries, promDuration, queryPrometheus } from '../../src/health/prometheus.ts';
import { parseAnalysis, type AnalysisConfig } from '../../src/health/analysis-config.ts';
import { sendRequests, service, startHarness, type Harness } from '../emulator/helpers.ts';
import {
  INSTALL_HINT,
  PROMETHEUS,
  SKIP,
  freePort,
  startPrometheus,
  type PrometheusServer,
} from '../support/prometheus.ts';

const VARS = {
  namespace: 'default',
  service: 'svc',
  revision: 'svc-00002',
  stable_revision: 'svc-00001',
  interval: '10s',
};

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}

/** An HTTP server answering each request with the next handler (the last one repeats). */
async function scripted(
  handlers: ((res: ServerResponse, seen: Seen) => void)[],
): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const s = { method: req.method, url: req.url, headers: req.headers, form: new URLSearchParams(body) };
      seen.push(s);
      handlers[Math.min(seen.length, handlers.length) - 1]!(res, s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const json = (status: number, body: unknown) => (res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const vector = (...values: string[]) =>
  json(200, {
    status: 'success',
    data: {
      resultType: 'vector',
      result: values.map((v, i) => ({ metric: { pod: `p${i}` }, value: [1700000000, v] })),
    },
  });

const config = (url: string, extra: Partial<AnalysisConfig> = {}): AnalysisConfig => ({
  url: new URL(url),
  headers: {},
  timeoutMs: 2000,
  queries: [],
  ...extra,
});
const FAST = { retryDelaysMs: [10, 20] };

describe('queryPrometheus against a scripted server', () => {
  it('POSTs the query form-encoded to <url>/api/v1/query with the headers and evaluation time', async () => {
    const srv = await scripted([vector('0.25')]);
    try {
      const cfg = parseAnalysis(
        `prometheus: { url: "${srv.url}/prom/", headers: { Authorization: Bearer s3cr3t, X-Scope-OrgID: t1 } }`,
      );
      const at = new Date(1_700_000_000_123);
      expect(await queryPrometheus(cfg, 'sum(up{a="b"})', { at })).toEqual({ value: 0.25, series: 1 });
      const s = srv.seen[0]!;
      expect(s.method).toBe('POST');
      expect(s.url).toBe('/prom/api/v1/query');
      expect(s.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(s.headers.authorization).toBe('Bearer s3cr3t');
      expect(s.headers['x-scope-orgid']).toBe('t1');
      expect(s.form.get('query')).toBe('sum(up{a="b"})');
      expect(s.form.get('time')).toBe('1700000000.123');
    } finally {
      await srv.close();
    }
  });

  it('reads no data (empty vector, NaN), a scalar, infinities; and refuses several series', async () => {
    const srv = await scripted([
      vector(),
      vector('NaN'),
      json(200, { status: 'success', data: { resultType: 'scalar', result: [1700000000, '3'] } }),
      vector('+Inf'),
      vector('1', '2'),
      json(200, { status: 'success', data: { resultType: 'matrix', result: [] } }),
    ]);
    try {
      const cfg = config(srv.url);
      expect(await queryPrometheus(cfg, 'q')).toEqual({ series: 0 });
      expect(await queryPrometheus(cfg, 'q')).toEqual({ value: undefined, series: 1 });
      expect(await queryPrometheus(cfg, 'q')).toEqual({ value: 3, series: 1 });
      expect(await queryPrometheus(cfg, 'q')).toEqual({ value: Infinity, series: 1 });
      await expect(queryPrometheus(cfg, 'q')).rejects.toThrow(
        'the query returned 2 series ({"pod":"p0"}, {"pod":"p1"}); it must return one: aggregate it, e.g. with sum()',
      );
      await expect(queryPrometheus(cfg, 'q')).rejects.toThrow(/gives a range vector, not a number/);
      expect(srv.seen).toHaveLength(6);
    } finally {
      await srv.close();
    }
  });

  it("passes on Prometheus's own error, without retrying it", async () => {
    const srv = await scripted([
      json(400, {
        status: 'error',
        errorType: 'bad_data',
        error: 'invalid parameter "query": 1:4: parse error: unclosed left parenthesis',
      }),
      json(422, { status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' }),
      (res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found'),
    ]);
    try {
      const cfg = config(srv.url);
      await expect(queryPrometheus(cfg, 'sum(')).rejects.toThrow(
        'Prometheus answered 400 (bad_data): invalid parameter "query": 1:4: parse error: unclosed left parenthesis',
      );
      await expect(queryPrometheus(cfg, 'a / b')).rejects.toThrow(
        'Prometheus answered 422 (execution): many-to-many matching not allowed',
      );
      await expect(queryPrometheus(cfg, 'up')).rejects.toThrow(
        `Prometheus at ${srv.url}/api/v1/query answered 404 without a query result: 404 page not found`,
      );
      expect(srv.seen).toHaveLength(3);
    } finally {
      await srv.close();
    }
  });

  it("retries transport errors and a proxy's 502/503 twice", async () => {
    const srv = await scripted([
      (res) => res.socket?.destroy(),
      (res) => res.writeHead(503, { 'content-type': 'text/html' }).end('<html>upstream unavailable</html>'),
      vector('1'),
    ]);
    try {
      expect(await queryPrometheus(config(srv.url), 'up', FAST)).toEqual({ value: 1, series: 1 });
      expect(srv.seen).toHaveLength(3);
    } finally {
      await srv.close();
    }
    const down = await scripted([(res) => res.writeHead(502).end('bad gateway')]);
    try {
      await expect(queryPrometheus(config(down.url), 'up', FAST)).rejects.toThrow(
        `cannot reach Prometheus at ${down.url}/api/v1/query: HTTP 502: bad gateway (after 3 attempts)`,
      );
      expect(down.seen).toHaveLength(3);
    } finally {
      await down.close();
    }
  });

  it('gives up after three attempts, naming no secret', async () => {
    const port = await freePort(); // nothing listens there
    const cfg = parseAnalysis(
      `prometheus: { url: "http://admin:hunter2@127.0.0.1:${port}", headers: { X-Token: s3cr3t } }`,
    );
    const err = await queryPrometheus(cfg, 'up', FAST).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe(
      `cannot reach Prometheus at http://127.0.0.1:${port}/api/v1/query: ECONNREFUSED (after 3 attempts)`,
    );
    expect(err?.message).not.toMatch(/hunter2|s3cr3t|admin/);
  });

  it('times out each attempt after the configured timeout', async () => {
    const srv = await scripted([() => {}]); // never answers
    try {
      const started = Date.now();
      await expect(queryPrometheus(config(srv.url, { timeoutMs: 150 }), 'up', FAST)).rejects.toThrow(
        /: timed out after 150 ms \(after 3 attempts\)$/,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 150);
      expect(srv.seen).toHaveLength(3);
    } finally {
      await srv.close();
    }
  });

  it('stops at once when the caller aborts', async () => {
    const srv = await scripted([() => {}]);
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('step over')), 100);
      await expect(queryPrometheus(config(srv.url), 'up', { signal: ac.signal })).rejects.toThrow(
        'step over',
      );
      expect(srv.seen).toHaveLength(1);
    } finally {
      await srv.close();
    }
  });

  it('evaluates every query at one time, and an erroring query has verdict error', async () => {
    const srv = await scripted([
      (res, s) => {
        const q = s.form.get('query')!;
        if (q.includes('bad')) {
          json(400, { status: 'error', errorType: 'bad_data', error: `parse error in ${q}` })(res);
        } else vector(q.includes('svc-00002') ? '0.5' : '9')(res);
      },
    ]);
    try {
      const cfg = parseAnalysis(`
prometheus: { url: "${srv.url}" }
queries:
  - { name: ok, query: 'x{rev="{{ revision }}"}', max: 1 }
  - { name: high, query: 'x{rev="{{ stable_revision }}"}', max: 1 }
  - { name: broken, query: 'bad(', min: 0 }
`);
      const at = new Date(1_700_000_000_000);
      const results = await evaluateQueries(cfg, VARS, { at });
      expect(results.map((r) => [r.verdict, r.value, r.detail, r.promql])).toEqual([
        ['pass', 0.5, 'ok = 0.5 ≤ max 1', 'x{rev="svc-00002"}'],
        ['fail', 9, 'high = 9 > max 1', 'x{rev="svc-00001"}'],
        ['error', undefined, 'broken: Prometheus answered 400 (bad_data): parse error in bad(', 'bad('],
      ]);
      expect(new Set(srv.seen.map((s) => s.form.get('time')))).toEqual(new Set(['1700000000.000']));
    } finally {
      await srv.close();
    }
  });
});

if (SKIP) console.warn(`health/prometheus.test.ts: real-Prometheus tests skipped: ${INSTALL_HINT}`);

const NAME = 'prom-canary';
const REV = `${NAME}-00001`;
const HOST = `${NAME}.default.example.com`;
const IDLE_REV = 'prom-idle-00001';
const WARMUP = 200;
const BURST = 100;

interface Buckets {
  [le: string]: number;
}

/** revision_request_latencies_bucket of a revision from the emulator's metrics, summed over the other labels. */
async function buckets(metricsUrl: string, revision: string): Promise<Buckets> {
  const text = await (await fetch(metricsUrl)).text();
  const out: Buckets = {};
  for (const m of text.matchAll(/^revision_request_latencies_bucket\{(.*)\} (\S+)$/gm)) {
    if (!m[1]!.includes(`revision_name="${revision}"`)) continue;
    const le = /le="([^"]+)"/.exec(m[1]!)![1]!;
    out[le] = (out[le] ?? 0) + Number(m[2]);
  }
  return out;
}

describe.skipIf(SKIP)(
  `built-in queries on a real Prometheus${SKIP ? ` (skipped: ${INSTALL_HINT})` : ''}`,
  () => {
    let h: Harness;
    let starting: Promise<PrometheusServer> | undefined;
    let prom: PrometheusServer | undefined;
    let cfg: AnalysisConfig;
    /** Burst responses, the latency histogram's growth over the burst, and the scrapes around it. */
    let ok = 0;
    let burstBuckets: Buckets = {};
    let beforeBurst = 0;
    let afterBurst = 0;

    beforeAll(async () => {
      if (!PROMETHEUS) throw new Error(`prometheus binary not found and CI is set: ${INSTALL_HINT}`);
      h = await startHarness({ seed: 7 });
      // Prometheus takes ~5 s to scrape its first target: start it while the Services come up and the warm-up runs.
      starting = startPrometheus(h.emulator.metricsUrl);
      starting.catch(() => {}); // awaited below
      await h.create(
        service(NAME, {
          env: {
            EMULATOR_ERROR_RATE: '0.2',
            EMULATOR_LATENCY_MS: '2',
            EMULATOR_SLOW_RATE: '0.1',
            EMULATOR_SLOW_MS: '300',
          },
        }),
      );
      await h.create(service('prom-idle'));
      expect((await h.settled(NAME)).status.latestReadyRevisionName).toBe(REV);
      await h.settled('prom-idle');
      // The warm-up creates the series, so that the burst is a rise of counters Prometheus already has.
      const warm = await sendRequests(h.emulator.gatewayUrl, HOST, WARMUP, 10);
      expect(new Set(warm.map((r) => r.status))).toEqual(new Set([200, 500]));
      prom = await starting;
      cfg = parseAnalysis(`
prometheus:
  url: ${prom.url}
  headers: { Authorization: Bearer not-checked }
queries:
  - { name: success-rate, builtin: request-success-rate, min: 0.99 }
  - { name: success-rate-floor, builtin: request-success-rate, min: 0.5, on-no-data: fail }
  - { name: p99, builtin: request-duration-p99, max: 1000 }
  - { name: p99-strict, builtin: request-duration-p99, max: 100, on-no-data: fail }
  - name: errors
    query: sum(rate(revision_request_count{namespace_name="{{ namespace }}",revision_name="{{ revision }}",response_code_class="5xx"}[{{ interval }}]))
    min: 0
  - name: per-code
    query: rate(revision_request_count{revision_name="{{ revision }}"}[{{ interval }}])
    max: 1
  - name: typo
    query: sum(rate(revision_request_count{revision_name="{{ revision }}"}[{{ interval }}])
    max: 1
`);

      // A scrape with all of the warm-up, the burst, a scrape with all of the burst.
      beforeBurst = await prom.waitForScrape();
      const before = await buckets(h.emulator.metricsUrl, REV);
      const burst = await sendRequests(h.emulator.gatewayUrl, HOST, BURST, 10);
      ok = burst.filter((r) => r.status === 200).length;
      expect(burst.filter((r) => r.status === 500)).toHaveLength(BURST - ok);
      const after = await buckets(h.emulator.metricsUrl, REV);
      burstBuckets = Object.fromEntries(Object.entries(after).map(([le, n]) => [le, n - (before[le] ?? 0)]));
      afterBurst = await prom.waitForScrape();
    });

    afterAll(async () => {
      await (await starting?.catch(() => undefined))?.stop();
      await h?.close();
    });

    /**
     * Evaluated now, over a window that starts half a scrape before the one that first saw all of the warm-up:
     * the rise within it is the burst, for every series alike.
     */
    const overBurst = async (vars: Partial<typeof VARS> = {}) => {
      const at = new Date();
      const interval = promDuration(at.getTime() - beforeBurst + 500);
      const v = { ...VARS, namespace: 'default', service: NAME, revision: REV, interval, ...vars };
      const results = await evaluateQueries(cfg, v, { at });
      return Object.fromEntries(results.map((r) => [r.query.name, r]));
    };

    it('the success rate is what the gateway served, and below its min it fails', async () => {
      const r = await overBurst();
      expect(ok).toBeGreaterThan(0);
      expect(ok).toBeLessThan(BURST);
      expect(r['success-rate']!.value).toBeCloseTo(ok / BURST, 12);
      expect(r['success-rate']!.verdict).toBe('fail');
      expect(r['success-rate']!.detail).toMatch(/^success-rate = 0\.\d+ < min 0\.99$/);
      expect(r['success-rate-floor']).toMatchObject({ verdict: 'pass' });
      expect(r['success-rate']!.promql).toContain(`revision_name="${REV}"`);
      // The errors' rate over the window: what the counts give, per second of the window.
      expect(r.errors!.verdict).toBe('pass');
      expect(r.errors!.value).toBeGreaterThan(0);
    });

    it('the p99 lies in the latency bucket that holds the 99th percentile request', async () => {
      const r = await overBurst();
      const bounds = Object.keys(burstBuckets)
        .filter((le) => le !== '+Inf')
        .map(Number)
        .sort((a, b) => a - b);
      expect(burstBuckets['+Inf']).toBe(BURST);
      const idx = bounds.findIndex((b) => burstBuckets[String(b)]! >= 0.99 * BURST);
      const lower = idx === 0 ? 0 : bounds[idx - 1]!;
      const p99 = r.p99!.value!;
      expect(p99).toBeGreaterThanOrEqual(lower);
      expect(p99).toBeLessThanOrEqual(bounds[idx]!);
      // A tenth of the requests take 300 ms more: the p99 is one of them (unless fewer than 2 of the 100 were
      // slow, a chance of 3 in 10,000).
      expect(p99).toBeGreaterThan(300);
      expect(r.p99).toMatchObject({ verdict: 'pass' });
      expect(r.p99!.detail).toMatch(/^p99 = \d+ ms ≤ max 1000$/);
      expect(r['p99-strict']).toMatchObject({ verdict: 'fail' });
      expect(r['p99-strict']!.detail).toMatch(/^p99-strict = \d+ ms > max 100$/);
    });

    it("a bad query is an error with Prometheus's message; several series are an error", async () => {
      const r = await overBurst();
      expect(r.typo!.verdict).toBe('error');
      expect(r.typo!.detail).toMatch(/^typo: Prometheus answered 400 \(bad_data\): .*parse error/);
      expect(r['per-code']!.verdict).toBe('error');
      expect(r['per-code']!.detail).toMatch(
        /returned 2 series .*it must return one: aggregate it, e\.g\. with sum\(\)$/,
      );
    });

    it('a revision without traffic has no data: ignored, or a failure with on-no-data: fail', async () => {
      const r = await overBurst({ revision: IDLE_REV });
      expect(r['success-rate']).toMatchObject({
        verdict: 'no-data',
        detail: 'success-rate: no data (ignored)',
      });
      expect(r.p99).toMatchObject({ verdict: 'no-data', detail: 'p99: no data (ignored)' });
      expect(r['success-rate-floor']).toMatchObject({
        verdict: 'fail',
        detail: 'success-rate-floor: no data (on-no-data: fail)',
      });
      expect(r['p99-strict']).toMatchObject({
        verdict: 'fail',
        detail: 'p99-strict: no data (on-no-data: fail)',
      });
    });

    it('a revision whose requests stopped (0/0 over the window) has no data too', async () => {
      // A window holding only scrapes after the burst: the counters do not move, the rates are 0 and 0/0 is NaN.
      const latest = await prom!.waitForScrape();
      expect(latest).toBeGreaterThan(afterBurst);
      const at = new Date();
      const interval = promDuration(at.getTime() - afterBurst + 500);
      const results = await evaluateQueries(cfg, { ...VARS, service: NAME, revision: REV, interval }, { at });
      const r = Object.fromEntries(results.map((x) => [x.query.name, x]));
      expect(r['success-rate']).toMatchObject({
        verdict: 'no-data',
        detail: 'success-rate: no data (ignored)',
      });
      expect(r.p99).toMatchObject({ verdict: 'no-data' });
      expect([r['success-rate']!.value, r.p99!.value]).toEqual([undefined, undefined]);
      expect(r['p99-strict']).toMatchObject({
        verdict: 'fail',
        detail: 'p99-strict: no data (on-no-data: fail)',
      });
      expect(r.errors).toMatchObject({ verdict: 'pass', value: 0 });
    });
  },
);
