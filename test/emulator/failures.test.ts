// Knative when things go wrong, each rule with the knative/serving (or knative/pkg) source it follows: a
// revision that crashes after it was Ready, a crash loop, the latest ready revision and the blocks Knative then
// refuses, the precedence between bad targets, and idleness.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionSet } from './conditions.ts';
import { condition, readyStatus, sendRequests, service, startHarness, type Harness } from './helpers.ts';
import type { KObject } from './util.ts';

const hostOf = (name: string, tag?: string) => `${tag ? `${tag}-` : ''}${name}.default.example.com`;
const template = (opts: { image?: string; env?: Record<string, string>; revisionName?: string } = {}) =>
  service('unused', opts).spec.template as KObject;

async function servedBy(h: Harness, host: string, n = 12): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await sendRequests(h.emulator.gatewayUrl, host, n, 4))
    out.set(r.revision || String(r.status), (out.get(r.revision || String(r.status)) ?? 0) + 1);
  return out;
}

describe('condition sets (knative/pkg apis/condition_set.go)', () => {
  const set = new ConditionSet('Ready', ['A', 'B']);
  const at = new Date('2026-12-01T00:00:00Z');

  it('MarkFalse copies the reason onto Ready at once; the one marked False last is what Ready says', () => {
    const m = set.manage([], at);
    m.initialize();
    m.markFalse('A', 'AFailed', 'a failed');
    expect(m.get('Ready')).toMatchObject({ status: 'False', reason: 'AFailed', message: 'a failed' });
    m.markFalse('B', 'BFailed', 'b failed');
    expect(m.get('Ready')).toMatchObject({ status: 'False', reason: 'BFailed' });
  });

  it('MarkUnknown while another dependent is False makes Ready False with the Unknown reason', () => {
    // Ready is not False yet (as read back before this reconcile): it is made False, with B's reason.
    const m = set.manage(
      [
        { type: 'A', status: 'False', reason: 'AFailed' },
        { type: 'Ready', status: 'True' },
      ],
      at,
    );
    m.markUnknown('B', 'Waiting', 'b waits');
    expect(m.get('Ready')).toMatchObject({ status: 'False', reason: 'Waiting', message: 'b waits' });
    // Once Ready is False, an Unknown leaves it as it is.
    m.markUnknown('B', 'StillWaiting', '');
    expect(m.get('Ready')).toMatchObject({ status: 'False', reason: 'Waiting' });
  });

  it('MarkTrue makes Ready True only when every dependent is True; a newer False wins over an Unknown', () => {
    const m = set.manage([], at);
    m.initialize();
    m.markTrue('A');
    expect(m.get('Ready')?.status).toBe('Unknown');
    m.markTrue('B');
    expect(m.get('Ready')?.status).toBe('True');
    m.markUnknown('A', 'Later', '');
    m.markFalse('B', 'Broken', '');
    m.markTrue('C');
    expect(m.get('Ready')).toMatchObject({ status: 'False', reason: 'Broken' });
    expect(m.get('C')).toMatchObject({ status: 'True', severity: 'Info' });
  });
});

