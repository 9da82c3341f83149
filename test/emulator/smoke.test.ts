import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiError, sendRequests, service, startHarness, type Harness } from './helpers.ts';

describe('emulator smoke', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('creates a service whose revision becomes ready and serves through the gateway', async () => {
    await h.create(service('hello'));
    const svc = await h.settled('hello');
    expect(svc.status.latestReadyRevisionName).toBe('hello-00001');
    const res = await sendRequests(h.emulator.gatewayUrl, 'hello.default.example.com', 5);
    expect(res.every((r) => r.revision === 'hello-00001' && r.status === 200)).toBe(true);
    const err = await apiError(h.create(service('hello')));
    expect(err.code).toBe(409);
  });
});

describe('test runtime', () => {
  it('runs on Node 24 or newer, as the action does', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});
