// Knative's controllers in the emulator: revisions, configurations and routes, status.traffic resolution,
// readiness from backends (real processes and the built-in app's knobs), all-or-nothing routing, and faults.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiError,
  condition,
  readyStatus,
  sendRequests,
  service,
  startHarness,
  type Harness,
} from './helpers.ts';
import type { KObject } from './util.ts';

const hostOf = (name: string, tag?: string) => `${tag ? `${tag}-` : ''}${name}.default.example.com`;

describe('revisions, configurations and routes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ progressDeadlineMs: 400, ingressDelayMs: 150 });
  });
  afterAll(() => h.close());

  it('makes a revision per template change with Knative labels, and none for a traffic-only change', async () => {
    await h.create(service('c-gen'));
    let s = await h.settled('c-gen');
    expect(s.status).toMatchObject({
      observedGeneration: 1,
      latestCreatedRevisionName: 'c-gen-00001',
      latestReadyRevisionName: 'c-gen-00001',
      url: 'http://c-gen.default.example.com',
      address: { url: 'http://c-gen.default.svc.cluster.local' },
    });
    expect(s.status.traffic).toEqual([{ revisionName: 'c-gen-00001', percent: 100, latestRevision: true }]);
    const rev = await h.get('revisions', 'c-gen-00001');
    expect(rev.metadata.labels).toMatchObject({
      'serving.knative.dev/service': 'c-gen',
      'serving.knative.dev/configuration': 'c-gen',
      'serving.knative.dev/configurationGeneration': '1',
    });
    expect(readyStatus(rev)).toBe('True');
    const cfg = await h.get('configurations', 'c-gen');
    expect(cfg.metadata.ownerReferences[0]).toMatchObject({
      kind: 'Service',
      name: 'c-gen',
      controller: true,
    });
    const route = await h.get('routes', 'c-gen');
    expect(route.spec.traffic).toEqual([{ configurationName: 'c-gen', latestRevision: true, percent: 100 }]);

    await h.mergePatch('c-gen', { spec: { template: { spec: { containers: [{ image: 'x/y:2' }] } } } });
    s = await h.waitForService(
      'c-gen',
      (x) => x.status?.latestReadyRevisionName === 'c-gen-00002' && readyStatus(x) === 'True',
    );
    expect(s.status.traffic[0].revisionName).toBe('c-gen-00002');

    await h.mergePatch('c-gen', {
      spec: {
        traffic: [
          { revisionName: 'c-gen-00001', percent: 30 },
          { revisionName: 'c-gen-00001', percent: 20 },
          { latestRevision: true, percent: 50, tag: 'current' },
        ],
      },
    });
    s = await h.waitForService(
      'c-gen',
      (x) => x.metadata.generation === 3 && x.status?.observedGeneration === 3 && readyStatus(x) === 'True',
    );
    // Duplicate untagged targets are summed; tag URLs only on tagged entries; latestRevision always present.
    expect(s.status.traffic).toEqual([
      { revisionName: 'c-gen-00001', percent: 50, latestRevision: false },
      {
        tag: 'current',
        revisionName: 'c-gen-00002',
        percent: 50,
        latestRevision: true,
        url: 'http://current-c-gen.default.example.com',
      },
    ]);
    const revs = (await h.api.listNamespacedCustomObject({
      group: 'serving.knative.dev',
      version: 'v1',
      namespace: 'default',
      plural: 'revisions',
      labelSelector: 'serving.knative.dev/service=c-gen',
    })) as KObject;
    expect(revs.items).toHaveLength(2);
  });

  it('reports TrafficNotMigrated while the gateway programs a traffic change, then serves it', async () => {
    await h.create(service('c-move', { revisionName: 'c-move-a' }));
    await h.settled('c-move');
    await h.mergePatch('c-move', {
      spec: {
        template: { metadata: { name: 'c-move-b' }, spec: { containers: [{ image: 'x/y:2' }] } },
        traffic: [
          { revisionName: 'c-move-a', percent: 100, tag: 'stable' },
          { latestRevision: true, percent: 0, tag: 'latest' },
        ],
      },
    });
    await h.waitForService('c-move', (s) =>
      s.status?.traffic?.some((t: KObject) => t.revisionName === 'c-move-b'),
    );
    await h.settled('c-move');
    await h.mergePatch('c-move', {
      spec: {
        traffic: [
          { revisionName: 'c-move-a', percent: 0, tag: 'stable' },
          { revisionName: 'c-move-b', percent: 100, tag: 'latest' },
        ],
      },
    });
    const moving = await h.waitForService(
      'c-move',
      (s) => s.status?.observedGeneration === s.metadata.generation && readyStatus(s) !== 'True',
    );
    expect(condition(moving, 'RoutesReady')).toMatchObject({
      status: 'Unknown',
      reason: 'TrafficNotMigrated',
    });
    expect(moving.status.traffic.find((t: KObject) => t.revisionName === 'c-move-a').percent).toBe(100);
    const done = await h.waitForService('c-move', (s) => readyStatus(s) === 'True');
    expect(done.status.traffic.find((t: KObject) => t.revisionName === 'c-move-b').percent).toBe(100);
    const served = await sendRequests(h.emulator.gatewayUrl, hostOf('c-move'), 20);
    expect(new Set(served.map((r) => r.revision))).toEqual(new Set(['c-move-b']));
  });

  it('keeps routing all or nothing when a pinned revision is missing', async () => {
    await h.create(service('c-miss'));
    await h.settled('c-miss');
    await h.mergePatch('c-miss', { spec: { traffic: [{ revisionName: 'c-miss-99999', percent: 100 }] } });
    const s = await h.settled('c-miss');
    expect(readyStatus(s)).toBe('False');
    expect(condition(s, 'RoutesReady')).toMatchObject({
      status: 'False',
      reason: 'RevisionMissing',
      message: 'Revision "c-miss-99999" referenced in traffic not found.',
    });
    expect(s.status.traffic).toEqual([{ revisionName: 'c-miss-00001', percent: 100, latestRevision: true }]);
    const served = await sendRequests(h.emulator.gatewayUrl, hostOf('c-miss'), 5);
    expect(served.every((r) => r.revision === 'c-miss-00001')).toBe(true);
  });

  it('waits for a pinned revision that is not yet ready, then moves', async () => {
    await h.create(service('c-wait', { revisionName: 'c-wait-a' }));
    await h.settled('c-wait');
    await h.mergePatch('c-wait', {
      spec: {
        template: {
          metadata: { name: 'c-wait-b' },
          spec: {
            containers: [{ image: 'x/y:2', env: [{ name: 'EMULATOR_READY_DELAY_MS', value: '250' }] }],
          },
        },
        traffic: [{ revisionName: 'c-wait-b', percent: 100 }],
      },
    });
    const waiting = await h.waitForService(
      'c-wait',
      (s) => condition(s, 'RoutesReady')?.reason === 'RevisionMissing',
    );
    expect(condition(waiting, 'RoutesReady')).toMatchObject({
      status: 'Unknown',
      message: 'Revision "c-wait-b" is not yet ready.',
    });
    const moved = await h.waitForService('c-wait', (s) => readyStatus(s) === 'True');
    expect(moved.status.traffic).toEqual([{ revisionName: 'c-wait-b', percent: 100, latestRevision: false }]);
  });

  it('fails a crashing revision with ExitCode and keeps serving the last ready one', async () => {
    await h.create(service('c-crash'));
    await h.settled('c-crash');
    await h.mergePatch('c-crash', {
      spec: {
        template: {
          spec: { containers: [{ image: 'x/y:2', env: [{ name: 'EMULATOR_CRASH_ON_START', value: '1' }] }] },
        },
      },
    });
    const s = await h.waitForService('c-crash', (x) => readyStatus(x) === 'False');
    const rev = await h.get('revisions', 'c-crash-00002');
    expect(condition(rev, 'Ready')).toMatchObject({ status: 'False', reason: 'ExitCode1' });
    expect(condition(rev, 'Ready')!.message).toMatch(/^Container failed with: /);
    expect(condition(s, 'Ready')).toMatchObject({ reason: 'RevisionFailed' });
    expect(condition(s, 'Ready')!.message).toMatch(
      /^Revision "c-crash-00002" failed with message: Container failed with: /,
    );
    expect(s.status.latestCreatedRevisionName).toBe('c-crash-00002');
    expect(s.status.latestReadyRevisionName).toBe('c-crash-00001');
    const served = await sendRequests(h.emulator.gatewayUrl, hostOf('c-crash'), 5);
    expect(served.every((r) => r.revision === 'c-crash-00001' && r.status === 200)).toBe(true);
  });

  it('fails a revision that never becomes ready with ProgressDeadlineExceeded', async () => {
    await h.create(service('c-never', { env: { EMULATOR_NEVER_READY: 'true' } }));
    const s = await h.settled('c-never');
    const rev = await h.get('revisions', 'c-never-00001');
    expect(condition(rev, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'Initial scale was never achieved',
    });
    expect(condition(s, 'ConfigurationsReady')).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
  });

  it('refuses a BYO name held by another revision (RevisionNameTaken) and another service revision (RevisionNotOwned)', async () => {
    await h.create(service('c-taken', { revisionName: 'c-taken-a' }));
    await h.settled('c-taken');
    await h.mergePatch('c-taken', {
      spec: { template: { metadata: { name: 'c-taken-b' }, spec: { containers: [{ image: 'x/y:2' }] } } },
    });
    await h.waitForService('c-taken', (s) => s.status?.latestReadyRevisionName === 'c-taken-b');
    // Back to the first name with a different spec: that name is taken.
    await h.mergePatch('c-taken', {
      spec: { template: { metadata: { name: 'c-taken-a' }, spec: { containers: [{ image: 'x/y:3' }] } } },
    });
    const s = await h.waitForService(
      'c-taken',
      (x) => condition(x, 'RoutesReady')?.reason === 'RevisionNameTaken',
    );
    expect(condition(s, 'RoutesReady')!.status).toBe('False');
    expect(condition(await h.get('configurations', 'c-taken'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RevisionFailed',
    });

    await h.create(service('c-other', { traffic: [{ revisionName: 'c-taken-a', percent: 100 }] }));
    const other = await h.settled('c-other');
    expect(condition(other, 'RoutesReady')).toMatchObject({
      status: 'False',
      reason: 'RevisionNotOwned',
      message: 'Revision "c-taken-a" belongs to Service "c-taken", not Service "c-other".',
    });
  });
});