describe('a revision that crashes after it was Ready', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ seed: 41, restartBackoffMs: 400 });
  });
  afterAll(() => h.close());

  // pkg/reconciler/revision/reconcile_resources.go reconcileDeployment: with no available replica, a container's
  // LastTerminationState marks ContainerHealthy False (ExitCode<N>, "Container failed with: ..."); the Deployment's
  // Progressing condition stays True, so ResourcesAvailable (PropagateDeploymentStatus) stays True. A ready replica
  // marks ContainerHealthy True again: the kubelet's restart makes Ready flap.
  it('is ContainerHealthy False with its exit code, keeps ResourcesAvailable, and flaps back when restarted', async () => {
    await h.create(service('c-flap', { env: { EMULATOR_CRASH_AFTER_REQUESTS: '3' } }));
    const s = await h.settled('c-flap');
    expect(readyStatus(s)).toBe('True');
    await sendRequests(h.emulator.gatewayUrl, hostOf('c-flap'), 5, 1);
    const crashed = await h.waitFor(
      () => h.get('revisions', 'c-flap-00001'),
      (r) => readyStatus(r) === 'False',
    );
    expect(condition(crashed, 'ContainerHealthy')).toMatchObject({
      status: 'False',
      reason: 'ExitCode1',
      message: 'Container failed with: EMULATOR_CRASH_AFTER_REQUESTS=3: crashed under load',
    });
    expect(condition(crashed, 'Ready')).toMatchObject({ status: 'False', reason: 'ExitCode1' });
    expect(condition(crashed, 'ResourcesAvailable')?.status).toBe('True');
    expect(condition(crashed, 'Active')).toMatchObject({ status: 'Unknown', reason: 'Queued' });

    // The configuration's latest created revision failed (configuration.go MarkLatestCreatedFailed), and its
    // latest ready revision stays on it: there is no other to search upward to.
    const svc = await h.waitForService('c-flap', (x) => readyStatus(x) === 'False');
    expect(condition(svc, 'ConfigurationsReady')).toMatchObject({
      status: 'False',
      reason: 'RevisionFailed',
    });
    expect(svc.status.latestReadyRevisionName).toBe('c-flap-00001');

    // Restarted after the back-off, it is Ready again.
    const back = await h.waitFor(
      () => h.get('revisions', 'c-flap-00001'),
      (r) => readyStatus(r) === 'True',
    );
    expect(condition(back, 'ContainerHealthy')?.status).toBe('True');
    const again = await h.waitForService('c-flap', (x) => readyStatus(x) === 'True');
    expect(condition(again, 'ConfigurationsReady')?.status).toBe('True');
  });

  // pkg/reconciler/configuration/configuration.go findAndSetLatestReadyRevision: the latest ready revision is only
  // ever searched upward from itself; pkg/reconciler/route/traffic/traffic.go addConfigurationTarget then refuses a
  // latestRevision target whose latest ready revision is not Ready, and addRevisionTarget a pinned one.
  it('refuses the old rollback block, [stable 100% pinned, tag latest latestRevision: true at 0%], whole', async () => {
    await h.create(service('c-roll'));
    await h.settled('c-roll');
    await h.mergePatch('c-roll', {
      spec: {
        template: template({ image: 'x/c-roll:2', env: { EMULATOR_CRASH_AFTER_REQUESTS: '2' } }),
        traffic: [
          { revisionName: 'c-roll-00001', percent: 90 },
          { tag: 'canary', revisionName: 'c-roll-00002', percent: 10 },
        ],
      },
    });
    const stepped = await h.waitForService(
      'c-roll',
      (x) => x.status?.observedGeneration === 2 && readyStatus(x) === 'True',
    );
    expect(stepped.status.latestReadyRevisionName).toBe('c-roll-00002');
    // It crashes under load.
    await sendRequests(h.emulator.gatewayUrl, hostOf('c-roll', 'canary'), 4, 1);
    await h.waitFor(
      () => h.get('revisions', 'c-roll-00002'),
      (r) => readyStatus(r) === 'False',
    );
    const routeBefore = h.emulator.gateway.route(hostOf('c-roll'));
    await h.mergePatch('c-roll', {
      spec: {
        traffic: [
          { revisionName: 'c-roll-00001', percent: 100 },
          { tag: 'canary', latestRevision: true, percent: 0 },
        ],
      },
    });
    const refused = await h.waitForService(
      'c-roll',
      (x) => x.status?.observedGeneration === 3 && condition(x, 'RoutesReady')?.status === 'False',
    );
    const failedTarget = {
      status: 'False',
      reason: 'RevisionMissing',
      message: 'Revision "c-roll-00002" failed to become ready.',
    };
    expect(condition(refused, 'RoutesReady')).toMatchObject(failedTarget);
    expect(refused.status.latestReadyRevisionName).toBe('c-roll-00002');
    // status.traffic and the gateway keep the 90/10 split.
    expect(refused.status.traffic.map((t: KObject) => [t.revisionName, t.percent])).toEqual([
      ['c-roll-00001', 90],
      ['c-roll-00002', 10],
    ]);
    expect(h.emulator.gateway.route(hostOf('c-roll'))).toEqual(routeBefore);
    const route = await h.get('routes', 'c-roll');
    expect(condition(route, 'AllTrafficAssigned')).toMatchObject(failedTarget);
    // A new generation was observed but no ingress programmed for it.
    expect(condition(route, 'IngressReady')).toMatchObject({
      status: 'Unknown',
      reason: 'IngressNotConfigured',
    });

    // The block that names no revision but the stable one is routed.
    await h.mergePatch('c-roll', { spec: { traffic: [{ revisionName: 'c-roll-00001', percent: 100 }] } });
    const routed = await h.waitForService(
      'c-roll',
      (x) => x.status?.observedGeneration === 4 && condition(x, 'RoutesReady')?.status === 'True',
    );
    expect(routed.status.traffic).toEqual([
      { revisionName: 'c-roll-00001', percent: 100, latestRevision: false },
    ]);
    expect(await servedBy(h, hostOf('c-roll'))).toEqual(new Map([['c-roll-00001', 12]]));
  });

  // configuration.go getSortedCreatedRevisions sorts the BYO-named revision first, and CheckNameAvailability
  // accepts an existing revision of this Configuration with the same spec: a template put back to the stable
  // revision's name and spec makes it the latest ready revision again, so latestRevision targets follow it.
  it('makes a restored stable template the latest ready revision, which latestRevision targets follow', async () => {
    await h.create(service('c-back', { revisionName: 'c-back-one' }));
    await h.settled('c-back');
    const one = await h.get('revisions', 'c-back-one');
    await h.mergePatch('c-back', {
      spec: {
        template: template({ image: 'x/c-back:2', revisionName: 'c-back-two' }),
        traffic: [
          { revisionName: 'c-back-one', percent: 100 },
          { tag: 'latest', latestRevision: true, percent: 0 },
        ],
      },
    });
    await h.waitForService('c-back', (x) => x.status?.latestReadyRevisionName === 'c-back-two');
    expect(h.emulator.backends.kill('default', 'c-back-two', 1, 'panic')).toBe(true);
    await h.waitFor(
      () => h.get('revisions', 'c-back-two'),
      (r) => readyStatus(r) === 'False',
    );
    await h.mergePatch('c-back', {
      spec: { template: { metadata: { name: 'c-back-one' }, spec: one.spec } },
    });
    const restored = await h.waitForService(
      'c-back',
      (x) => x.status?.observedGeneration === 3 && readyStatus(x) === 'True',
    );
    expect(restored.status.latestCreatedRevisionName).toBe('c-back-one');
    expect(restored.status.latestReadyRevisionName).toBe('c-back-one');
    expect(restored.status.traffic.find((t: KObject) => t.tag === 'latest')?.revisionName).toBe('c-back-one');
  });
});

