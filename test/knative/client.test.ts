// The Kubernetes client's time limits, retries and deadlines, against the emulator over real HTTP.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeError } from '../../src/errors.ts';
import { KnativeClient } from '../../src/knative/client.ts';
import { service, startHarness, type Harness } from '../emulator/helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ seed: 3 });
  await h.create(service('c1', { image: 'ghcr.io/example/hello:v1' }));
  await h.settled('c1');
});
afterAll(() => h.close());
beforeEach(() => h.emulator.faults.reset());

const client = (stop?: AbortSignal, requestTimeoutMs = 20_000) =>
  new KnativeClient(h.kc, 'default', { attempts: 3, backoffMs: 20, requestTimeoutMs }, stop);

describe('KnativeClient', () => {
  it('reads and merge-patches through client-node with a signal on every request', async () => {
    const c = client();
    const svc = await c.getService('c1');
    expect(svc?.metadata.name).toBe('c1');
    const patched = await c.patchService('c1', {
      metadata: { annotations: { a: '1' }, resourceVersion: svc!.metadata.resourceVersion },
    });
    expect(patched.metadata.annotations?.a).toBe('1');
    expect(await c.getService('nope')).toBeUndefined();
  });

  it('a request that gets no answer in time fails as transient, and is tried again', async () => {
    h.emulator.faults.set({
      api: [{ method: 'GET', path: '/services/c1', action: 'delay', delayMs: 1500, times: 1 }],
    });
    const c = client(undefined, 300);
    const began = Date.now();
    const svc = await c.getService('c1');
    expect(svc?.metadata.name).toBe('c1');
    expect(Date.now() - began).toBeLessThan(1400);
    expect(c.requests).toBe(2);
  });

  it('three attempts without a deadline; with one, as many as fit before it', async () => {
    h.emulator.faults.set({
      api: [{ method: 'GET', path: '/services/c1', action: 'status', status: 500, times: 8 }],
    });
    await expect(client().getService('c1')).rejects.toThrow(/HTTP 500/);
    const c = client();
    const svc = await c.getService('c1', { until: Date.now() + 5000 });
    expect(svc?.metadata.name).toBe('c1');
    expect(c.requests).toBe(6);
  });

  it('a deadline ends the tries, and no request outlives it', async () => {
    h.emulator.faults.set({ api: [{ method: 'GET', path: '/services/c1', action: 'delay', delayMs: 5000 }] });
    const began = Date.now();
    await expect(client().getService('c1', { until: Date.now() + 600 })).rejects.toThrow(
      /reading Service default\/c1: the API did not answer in time/,
    );
    expect(Date.now() - began).toBeLessThan(1500);
  });

  it('the hard stop abandons a request in flight and refuses every later one', async () => {
    h.emulator.faults.set({ api: [{ method: 'PATCH', action: 'delay', delayMs: 5000 }] });
    const stop = new AbortController();
    const c = client(stop.signal);
    setTimeout(() => stop.abort(), 200);
    const began = Date.now();
    const e = await c.patchService('c1', { metadata: { annotations: { b: '1' } } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KubeError);
    expect((e as KubeError).reason).toBe('Abandoned');
    expect(Date.now() - began).toBeLessThan(1500);
    await expect(c.getService('c1')).rejects.toThrow(/abandoned, the run's time is up/);
  });

  it('update sends nothing when the build finds the Service as it wants it', async () => {
    const c = client();
    const before = h.emulator.api.requests.length;
    const r = await c.update('c1', (svc) => ({ patch: undefined, result: svc.metadata.name }));
    expect(r.result).toBe('c1');
    expect(h.emulator.api.requests.slice(before).map((x) => x.method)).toEqual(['GET']);
  });
});
