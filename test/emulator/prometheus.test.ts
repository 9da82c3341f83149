// A real Prometheus server scrapes the emulator's metrics endpoint (queue-proxy's metrics up to Knative 1.18): the PromQL a canary analysis runs (success
// rate, latency quantile) must give what the gateway actually served.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INSTALL_HINT,
  PROMETHEUS,
  SKIP,
  startPrometheus,
  type PrometheusServer,
} from '../support/prometheus.ts';
import { sendRequests, service, startHarness, type Harness } from './helpers.ts';

if (SKIP)
  console.warn(`prometheus.test.ts: skipped, no prometheus binary in /usr/bin or on PATH: ${INSTALL_HINT}`);

interface Sample {
  labels: Record<string, string>;
  value: number;
}

function parseSamples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

const NAME = 'prom-errors';
const REV = `${NAME}-00001`;
const HOST = `${NAME}.default.example.com`;
const N = 300;

describe.skipIf(SKIP)(`Prometheus scraping the emulator${SKIP ? ` (skipped: ${INSTALL_HINT})` : ''}`, () => {
  let h: Harness;
  let prom: PrometheusServer | undefined;
  let promUrl: string;

  type Vector = { metric: Record<string, string>; value: [number, string] }[];
  const query = async (q: string): Promise<Vector> => {
    const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: q })}`);
    const body = (await res.json()) as { status: string; data: { resultType: string; result: Vector } };
    if (body.status !== 'success') throw new Error(`query ${q} failed: ${JSON.stringify(body)}`);
    expect(body.data.resultType).toBe('vector');
    return body.data.result;
  };
  /** The value of a query that returns one sample, or undefined when it returns none. */
  const scalar = async (q: string): Promise<number | undefined> => {
    const r = await query(q);
    if (r.length > 1) throw new Error(`query ${q} returned ${r.length} series: ${JSON.stringify(r)}`);
    return r.length ? Number(r[0].value[1]) : undefined;
  };

  beforeAll(async () => {
    if (!PROMETHEUS) return; // CI is set: the tests fail, see requirePrometheus
    h = await startHarness({ seed: 42, metrics: 'opencensus' });
    prom = await startPrometheus(h.emulator.metricsUrl, { job: 'knative-emulator' });
    promUrl = prom.url;
  });

  afterAll(async () => {
    await prom?.stop();
    await h?.close();
  });

  /** In CI a missing Prometheus is a failure, not a skip. */
  const requirePrometheus = () => {
    if (!PROMETHEUS) throw new Error(`prometheus binary not found and CI is set: ${INSTALL_HINT}`);
  };
  let ok = 0;
  let failed = 0;

  it('scrapes the emulator, and a PromQL success rate equals what the gateway served', async () => {
    requirePrometheus();
    // A revision that fails a quarter of its requests and takes 30 ms over each.
    await h.create(service(NAME, { env: { EMULATOR_ERROR_RATE: '0.25', EMULATOR_LATENCY_MS: '30' } }));
    const svc = await h.settled(NAME);
    expect(svc.status.latestReadyRevisionName).toBe(REV);

    const responses = await sendRequests(h.emulator.gatewayUrl, HOST, N, 10);
    expect(responses).toHaveLength(N);
    expect(responses.every((r) => r.revision === REV)).toBe(true);
    ok = responses.filter((r) => r.status === 200).length;
    failed = responses.filter((r) => r.status === 500).length;
    expect(ok + failed).toBe(N);
    // Both classes present, or the ratio says little.
    expect(failed).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);

    // The target is up, and Prometheus has scraped the final counts.
    await h.waitFor(
      () => scalar('up{job="knative-emulator"}'),
      (v) => v === 1,
      10_000,
    );
    await h.waitFor(
      () => scalar(`sum(revision_request_count{revision_name="${REV}"})`),
      (v) => v === N,
      15_000,
    );

    const rate = await scalar(
      `sum(revision_request_count{revision_name="${REV}",response_code_class="2xx"}) / ` +
        `sum(revision_request_count{revision_name="${REV}"})`,
    );
    expect(rate).toBeCloseTo(ok / N, 12);
    expect(await scalar(`sum(revision_request_count{revision_name="${REV}",response_code="500"})`)).toBe(
      failed,
    );
    expect(
      await scalar(`sum(revision_request_count{revision_name="${REV}",response_code_class="5xx"})`),
    ).toBe(failed);
  });

  it('gives a latency quantile from revision_request_latencies_bucket', async () => {
    requirePrometheus();
    expect(ok + failed, 'the previous test sent the traffic').toBe(N);
    // The median from the latency histogram: a number, inside the bucket that holds the median request.
    const q = await scalar(
      `histogram_quantile(0.5, sum by (le) (revision_request_latencies_bucket{revision_name="${REV}"}))`,
    );
    expect(typeof q).toBe('number');
    expect(Number.isFinite(q)).toBe(true);
    const text = await (await fetch(h.emulator.metricsUrl)).text();
    const byLe = new Map<string, number>();
    for (const s of parseSamples(text, 'revision_request_latencies_bucket')) {
      if (s.labels.revision_name === REV) byLe.set(s.labels.le, (byLe.get(s.labels.le) ?? 0) + s.value);
    }
    const bounds = [...byLe.keys()].filter((le) => le !== '+Inf').map(Number);
    expect(byLe.get('+Inf')).toBe(N);
    const idx = bounds.findIndex((b) => byLe.get(String(b))! >= N / 2);
    expect(idx).toBeGreaterThanOrEqual(0);
    const lower = idx === 0 ? 0 : bounds[idx - 1];
    expect(q!).toBeGreaterThanOrEqual(lower);
    expect(q!).toBeLessThanOrEqual(bounds[idx]);
    // Every request took at least the 30 ms the revision adds.
    expect(byLe.get('20')).toBe(0);
    expect(q!).toBeGreaterThan(20);
  });
});
