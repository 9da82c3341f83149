// Revision backends: images mapped with the `run` option run as real processes (PORT and the container env, the
// readiness probe's httpGet path, exit codes and stderr), and the built-in app's fault knobs.

import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GROUP,
  VERSION,
  condition,
  readyStatus,
  sendRequests,
  service,
  startHarness,
  type Harness,
} from './helpers.ts';
import type { KObject } from './util.ts';

const hostOf = (name: string) => `${name}.default.example.com`;

/** One request through the gateway: status, body text, headers and how long it took. */
async function get(h: Harness, name: string, path = '/') {
  const started = performance.now();
  const res = await request(`${h.emulator.gatewayUrl}${path}`, { headers: { host: hostOf(name) } });
  const text = await res.body.text();
  return { status: res.statusCode, text, headers: res.headers, ms: performance.now() - started };
}

// A tiny app as a user would write one: it greets with its revision and GREETING, reports its env on /env, and
// answers /ready with 503 until READY_FILE exists and READY_AFTER_MS have passed.
const SERVER = `
import { createServer } from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
const env = process.env;
const started = Date.now();
const probes = [];
createServer((req, res) => {
  if (req.url === '/ready') {
    const ready =
      (!env.READY_FILE || existsSync(env.READY_FILE)) && Date.now() - started >= Number(env.READY_AFTER_MS ?? 0);
    probes.push({ at: Date.now() - started, ready, ua: req.headers['user-agent'] ?? '' });
    if (!ready && env.READY_FILE) writeFileSync(env.READY_FILE + '.waiting', '');
    res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'not ready');
  } else if (req.url === '/env') {
    const { PORT, K_SERVICE, K_CONFIGURATION, K_REVISION, GREETING } = env;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ PORT, K_SERVICE, K_CONFIGURATION, K_REVISION, GREETING, pid: process.pid, probes }));
  } else {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello from ' + env.K_REVISION + ' ' + env.GREETING);
  }
}).listen(Number(env.PORT), '127.0.0.1');
`;

const EXIT = `process.stderr.write('fatal: DATABASE_URL is not set\\n'); process.exit(3);`;

