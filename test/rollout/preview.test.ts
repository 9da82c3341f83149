// A preview's `pr-<number>` tag ends with the preview: promoted, replaced by a new deploy or preview, rolled back,
// or its pull request closed. Other runs' and users' entries are never touched. Pure: plans and blocks only.

import { describe, expect, it } from 'vitest';
import { PlanError } from '../../src/errors.ts';
import { parseSteps } from '../../src/inputs.ts';
import type { Service, TrafficTarget } from '../../src/knative/types.ts';
import { patchFor, planDeploy, type PlanInputs } from '../../src/rollout/deploy.ts';
import {
  afterPreviewSmoke,
  planRollback,
  promoteTo,
  resumeRollout,
  rollback,
} from '../../src/rollout/planner.ts';
import { planClose, untagVerdict } from '../../src/rollout/preview.ts';
import { encodeState, isPreview, STATE_ANNOTATION, type RolloutState } from '../../src/rollout/state.ts';
import { buildTraffic } from '../../src/rollout/traffic.ts';

const now = new Date('2026-11-28T12:00:00Z');

/** Entries of the user's own: a pinned tag, one following the latest revision, and the `latest` a main deploy left. */
const user: TrafficTarget[] = [
  { tag: 'v1', revisionName: 'hello-v1', latestRevision: false, percent: 0 },
  { tag: 'preview', latestRevision: true, percent: 0 },
];

function svc(traffic: TrafficTarget[], state?: RolloutState, resolved = 'hello-v1'): Service {
  return {
    metadata: {
      name: 'hello',
      resourceVersion: '42',
      generation: 3,
      annotations: {
        'example.com/owner': 'team-a',
        ...(state ? { [STATE_ANNOTATION]: encodeState(state) } : {}),
      },
    },
    spec: {
      template: { metadata: { name: 'hello-v1' }, spec: { containers: [{ image: 'app:v1' }] } },
      traffic,
    },
    status: { traffic: [{ revisionName: resolved, percent: 100, latestRevision: false }] },
  };
}

const inputs = (over: Partial<PlanInputs> = {}): PlanInputs => ({
  service: 'hello',
  revisionName: 'hello-a1b2c3d',
  tag: 'pr-7',
  stableTag: 'stable',
  steps: parseSteps('10,50,100', 60_000),
  acceptSplit: false,
  progression: 'inline',
  image: 'app:a1b2c3d',
  env: [],
  ...over,
});

const pass = { pass: true as const, detail: '1 passed' };

/** A preview of #pr parked at 0% under pr-<pr>, and the Service as its deploy left it. */
function parked(pr = 7, sha = 'a1b2c3d'): { state: RolloutState; service: Service } {
  const plan = planDeploy(
    { service: svc([{ latestRevision: true, percent: 100 }, ...user]), now, pr, sha },
    inputs({ tag: `pr-${pr}`, revisionName: `hello-${sha}`, image: `app:${sha}` }),
  );
  if (plan.kind !== 'start') throw new Error('expected start');
  const next = afterPreviewSmoke(plan.state, pass, '@Codertocat', now);
  const traffic = patchFor(svc(plan.patch.spec.traffic), next.state).spec.traffic;
  return { state: next.state, service: svc(traffic, next.state) };
}

const tags = (traffic: TrafficTarget[]) => traffic.map((t) => t.tag);