describe('revision backends', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-run-'));
    const server = join(dir, 'server.mjs');
    await writeFile(
      server,
      `import { createServer } from 'node:http';
       const started = Date.now();
       createServer((req, res) => {
         if (req.url === '/ready') { res.writeHead(Date.now() - started > 150 ? 200 : 503).end(); return; }
         res.writeHead(200, { 'content-type': 'application/json' })
           .end(JSON.stringify({ revision: process.env.K_REVISION, greeting: process.env.GREETING }));
       }).listen(Number(process.env.PORT), '127.0.0.1');`,
    );
    h = await startHarness({
      run: {
        'local/app:1': `"${process.execPath}" "${server}"`,
        'local/crash:1': 'echo "boom: config missing" >&2; exit 3',
      },
      progressDeadlineMs: 5000,
    });
  });
  afterAll(() => h.close());

  it('runs a mapped image as a real process with PORT and the container env, ready by its httpGet probe', async () => {
    const svc = service('b-proc', { image: 'local/app:1', env: { GREETING: 'hej' } });
    svc.spec.template.spec.containers[0].readinessProbe = { httpGet: { path: '/ready' } };
    await h.create(svc);
    const s = await h.settled('b-proc');
    expect(readyStatus(s)).toBe('True');
    // fetch() drops a Host header, so go through undici's request as the other gateway tests do.
    const res = await request(h.emulator.gatewayUrl, { headers: { host: hostOf('b-proc') } });
    expect(await res.body.json()).toEqual({ revision: 'b-proc-00001', greeting: 'hej' });
  });

  it('fails a process that exits with ExitCode<N> and its stderr', async () => {
    await h.create(service('b-exit', { image: 'local/crash:1' }));
    await h.settled('b-exit');
    const rev = await h.get('revisions', 'b-exit-00001');
    expect(condition(rev, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ExitCode3',
      message: 'Container failed with: boom: config missing',
    });
  });

  it("obeys the built-in app's error and latency knobs", async () => {
    await h.create(
      service('b-knobs', { env: { EMULATOR_ERROR_RATE: '1', EMULATOR_LATENCY_MS: '60', TARGET: 't' } }),
    );
    await h.settled('b-knobs');
    const started = performance.now();
    const res = await request(h.emulator.gatewayUrl, { headers: { host: hostOf('b-knobs') } });
    const body = (await res.body.json()) as KObject;
    const elapsed = performance.now() - started;
    expect(res.statusCode).toBe(500);
    expect(elapsed).toBeGreaterThanOrEqual(55);
    expect(body).toMatchObject({ revision: 'b-knobs-00001', env: { TARGET: 't', K_SERVICE: 'b-knobs' } });
    expect(body.env.EMULATOR_ERROR_RATE).toBeUndefined();
  });
});

