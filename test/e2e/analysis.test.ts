// End to end: the health analysis of dist/index.js against the emulator — the sequential judge on probe traffic,
// webhooks, and (in prometheus.test.ts) Prometheus queries.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, type Fixture } from './fixture.ts';
import { errorLines, warningLines } from './runner.ts';

let f: Fixture | undefined;
let hooks: HookServer | undefined;
afterEach(async () => {
  await f?.close();
  await hooks?.close();
  f = undefined;
  hooks = undefined;
});

interface HookServer {
  url: string;
  /** Status to answer, by the payload's phase. */
  status: Record<string, number>;
  received: { path: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

async function hookServer(status: Record<string, number>): Promise<HookServer> {
  const received: HookServer['received'] = [];
  const s: { server?: Server } = {};
  const hs: HookServer = {
    url: '',
    status,
    received,
    close: () => new Promise((r) => s.server!.close(() => r())),
  };
  s.server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      received.push({ path: req.url ?? '', body });
      const code = hs.status[String(body.phase)] ?? 200;
      res
        .writeHead(code, { 'content-type': 'text/plain' })
        .end(code < 300 ? 'ok' : 'not now: release freeze');
    });
  });
  await new Promise<void>((r) => s.server!.listen(0, '127.0.0.1', r));
  hs.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  return hs;
}

