// Probes and smoke tests over real HTTP, through the emulator's gateway with the route's host in Host.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prober } from '../../src/health/probe.ts';
import { requestTarget, send } from '../../src/health/http.ts';
import { runSmokeTest } from '../../src/health/smoke.ts';
import { parseSmokeTests } from '../../src/inputs.ts';
import { service, startHarness, type Harness } from '../emulator/helpers.ts';

let h: Harness;
let gateway: URL;
const ok = { url: 'http://ok.default.example.com' };
const failing = { url: 'http://failing.default.example.com' };

beforeAll(async () => {
  h = await startHarness({ seed: 3 });
  gateway = new URL(h.emulator.gatewayUrl);
  await h.create(service('ok'));
  await h.create(service('failing', { env: { EMULATOR_ERROR_RATE: '1', EMULATOR_ERROR_STATUS: '503' } }));
  await h.settled('ok');
  await h.settled('failing');
});
afterAll(() => h.close());

describe('requestTarget', () => {
  it('sends to the gateway with the route host, or to the route itself', () => {
    expect(
      requestTarget(
        { url: 'http://latest-hello.default.example.com', gateway: new URL('http://10.0.0.1:8080/') },
        '/healthz',
      ),
    ).toEqual({
      url: 'http://10.0.0.1:8080/healthz',
      host: 'latest-hello.default.example.com',
    });
    expect(requestTarget({ url: 'http://latest-hello.default.example.com' }, '/a?b=1')).toEqual({
      url: 'http://latest-hello.default.example.com/a?b=1',
    });
  });
});

describe('send', () => {
  it('reaches the route through the gateway by Host', async () => {
    const r = await send({ ...ok, gateway }, { path: '/', readBody: true });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body!).revision).toBe('ok-00001');
  });

  it('reports a transport error as status 0 with its code', async () => {
    const r = await send({ url: 'http://127.0.0.1:1' }, { path: '/' });
    expect(r).toMatchObject({ status: 0, error: 'ECONNREFUSED' });
  });
});

describe('Prober', () => {
  it('sends at the given rate and counts 5xx as errors', async () => {
    const good = new Prober({ ...ok, gateway }, { path: '/', rps: 50 }).start();
    const bad = new Prober({ ...failing, gateway }, { path: '/', rps: 50 }).start();
    await new Promise((r) => setTimeout(r, 500));
    const g = good.stop();
    const b = bad.stop();
    // 500 ms at 50/s: 26 sent (one at start, then every 20 ms); a few may still be in flight when stopped.
    expect(g.requests).toBeGreaterThanOrEqual(18);
    expect(g.requests).toBeLessThanOrEqual(27);
    expect(g.errors).toBe(0);
    expect(g.latencies).toHaveLength(g.requests);
    expect(b.errors).toBe(b.requests);
    expect(b.requests).toBeGreaterThan(15);
  });

  it('sends nothing at 0 req/s', async () => {
    const p = new Prober({ ...ok, gateway }, { path: '/', rps: 0 }).start();
    await new Promise((r) => setTimeout(r, 100));
    expect(p.stop().requests).toBe(0);
  });
});

describe('runSmokeTest', () => {
  it('passes on the expected status and body pattern', async () => {
    const [t] = parseSmokeTests('- path: /\n  body-pattern: "ok-00001"', '/');
    const r = await runSmokeTest({ ...ok, gateway }, t!);
    expect(r).toMatchObject({ pass: true, attempts: 1, status: 200 });
  });

  it('retries, then fails with what it got', async () => {
    const [t] = parseSmokeTests('- path: /\n  retries: 2', '/');
    const r = await runSmokeTest({ ...failing, gateway }, t!, { retryDelayMs: 1 });
    expect(r.pass).toBe(false);
    expect(r.attempts).toBe(3);
    expect(r.detail).toMatch(/^status 503, expected 200; body: /);
  });

  it('POSTs to the path and accepts any listed status (the built-in app echoes the path)', async () => {
    const [t] = parseSmokeTests(
      '- {path: /submit, method: POST, body: {a: 1}, status: [201, 200], body-pattern: \'"path":"/submit"\'}',
      '/',
    );
    const r = await runSmokeTest({ ...ok, gateway }, t!);
    expect(r.pass).toBe(true);
  });
});
