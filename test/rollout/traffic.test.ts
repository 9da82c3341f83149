import { describe, expect, it } from 'vitest';
import { apportion, buildTraffic, userEntries, wantedPercents } from '../../src/rollout/traffic.ts';
import type { TrafficTarget } from '../../src/knative/types.ts';
import { defaultService, validateService } from '../emulator/webhook.ts';
import { seededRandom } from '../emulator/util.ts';

/** Knative's own defaulting and validation (the emulator's webhook) as the oracle for a traffic block. */
function knativeAccepts(traffic: TrafficTarget[]): string | undefined {
  const svc = defaultService(
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace: 'default' },
      spec: {
        template: { spec: { containers: [{ image: 'ghcr.io/example/app:1' }] } },
        traffic: structuredClone(traffic),
      },
    },
    undefined,
    'test',
  );
  return validateService(svc, undefined)?.message;
}

describe('apportion', () => {
  it('splits in proportion with whole percents that add up exactly', () => {
    expect(apportion([100], 90)).toEqual([90]);
    expect(apportion([50, 50], 75)).toEqual([38, 37]);
    expect(apportion([70, 20, 10], 50)).toEqual([35, 10, 5]);
    expect(apportion([95, 5], 10)).toEqual([10, 0]);
    expect(apportion([0, 0], 40)).toEqual([40, 0]);
  });

  it('always sums to the total and never strays more than one from the exact share (2000 random cases)', () => {
    const random = seededRandom(42);
    for (let n = 0; n < 2000; n++) {
      const weights = Array.from({ length: 1 + Math.floor(random() * 5) }, () => Math.floor(random() * 100));
      const total = Math.floor(random() * 101);
      const out = apportion(weights, total);
      expect(out.reduce((a, b) => a + b, 0)).toBe(total);
      const sum = weights.reduce((a, b) => a + b, 0);
      if (sum > 0) out.forEach((o, i) => expect(Math.abs(o - (weights[i]! * total) / sum)).toBeLessThan(1));
    }
  });
});

const userTagged: TrafficTarget[] = [
  { tag: 'v1', revisionName: 'hello-v1', latestRevision: false, percent: 0 },
  { tag: 'preview', latestRevision: true, percent: 0 },
];