describe('a preview', () => {
  it('is deployed under pr-<number>, pinned once parked, next to the entries of the user', () => {
    const { state, service } = parked();
    expect(isPreview(state)).toBe(true);
    expect(service.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'pr-7', revisionName: 'hello-a1b2c3d', latestRevision: false, percent: 0 },
      ...user,
    ]);
  });

  it('promoted: pr-<number> goes, instead of following the latest revision; user tags stay', () => {
    const { state, service } = parked();
    const next = promoteTo(state, 'hello', 100, 60_000, '@Codertocat', now);
    expect(next.kind).toBe('promote');
    expect(patchFor(service, next.state).spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-a1b2c3d', latestRevision: false, percent: 100 },
      ...user,
    ]);
  });

  it('promoted after its steps (resumed) loses its tag the same way', () => {
    const { state, service } = parked();
    const resumed = resumeRollout(state, 'hello', '@Codertocat', now);
    const at50 = patchFor(service, { ...resumed, step: 1, percent: 50 }).spec.traffic;
    expect(tags(at50)).toContain('pr-7');
    const promoted: RolloutState = { ...resumed, phase: 'promoted', percent: 100 };
    expect(tags(patchFor(svc(at50, resumed), promoted).spec.traffic)).toEqual(['stable', 'v1', 'preview']);
  });

  it('a rollout that is not a preview keeps its tag following the latest revision once promoted', () => {
    const main = planDeploy(
      { service: svc([{ latestRevision: true, percent: 100 }]), now },
      inputs({ tag: 'latest', revisionName: 'hello-v2', image: 'app:v2' }),
    );
    if (main.kind !== 'start') throw new Error('expected start');
    expect(isPreview(main.state)).toBe(false);
    const promoted: RolloutState = { ...main.state, phase: 'promoted', percent: 100 };
    expect(patchFor(svc(main.patch.spec.traffic), promoted).spec.traffic).toContainEqual({
      tag: 'latest',
      latestRevision: true,
      percent: 0,
    });
  });

  it('replaced by a deploy from main: pr-<number> goes with the preview, user tags stay', () => {
    const { state, service } = parked();
    const next = planDeploy(
      { service, state, now },
      inputs({ tag: 'latest', revisionName: 'hello-v2', image: 'app:v2' }),
    );
    expect(next.kind).toBe('start');
    if (next.kind !== 'start') return;
    expect(next.superseded).toBe('hello-a1b2c3d');
    expect(next.patch.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
      ...user,
    ]);
  });

  it("replaced by another pull request's preview: the old tag goes, the new one is written", () => {
    const { state, service } = parked();
    const next = planDeploy(
      { service, state, now, pr: 8, sha: 'b2c3d4e' },
      inputs({ tag: 'pr-8', revisionName: 'hello-b2c3d4e', image: 'app:b2c3d4e' }),
    );
    if (next.kind !== 'start') throw new Error('expected start');
    expect(tags(next.patch.spec.traffic)).toEqual(['stable', 'pr-8', 'v1', 'preview']);
  });

  it("replaced by a newer head of the same pull request: its tag stays, now the new candidate's", () => {
    const { state, service } = parked();
    const next = planDeploy(
      { service, state, now, pr: 7, sha: 'c3d4e5f' },
      inputs({ revisionName: 'hello-c3d4e5f', image: 'app:c3d4e5f' }),
    );
    if (next.kind !== 'start') throw new Error('expected start');
    expect(next.patch.spec.traffic.filter((t) => t.tag === 'pr-7')).toEqual([
      { tag: 'pr-7', latestRevision: true, percent: 0 },
    ]);
  });

  it('replacing a rollout that is not a preview keeps a user entry that happens to be named like one', () => {
    const main = planDeploy(
      {
        service: svc([
          { latestRevision: true, percent: 100 },
          { tag: 'pr-3', latestRevision: true, percent: 0 },
        ]),
        now,
      },
      inputs({ tag: 'latest', revisionName: 'hello-v2', image: 'app:v2' }),
    );
    if (main.kind !== 'start') throw new Error('expected start');
    const next = planDeploy(
      { service: svc(main.patch.spec.traffic, main.state), state: main.state, now },
      inputs({ tag: 'latest', revisionName: 'hello-v3', image: 'app:v3' }),
    );
    if (next.kind !== 'start') throw new Error('expected start');
    expect(tags(next.patch.spec.traffic)).toEqual(['stable', 'latest', 'pr-3']);
  });

  it('rolled back (by a verdict, a command or a cancel): the candidate and pr-<number> are named nowhere', () => {
    const { state, service } = parked();
    const byVerdict = patchFor(service, rollback(state, 'smoke test failed', now).state).spec.traffic;
    const byCommand = planRollback(service, state, undefined, { tag: 'latest', stableTag: 'stable' }, now)
      .patch.spec.traffic;
    for (const traffic of [byVerdict, byCommand]) {
      expect(traffic).toEqual([
        { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
        ...user,
      ]);
    }
  });
});

