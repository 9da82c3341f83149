// Probes and smoke tests over real HTTP, through the emulator's gateway with the route's host in Host.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
    expect(g.latency.count).toBe(g.requests);
    expect(b.errors).toBe(b.requests);
    expect(b.requests).toBeGreaterThan(15);
  });

  it('keeps the offered rate when answers are slow (open loop), and times each request from when it was due', async () => {
    // A server that answers one request at a time, 100 ms each: at 20 req/s a queue builds up. A closed-loop
    // prober would slow down to 10 req/s and report 100 ms; users would see the queue.
    const queue: (() => void)[] = [];
    let busy = false;
    const next = () => {
      const job = queue.shift();
      if (!job) return void (busy = false);
      busy = true;
      setTimeout(() => (job(), next()), 100);
    };
    const srv = createServer((_req, res) => {
      queue.push(() => res.end('ok'));
      if (!busy) next();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const p = new Prober({ url }, { path: '/', rps: 20, timeoutMs: 5000 }).start();
      await new Promise((r) => setTimeout(r, 1000));
      // 1 s at 20/s: 21 due (one at 0 ms), sent whatever is still unanswered.
      expect(p.offered).toBeGreaterThanOrEqual(20);
      expect(p.offered).toBeLessThanOrEqual(22);
      await new Promise((r) => setTimeout(r, 1500));
      const w = p.stop();
      expect(w.requests).toBeGreaterThanOrEqual(20);
      expect(w.errors).toBe(0);
      // The i-th request is due at 50·i ms and answered at about 100·(i+1) ms: the last ones waited ~1 s.
      expect(w.latency.quantile(0.99)!).toBeGreaterThan(900);
      expect(w.latency.quantile(0.05)!).toBeLessThan(250);
    } finally {
      srv.close();
    }
  });

  it('takes windows: each request is counted in exactly one, and in the total', async () => {
    const p = new Prober({ ...ok, gateway }, { path: '/', rps: 100 }).start();
    let sum = 0;
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      sum += p.take().requests;
    }
    const total = p.stop();
    expect(total.requests).toBeGreaterThan(30);
    expect(sum + p.take().requests).toBe(total.requests);
  });

  it('counts a timed-out request as an error with its timeout as latency', async () => {
    const srv = createServer(() => undefined);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const p = new Prober({ url }, { path: '/', rps: 10, timeoutMs: 150 }).start();
      await new Promise((r) => setTimeout(r, 400));
      const w = p.stop();
      expect(w.requests).toBeGreaterThanOrEqual(2);
      expect(w.errors).toBe(w.requests);
      expect(w.latency.count).toBe(w.requests);
      expect(w.latency.min!).toBeGreaterThanOrEqual(140);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
  });

  it('leaves requests due in the warm-up out of the judged latency, even when answered after it', async () => {
    // Every answer takes 150 ms: requests due in the first 300 ms are answered after it, and still left out.
    const srv = createServer((_req, res) => setTimeout(() => res.end('ok'), 150));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const p = new Prober({ url }, { path: '/', rps: 20, warmupMs: 300 }).start();
      await new Promise((r) => setTimeout(r, 1000));
      p.stop();
      // Due at 0, 50, ..., 250 ms: 6 in the warm-up.
      expect(p.total.latency.count - p.total.warm.count).toBe(6);
      expect(p.total.warm.count).toBeGreaterThan(5);
      expect(p.total.warm.min!).toBeGreaterThanOrEqual(140);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
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