describe('buildTraffic', () => {
  it('deploys the candidate at 0% under its tag, following the latest revision, with the stable pinned', () => {
    const current = [{ latestRevision: true, percent: 100 }, ...userTagged];
    expect(
      buildTraffic(current, {
        tag: 'latest',
        stableTag: 'stable',
        baseline: [{ revisionName: 'hello-00001', percent: 100 }],
        candidate: 'hello-v2',
        percent: 0,
      }),
    ).toEqual([
      { tag: 'stable', revisionName: 'hello-00001', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
      ...userTagged,
    ]);
  });

  it('pins the candidate by name at a step, and hands it the stable tag at promotion', () => {
    const plan = {
      tag: 'latest',
      stableTag: 'stable',
      baseline: [{ revisionName: 'hello-v1', percent: 100 }],
      candidate: 'hello-v2',
    };
    expect(buildTraffic([], { ...plan, percent: 25 })).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 75 },
      { tag: 'latest', revisionName: 'hello-v2', latestRevision: false, percent: 25 },
    ]);
    expect(buildTraffic([], { ...plan, percent: 100, promoted: true })).toEqual([
      { tag: 'stable', revisionName: 'hello-v2', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
    ]);
  });

  it('without a stable tag, the stable entry is untagged and replaced rather than duplicated', () => {
    const plan = {
      tag: 'canary',
      stableTag: '',
      baseline: [{ revisionName: 'hello-v1', percent: 100 }],
      candidate: 'hello-v2',
    };
    const step = buildTraffic([], { ...plan, percent: 10 });
    const again = buildTraffic(step, { ...plan, percent: 50 });
    expect(again).toEqual([
      { revisionName: 'hello-v1', latestRevision: false, percent: 50 },
      { tag: 'canary', revisionName: 'hello-v2', latestRevision: false, percent: 50 },
    ]);
  });

  it("moves the percent of a user's tagged entry to the baseline and keeps the entry at 0%", () => {
    const current = [{ tag: 'prod', revisionName: 'hello-v1', latestRevision: false, percent: 100 }];
    expect(
      userEntries(current, { tag: 'latest', stableTag: 'stable', baseline: [], candidate: 'x' }),
    ).toEqual([{ tag: 'prod', revisionName: 'hello-v1', latestRevision: false, percent: 0 }]);
  });

  it('drops the url that status-derived entries carry (Knative rejects it in spec)', () => {
    const current = [
      { tag: 'v1', revisionName: 'hello-v1', percent: 0, url: 'http://v1-hello.default.example.com' },
    ];
    const out = buildTraffic(current, {
      tag: 'latest',
      stableTag: 'stable',
      baseline: [{ revisionName: 'hello-v1', percent: 100 }],
      percent: 0,
    });
    expect(out.find((t) => t.tag === 'v1')).toEqual({ tag: 'v1', revisionName: 'hello-v1', percent: 0 });
  });

  it('every block it builds is one Knative accepts, keeps every user tag but the retired, and routes exactly the plan (5000 random cases)', () => {
    const random = seededRandom(7);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    const revs = ['hello-a', 'hello-b', 'hello-c', 'hello-d'];
    for (let n = 0; n < 5000; n++) {
      const tag = pick(['latest', 'canary']);
      const stableTag = pick(['stable', '', 'prod']);
      // The user's spec: tagged entries of their own (never our tags), plus whatever untagged routing.
      const current: TrafficTarget[] = [];
      for (const t of ['v1', 'v2', 'preview', 'prod', 'stable', 'latest', 'canary', 'pr-7']) {
        if (random() < 0.3) {
          current.push(
            random() < 0.5
              ? { tag: t, latestRevision: true, percent: 0 }
              : { tag: t, revisionName: pick(revs), percent: 0 },
          );
        }
      }
      const k = 1 + Math.floor(random() * 3);
      const baselineRevs = revs.slice(0, k);
      const weights = apportion(
        baselineRevs.map(() => 1 + Math.floor(random() * 50)),
        100,
      );
      const baseline = baselineRevs
        .map((r, i) => ({ revisionName: r, percent: weights[i]! }))
        .filter((b) => b.percent > 0);
      const candidate = 'hello-new';
      const percent = pick([0, 1, 5, 10, 33, 50, 99, 100]);
      const promoted = percent === 100 && random() < 0.5;
      // A preview's tag ends with it (the one a new rollout replaced; its own, once promoted).
      const retired = [...(random() < 0.5 ? ['pr-7'] : []), ...(promoted && random() < 0.5 ? [tag] : [])];
      const out = buildTraffic(current, { tag, stableTag, baseline, candidate, percent, promoted, retired });

      expect(knativeAccepts(out), JSON.stringify(out)).toBeUndefined();
      const userTags = current.filter((t) => t.tag && t.tag !== tag && t.tag !== stableTag);
      for (const u of userTags) {
        if (retired.includes(u.tag!)) expect(out.some((t) => t.tag === u.tag)).toBe(false);
        else expect(out).toContainEqual({ ...u, percent: 0 });
      }
      const routed = wantedPercents(out, 'hello-latest');
      if (promoted) expect([...routed]).toEqual([[candidate, 100]]);
      else {
        expect(routed.get(candidate) ?? 0).toBe(percent);
        const toBaseline = [...routed].filter(([r]) => r !== candidate).reduce((a, [, p]) => a + p, 0);
        expect(toBaseline).toBe(100 - percent);
        for (const [r] of routed) expect([candidate, ...baseline.map((b) => b.revisionName)]).toContain(r);
      }
      if (stableTag) expect(out.filter((t) => t.tag === stableTag)).toHaveLength(1);
      expect(out.filter((t) => t.tag === tag)).toHaveLength(retired.includes(tag) ? 0 : 1);
    }
  });
});

describe('a rollback block', () => {
  const plan = {
    tag: 'latest',
    stableTag: 'stable',
    baseline: [{ revisionName: 'hello-v1', percent: 100 }],
    candidate: 'hello-v2',
    percent: 0,
    dropped: true,
  };
  const user = [
    { tag: 'preview', latestRevision: true, percent: 0 },
    { tag: 'old', revisionName: 'hello-v0', latestRevision: false, percent: 0 },
  ];
  const atStep = buildTraffic(user, { ...plan, dropped: false, percent: 10, pinned: true });

  it('names no revision but the baseline: the candidate and its tag are gone, user entries stay', () => {
    const back = buildTraffic(atStep, plan);
    expect(back).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      ...user,
    ]);
    expect(back.some((t) => t.revisionName === 'hello-v2' || t.tag === 'latest')).toBe(false);
    expect(knativeAccepts(back)).toBeUndefined();
  });

  it("the safest block: no tag of the action's, user entries that would not resolve pinned to the stable one", () => {
    const routable = (t: TrafficTarget) => t.revisionName === 'hello-v0';
    expect(buildTraffic(atStep, { ...plan, routable })).toEqual([
      { revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'preview', revisionName: 'hello-v1', latestRevision: false, percent: 0 },
      { tag: 'old', revisionName: 'hello-v0', latestRevision: false, percent: 0 },
    ]);
  });
});
