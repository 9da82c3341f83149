// Every run ends clean (issue 14): the built action, cancelled the way the runner cancels (SIGINT, SIGTERM 7.5 s
// later, SIGKILL 2.5 s after that) at its worst moments, or raced by another run, against the emulator.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, stateIs, whenService, type Fixture } from './fixture.ts';
import { DIST, errorLines, warningLines } from './runner.ts';
import type { RolloutState } from '../../src/rollout/state.ts';
import type { KObject } from '../emulator/util.ts';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const v2 = { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2' };

const whenState = (fx: Fixture, check: (s: RolloutState) => boolean) => whenService(fx, stateIs(check));

const specPercents = (svc: KObject): Record<string, number> =>
  Object.fromEntries(
    (svc.spec.traffic as { revisionName?: string; percent?: number }[])
      .filter((t) => t.percent)
      .map((t) => [t.revisionName, t.percent]),
  );

describe('a cancelled run', () => {
  it('is caught from its first moments: the entry installs the handlers, then loads the action', () => {
    // dist/index.js is the entry alone (src/index.ts, and src/cancellation.ts in a chunk of its own); the
    // action's 1.8 MB are parsed and run only after the handlers are in place.
    const entry = readFileSync(DIST, 'utf8');
    expect(entry.length).toBeLessThan(2048);
    const handlers = entry.indexOf('process.on(');
    const load = entry.search(/await import\("\.\/main-[\w]+\.js"\)/);
    expect(handlers).toBeGreaterThan(0);
    expect(load).toBeGreaterThan(handlers);
  });

  it('puts traffic back while the Service cannot be read, building on it as last seen, and retries its write', async () => {
    f = await fixture();
    const r = await f.run(
      { ...v2, steps: '10,50', interval: '1h' },
      {
        cancelOn: 'Holding',
        // From the signal on, every read of the Service fails and the first two writes are cut off.
        onCancel: () =>
          f!.h.emulator.faults.set({
            api: [
              { method: 'GET', path: '/services/hello', action: 'status', status: 500 },
              { method: 'PATCH', path: '/services/hello', action: 'cut', times: 2 },
            ],
          }),
      },
    );
    expect(r.signal).toBeNull();
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(warningLines(r.stdout).join('\n')).toMatch(
      /Cancelled: SIGINT from the runner at .*; the run has until/,
    );
    expect(r.stdout).toContain('The Service could not be read again: acting on it as this run last saw it.');
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /Stopped \(the run was cancelled \(SIGINT\)\): traffic is back on hello-00001 100%, confirmed by the route .* after the signal/,
    );
    // The cancel's writes: two cut off, the third landed.
    expect(f.h.emulator.faults.hits[1]).toBe(2);
    f.h.emulator.faults.reset();
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    expect((await f.state())?.phase).toBe('rolled-back');
  }, 30_000);

  it('after its promotion landed reports promoted, not the split the route had not caught up with', async () => {
    f = await fixture();
    // The promotion's write takes 1.5 s; the cancel arrives while it is on its way.
    void whenState(f, (s) => s.percent === 10).then(() =>
      f!.h.emulator.faults.set({
        api: [{ method: 'PATCH', path: '/services/hello', action: 'delay', delayMs: 1500, times: 1 }],
      }),
    );
    const r = await f.run({ ...v2, steps: '10', interval: '1s' }, { cancelOn: 'Promote hello-v2 to 100%' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    expect(r.outputs['stable-revision']).toBe('hello-v2');
    expect(r.stdout).toMatch(/Cancelled after the promotion was written: hello-v2 has 100% of traffic/);
    expect(r.stdout).not.toMatch(/Traffic is on hello-00001 \d+%, hello-v2/);
    expect(specPercents(await f.svc())).toEqual({ 'hello-v2': 100 });
    expect((await f.state())?.phase).toBe('promoted');
  }, 30_000);

  it('with an API too slow to take its rollback says so before the runner kills it', async () => {
    f = await fixture();
    const r = await f.run(
      { ...v2, steps: '10,50', interval: '1h' },
      {
        cancelOn: 'Holding',
        onCancel: () =>
          f!.h.emulator.faults.set({ api: [{ method: 'PATCH', action: 'delay', delayMs: 30_000 }] }),
      },
    );
    // It ended by itself, after the runner's SIGTERM (7.5 s after the SIGINT) and before its SIGKILL (10 s).
    expect(r.signal).toBeNull();
    expect(r.cancelToExitMs).toBeGreaterThan(7_500);
    expect(r.cancelToExitMs).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /Stopped \(the run was cancelled \(SIGINT\)\), and the rollback could not be written: patching Service default\/hello: .*\(a write that got no answer may still land\)\. Traffic is still hello-00001 90%, hello-v2 10%: run the action with command: rollback/,
    );
    // The log's closing table and the job summary are there.
    expect(r.stdout).toMatch(/Status: +failed/);
    expect(r.summary).toContain('hello-v2');
  }, 30_000);

  it('of a scheduled advance leaves the rollout at its step, for the next advance', async () => {
    f = await fixture();
    const scheduled = { ...v2, progression: 'scheduled', steps: '10,50', interval: '1m', warmup: '0s' };
    const d = await f.run(scheduled);
    expect(d.code, d.stdout).toBe(0);
    const r = await f.run(
      { command: 'advance', 'min-interval': '1h', warmup: '0s' },
      { cancelOn: 'Check hello-v2 at 10%' },
    );
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('progressing');
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /Cancelled: traffic is left as it is, on hello-00001 90%, hello-v2 10%: the rollout is scheduled: it stays at 10%, and the next advance run checks it/,
    );
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });
    expect((await f.state())?.phase).toBe('stepping');
  }, 30_000);

  it('before it wrote anything writes nothing, and says so', async () => {
    f = await fixture();
    // An earlier rollout, promoted: its state stays on the Service, and is not this run's to report.
    expect((await f.run({ ...v2, steps: '100' })).code).toBe(0);
    f.h.emulator.api.requests.length = 0;
    // The deploy's reads of revisions are slow; the cancel comes while they are on their way.
    f.h.emulator.faults.set({
      api: [{ method: 'GET', path: '/revisions/', action: 'delay', delayMs: 1000 }],
    });
    const r = await f.run(
      { image: 'ghcr.io/example/hello:v3', 'revision-name': 'hello-v3' },
      { cancelOn: 'Command: deploy' },
    );
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('unchanged');
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /Cancelled: traffic is left as it is, on hello-v2 100%: this run had written nothing yet/,
    );
    expect(f.writes()).toEqual([]);
  }, 30_000);

  it("during the deploy's template write rolls the template back once it lands", async () => {
    f = await fixture();
    f.h.emulator.faults.set({
      api: [{ method: 'PATCH', path: '/services/hello', action: 'delay', delayMs: 1000, times: 1 }],
    });
    const before = await f.svc();
    const r = await f.run({ ...v2 }, { cancelOn: 'Deploy hello-v2 at 0%' });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /traffic is back on hello-00001 100%, confirmed by the route/,
    );
    const svc = await f.svc();
    expect(svc.spec.template.spec).toEqual(before.spec.template.spec);
    expect(specPercents(svc)).toEqual({ 'hello-00001': 100 });
  }, 30_000);
});