describe('bad traffic targets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ seed: 42 });
  });
  afterAll(() => h.close());

  // pkg/reconciler/route/traffic/traffic.go deferTargetError: every target is looked at; a failure replaces any
  // earlier error, a not-ready target only fills an empty slot (errors.go IsFailure).
  it('keeps a failed target over a not-ready one wherever it stands, and the first of two not-ready ones', async () => {
    h.emulator.faults.set({ stuckRevisions: ['default/d-prec-00002', 'default/d-prec-00003'] });
    await h.create(service('d-prec'));
    await h.settled('d-prec');
    // One patch at a time: two in a row may be reconciled as one generation, as Knative's workqueue does.
    await h.mergePatch('d-prec', { spec: { template: template({ image: 'x/d-prec:2' }) } });
    await h.waitForService('d-prec', (x) => x.status?.latestCreatedRevisionName === 'd-prec-00002');
    await h.mergePatch('d-prec', { spec: { template: template({ image: 'x/d-prec:3' }) } });
    await h.waitForService('d-prec', (x) => x.status?.latestCreatedRevisionName === 'd-prec-00003');
    await h.mergePatch('d-prec', {
      spec: {
        traffic: [
          { revisionName: 'd-prec-00001', percent: 100 },
          { tag: 'a', revisionName: 'd-prec-00002', percent: 0 },
          { tag: 'b', revisionName: 'd-prec-00003', percent: 0 },
        ],
      },
    });
    const waiting = await h.waitForService(
      'd-prec',
      (x) => condition(x, 'RoutesReady')?.message?.includes('not yet ready') ?? false,
    );
    expect(condition(waiting, 'RoutesReady')).toMatchObject({
      status: 'Unknown',
      reason: 'RevisionMissing',
      message: 'Revision "d-prec-00002" is not yet ready.',
    });
    await h.mergePatch('d-prec', {
      spec: {
        traffic: [
          { revisionName: 'd-prec-00001', percent: 100 },
          { tag: 'a', revisionName: 'd-prec-00002', percent: 0 },
          { tag: 'gone', revisionName: 'd-prec-00009', percent: 0 },
        ],
      },
    });
    const failed = await h.waitForService('d-prec', (x) => condition(x, 'RoutesReady')?.status === 'False');
    expect(condition(failed, 'RoutesReady')).toMatchObject({
      status: 'False',
      reason: 'RevisionMissing',
      message: 'Revision "d-prec-00009" referenced in traffic not found.',
    });
    // Nothing of either block was routed.
    expect(failed.status.traffic).toEqual([
      { revisionName: 'd-prec-00001', percent: 100, latestRevision: true },
    ]);
    h.emulator.faults.set({ stuckRevisions: [] });
  });
});

describe('idle revisions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ seed: 43, idleAfterMs: 300 });
  });
  afterAll(() => h.close());

  // pkg/reconciler/autoscaling/kpa/kpa.go computeActiveCondition: scaled to zero after the stable window and grace
  // period, the PodAutoscaler is inactive (NoTraffic) and PropagateAutoscalerStatus marks the revision's Active
  // False; Active is not part of Ready (revision_lifecycle.go revisionCondSet), so the revision stays Ready.
  it('goes Active False (NoTraffic) when idle, stays Ready, and is Active again on a request', async () => {
    await h.create(service('i-idle'));
    await h.settled('i-idle');
    const idle = await h.waitFor(
      () => h.get('revisions', 'i-idle-00001'),
      (r) => condition(r, 'Active')?.status === 'False',
    );
    expect(condition(idle, 'Active')).toMatchObject({
      status: 'False',
      reason: 'NoTraffic',
      message: 'The target is not receiving traffic.',
      severity: 'Info',
    });
    expect(readyStatus(idle)).toBe('True');
    await sendRequests(h.emulator.gatewayUrl, hostOf('i-idle'), 1, 1);
    const active = await h.waitFor(
      () => h.get('revisions', 'i-idle-00001'),
      (r) => condition(r, 'Active')?.status === 'True',
    );
    expect(readyStatus(active)).toBe('True');
  });
});