describe('buildTraffic with retired tags', () => {
  const plan = {
    tag: 'latest',
    stableTag: 'stable',
    baseline: [{ revisionName: 'hello-v1', percent: 100 }],
    candidate: 'hello-v2',
    percent: 0,
  };
  const current: TrafficTarget[] = [
    { tag: 'pr-7', revisionName: 'hello-a1b2c3d', latestRevision: false, percent: 0 },
    ...user,
  ];

  it('drops the entries under them and nothing else', () => {
    expect(buildTraffic(current, { ...plan, retired: ['pr-7'] })).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
      ...user,
    ]);
    expect(tags(buildTraffic(current, plan))).toEqual(['stable', 'latest', 'pr-7', 'v1', 'preview']);
  });

  it("never drops the plan's own tag while the candidate uses it", () => {
    expect(tags(buildTraffic(current, { ...plan, percent: 10, retired: ['latest'] }))).toContain('latest');
  });
});

describe('planClose', () => {
  it('ends the preview still parked at 0%: rolled back, the decision saying the pull request was closed', () => {
    const { state, service } = parked();
    const plan = planClose(service, state, 7, '@Codertocat', now);
    expect(plan.kind).toBe('end');
    if (plan.kind !== 'end') return;
    expect(plan.next.state).toMatchObject({ phase: 'rolled-back', percent: 0, candidate: 'hello-a1b2c3d' });
    expect(plan.next.state.paused).toBeUndefined();
    expect(plan.next.state.history.at(-1)).toMatchObject({
      action: 'close',
      detail: 'pull request #7 was closed (@Codertocat): the preview ends, and tag pr-7 with it',
    });
    // Written as any rollback is: the stable revision alone, the user's entries as they were.
    expect(patchFor(service, plan.next.state).spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      ...user,
    ]);
  });

  it('leaves a rollout of the pull request that has traffic as it is, and says what to do', () => {
    const { state, service } = parked();
    const at10 = promoteTo(state, 'hello', 10, 60_000, '@Codertocat', now).state;
    expect(() => planClose(service, at10, 7, '@Codertocat', now)).toThrow(PlanError);
    expect(() => planClose(service, at10, 7, '@Codertocat', now)).toThrow(
      'pull request #7 is closed, but its rollout of hello-a1b2c3d on Service "hello" has 10% of traffic, so it is left as it is (tag pr-7 too): promote it or roll it back (command: rollback)',
    );
  });

  it('removes an entry left under pr-<number> alone: the rest of spec.traffic as read, no annotation', () => {
    const leftover = { tag: 'pr-7', latestRevision: true, percent: 0 };
    const traffic: TrafficTarget[] = [
      { tag: 'stable', revisionName: 'hello-v2', latestRevision: false, percent: 100 },
      leftover,
      ...user,
    ];
    const promoted: RolloutState = { ...parked().state, phase: 'promoted', percent: 100 };
    for (const state of [promoted, undefined]) {
      const plan = planClose(svc(traffic, state, 'hello-v2'), state, 7, '@Codertocat', now);
      expect(plan).toEqual({
        kind: 'untag',
        tag: 'pr-7',
        entry: leftover,
        patch: {
          metadata: { resourceVersion: '42' },
          spec: { traffic: [traffic[0], ...user] },
        },
      });
    }
  });

  it('does nothing when there is nothing of the pull request on the Service', () => {
    const { state, service } = parked(8, 'b2c3d4e');
    expect(planClose(service, state, 7, '@Codertocat', now)).toEqual({
      kind: 'nothing',
      tag: 'pr-7',
      reason: 'Service "hello" has no preview of #7 and no tag pr-7',
    });
    expect(planClose(svc(user), undefined, 7, '@Codertocat', now).kind).toBe('nothing');
  });

  it('never removes the tag of another rollout in progress, nor an entry that carries traffic', () => {
    const main = planDeploy(
      { service: svc([{ latestRevision: true, percent: 100 }]), now },
      inputs({ tag: 'pr-7', revisionName: 'hello-v2', image: 'app:v2' }),
    );
    if (main.kind !== 'start') throw new Error('expected start');
    expect(planClose(svc(main.patch.spec.traffic, main.state), main.state, 7, '@a', now)).toMatchObject({
      kind: 'nothing',
      reason:
        'tag pr-7 belongs to the rollout of hello-v2 in progress, not to a preview of #7: it is left alone',
    });
    const split: TrafficTarget[] = [
      { revisionName: 'hello-v1', latestRevision: false, percent: 70 },
      { tag: 'pr-7', revisionName: 'hello-v2', latestRevision: false, percent: 30 },
    ];
    expect(() => planClose(svc(split), undefined, 7, '@a', now)).toThrow(
      'tag pr-7 of Service "hello" carries 30% of traffic, so it is not removed: move that traffic to another entry, then remove the entry',
    );
  });
});