describe('a wait for the cluster', () => {
  it('stops at once, writing nothing, when a racing run rolls the rollout back', async () => {
    f = await fixture();
    const scheduled = { ...v2, progression: 'scheduled', steps: '10,50', interval: '1m', warmup: '0s' };
    expect((await f.run(scheduled)).code).toBe(0);
    // The advance's 50% step is written, but the gateway is slow to program it: its wait would last.
    f.h.emulator.faults.set({ ingressDelayMs: 60_000 });
    const stepped = whenState(f, (s) => s.percent === 50);
    const advance = f.run(
      { command: 'advance', 'min-interval': '1s', warmup: '0s', timeout: '60s' },
      { env: { KNATIVE_CANARY_NOW: new Date(Date.now() + 120_000).toISOString() } },
    );
    await stepped;
    const other = await f.run({ command: 'rollback', timeout: '2s' });
    const writesBefore = f.landed().length;
    const began = Date.now();
    const r = await advance;
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(r.code, r.stdout).toBe(1);
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /Stopped: another run changed this rollout while this run waited for the cluster \(it is now rolled-back of hello-v2 at 0%\), so this run stops without writing over it/,
    );
    expect(f.landed().length).toBe(writesBefore);
    // Its outputs say where the other run left the rollout.
    expect(r.outputs).toMatchObject({ status: 'rolled-back', revision: 'hello-v2', percent: '0' });
    expect(other.stdout).toContain('Roll back to hello-00001 100%');
    expect(specPercents(await f.svc())).toEqual({ 'hello-00001': 100 });
  }, 60_000);
});

describe('a write whose answer is lost', () => {
  it('is found in place on the retry, and the rollout goes on', async () => {
    f = await fixture();
    // The 50% step's write lands, but its answer never arrives: the retry carries the old resourceVersion (409),
    // and the fresh read shows the run's own write.
    void whenState(f, (s) => s.percent === 10).then(() =>
      f!.h.emulator.faults.set({
        api: [{ method: 'PATCH', path: '/services/hello', action: 'lose-answer', times: 1 }],
      }),
    );
    const r = await f.run({ ...v2, steps: '10,50', interval: '1s' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    expect(f.h.emulator.faults.hits[0]).toBe(1);
    expect(r.stdout).not.toContain('another run changed this rollout');
    const steps = (await f.state())!.history.filter((h) => h.action === 'step').map((h) => h.detail);
    expect(steps).toEqual(['10%', '50%']);
  }, 30_000);
});

describe('a revision name already taken', () => {
  it('is answered in seconds when Knative refuses it after the write, and the Service is left as found', async () => {
    f = await fixture();
    for (const v of ['v2', 'v3']) {
      const r = await f.run({
        image: `ghcr.io/example/hello:${v}`,
        'revision-name': `hello-${v}`,
        steps: '100',
      });
      expect(r.code, r.stdout).toBe(0);
    }
    const before = await f.svc();
    // The action's own check reads the name as free (a stale read); Knative then refuses the template.
    f.h.emulator.faults.set({
      api: [{ method: 'GET', path: '/revisions/hello-v2', action: 'status', status: 404, times: 1 }],
    });
    const r = await f.run({ image: 'ghcr.io/example/hello:v4', 'revision-name': 'hello-v2', steps: '100' });
    expect(r.code, r.stdout).toBe(1);
    expect(r.durationMs).toBeLessThan(5_000);
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /revision hello-v2 cannot be created: the name is taken by a revision with another spec \(RevisionNameTaken\)\. Give a new 'revision-name', or push a new commit \(the default, <service>-<sha7>, changes with every commit\)\. No user traffic reached it; traffic stays on hello-v3 100%, and the Service's template is back to hello-v3's\./,
    );
    const after = await f.svc();
    expect(after.spec.template).toEqual(before.spec.template);
    expect(after.spec.traffic).toEqual(before.spec.traffic);
    expect((await f.h.get('revisions', 'hello-v2')).spec.containers[0].image).toBe(
      'ghcr.io/example/hello:v2',
    );
  }, 60_000);
});