describe('the run option: real processes', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-backends-'));
    await writeFile(join(dir, 'server.mjs'), SERVER);
    await writeFile(join(dir, 'exit.mjs'), EXIT);
    const node = `"${process.execPath}"`;
    const gated = (f: string) =>
      `touch "${join(dir, `${f}.started`)}"; while [ ! -f "${join(dir, `${f}.go`)}" ]; do sleep 0.01; done`;
    h = await startHarness({
      run: {
        'local/hello:1': `${node} "${join(dir, 'server.mjs')}"`,
        'local/exit:1': `${node} "${join(dir, 'exit.mjs')}"`,
        'local/sh-exit:1': 'echo "starting" >&2; echo "panic: no config" >&2; exit 3',
        // Each waits for its go-file, so a test can choose the moment it exits.
        'local/x:1': `${gated('x')}; exit 0`,
        'local/y:1': `${gated('y')}; echo "fatal: last words" >&2; exit 3`,
      },
      progressDeadlineMs: 10_000,
    });
  });
  afterAll(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the mapped command with PORT and the container env, reached through the gateway', async () => {
    await h.create(service('p-hello', { image: 'local/hello:1', env: { GREETING: 'hej' } }));
    const s = await h.settled('p-hello');
    expect(readyStatus(s)).toBe('True');
    const res = await get(h, 'p-hello');
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello from p-hello-00001 hej');
    const env = JSON.parse((await get(h, 'p-hello', '/env')).text);
    expect(env).toMatchObject({
      PORT: String(h.emulator.backends.endpoint('default', 'p-hello-00001')),
      K_SERVICE: 'p-hello',
      K_CONFIGURATION: 'p-hello',
      K_REVISION: 'p-hello-00001',
      GREETING: 'hej',
    });

    // A new template is a new process with the new env.
    await h.mergePatch('p-hello', {
      spec: { template: service('x', { image: 'local/hello:1', env: { GREETING: 'moi' } }).spec.template },
    });
    await h.waitForService('p-hello', (x) => x.status?.observedGeneration === 2 && readyStatus(x) === 'True');
    expect((await get(h, 'p-hello')).text).toBe('hello from p-hello-00002 moi');
    const env2 = JSON.parse((await get(h, 'p-hello', '/env')).text);
    expect(env2.pid).not.toBe(env.pid);
  });

  it('waits for the readinessProbe httpGet path before the revision is ready', async () => {
    const readyFile = join(dir, 'p-gated.ready');
    const svc = service('p-gated', {
      image: 'local/hello:1',
      env: { GREETING: 'gated', READY_FILE: readyFile },
    });
    svc.spec.template.spec.containers[0].readinessProbe = { httpGet: { path: '/ready' } };
    await h.create(svc);
    // The process listens at once, but its /ready says 503: the revision must stay not ready.
    await h.waitFor(
      () => existsSync(`${readyFile}.waiting`),
      (probed) => probed,
    );
    await new Promise((r) => setTimeout(r, 200));
    const rev = await h.get('revisions', 'p-gated-00001');
    expect(readyStatus(rev)).toBe('Unknown');
    expect(readyStatus(await h.get('services', 'p-gated'))).toBe('Unknown');
    expect((await get(h, 'p-gated')).status).not.toBe(200);

    await writeFile(readyFile, '');
    const s = await h.settled('p-gated');
    expect(readyStatus(s)).toBe('True');
    expect((await get(h, 'p-gated')).text).toBe('hello from p-gated-00001 gated');
    const { probes } = JSON.parse((await get(h, 'p-gated', '/env')).text) as { probes: KObject[] };
    expect(probes.filter((p) => !p.ready).length).toBeGreaterThan(1);
    expect(probes.some((p) => p.ready)).toBe(true);
    expect(probes.every((p) => String(p.ua).startsWith('kube-probe/'))).toBe(true);
  });

  it('is not ready before the probe passes when /ready fails for the first N ms', async () => {
    const svc = service('p-slow', {
      image: 'local/hello:1',
      env: { GREETING: 'slow', READY_AFTER_MS: '500' },
    });
    svc.spec.template.spec.containers[0].readinessProbe = { httpGet: { path: '/ready' } };
    const started = Date.now();
    await h.create(svc);
    const s = await h.settled('p-slow');
    expect(readyStatus(s)).toBe('True');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    const { probes } = JSON.parse((await get(h, 'p-slow', '/env')).text) as { probes: KObject[] };
    expect(probes.some((p) => !p.ready)).toBe(true);
    expect(probes.find((p) => p.ready)?.ua).toMatch(/^kube-probe\//);
  });

  it('fails a process that exits with code 3: ExitCode3 and its stderr', async () => {
    await h.create(service('p-exit', { image: 'local/exit:1' }));
    const s = await h.settled('p-exit');
    const rev = await h.get('revisions', 'p-exit-00001');
    const failed = {
      status: 'False',
      reason: 'ExitCode3',
      message: 'Container failed with: fatal: DATABASE_URL is not set',
    };
    expect(condition(rev, 'Ready')).toMatchObject(failed);
    expect(condition(rev, 'ContainerHealthy')).toMatchObject(failed);
    // The Route's RevisionMissing is marked False after the Configuration's RevisionFailed (service.go order,
    // knative/pkg apis/condition_set.go MarkFalse), so Ready carries it; ConfigurationsReady keeps the exit message.
    expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'RevisionMissing' });
    expect(condition(s, 'ConfigurationsReady')).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(condition(s, 'ConfigurationsReady')!.message).toMatch(
      /^Revision "p-exit-00001" failed with message: Container failed with: fatal: DATABASE_URL is not set/,
    );

    // A shell command's stderr, several lines of it.
    await h.create(service('p-sh-exit', { image: 'local/sh-exit:1' }));
    await h.settled('p-sh-exit');
    expect(condition(await h.get('revisions', 'p-sh-exit-00001'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ExitCode3',
      message: 'Container failed with: starting\npanic: no config',
    });
  });

  it('keeps the stderr of a process that exits while the emulator is busy', async () => {
    // Kubernetes reports a container's last words however busy the node is. Here another revision's process (x)
    // exits while the emulator's event loop is held up, so its child-exit notice is pending; in the same turn the
    // loop is held up again while the crashing process (y) writes to stderr and exits. The exit is then seen before
    // the output, which is still unread in the pipe: the message must not depend on that order.
    await h.create(service('p-busy-x', { image: 'local/x:1' }));
    await h.create(service('p-busy-y', { image: 'local/y:1' }));
    await h.waitFor(
      () => existsSync(join(dir, 'x.started')) && existsSync(join(dir, 'y.started')),
      (started) => started,
    );
    const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    const tick = spawn('sh', ['-c', 'sleep 0.2; echo tick'], { stdio: ['ignore', 'pipe', 'ignore'] });
    tick.stdout.on('data', () => {
      writeFileSync(join(dir, 'y.go'), '');
      block(400);
    });
    writeFileSync(join(dir, 'x.go'), '');
    block(500);
    await h.settled('p-busy-y');
    expect(condition(await h.get('revisions', 'p-busy-y-00001'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ExitCode3',
      message: 'Container failed with: fatal: last words',
    });
  });

  it('stops the process when its Service is deleted', async () => {
    await h.create(service('p-stop', { image: 'local/hello:1' }));
    await h.settled('p-stop');
    const { PORT } = JSON.parse((await get(h, 'p-stop', '/env')).text) as { PORT: string };
    // A stopped process no longer listens on its port (a killed process may linger as a zombie, so ask the port).
    const listening = () =>
      new Promise<boolean>((resolve) => {
        const sock = connect({ host: '127.0.0.1', port: Number(PORT) }, () => {
          sock.destroy();
          resolve(true);
        });
        sock.on('error', () => resolve(false));
      });
    expect(await listening()).toBe(true);
    await h.api.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: 'services',
      name: 'p-stop',
    });
    await h.waitFor(listening, (l) => !l, 5000);
  });
});

