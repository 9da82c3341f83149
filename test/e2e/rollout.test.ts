// End to end: dist/index.js as the runner runs it, against the Knative emulator.

import { afterEach, describe, expect, it } from 'vitest';
import { fixture, writeManifest, type Fixture } from './fixture.ts';
import { errorLines } from './runner.ts';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe('deploy', () => {
  it('rolls a healthy revision out to 100% through every step, and moves the stable tag to it', async () => {
    f = await fixture();
    const r = await f.run({ image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '10,50' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    expect(r.outputs.revision).toBe('hello-v2');
    expect(r.outputs['stable-revision']).toBe('hello-v2');
    expect(r.outputs.percent).toBe('100');
    expect(r.outputs.url).toBe('http://hello.default.example.com');
    expect(r.outputs['tag-url']).toBe('http://latest-hello.default.example.com');
    expect(JSON.parse(r.outputs.traffic!)).toContainEqual(
      expect.objectContaining({ revisionName: 'hello-v2', percent: 100, tag: 'stable' }),
    );
    expect(await f.percents()).toEqual({ 'hello-v2': 100 });
    // Every step was routed before its hold, and probes reached both tag URLs.
    expect(r.stdout).toMatch(/Traffic: hello-00001 90%, hello-v2 10%/);
    expect(r.stdout).toMatch(/Traffic: hello-00001 50%, hello-v2 50%/);
    expect(r.stdout).toMatch(
      /✔ 10% healthy after [\d.]+m?s: (held the whole dwell|passed early, conclusively no worse); e-value [\d.]+ < 100 .*\n {2}probes: candidate \d+ req, 0 err.*stable \d+ req/,
    );
    const state = await f.state();
    expect(state?.phase).toBe('promoted');
    expect(state?.history.map((d) => d.action)).toEqual([
      'deploy',
      'smoke',
      'step',
      'hold',
      'step',
      'hold',
      'promote',
    ]);
    expect(r.summary).toContain('## 🚀 Promoted: `default/hello`');
    expect(r.summary).toContain('xychart-beta');
    expect(r.summary).toMatch(/\| step 1 \| 10% \|/);
    // Only merge patches were written, and the template went out in the first of them. A 409 (the controllers
    // write status twice per change, as Knative's do) is re-read and retried, so only writes that landed count.
    expect(f.writes().every((w) => w.method === 'PATCH')).toBe(true);
    expect(f.landed()).toHaveLength(4);
  });

  it('rolls back at the first step when the candidate answers with errors, without reaching the next', async () => {
    f = await fixture();
    const r = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      env: 'EMULATOR_ERROR_RATE=0.5',
      'smoke-tests': '- path: /\n  retries: 20',
      interval: '20s',
    });
    expect(r.code).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(r.outputs['stable-revision']).toBe('hello-00001');
    expect(r.outputs.percent).toBe('0');
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    expect(f.maxPercent.get('hello-v2')).toBe(10);
    const [error] = errorLines(r.stdout).filter((l) => l.includes('Rolled back'));
    expect(error).toMatch(
      /Rolled back hello-v2: 10% step failed: (error rate over max-error-rate 1\.0%( this step)?|errors): candidate \d+\/\d+/,
    );
    expect(error).toContain('Traffic is back on hello-00001 100%');
    // It decided long before the 20 s dwell was over.
    expect(r.durationMs).toBeLessThan(15_000);
    expect((await f.state())?.phase).toBe('rolled-back');
  });

  it('rolls back a candidate whose p99 latency is over the limit', async () => {
    f = await fixture();
    const r = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      env: 'EMULATOR_LATENCY_MS=150',
      'max-latency-p99': '100',
      'probe-rps': '20',
    });
    expect(r.code).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    // The verdict says what happened; the log's next line has the probes' numbers.
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /step failed: p99 over max-latency-p99 100 ms( this step)?: \d+\/\d+ \([\d.]+%\) of the candidate's requests slower than it/,
    );
    expect(r.stdout).toMatch(
      /\n {2}probes: candidate \d+ req, 0 err \(0\.0%\), p50 \d{3,} ms, p99 \d{3,} ms/,
    );
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  });

  it('gives up on a revision that never becomes ready, with traffic untouched', async () => {
    f = await fixture();
    const r = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      env: 'EMULATOR_NEVER_READY=1',
      timeout: '1500ms',
    });
    expect(r.code).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(errorLines(r.stdout).join('\n')).toMatch(/revision hello-v2 did not become Ready within 1.5s/);
    expect(r.stdout).toContain('No user traffic reached it; traffic stays on hello-00001 100%');
    expect(f.maxPercent.get('hello-v2') ?? 0).toBe(0);
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  });

  it('stops at once on a revision that fails (its container exits)', async () => {
    f = await fixture();
    const r = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      env: 'EMULATOR_CRASH_ON_START=1',
      timeout: '1m',
    });
    expect(r.code).toBe(1);
    expect(errorLines(r.stdout).join('\n')).toMatch(/revision hello-v2 failed: .*Revision "hello-v2" failed/);
    expect(r.durationMs).toBeLessThan(20_000);
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  });

  it('rolls back a candidate that fails its smoke test before any user traffic reaches it', async () => {
    f = await fixture();
    const r = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      'smoke-tests': '- path: /\n  body-pattern: "^welcome"\n  retries: 1',
    });
    expect(r.code).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /Stopped hello-v2 before it had any traffic: smoke test failed: GET \/: status 200 but the body does not match \/\^welcome\//,
    );
    // Not "rolled back": it never had traffic; and no chart of a 0% line.
    expect(r.summary).toContain('## ✋ Stopped before any traffic: `default/hello`');
    expect(r.summary).not.toContain('mermaid');
    expect(f.maxPercent.get('hello-v2') ?? 0).toBe(0);
    expect((await f.state())?.history.map((d) => d.action)).toEqual(['deploy', 'smoke', 'rollback']);
  });

  it('keeps the traffic entries and tags the user added', async () => {
    f = await fixture({
      revisionName: 'hello-v1',
      traffic: [
        { latestRevision: true, percent: 100 },
        { tag: 'v1', revisionName: 'hello-v1', percent: 0 },
        { tag: 'preview', latestRevision: true, percent: 0 },
      ],
    });
    const r = await f.run({ image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '50' });
    expect(r.code, r.stdout).toBe(0);
    const svc = await f.svc();
    expect(svc.spec.traffic).toContainEqual({
      tag: 'v1',
      revisionName: 'hello-v1',
      percent: 0,
      latestRevision: false,
    });
    expect(svc.spec.traffic).toContainEqual({ tag: 'preview', latestRevision: true, percent: 0 });
    const tags = (svc.status.traffic as { tag?: string; revisionName: string }[]).map(
      (t) => `${t.tag}=${t.revisionName}`,
    );
    expect(tags).toEqual(
      expect.arrayContaining(['v1=hello-v1', 'preview=hello-v2', 'stable=hello-v2', 'latest=hello-v2']),
    );
  });

  it('does nothing when the stable revision already runs the image', async () => {
    f = await fixture();
    const r = await f.run({ image: 'ghcr.io/example/hello:v1' });
    expect(r.code).toBe(0);
    expect(r.outputs.status).toBe('unchanged');
    expect(r.stdout).toContain(
      'Nothing to deploy: the stable revision hello-00001 already runs this image and spec.',
    );
    expect(f.writes()).toEqual([]);
  });

  it('re-running a deploy after a rollback reuses the revision instead of creating another', async () => {
    f = await fixture();
    const inputs = {
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      'smoke-tests': '- path: /nope\n  retries: 0\n  status: 404',
    };
    const first = await f.run(inputs);
    expect(first.code).toBe(1);
    const second = await f.run(inputs);
    expect(second.code).toBe(1);
    expect(await f.revisions()).toEqual(['hello-00001', 'hello-v2']);
    const state = await f.state();
    expect(state?.phase).toBe('rolled-back');
    expect(state?.history.filter((d) => d.action === 'deploy')).toHaveLength(1);
  });

  it('writes nothing in a dry run, and prints the patch it would send', async () => {
    f = await fixture();
    const r = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      'dry-run': 'true',
    });
    expect(r.code).toBe(0);
    expect(r.outputs.status).toBe('planned');
    expect(r.stdout).toContain('image: ghcr.io/example/hello:v2');
    expect(r.stdout).toMatch(/revisionName: hello-00001\n\s+latestRevision: false\n\s+percent: 100/);
    expect(f.writes()).toEqual([]);
  });

  it('deploys the template from a manifest, ignoring its traffic', async () => {
    f = await fixture();
    const path = writeManifest(
      f.dir,
      'svc.yaml',
      `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello}
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/example/hello:v3
          env: [{name: GREETING, value: hi}]
  traffic: [{latestRevision: true, percent: 100}]
`,
    );
    const r = await f.run({ manifest: path, 'revision-name': 'hello-v3', steps: '100' });
    expect(r.code, r.stdout).toBe(0);
    const rev = await f.h.get('revisions', 'hello-v3');
    expect(rev.spec.containers[0].image).toBe('ghcr.io/example/hello:v3');
    expect(rev.spec.containers[0].env).toEqual([{ name: 'GREETING', value: 'hi' }]);
  });
});

