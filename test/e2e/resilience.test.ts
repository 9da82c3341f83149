// Concurrency and failures around the action's writes: 409s are re-read and retried, a user's change made
// mid-rollout survives, and an API failure mid-rollout still leaves traffic on the stable revision.

import { afterEach, expect, it } from 'vitest';
import { fixture, routes, whenService, type Fixture } from './fixture.ts';
import { errorLines } from './runner.ts';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const whenRouted = (fx: Fixture, revision: string, percent: number) =>
  whenService(fx, routes(revision, percent));

it('a 409 on a write is answered by reading the Service again and retrying', async () => {
  f = await fixture();
  f.h.emulator.faults.set({
    api: [{ method: 'PATCH', path: '/services/hello', action: 'status', status: 409, times: 2 }],
  });
  const r = await f.run({ image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '50' });
  expect(r.code, r.stdout).toBe(0);
  expect(r.outputs.status).toBe('promoted');
  expect(f.h.emulator.faults.hits[0]).toBe(2);
  // Deploy, 50% and promote: 3 patches that landed, plus the 2 refused ones (and any real 409 from a status
  // update between a read and a write, re-read and retried the same way).
  expect(f.landed()).toHaveLength(3);
  expect(f.writes().length).toBeGreaterThanOrEqual(5);
  expect(await f.percents()).toEqual({ 'hello-v2': 100 });
});

it('transient API errors (500, 503, 429, a cut connection) are retried without disturbing the rollout', async () => {
  f = await fixture();
  f.h.emulator.faults.set({
    api: [
      { method: 'PATCH', path: '/services/hello', action: 'status', status: 500, times: 1 },
      { method: 'GET', path: '/revisions/', action: 'status', status: 503, times: 1 },
      { method: 'GET', path: '/services/hello', action: 'status', status: 429, times: 1 },
      { method: 'PATCH', path: '/services/hello', action: 'cut', times: 1 },
    ],
  });
  const r = await f.run({ image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '50' });
  expect(r.code, r.stdout).toBe(0);
  expect(f.h.emulator.faults.hits).toEqual([1, 1, 1, 1]);
  expect(await f.percents()).toEqual({ 'hello-v2': 100 });
});

it("a traffic entry a user adds mid-rollout is kept by the action's later writes", async () => {
  f = await fixture();
  const atTen = whenRouted(f, 'hello-v2', 10).then(async () => {
    const svc = await f!.svc();
    await f!.h.mergePatch('hello', {
      spec: { traffic: [...svc.spec.traffic, { tag: 'debug', revisionName: 'hello-00001', percent: 0 }] },
    });
  });
  const r = await f.run({
    image: 'ghcr.io/example/hello:v2',
    'revision-name': 'hello-v2',
    steps: '10,50',
    interval: '1s',
  });
  await atTen;
  expect(r.code, r.stdout).toBe(0);
  const svc = await f.svc();
  expect(svc.spec.traffic).toContainEqual({
    tag: 'debug',
    revisionName: 'hello-00001',
    percent: 0,
    latestRevision: false,
  });
  expect(svc.status.traffic).toContainEqual(
    expect.objectContaining({ tag: 'debug', revisionName: 'hello-00001' }),
  );
});

it('an API failure mid-rollout puts traffic back on the stable revision and says what happened', async () => {
  f = await fixture();
  // The write of the 50% step fails with a 500 three times, which exhausts the retries; the action's next
  // write (the rollback) goes through.
  void whenRouted(f, 'hello-v2', 10).then(() =>
    f!.h.emulator.faults.set({
      api: [{ method: 'PATCH', path: '/services/hello', action: 'status', status: 500, times: 3 }],
    }),
  );
  const r = await f.run({
    image: 'ghcr.io/example/hello:v2',
    'revision-name': 'hello-v2',
    steps: '10,50',
    interval: '1s',
  });
  expect(r.code, r.stdout).toBe(1);
  expect(r.outputs.status).toBe('rolled-back');
  expect(errorLines(r.stdout).join('\n')).toMatch(
    /Stopped \(unexpected error: patching Service default\/hello: .*HTTP 500\)\): traffic is back on hello-00001 100%/,
  );
  expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  expect((await f.state())?.phase).toBe('rolled-back');
});

it('a step the route never confirms is rolled back, and the action says the rollback is written but unconfirmed', async () => {
  f = await fixture();
  // After the 10% step, the gateway stops programming changes in time: the 50% step is never reported.
  void whenRouted(f, 'hello-v2', 10).then(() => f!.h.emulator.faults.set({ ingressDelayMs: 60_000 }));
  const r = await f.run({
    image: 'ghcr.io/example/hello:v2',
    'revision-name': 'hello-v2',
    steps: '10,50',
    interval: '500ms',
    timeout: '2s',
  });
  expect(r.code, r.stdout).toBe(1);
  expect(r.outputs.status).toBe('rolled-back');
  expect(errorLines(r.stdout).join('\n')).toMatch(
    /Stopped \(the route did not report hello-00001 50%, hello-v2 50% within 2s.*\): the rollback to hello-00001 100% is written, but the route had not confirmed it after 5s/,
  );
  // What the Service asks for is the stable revision alone; the gateway will follow.
  const svc = await f.svc();
  expect(svc.spec.traffic.filter((t: { percent: number }) => t.percent > 0)).toEqual([
    { tag: 'stable', revisionName: 'hello-00001', latestRevision: false, percent: 100 },
  ]);
  expect((await f.state())?.phase).toBe('rolled-back');
});

it('a rollback command from another run mid-rollout wins: the rollout stops without writing over it', async () => {
  f = await fixture();
  let other: Promise<Awaited<ReturnType<Fixture['run']>>> | undefined;
  const atTen = whenRouted(f, 'hello-v2', 10).then(() => {
    other = f!.run({ command: 'rollback' });
  });
  const r = await f.run({
    image: 'ghcr.io/example/hello:v2',
    'revision-name': 'hello-v2',
    steps: '10,50',
    interval: '2s',
  });
  await atTen;
  const o = await other!;
  expect(o.code, o.stdout).toBe(0);
  expect(r.code).toBe(1);
  expect(errorLines(r.stdout).join('\n')).toMatch(
    /Stopped: another run changed this rollout meanwhile \(it is now rolled-back of hello-v2 at 0%\), so this run stops without writing over it\. Traffic is on hello-00001 100%\./,
  );
  expect(f.maxPercent.get('hello-v2')).toBe(10);
  expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  expect((await f.state())?.history.at(-1)?.detail).toBe('to hello-00001 100%');
});