describe('fault injection', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ seed: 1 });
  });
  afterAll(() => h.close());

  const faults = (body?: unknown, method = 'POST') =>
    fetch(`${h.emulator.apiUrl}/emulator/faults`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('answers matching API calls with injected errors the given number of times', async () => {
    await h.create(service('f-api'));
    for (const status of [500, 429, 409]) {
      expect(
        (
          await faults({
            api: [{ method: 'GET', path: '/services/f-api', action: 'status', status, times: 2 }],
          })
        ).status,
      ).toBe(200);
      expect((await apiError(h.get('services', 'f-api'))).code).toBe(status);
      expect((await apiError(h.get('services', 'f-api'))).body).toMatchObject({
        kind: 'Status',
        code: status,
      });
      expect((await h.get('services', 'f-api')).metadata.name).toBe('f-api');
    }
    const settings = (await (await faults(undefined, 'GET')).json()) as KObject;
    expect(settings.hits).toEqual([2]);
    await faults(undefined, 'DELETE');
    expect(((await (await faults(undefined, 'GET')).json()) as KObject).api).toEqual([]);
  });

  it('cuts connections and delays calls', async () => {
    await h.create(service('f-cut'));
    h.emulator.faults.set({ api: [{ path: '/services/f-cut', action: 'cut', times: 1 }] });
    await expect(h.get('services', 'f-cut')).rejects.toThrow();
    h.emulator.faults.set({ api: [{ path: '/services/f-cut', action: 'delay', delayMs: 200, times: 1 }] });
    const started = performance.now();
    await h.get('services', 'f-cut');
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    h.emulator.faults.reset();
  });

  it('rejects malformed fault settings with a message', async () => {
    const res = await faults({ api: [{ action: 'explode' }] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as KObject).error).toBe(
      'faults.api[0].action: expected "status", "delay" or "cut"',
    );
  });

  it('slows the reconciler and holds stuck revisions not ready', async () => {
    h.emulator.faults.set({ reconcileDelayMs: 300, stuckRevisions: ['default/f-stuck-00001'] });
    await h.create(service('f-stuck'));
    const early = await h.get('services', 'f-stuck');
    expect(early.status?.observedGeneration).toBeUndefined();
    const s = await h.waitForService('f-stuck', (x) => x.status?.observedGeneration === 1);
    expect(readyStatus(s)).toBe('Unknown');
    await new Promise((r) => setTimeout(r, 200));
    expect(readyStatus(await h.get('revisions', 'f-stuck-00001'))).toBe('Unknown');
    h.emulator.faults.set({ reconcileDelayMs: 5, stuckRevisions: [] });
    expect(readyStatus(await h.settled('f-stuck'))).toBe('True');
  });
});