describe('promote, rollback and cancellation', () => {
  it('promote sends the candidate of a rollout left at a step to 100%', async () => {
    f = await fixture();
    // A run that dies mid-rollout (the runner machine lost): the state stays on the Service at 10%.
    const dead = await f.run(
      { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', interval: '1h' },
      { cancelOn: 'Holding', kill: true },
    );
    expect(dead.signal).toBe('SIGKILL');
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });
    const r = await f.run({ command: 'promote' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    expect(await f.percents()).toEqual({ 'hello-v2': 100 });
    expect((await f.state())?.phase).toBe('promoted');
  });

  it('a cancelled run puts traffic back on the stable revision before it exits', async () => {
    f = await fixture();
    const r = await f.run(
      { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', interval: '1h' },
      { cancelOn: 'Holding' },
    );
    expect(r.code).toBe(1);
    expect(r.durationMs).toBeLessThan(15_000);
    expect(errorLines(r.stdout).join('\n')).toMatch(
      /Stopped \(the run was cancelled \(SIGINT\)\): traffic is back on hello-00001 100%, confirmed by the route/,
    );
    expect(r.outputs.status).toBe('rolled-back');
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  });

  it('rollback puts an older revision back at 100%', async () => {
    f = await fixture({ revisionName: 'hello-v1' });
    for (const v of ['v2', 'v3']) {
      const r = await f.run({
        image: `ghcr.io/example/hello:${v}`,
        'revision-name': `hello-${v}`,
        steps: '100',
      });
      expect(r.code, r.stdout).toBe(0);
    }
    expect(await f.percents()).toEqual({ 'hello-v3': 100 });
    // Without revision-name, rollback undoes the last rollout: back to what v3 replaced.
    const undo = await f.run({ command: 'rollback' });
    expect(undo.code, undo.stdout).toBe(0);
    expect(await f.percents()).toEqual({ 'hello-v2': 100 });
    const r = await f.run({ command: 'rollback', 'revision-name': 'hello-v1' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('rolled-back');
    expect(r.outputs['stable-revision']).toBe('hello-v1');
    expect(await f.percents()).toEqual({ 'hello-v1': 100 });
    const svc = await f.svc();
    expect(svc.status.traffic).toContainEqual(
      expect.objectContaining({ tag: 'stable', revisionName: 'hello-v1' }),
    );
  });

  it('status reports the rollout without writing', async () => {
    f = await fixture();
    await f.run({ image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '100' });
    f.h.emulator.api.requests.length = 0;
    const r = await f.run({ command: 'status' });
    expect(r.code).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    expect(r.outputs['stable-revision']).toBe('hello-v2');
    expect(r.stdout).toContain('promote');
    expect(f.writes()).toEqual([]);
  });
});

describe('revision names', () => {
  it('refuses to reuse a revision name for a different image, before writing anything', async () => {
    f = await fixture();
    const first = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      steps: '100',
    });
    expect(first.code).toBe(0);
    f.h.emulator.api.requests.length = 0;
    const again = await f.run({ image: 'ghcr.io/example/hello:v3', 'revision-name': 'hello-v2' });
    expect(again.code).toBe(1);
    expect(errorLines(again.stdout)).toEqual([
      `::error::Input 'revision-name': "hello-v2" is already a revision with a different image or spec, and a revision never changes: give a new revision-name (the default, <service>-<sha7>, changes with every commit)`,
    ]);
    expect(f.writes()).toEqual([]);
  });

  it('the same after a rollback, when the template still carries the name', async () => {
    f = await fixture();
    const failed = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': 'hello-v2',
      'smoke-tests': '- path: /\n  status: 418\n  retries: 0',
    });
    expect(failed.outputs.status).toBe('rolled-back');
    f.h.emulator.api.requests.length = 0;
    const again = await f.run({ image: 'ghcr.io/example/hello:v3', 'revision-name': 'hello-v2' });
    expect(again.code).toBe(1);
    expect(errorLines(again.stdout).join('\n')).toMatch(
      /^::error::Input 'revision-name': "hello-v2" is already a revision/,
    );
    expect(f.writes()).toEqual([]);
  });
});
