// The built-in queries against a real Prometheus scraping the emulator, in both generations of queue-proxy's
// metrics: the success rate and p99 they give are what the gateway served, and `auto` finds each schema.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnalysis, type AnalysisConfig } from '../../src/health/analysis-config.ts';
import {
  describeSchema,
  KNATIVE_OPENCENSUS,
  KNATIVE_OTEL,
  resolveSchema,
  type TrafficSchema,
} from '../../src/health/metrics-schema.ts';
import { evaluateQueries, queryPrometheus } from '../../src/health/prometheus.ts';
import { INSTALL_HINT, SKIP, startPrometheus, type PrometheusServer } from '../support/prometheus.ts';
import { sendRequests, service, startHarness, type Harness } from '../emulator/helpers.ts';
import type { MetricsGeneration } from '../emulator/metrics.ts';

interface Bucket {
  le: number;
  count: number;
}

/** The buckets of `name` summed over the series matching `match`, from the emulator's exposition. */
function buckets(text: string, name: string, match: Record<string, string>): Bucket[] {
  const byLe = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    byLe.set(labels.le!, (byLe.get(labels.le!) ?? 0) + Number(m[3]));
  }
  return [...byLe].map(([le, count]) => ({ le: le === '+Inf' ? Infinity : Number(le), count }));
}

/** PromQL's histogram_quantile over cumulative buckets (linear inside the bucket, the lowest from 0). */
function quantile(q: number, b: Bucket[]): number {
  const total = b[b.length - 1]!.count;
  const rank = q * total;
  const i = b.findIndex((x) => x.count >= rank);
  if (b[i]!.le === Infinity) return b[i - 1]!.le;
  const lower = i === 0 ? 0 : b[i - 1]!.le;
  const below = i === 0 ? 0 : b[i - 1]!.count;
  return lower + (b[i]!.le - lower) * ((rank - below) / (b[i]!.count - below));
}

const CASES: { generation: MetricsGeneration; schema: TrafficSchema; histogram: string }[] = [
  {
    generation: 'otel',
    schema: KNATIVE_OTEL,
    histogram: 'kn_serving_invocation_duration_seconds_bucket',
  },
  {
    generation: 'opencensus',
    schema: KNATIVE_OPENCENSUS,
    histogram: 'revision_request_latencies_bucket',
  },
];

describe.skipIf(SKIP)(
  `built-in queries on real Prometheus${SKIP ? ` (skipped: ${INSTALL_HINT})` : ''}`,
  () => {
    describe.each(CASES)('$generation', ({ generation, schema, histogram }) => {
      let h: Harness;
      let prom: PrometheusServer;
      const NAME = `builtins-${generation}`;
      const REV = `${NAME}-00001`;
      const HOST = `${NAME}.default.example.com`;
      let cfg: AnalysisConfig;
      let errors = 0;
      let requests = 0;
      let before = '';
      let after = '';
      let at = new Date();
      let windowMs = 0;

      beforeAll(async () => {
        h = await startHarness({ seed: 11, metrics: generation });
        prom = await startPrometheus(h.emulator.metricsUrl);
        cfg = parseAnalysis(
          `prometheus: { url: "${prom.url}" }\n` +
            `metrics: ${generation === 'otel' ? 'knative' : 'knative-opencensus'}\n` +
            'queries:\n' +
            '  - { name: ok, builtin: request-success-rate, min: 0 }\n' +
            '  - { name: p99, builtin: request-duration-p99, max: 100000 }\n',
        );
        // A quarter of the requests fail; each takes 30 ms and more.
        await h.create(service(NAME, { env: { EMULATOR_ERROR_RATE: '0.25', EMULATOR_LATENCY_MS: '30' } }));
        await h.settled(NAME);
        // A first batch, scraped whole, so that every series is in each scrape the window holds; then the batch
        // judged. The window starts just before the first scrape after the first batch: its rate is the second's.
        await sendRequests(h.emulator.gatewayUrl, HOST, 150, 10);
        const first = await prom.waitForScrape();
        before = await (await fetch(h.emulator.metricsUrl)).text();
        const responses = await sendRequests(h.emulator.gatewayUrl, HOST, 100, 10);
        requests = responses.length;
        errors = responses.filter((r) => r.status >= 500).length;
        after = await (await fetch(h.emulator.metricsUrl)).text();
        await prom.waitForScrape();
        const last = await prom.waitForScrape();
        at = new Date(last + 1);
        windowMs = last + 1 - first + 100;
      }, 60_000);

      afterAll(async () => {
        await prom?.stop();
        await h?.close();
      });

      const vars = () => ({
        namespace: 'default',
        service: NAME,
        revision: REV,
        stable_revision: REV,
        interval: `${windowMs}ms`,
      });

      it('request-success-rate is the share of requests that did not fail', async () => {
        expect(errors).toBeGreaterThan(0);
        expect(errors).toBeLessThan(requests);
        const [ok] = await evaluateQueries(cfg, vars(), { at });
        expect(ok!.verdict, ok!.detail).toBe('pass');
        expect(ok!.value).toBeCloseTo(1 - errors / requests, 9);
      });

      it('request-duration-p99 is the p99 of the histogram, in milliseconds', async () => {
        const [, p99] = await evaluateQueries(cfg, vars(), { at });
        const match: Record<string, string> = generation === 'otel' ? {} : { revision_name: REV };
        const b0 = buckets(before, histogram, match);
        const delta = buckets(after, histogram, match).map((b, i) => ({
          le: b.le,
          count: b.count - b0[i]!.count,
        }));
        expect(delta[delta.length - 1]!.count).toBe(requests);
        const want = quantile(0.99, delta) * (schema.unit === 's' ? 1000 : 1);
        expect(p99!.verdict, p99!.detail).toBe('pass');
        expect(p99!.value).toBeCloseTo(want, 6);
        expect(p99!.value).toBeGreaterThan(25);
        expect(p99!.detail).toMatch(/^p99 = [\d.]+ ms/);
      });

      it(`auto finds ${schema.name}, and nothing for a revision without series`, async () => {
        const ask = async (q: string) => (await queryPrometheus(cfg, q)).value;
        const found = await resolveSchema('auto', vars(), ask);
        expect(found.schema).toBe(schema);
        expect(found.detail).toBe(
          `metrics: auto found ${describeSchema(schema)} series (${schema.requests}) for ${REV}`,
        );
        // The stable revision has none (scaled to zero long ago): the candidate decides.
        const viaCandidate = await resolveSchema('auto', { ...vars(), stable_revision: 'gone-00001' }, ask);
        expect(viaCandidate.schema).toBe(schema);
        const none = await resolveSchema('auto', { ...vars(), revision: 'x-1', stable_revision: 'x-0' }, ask);
        expect(none.schema).toBeUndefined();
        expect(none.detail).toMatch(/^metrics: auto found no series for x-0 or x-1 in any known schema: /);
      });
    });
  },
);
