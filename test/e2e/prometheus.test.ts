// End to end: Prometheus queries in the analysis, with Debian's real Prometheus scraping the emulator's
// queue-proxy metrics, as in a cluster.

import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { INSTALL_HINT, SKIP, startPrometheus, type PrometheusServer } from '../support/prometheus.ts';
import { fixture, type Fixture } from './fixture.ts';
import { errorLines } from './runner.ts';

let f: Fixture | undefined;
let prom: PrometheusServer | undefined;
afterEach(async () => {
  await prom?.stop();
  await f?.close();
  f = undefined;
  prom = undefined;
});

const V2 = { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2' };

describe.skipIf(SKIP)(`analysis with Prometheus${SKIP ? ` (skipped: ${INSTALL_HINT})` : ''}`, () => {
  it('a query out of its range fails the step and rolls back (Knative up to 1.18, found by auto)', async () => {
    f = await fixture({ emulator: { metrics: 'opencensus' } });
    prom = await startPrometheus(f.h.emulator.metricsUrl);
    const analysis = {
      prometheus: { url: prom.url },
      queries: [
        { name: 'success-rate', builtin: 'request-success-rate', min: 0.99 },
        { name: 'p99', builtin: 'request-duration-p99', max: 100 },
      ],
    };
    const r = await f.run({
      ...V2,
      // Every request of the candidate takes 150 ms: only Prometheus judges latency here (the probes' latency
      // tests wait out a long warm-up).
      env: 'EMULATOR_LATENCY_MS=150',
      warmup: '10m',
      interval: '30s',
      'check-every': '2s',
      analysis: stringify(analysis),
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(f.maxPercent.get('hello-v2')).toBe(10);
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    // Knative's buckets around 150 ms are 150, 200 and 250: a 150 ms request plus the gateway's overhead falls in
    // (150, 200], and on a loaded machine a few reach (200, 250], which histogram_quantile turns into 200-250 ms.
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /query p99 = (1[5-9]\d|2[0-4]\d|250) ms > max 100 \(1 failed check, failure-threshold 1\)/,
    );
    // The success rate was checked too, and passed.
    expect(r.stdout).toMatch(/✔ query success-rate = 1(\.0+)? ≥ min 0\.99/);
    expect(r.stdout).toContain(
      '✔ metrics: auto found knative-opencensus (Knative up to 1.18) series (revision_request_count) for hello-00001',
    );
  });

  it('Knative 1.19+: the built-ins judge a slow candidate from kn_serving_invocation_duration_seconds, and roll back', async () => {
    f = await fixture({ emulator: { metrics: 'otel' } });
    prom = await startPrometheus(f.h.emulator.metricsUrl);
    const analysis = {
      prometheus: { url: prom.url },
      queries: [
        { name: 'success-rate', builtin: 'request-success-rate', min: 0.99 },
        { name: 'p99', builtin: 'request-duration-p99', max: 100 },
      ],
    };
    const r = await f.run({
      ...V2,
      env: 'EMULATOR_LATENCY_MS=150',
      warmup: '10m',
      interval: '30s',
      'check-every': '2s',
      analysis: stringify(analysis),
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    expect(r.stdout).toContain(
      '✔ metrics: auto found knative (Knative 1.19+, OpenTelemetry) series ' +
        '(kn_serving_invocation_duration_seconds_count) for hello-00001',
    );
    // The buckets of 1.19+ around 150 ms are 0.1 and 0.25 s: histogram_quantile interpolates inside (100, 250] ms.
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /query p99 = (1\d\d|2[0-4]\d|250) ms > max 100 \(1 failed check, failure-threshold 1\)/,
    );
    expect(r.stdout).toMatch(/✔ query success-rate = 1(\.0+)? ≥ min 0\.99/);
  });

  it('Knative 1.19+ with metrics: knative: a healthy candidate passes the built-ins and is promoted', async () => {
    f = await fixture({ emulator: { metrics: 'otel' } });
    prom = await startPrometheus(f.h.emulator.metricsUrl);
    const r = await f.run({
      ...V2,
      steps: '50,100',
      interval: '5s',
      'check-every': '2s',
      analysis: stringify({
        prometheus: { url: prom.url },
        metrics: 'knative',
        'on-no-data': 'fail',
        queries: [
          { name: 'success-rate', builtin: 'request-success-rate', min: 0.99 },
          { name: 'p99', builtin: 'request-duration-p99', max: 1000 },
        ],
      }),
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    expect(r.stdout).toContain('✔ metrics: knative (Knative 1.19+, OpenTelemetry)');
    expect(r.stdout).toMatch(/✔ query success-rate = 1(\.0+)? ≥ min 0\.99/);
    expect(r.stdout).toMatch(/✔ query p99 = [\d.]+ ms ≤ max 1000/);
  });

  it('a healthy candidate passes its queries and is promoted; a revision without data is reported as such', async () => {
    f = await fixture();
    prom = await startPrometheus(f.h.emulator.metricsUrl);
    const analysis = {
      prometheus: { url: prom.url },
      queries: [
        { name: 'success-rate', builtin: 'request-success-rate', min: 0.99 },
        {
          name: 'nobody-home',
          query: 'sum(rate(revision_request_count{revision_name="missing-{{ revision }}"}[{{ interval }}]))',
          max: 1,
        },
      ],
    };
    const r = await f.run({
      ...V2,
      steps: '50,100',
      interval: '5s',
      'check-every': '2s',
      analysis: stringify(analysis),
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    expect(r.stdout).toMatch(/✔ query success-rate = 1(\.0+)? ≥ min 0\.99/);
    expect(r.stdout).toMatch(/✔ query nobody-home: no data \(ignored\)/);
  });
});