describe("the built-in app's knobs", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ seed: 21 });
  });
  afterAll(() => h.close());

  it('answers with a body naming the revision, its env and the path, without the knobs', async () => {
    await h.create(service('k-body', { env: { TARGET: 'world', EMULATOR_LATENCY_MS: '0' } }));
    await h.settled('k-body');
    const res = await get(h, 'k-body', '/some/path?x=1');
    expect(res.status).toBe(200);
    expect(res.headers['x-revision']).toBe('k-body-00001');
    const body = JSON.parse(res.text) as KObject;
    expect(body).toEqual({
      revision: 'k-body-00001',
      env: { TARGET: 'world', K_SERVICE: 'k-body', K_CONFIGURATION: 'k-body', K_REVISION: 'k-body-00001' },
      path: '/some/path?x=1',
      status: 200,
    });
  });

  it('EMULATOR_ERROR_RATE=1 answers every request with 500, EMULATOR_ERROR_STATUS picks the code', async () => {
    await h.create(service('k-err', { env: { EMULATOR_ERROR_RATE: '1' } }));
    await h.create(service('k-err503', { env: { EMULATOR_ERROR_RATE: '1', EMULATOR_ERROR_STATUS: '503' } }));
    await h.create(service('k-half', { env: { EMULATOR_ERROR_RATE: '0.5' } }));
    await h.create(service('k-ok'));
    for (const n of ['k-err', 'k-err503', 'k-half', 'k-ok'])
      expect(readyStatus(await h.settled(n))).toBe('True');

    const err = await sendRequests(h.emulator.gatewayUrl, hostOf('k-err'), 20);
    expect(err.every((r) => r.status === 500 && r.revision === 'k-err-00001')).toBe(true);
    const err503 = await sendRequests(h.emulator.gatewayUrl, hostOf('k-err503'), 10);
    expect(err503.every((r) => r.status === 503 && r.revision === 'k-err503-00001')).toBe(true);
    const half = await sendRequests(h.emulator.gatewayUrl, hostOf('k-half'), 100);
    const errors = half.filter((r) => r.status === 500).length;
    expect(errors).toBeGreaterThan(25);
    expect(errors).toBeLessThan(75);
    const ok = await sendRequests(h.emulator.gatewayUrl, hostOf('k-ok'), 20);
    expect(ok.every((r) => r.status === 200)).toBe(true);
  });

  it('EMULATOR_LATENCY_MS and EMULATOR_SLOW_RATE/EMULATOR_SLOW_MS add measurable latency', async () => {
    await h.create(service('k-fast'));
    await h.create(service('k-lat', { env: { EMULATOR_LATENCY_MS: '150' } }));
    await h.create(service('k-slow', { env: { EMULATOR_SLOW_RATE: '1', EMULATOR_SLOW_MS: '200' } }));
    for (const n of ['k-fast', 'k-lat', 'k-slow']) await h.settled(n);
    await get(h, 'k-fast'); // warm the connection
    const fast = Math.min(...(await Promise.all([1, 2, 3].map(() => get(h, 'k-fast')))).map((r) => r.ms));
    const lat = await Promise.all([1, 2, 3].map(() => get(h, 'k-lat')));
    const slow = await get(h, 'k-slow');
    expect(fast).toBeLessThan(100);
    for (const r of lat) {
      expect(r.status).toBe(200);
      expect(r.ms).toBeGreaterThanOrEqual(145);
    }
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(195);
  });

  it('EMULATOR_READY_DELAY_MS holds the revision not ready for that long', async () => {
    const started = Date.now();
    await h.create(service('k-delay', { env: { EMULATOR_READY_DELAY_MS: '400' } }));
    await new Promise((r) => setTimeout(r, 200));
    expect(readyStatus(await h.get('revisions', 'k-delay-00001'))).toBe('Unknown');
    const s = await h.settled('k-delay');
    expect(readyStatus(s)).toBe('True');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('EMULATOR_ERROR_PATH and EMULATOR_SLOW_PATH limit errors and slow requests to one path and below it', async () => {
    await h.create(
      service('k-path', {
        env: {
          EMULATOR_ERROR_RATE: '1',
          EMULATOR_ERROR_PATH: '/checkout',
          EMULATOR_SLOW_RATE: '1',
          EMULATOR_SLOW_MS: '150',
          EMULATOR_SLOW_PATH: '/search',
        },
      }),
    );
    await h.settled('k-path');
    expect((await get(h, 'k-path', '/')).status).toBe(200);
    expect((await get(h, 'k-path', '/checkoutx')).status).toBe(200);
    expect((await get(h, 'k-path', '/checkout')).status).toBe(500);
    expect((await get(h, 'k-path', '/checkout/pay?x=1')).status).toBe(500);
    expect((await get(h, 'k-path', '/')).ms).toBeLessThan(150);
    expect((await get(h, 'k-path', '/search?q=a')).ms).toBeGreaterThanOrEqual(150);
  });

  // pkg/reconciler/revision/reconcile_resources.go: the exit marks ContainerHealthy False, ResourcesAvailable stays.
  it('EMULATOR_CRASH_AFTER_MS exits that long after the revision became Ready', async () => {
    await h.create(service('k-later', { env: { EMULATOR_CRASH_AFTER_MS: '200' } }));
    expect(readyStatus(await h.settled('k-later'))).toBe('True');
    const rev = await h.waitFor(
      () => h.get('revisions', 'k-later-00001'),
      (r) => readyStatus(r) === 'False',
    );
    expect(condition(rev, 'ContainerHealthy')).toMatchObject({
      status: 'False',
      reason: 'ExitCode1',
      message: 'Container failed with: EMULATOR_CRASH_AFTER_MS=200: crashed after it was ready',
    });
    expect(condition(rev, 'ResourcesAvailable')?.status).toBe('True');
    expect((await get(h, 'k-later')).status).toBe(503);
  });

  it('EMULATOR_CRASH_ON_START fails the revision with the exit code it names', async () => {
    await h.create(service('k-crash', { env: { EMULATOR_CRASH_ON_START: '2' } }));
    await h.settled('k-crash');
    const ready = condition(await h.get('revisions', 'k-crash-00001'), 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'ExitCode2' });
    expect(ready.message).toMatch(/^Container failed with: /);
  });
});
