// End to end: the judge watches users' traffic. Users hit the service host through the gateway, whose split gives
// the candidate its step's share; Debian's real Prometheus scrapes the emulator's queue-proxy metrics every second;
// the action reads each revision's raw counters and judges them with the same sequential tests as its probes.

import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { INSTALL_HINT, SKIP, startPrometheus, type PrometheusServer } from '../support/prometheus.ts';
import { fixture, type Fixture } from './fixture.ts';
import { errorLines } from './runner.ts';

let f: Fixture | undefined;
let prom: PrometheusServer | undefined;
let users: { stop: () => Promise<number> } | undefined;
afterEach(async () => {
  await users?.stop();
  await prom?.stop();
  await f?.close();
  users = undefined;
  f = undefined;
  prom = undefined;
});

const V2 = { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2' };

/**
 * Users: `rps` requests a second to the service host for at most `maxMs`, one in five to /checkout (which the
 * probes never ask for). Resolves, on stop, to how many were sent.
 */
function startUsers(fx: Fixture, rps: number, maxMs = 90_000): { stop: () => Promise<number> } {
  const dispatcher = new Agent({ connections: 8 });
  let sent = 0;
  let stopped: Promise<number> | undefined;
  const began = Date.now();
  const inflight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    if (stopped || Date.now() - began > maxMs) return;
    const path = sent % 5 === 4 ? '/checkout' : '/';
    sent++;
    const p = request(`${fx.h.emulator.gatewayUrl}${path}`, {
      headers: { host: 'hello.default.example.com' },
      dispatcher,
    })
      .then((r) => r.body.dump())
      .catch(() => undefined)
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }, 1000 / rps);
  return {
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        await Promise.all(inflight);
        await dispatcher.close();
        return sent;
      })()),
  };
}

const analysis = (url: string) => stringify({ prometheus: { url } });

/** A release judged over a long first step (20%, then 50%), with `env` making it misbehave. */
const failing = (env: string, url: string, extra: Record<string, string> = {}) => ({
  ...V2,
  env,
  steps: '20,50',
  interval: '60s',
  'check-every': '2s',
  timeout: '90s',
  analysis: analysis(url),
  ...extra,
});
const ERRORS_ON_CHECKOUT = 'EMULATOR_ERROR_RATE=0.3\nEMULATOR_ERROR_PATH=/checkout';

/** Both generations of queue-proxy's metrics: up to Knative 1.18, and 1.19+ (the revision on target_info). */
const MODES = [
  { name: 'Knative 1.18 metrics', metrics: 'opencensus' as const, requests: 'revision_request_count' },
  {
    name: 'Knative 1.19+ metrics',
    metrics: 'otel' as const,
    requests: 'kn_serving_invocation_duration_seconds_count',
  },
];

