// End to end: a candidate that fails the way a bad release does on a real cluster, after it was Ready. The
// emulator holds to Knative's rule (pkg/reconciler/route/traffic/traffic.go): a block that resolves any target to a
// revision that is not Ready is refused whole, and a latestRevision target follows the latest ready revision, which
// stays on a crashed candidate (pkg/reconciler/configuration/configuration.go). test/emulator/failures.test.ts shows
// the old rollback block, [stable 100% pinned, candidate tag latestRevision: true], refused there.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { condition } from '../emulator/helpers.ts';
import type { KObject } from '../emulator/util.ts';
import { fixture, type Fixture } from './fixture.ts';
import { errorLines } from './runner.ts';

let f: Fixture | undefined;
let hook: Server | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
  await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
  hook = undefined;
});

const V2 = { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '10,50' };
/** A release that is Ready and passes its smoke test, then crashes after `n` requests: a long dwell, a long timeout. */
const crashesAfter = (n: number) => ({
  ...V2,
  env: `EMULATOR_CRASH_AFTER_REQUESTS=${n}`,
  interval: '30s',
  timeout: '60s',
});

/** After a rollback: 100% on the stable revision, nothing names the candidate, the stable template is back. */
async function expectCleanRollback(fx: Fixture, userEntries: KObject[] = []): Promise<KObject> {
  expect(await fx.percents()).toEqual({ 'hello-00001': 100 });
  const svc = await fx.svc();
  const spec = svc.spec.traffic as KObject[];
  expect(spec.filter((t) => t.revisionName === 'hello-v2' || t.tag === 'latest')).toEqual([]);
  expect(spec).toEqual([
    { tag: 'stable', revisionName: 'hello-00001', latestRevision: false, percent: 100 },
    ...userEntries,
  ]);
  expect(svc.spec.template.metadata.name).toBe('hello-00001');
  expect(svc.status.latestReadyRevisionName).toBe('hello-00001');
  expect(condition(svc, 'RoutesReady')?.status).toBe('True');
  return svc;
}

describe('a candidate that fails after it was Ready', () => {
  it('crashes under load at 10% and is rolled back to 100% on the stable revision', async () => {
    f = await fixture();
    const began = Date.now();
    // It crashes after 40 requests of its 10% step.
    const r = await f.run(crashesAfter(40));
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(f.maxPercent.get('hello-v2')).toBe(10);
    // Well inside the step's dwell and the timeout: the crash is seen, and the rollback is routed at once.
    expect(Date.now() - began).toBeLessThan(25_000);
    await expectCleanRollback(f);
    const rev = await f.h.get('revisions', 'hello-v2');
    expect(condition(rev, 'ContainerHealthy')).toMatchObject({ status: 'False', reason: 'ExitCode1' });
    expect(errorLines(r.stdout).join('\n')).toMatch(/Rolled back hello-v2: 10% step failed/);
    expect(r.stdout).toMatch(/Traffic: hello-00001 100%, confirmed by the route/);
  });

  it('crash-loops (Ready flapping as the kubelet restarts it) and is rolled back all the same', async () => {
    f = await fixture({ emulator: { restartBackoffMs: 150 } });
    const r = await f.run(crashesAfter(15));
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    await expectCleanRollback(f);
    // It did flap: restarted after each crash, Ready again.
    await f.h.waitFor(
      () => f!.h.get('revisions', 'hello-v2'),
      (rev) => condition(rev, 'Ready')?.status === 'True',
    );
  });

  it("keeps a user's latestRevision entry, which then follows the stable revision, without blocking the rollback", async () => {
    const preview = { tag: 'preview', latestRevision: true, percent: 0 };
    f = await fixture({ traffic: [{ latestRevision: true, percent: 100 }, preview] });
    const r = await f.run(crashesAfter(40));
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    const svc = await expectCleanRollback(f, [preview]);
    expect(svc.status.traffic.find((t: KObject) => t.tag === 'preview')).toMatchObject({
      revisionName: 'hello-00001',
      percent: 0,
    });
  });

  it('a step Knative refuses (the candidate crashed before it) is answered in seconds, not by the timeout', async () => {
    f = await fixture();
    const fx = f;
    // The pre-rollout gate, between the smoke test and the first step, is where the candidate dies.
    hook = createServer((req, res) => {
      req.resume();
      req.on('end', async () => {
        fx.h.emulator.backends.kill('default', 'hello-v2', 137, 'OOMKilled');
        await fx.h.waitFor(
          () => fx.h.get('revisions', 'hello-v2'),
          (rev) => condition(rev, 'Ready')?.status === 'False',
        );
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    const began = Date.now();
    const r = await f.run({
      ...V2,
      webhooks: JSON.stringify([{ name: 'gate', type: 'pre-rollout', url }]),
      timeout: '60s',
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(Date.now() - began).toBeLessThan(15_000);
    // The refused step never reached users, and the log says where traffic is.
    expect(f.maxPercent.get('hello-v2') ?? 0).toBe(0);
    expect(r.stdout).toContain(
      '✘ Knative refused the traffic block (RevisionMissing: Revision "hello-v2" failed to become ready.); traffic stays on hello-00001 100%',
    );
    expect(errorLines(r.stdout)).toHaveLength(1);
    expect(errorLines(r.stdout).join('\n')).toMatch(/Rolled back hello-v2: Knative refused the 10% step/);
    // The summary draws users' traffic: a block refused was never served, so there is no chart of it.
    expect(r.summary).not.toContain('mermaid');
    await expectCleanRollback(f);
  });
});

describe('a Route Knative refuses', () => {
  // The cluster's own tag-template, which the action cannot read, makes the tag hosts longer than the action's
  // up-front check (`<tag>-<service>`) assumes: pkg/reconciler/route/domains/domains.go fails the Route with
  // ErrorConfig. The deploy is answered at once, and the rollback, refused too while it keeps the stable tag, is
  // followed by the safest block: the stable revision alone, untagged.
  it('for a host label over 63 characters is answered in seconds, and traffic ends on the stable revision', async () => {
    const name = 'checkout-service-with-a-name-that-is-fifty-chars-x';
    expect(name).toHaveLength(50);
    f = await fixture({ name, emulator: { tagTemplate: '{{.Tag}}-{{.Name}}-preview' } });
    const began = Date.now();
    const r = await f.run({
      image: 'ghcr.io/example/hello:v2',
      'revision-name': `${name}-v2`,
      timeout: '60s',
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(Date.now() - began).toBeLessThan(15_000);
    const errors = errorLines(r.stdout).join('\n');
    expect(errors).toContain(
      'Knative refused the traffic block (ErrorConfig: domain name error: invalid domain name',
    );
    expect(errors).toContain('must be no more than 63 characters');
    // status.traffic is cleared while the bad tag is refused; the gateway still serves the split before it.
    expect(errors).toContain(`traffic stays on ${name}-00001 100%`);
    expect(f.maxPercent.get(`${name}-v2`) ?? 0).toBe(0);
    const svc = await f.svc();
    expect(svc.spec.traffic).toEqual([
      { revisionName: `${name}-00001`, latestRevision: false, percent: 100 },
    ]);
    expect(condition(svc, 'RoutesReady')?.status).toBe('True');
    expect(await f.percents()).toEqual({ [`${name}-00001`]: 100 });
  });
});