const V2 = { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2' };

describe('the sequential judge on probe traffic', () => {
  it('rolls back a candidate with 5% errors within its first step, on the comparison alone', async () => {
    f = await fixture();
    const began = Date.now();
    const r = await f.run({
      ...V2,
      env: 'EMULATOR_ERROR_RATE=0.05',
      'smoke-tests': '- path: /\n  retries: 20',
      // The absolute limit is out of the way: only the comparison with the stable revision can fail it.
      'max-error-rate': '0.5',
      interval: '60s',
      'probe-rps': '50',
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(f.maxPercent.get('hello-v2')).toBe(10);
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    // Long before the 60 s dwell was over.
    expect(Date.now() - began).toBeLessThan(45_000);
    // One ::error:: annotation, the run's verdict; the step's own line is in the step's log group.
    const errors = errorLines(r.stdout);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /Rolled back hello-v2: 10% step failed: more errors than the stable revision: candidate \d+\/\d+ \(\d+\.\d%\) vs stable 0\/\d+ \(0\.0%\); e-value \d+ ≥ 100 \(errors [\d.]+, p50 [\d.]+, p99 [\d.]+\)\. Traffic is back on hello-00001 100%\.$/,
    );
    expect(r.stdout).toMatch(
      /✘ 10% unhealthy after [\d.]+m?s: more errors than the stable revision: candidate \d+\/\d+ \(\d+\.\d%\) vs stable 0\/\d+ \(0\.0%\); e-value \d+ ≥ 100 \(errors [\d.]+, p50 [\d.]+, p99 [\d.]+\)\n {2}probes: candidate \d+ req, \d+ err/,
    );
    expect(r.summary).toMatch(
      /\| step 1 \| 10% \|.*\| ❌ more errors than the stable revision: candidate \d+\/\d+ \([\d.]+%\) vs stable 0\/\d+ \(0\.0%\); e-value \d+ ≥ 100 \([^)]*\) \|$/m,
    );
  }, 60_000);

  it('promotes a healthy candidate, ending each step early once the evidence is conclusive', async () => {
    f = await fixture();
    const began = Date.now();
    const r = await f.run({
      ...V2,
      steps: '20,100',
      interval: '2m',
      'min-interval': '1s',
      'probe-rps': '100',
      'max-latency-p99': '2000',
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    // Two steps of up to 2 minutes each, passed in seconds: 0 errors in ~610 requests rule out 1%.
    expect(Date.now() - began).toBeLessThan(60_000);
    expect(r.stdout).toMatch(
      /✔ 20% healthy after [\d.]+s: passed early, conclusively no worse; e-value [\d.]+ < 100 \(errors [\d.]+, p50 [\d.]+, p99 [\d.]+\)\n {2}probes: candidate \d+ req, 0 err/,
    );
  });

  it('catches a latency regression in the tail alone', async () => {
    f = await fixture();
    const r = await f.run({
      ...V2,
      // 4% of the candidate's requests take 250 ms more; its median is the stable revision's.
      env: 'EMULATOR_SLOW_RATE=0.04\nEMULATOR_SLOW_MS=250',
      interval: '60s',
      'probe-rps': '50',
      warmup: '0s',
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(f.maxPercent.get('hello-v2')).toBe(10);
    const [err] = errorLines(r.stdout);
    expect(err).toMatch(
      /10% step failed: slower tail than the stable revision: \d+ of the candidate's requests over the stable's p99 vs \d+ of the stable's; e-value \d+ ≥ 100/,
    );
    // Usually ~12 s; the dwell (60 s) bounds it on a loaded machine.
  }, 75_000);
});

describe('webhooks', () => {
  it('a rollback webhook that answers 2xx rolls back at once; pre- and post-rollout hooks get the payload', async () => {
    hooks = await hookServer({ rollback: 404 });
    f = await fixture();
    const webhooks = [
      { name: 'gate', type: 'pre-rollout', url: `${hooks.url}/pre` },
      { name: 'big-red-button', type: 'rollback', url: `${hooks.url}/rollback`, metadata: { team: 'web' } },
      { name: 'notify', type: 'post-rollout', url: `${hooks.url}/post` },
    ];
    const run = f.run({
      ...V2,
      webhooks: JSON.stringify(webhooks),
      interval: '60s',
      'check-every': '1s',
    });
    // Press the button once the candidate has traffic.
    await expect.poll(() => f!.maxPercent.get('hello-v2') ?? 0, { timeout: 20_000 }).toBe(10);
    // The first check round is due check-every (1 s) after the step began.
    await expect
      .poll(() => hooks!.received.filter((h) => h.path === '/rollback').length, { timeout: 10_000 })
      .toBeGreaterThan(0);
    hooks.status.rollback = 200;
    const r = await run;
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    expect(errorLines(r.stdout).join('\n')).toMatch(/rollback webhook big-red-button asked for a rollback/);
    const pre = hooks.received.find((h) => h.path === '/pre')!;
    expect(pre.body).toMatchObject({
      name: 'hello',
      namespace: 'default',
      phase: 'pre-rollout',
      candidate: 'hello-v2',
      stable: ['hello-00001'],
      percent: 0,
    });
    expect(hooks.received.find((h) => h.path === '/rollback')!.body).toMatchObject({
      phase: 'rollback',
      step: 1,
      percent: 10,
      metadata: { team: 'web' },
    });
    expect(hooks.received.filter((h) => h.path === '/post')).toHaveLength(1);
  });

  it('a failing pre-rollout webhook rolls back before the candidate gets any traffic', async () => {
    hooks = await hookServer({ 'pre-rollout': 503 });
    f = await fixture();
    const r = await f.run({
      ...V2,
      webhooks: JSON.stringify([{ name: 'gate', type: 'pre-rollout', url: hooks.url, retries: 0 }]),
    });
    expect(r.code).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(f.maxPercent.get('hello-v2') ?? 0).toBe(0);
    expect(errorLines(r.stdout).join('\n')).toMatch(/pre-rollout webhook gate: .*503/);
  });

  it('a confirm-promotion webhook that says no holds the candidate at its last step; a later run promotes', async () => {
    hooks = await hookServer({ 'confirm-promotion': 403 });
    f = await fixture();
    const inputs = {
      ...V2,
      steps: '10,50',
      timeout: '4s',
      'check-every': '1s',
      webhooks: JSON.stringify([{ name: 'release-manager', type: 'confirm-promotion', url: hooks.url }]),
    };
    const r = await f.run(inputs);
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('progressing');
    expect(r.outputs.percent).toBe('50');
    expect(await f.percents()).toEqual({ 'hello-00001': 50, 'hello-v2': 50 });
    expect(f.maxPercent.get('hello-v2')).toBe(50);
    expect(warningLines(r.stdout).join('\n')).toMatch(
      /::warning::Holding hello-v2 at 50%: promotion was not confirmed within 4s/,
    );
    expect(r.stdout).toMatch(/release-manager: .*403.*not now: release freeze/);
    expect((await f.state())?.phase).toBe('stepping');
    // Health is still judged while it waits.
    expect(r.summary).toMatch(/\| confirm \| 50% \|/);

    hooks.status['confirm-promotion'] = 200;
    const again = await f.run(inputs);
    expect(again.code, again.stdout).toBe(0);
    expect(again.outputs.status).toBe('promoted');
    expect(await f.percents()).toEqual({ 'hello-v2': 100 });
  });

  it('steps that go straight to 100% wait for confirmation at 0%', async () => {
    hooks = await hookServer({ 'confirm-promotion': 403 });
    f = await fixture();
    const r = await f.run({
      ...V2,
      steps: '100',
      timeout: '3s',
      'check-every': '1s',
      webhooks: JSON.stringify([{ name: 'release-manager', type: 'confirm-promotion', url: hooks.url }]),
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('progressing');
    expect(r.outputs.percent).toBe('0');
    expect(f.maxPercent.get('hello-v2') ?? 0).toBe(0);
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  });
});