describe.skipIf(SKIP)(`users' traffic from Prometheus${SKIP ? ` (skipped: ${INSTALL_HINT})` : ''}`, () => {
  it.each([
    { with: 'the probes on', probeRps: '25' },
    { with: 'the probes off (probe-rps 0)', probeRps: '0' },
  ])(
    'rolls back a candidate failing 30% of one path that only users hit, with $with',
    async ({ probeRps }) => {
      f = await fixture();
      prom = await startPrometheus(f.h.emulator.metricsUrl);
      users = startUsers(f, 40);
      const began = Date.now();
      const r = await f.run(failing(ERRORS_ON_CHECKOUT, prom.url, { 'probe-rps': probeRps }), {
        timeoutMs: 120_000,
      });
      expect(r.code, r.stdout).toBe(1);
      expect(r.outputs.status).toBe('rolled-back');
      // Inside the first step's dwell, from users' traffic alone: the probes ask for / only, which never fails.
      expect(Date.now() - began).toBeLessThan(60_000);
      expect(f.maxPercent.get('hello-v2')).toBe(20);
      expect(await f.percents()).toEqual({ 'hello-00001': 100 });
      expect(r.stdout).toMatch(
        /Judging users' traffic too: revision_request_count and revision_request_latencies_bucket \(knative-opencensus.*\) from Prometheus, read every 2s/,
      );
      expect(errorLines(r.stdout).join('\n')).toMatch(/20% step failed: users' traffic: /);
      // The job summary's step table shows both sources, the users' from Prometheus.
      expect(r.summary).toContain(
        "| Candidate (probes) | Stable (probes) | Candidate (users') | Stable (users') |",
      );
      expect(r.summary).toMatch(
        /\| step 1 \| 20% \|.*\| \d+ req, \d+ err \([\d.]+%\), p50 ≤ [\d.]+ ms, p99 ≤ [\d.]+ ms \|/,
      );
    },
    150_000,
  );

  it('does the same on Knative 1.19+ metrics (target_info joined), with metrics: auto finding them', async () => {
    f = await fixture({ emulator: { metrics: 'otel' } });
    prom = await startPrometheus(f.h.emulator.metricsUrl);
    users = startUsers(f, 40);
    const r = await f.run(failing(ERRORS_ON_CHECKOUT, prom.url), { timeoutMs: 120_000 });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(r.stdout).toMatch(
      /Judging users' traffic too: kn_serving_invocation_duration_seconds_count and kn_serving_invocation_duration_seconds_bucket \(knative/,
    );
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /20% step failed: users' traffic: more errors than the stable revision: /,
    );
  }, 150_000);

  it.each(MODES)(
    'takes a pod restart mid-step (its counters reset) without a false rollback, on $name',
    async ({ metrics }) => {
      f = await fixture({ emulator: { metrics } });
      prom = await startPrometheus(f.h.emulator.metricsUrl);
      users = startUsers(f, 40);
      const fx = f;
      // Both revisions' pods restart while the step holds: every counter starts again from 0.
      const restart = setTimeout(() => {
        for (const rev of ['hello-00001', 'hello-v2']) fx.h.emulator.metrics.restartPod('default', rev);
      }, 8_000);
      const r = await f.run(
        { ...V2, steps: '50', interval: '16s', 'check-every': '2s', analysis: analysis(prom.url) },
        { timeoutMs: 90_000 },
      );
      clearTimeout(restart);
      expect(r.code, r.stdout).toBe(0);
      expect(r.outputs.status).toBe('promoted');
    },
    120_000,
  );

  it.each(MODES)(
    "catches a tail-latency regression on that path alone, from users' traffic, on $name",
    async ({ metrics }) => {
      f = await fixture({ emulator: { metrics } });
      prom = await startPrometheus(f.h.emulator.metricsUrl);
      users = startUsers(f, 40);
      const began = Date.now();
      // Half the candidate's /checkout requests take 400 ms more: a tenth of its users' requests.
      const slow = 'EMULATOR_SLOW_RATE=0.5\nEMULATOR_SLOW_MS=400\nEMULATOR_SLOW_PATH=/checkout';
      const r = await f.run(failing(slow, prom.url, { warmup: '5s' }), { timeoutMs: 120_000 });
      expect(r.code, r.stdout).toBe(1);
      expect(r.outputs.status).toBe('rolled-back');
      expect(Date.now() - began).toBeLessThan(60_000);
      const errors = errorLines(r.stdout).join('\n');
      expect(errors).toMatch(
        /20% step failed: users' traffic: slower tail than the stable revision: \d+ of the candidate's requests over the stable's p99/,
      );
      // The evidence of users' traffic, per revision, from Prometheus: in the log, after the verdict.
      expect(r.stdout).toMatch(
        /\n {2}users' requests: hello-v2 \d+ req, 0 err \(0\.0%\), p50 ≤ [\d.]+ ms, p99 ≤ [\d.]+ ms/,
      );
    },
    150_000,
  );

  it('judges a candidate that no user reaches on its probes alone, unless on-no-data: fail', async () => {
    f = await fixture();
    prom = await startPrometheus(f.h.emulator.metricsUrl);
    const inputs = { ...V2, steps: '50', interval: '8s', 'check-every': '2s' };
    const ok = await f.run({ ...inputs, analysis: analysis(prom.url) }, { timeoutMs: 90_000 });
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.outputs.status).toBe('promoted');

    await f.close();
    await prom.stop();
    f = await fixture();
    prom = await startPrometheus(f.h.emulator.metricsUrl);
    const strict = stringify({ prometheus: { url: prom.url }, 'on-no-data': 'fail' });
    // The probes' requests reach queue-proxy too: with them off, nothing reaches the candidate.
    const r = await f.run({ ...inputs, 'probe-rps': '0', analysis: strict }, { timeoutMs: 90_000 });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(errorLines(r.stdout).join('\n')).toContain(
      "users' traffic: no request to hello-v2 seen in Prometheus in this step (on-no-data: fail)",
    );
  }, 150_000);

  it.each(MODES)(
    'promotes a healthy candidate that users hit, with no false rollback, on $name',
    async ({ metrics, requests }) => {
      f = await fixture({ emulator: { metrics } });
      prom = await startPrometheus(f.h.emulator.metricsUrl);
      users = startUsers(f, 40);
      const r = await f.run(
        { ...V2, steps: '50', interval: '12s', 'check-every': '2s', analysis: analysis(prom.url) },
        { timeoutMs: 90_000 },
      );
      expect(r.code, r.stdout).toBe(0);
      expect(r.outputs.status).toBe('promoted');
      expect(r.stdout).toContain(`Judging users' traffic too: ${requests} `);
      expect(await f.percents()).toEqual({ 'hello-v2': 100 });
      expect(await users.stop()).toBeGreaterThan(200);
    },
    120_000,
  );
});