describe('untagVerdict', () => {
  const routed = (gen: number, traffic: TrafficTarget[], ready: 'True' | 'False' | 'Unknown'): Service => ({
    ...svc([]),
    status: {
      observedGeneration: gen,
      traffic,
      conditions: [{ type: 'RoutesReady', status: ready, reason: ready === 'False' ? 'Refused' : undefined }],
    },
  });
  const stable = { revisionName: 'hello-v1', percent: 100 };

  it('is served once the write is observed, the tag is gone and RoutesReady is True', () => {
    expect(untagVerdict(routed(3, [stable], 'True'), 4, 'pr-7').kind).toBe('pending');
    expect(
      untagVerdict(routed(4, [stable, { tag: 'pr-7', revisionName: 'x' }], 'True'), 4, 'pr-7').kind,
    ).toBe('pending');
    expect(untagVerdict(routed(4, [stable], 'Unknown'), 4, 'pr-7').kind).toBe('pending');
    expect(untagVerdict(routed(4, [stable], 'False'), 4, 'pr-7').kind).toBe('refused');
    expect(untagVerdict(routed(4, [stable], 'True'), 4, 'pr-7')).toEqual({ kind: 'served' });
  });
});

describe('a push deploy of the commit a preview parks', () => {
  it('starts its own rollout of it, and the preview tag goes', () => {
    const { state, service } = parked();
    const plan = planDeploy(
      { service, state, now },
      inputs({ tag: 'latest', revisionName: state.candidate, image: 'app:a1b2c3d' }),
    );
    expect(plan.kind).toBe('start');
    if (plan.kind !== 'start') return;
    expect(plan.state.tag).toBe('latest');
    expect(plan.state.paused).toBeUndefined();
    expect(tags(plan.patch.spec.traffic)).not.toContain('pr-7');
    expect(tags(plan.patch.spec.traffic)).toEqual(
      expect.arrayContaining(['stable', 'latest', 'v1', 'preview']),
    );
  });

  it('a preview deployed again of the same head is the parked preview, resumed as it is', () => {
    const { state, service } = parked();
    const plan = planDeploy(
      { service, state, now, pr: 7, sha: 'a1b2c3d' },
      inputs({ tag: 'pr-7', revisionName: state.candidate, image: 'app:a1b2c3d' }),
    );
    expect(plan).toEqual({ kind: 'resume', state });
  });
});
