// Fault injection: API calls answered with injected errors, cut off or delayed, over the control endpoint
// /emulator/faults and in-process; a slower reconciler and ingress; revisions held not ready.

import { ApiException, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiError, condition, readyStatus, service, startHarness, type Harness } from './helpers.ts';
import type { KObject } from './util.ts';

describe('fault injection', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ seed: 31 });
  });
  afterEach(() => h.emulator.faults.reset());
  afterAll(() => h.close());

  /** Calls the control endpoint; the status code and the parsed JSON answer. */
  async function control(method: string, body?: unknown): Promise<{ status: number; json: KObject }> {
    const res = await fetch(`${h.emulator.apiUrl}/emulator/faults`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as KObject };
  }

  async function settledService(name: string): Promise<KObject> {
    await h.create(service(name));
    return h.settled(name);
  }

  for (const [status, reason] of [
    [500, 'InternalError'],
    [429, 'TooManyRequests'],
    [409, 'Conflict'],
  ] as const) {
    it(`answers the next two matching calls with an injected ${status} Status, then lets calls through`, async () => {
      const name = `f-status-${status}`;
      await settledService(name);
      const rule = { method: 'GET', path: '/services/', action: 'status', status, times: 2 };
      const set = await control('POST', { api: [rule] });
      expect(set.status).toBe(200);
      expect(set.json.api).toEqual([rule]);

      // Other methods are not matched.
      const patched = await h.mergePatch(name, { metadata: { labels: { faults: 'on' } } });
      expect(patched.metadata.labels.faults).toBe('on');

      for (let i = 0; i < 2; i++) {
        const err = await apiError(h.get('services', name));
        expect(err.code).toBe(status);
        expect(err.body).toMatchObject({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          code: status,
          reason,
        });
        expect(typeof err.body.message).toBe('string');
        expect(err.body.message.length).toBeGreaterThan(0);
      }
      expect((await h.get('services', name)).metadata.name).toBe(name);
      expect((await control('GET')).json.hits).toEqual([2]);
    });
  }

  it('words an injected 409 as the API server words a conflict on that object', async () => {
    await settledService('f-conflict');
    h.emulator.faults.set({
      api: [{ method: 'GET', path: '/services/f-conflict', action: 'status', status: 409 }],
    });
    const err = await apiError(h.get('services', 'f-conflict'));
    expect(err.body).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(err.body.message).toBe(
      'Operation cannot be fulfilled on services.serving.knative.dev "f-conflict": the object has been modified; ' +
        'please apply your changes to the latest version and try again',
    );
  });

  it('cuts the connection of a matching call, so the client sees a connection error', async () => {
    await settledService('f-cut');
    await control('POST', { api: [{ method: 'GET', path: '/services/f-cut', action: 'cut', times: 1 }] });
    let caught: unknown;
    try {
      await h.get('services', 'f-cut');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(ApiException);
    const text = `${(caught as Error).message} ${String((caught as { cause?: unknown }).cause ?? '')}`;
    expect(text).toMatch(/socket hang up|ECONNRESET|other side closed|terminated|fetch failed/i);
    expect((await h.get('services', 'f-cut')).metadata.name).toBe('f-cut');
    expect((await control('GET')).json.hits).toEqual([1]);
  });

  it('handles a write and loses its answer (lose-answer): the change lands, the client sees a cut connection', async () => {
    await settledService('f-lost');
    await control('POST', {
      api: [{ method: 'PATCH', path: '/services/f-lost', action: 'lose-answer', times: 1 }],
    });
    const caught = await h
      .mergePatch('f-lost', { metadata: { annotations: { lost: 'yes' } } })
      .catch((e) => e);
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(ApiException);
    expect((await h.get('services', 'f-lost')).metadata.annotations.lost).toBe('yes');
  });

  it('delays a matching call by delayMs, and only the matching ones', async () => {
    await settledService('f-delay');
    await settledService('f-nodelay');
    await control('POST', {
      api: [{ method: 'GET', path: '/services/f-delay', action: 'delay', delayMs: 200, times: 1 }],
    });
    let started = performance.now();
    await h.get('services', 'f-nodelay');
    expect(performance.now() - started).toBeLessThan(150);
    started = performance.now();
    const svc = await h.get('services', 'f-delay');
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(svc.metadata.name).toBe('f-delay');
    started = performance.now();
    await h.get('services', 'f-delay');
    expect(performance.now() - started).toBeLessThan(150);
  });

  it("limits a rule to one user's requests: another user's token is not affected, and each request records its user", async () => {
    await settledService('f-user');
    const other = new KubeConfig();
    other.loadFromString(h.emulator.kubeconfig('default', 'watcher'));
    const watcher = other.makeApiClient(CustomObjectsApi);
    const get = () =>
      watcher.getNamespacedCustomObject({
        group: 'serving.knative.dev',
        version: 'v1',
        namespace: 'default',
        plural: 'services',
        name: 'f-user',
      }) as Promise<KObject>;
    h.emulator.faults.set({
      api: [{ path: '/services/f-user', action: 'status', status: 500, user: 'emulator-admin' }],
    });
    h.emulator.api.requests.length = 0;
    expect((await apiError(h.get('services', 'f-user'))).code).toBe(500);
    expect((await get()).metadata.name).toBe('f-user');
    // The same token each time it is asked for.
    expect(h.emulator.kubeconfig('default', 'watcher')).toBe(h.emulator.kubeconfig('default', 'watcher'));
    expect(h.emulator.api.requests.map((r) => [r.user, r.status])).toEqual([
      ['emulator-admin', 500],
      ['watcher', 200],
    ]);
    expect(h.emulator.faults.hits).toEqual([1]);
  });

  it('GET returns the settings and per-rule hit counts; DELETE resets to the start-up settings', async () => {
    await settledService('f-get');
    const settings = {
      api: [
        { method: 'GET', path: '/services/f-get', action: 'status', status: 500, times: 1 },
        { method: 'PATCH', path: '/services/f-get', action: 'status', status: 429 },
        { path: '/routes/', action: 'status', status: 500, probability: 0 },
      ],
      reconcileDelayMs: 40,
      ingressDelayMs: 60,
      stuckRevisions: ['default/f-get-99999'],
    };
    expect((await control('POST', settings)).status).toBe(200);
    expect((await apiError(h.get('services', 'f-get'))).code).toBe(500);
    await h.get('services', 'f-get');
    for (let i = 0; i < 3; i++) {
      expect((await apiError(h.mergePatch('f-get', { metadata: { labels: { n: String(i) } } }))).code).toBe(
        429,
      );
    }
    await h.get('routes', 'f-get'); // probability 0: never affected
    const got = await control('GET');
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ ...settings, hits: [1, 3] });

    const reset = await control('DELETE');
    expect(reset.status).toBe(200);
    expect(reset.json).toEqual({ api: [], reconcileDelayMs: 5, ingressDelayMs: 20, stuckRevisions: [] });
    expect((await control('GET')).json).toEqual({
      api: [],
      reconcileDelayMs: 5,
      ingressDelayMs: 20,
      stuckRevisions: [],
      hits: [],
    });
    expect((await h.mergePatch('f-get', { metadata: { labels: { n: 'after' } } })).metadata.labels.n).toBe(
      'after',
    );
  });

  it('answers malformed settings with 400 and a message, changing nothing', async () => {
    const good = {
      api: [{ method: 'GET', path: '/nothing-here/', action: 'status', status: 500 }],
      reconcileDelayMs: 7,
    };
    await control('POST', good);
    const before = (await control('GET')).json;
    const cases: [unknown, string | RegExp][] = [
      ['{not json', /JSON/],
      [[1, 2], 'faults: expected a JSON object'],
      [{ api: { action: 'cut' } }, 'faults.api: expected a list of rules'],
      [
        { api: [{ action: 'explode' }] },
        'faults.api[0].action: expected "status", "delay", "cut" or "lose-answer"',
      ],
      [
        { api: [{ action: 'cut' }, { action: 'status' }] },
        'faults.api[1].status: expected an HTTP status code',
      ],
      [{ reconcileDelayMs: -1 }, 'faults.reconcileDelayMs: expected a number >= 0'],
      [{ ingressDelayMs: 'slow' }, 'faults.ingressDelayMs: expected a number >= 0'],
      [{ stuckRevisions: 'default/x' }, 'faults.stuckRevisions: expected a list'],
    ];
    for (const [body, message] of cases) {
      const res = await control('POST', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      if (typeof message === 'string') expect(res.json.error).toBe(message);
      else expect(res.json.error).toMatch(message);
      expect((await control('GET')).json).toEqual(before);
    }
    const unknown = await fetch(`${h.emulator.apiUrl}/emulator/nothing`, { method: 'POST' });
    expect(unknown.status).toBe(404);
  });

  it('does not re-arm a spent rule when an update is rejected', async () => {
    await settledService('f-rearm');
    const rule = { method: 'GET', path: '/services/f-rearm', action: 'status', status: 500, times: 1 };
    await control('POST', { api: [rule] });
    expect((await apiError(h.get('services', 'f-rearm'))).code).toBe(500);
    expect((await control('GET')).json.hits).toEqual([1]);
    // Rejected: the valid api part must not be applied, nor the hit counts cleared.
    expect((await control('POST', { api: [rule], reconcileDelayMs: -1 })).status).toBe(400);
    expect((await control('GET')).json.hits).toEqual([1]);
    expect((await h.get('services', 'f-rearm')).metadata.name).toBe('f-rearm');
  });

  it('reconcileDelayMs slows the reconciler: observedGeneration lags the generation', async () => {
    await settledService('f-slow');
    expect((await control('POST', { reconcileDelayMs: 300 })).json.reconcileDelayMs).toBe(300);
    const started = Date.now();
    const patched = await h.mergePatch('f-slow', {
      spec: { template: { spec: { containers: [{ image: 'x/f-slow:2' }] } } },
    });
    expect(patched.metadata.generation).toBe(2);
    await new Promise((r) => setTimeout(r, 150));
    const lagging = await h.get('services', 'f-slow');
    expect(lagging.metadata.generation).toBe(2);
    expect(lagging.status.observedGeneration).toBe(1);
    const caught = await h.waitForService('f-slow', (s) => s.status?.observedGeneration === 2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(caught.status.latestCreatedRevisionName).toBe('f-slow-00002');
    expect(readyStatus(await h.settled('f-slow'))).toBe('True');
  });

  it('ingressDelayMs holds a traffic change in IngressNotConfigured for that long', async () => {
    await h.create(service('f-ingress'));
    await h.settled('f-ingress');
    await h.mergePatch('f-ingress', {
      spec: { template: { spec: { containers: [{ image: 'x/f-ingress:2' }] } } },
    });
    await h.waitForService(
      'f-ingress',
      (s) => s.status?.observedGeneration === 2 && readyStatus(s) === 'True',
    );
    h.emulator.faults.set({ ingressDelayMs: 300 });
    const started = Date.now();
    await h.mergePatch('f-ingress', {
      spec: {
        traffic: [
          { revisionName: 'f-ingress-00001', percent: 20 },
          { latestRevision: true, percent: 80 },
        ],
      },
    });
    const moving = await h.waitForService(
      'f-ingress',
      (s) =>
        s.status?.observedGeneration === 3 && condition(s, 'RoutesReady')?.reason === 'IngressNotConfigured',
    );
    expect(condition(moving, 'RoutesReady')?.status).toBe('Unknown');
    await h.waitForService('f-ingress', (s) => readyStatus(s) === 'True');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('stuckRevisions holds a revision not ready until it is removed', async () => {
    expect((await control('POST', { stuckRevisions: ['default/f-stuck-00001'] })).status).toBe(200);
    await h.create(service('f-stuck'));
    await h.waitForService('f-stuck', (s) => s.status?.observedGeneration === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(readyStatus(await h.get('revisions', 'f-stuck-00001'))).toBe('Unknown');
    const held = await h.get('services', 'f-stuck');
    expect(readyStatus(held)).toBe('Unknown');
    expect(held.status.latestReadyRevisionName).toBeUndefined();

    expect((await control('POST', { stuckRevisions: [] })).json.stuckRevisions).toEqual([]);
    const s = await h.settled('f-stuck');
    expect(readyStatus(s)).toBe('True');
    expect(s.status.latestReadyRevisionName).toBe('f-stuck-00001');
  });

  it('a stuck new revision leaves traffic on the last ready one', async () => {
    await settledService('f-stuck2');
    h.emulator.faults.set({ stuckRevisions: ['default/f-stuck2-00002'] });
    await h.mergePatch('f-stuck2', {
      spec: { template: { spec: { containers: [{ image: 'x/f-stuck2:2' }] } } },
    });
    await h.waitForService('f-stuck2', (s) => s.status?.latestCreatedRevisionName === 'f-stuck2-00002');
    await new Promise((r) => setTimeout(r, 200));
    const held = await h.get('services', 'f-stuck2');
    expect(held.status.latestReadyRevisionName).toBe('f-stuck2-00001');
    expect(held.status.traffic).toEqual([
      { revisionName: 'f-stuck2-00001', percent: 100, latestRevision: true },
    ]);
    h.emulator.faults.set({ stuckRevisions: [] });
    const s = await h.waitForService('f-stuck2', (x) => readyStatus(x) === 'True');
    expect(s.status.traffic).toEqual([
      { revisionName: 'f-stuck2-00002', percent: 100, latestRevision: true },
    ]);
  });

  it('has an in-process API: set, settings, hits, reset, and validation that throws', async () => {
    await settledService('f-inproc');
    h.emulator.faults.set({
      api: [{ method: 'get', path: '/services/f-inproc', action: 'status', status: 503, times: 1 }],
    });
    expect(h.emulator.faults.settings.api).toHaveLength(1);
    const err = await apiError(h.get('services', 'f-inproc'));
    expect(err.code).toBe(503);
    expect(err.body).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable' });
    expect(h.emulator.faults.hits).toEqual([1]);
    expect((await control('GET')).json.hits).toEqual([1]);
    await h.get('services', 'f-inproc');

    expect(() => h.emulator.faults.set({ api: [{ action: 'nope' }] })).toThrow(
      'faults.api[0].action: expected "status", "delay", "cut" or "lose-answer"',
    );
    expect(() => h.emulator.faults.set({ reconcileDelayMs: -5 })).toThrow(
      'faults.reconcileDelayMs: expected a number >= 0',
    );
    expect(h.emulator.faults.settings.api).toHaveLength(1);

    h.emulator.faults.reset();
    expect(h.emulator.faults.settings).toEqual({
      api: [],
      reconcileDelayMs: 5,
      ingressDelayMs: 20,
      stuckRevisions: [],
    });
    expect(h.emulator.faults.hits).toEqual([]);
    expect(h.emulator.faults.isStuck('default/f-inproc-00001')).toBe(false);
  });
});
