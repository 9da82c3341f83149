// The soak's checker of every Service version, fed good and bad versions: it must pass the good ones and name
// what is wrong with each bad one.

import { describe, expect, it } from 'vitest';
import { STATE_ANNOTATION, type Decision, type RolloutState } from '../../src/rollout/state.ts';
import type { KObject } from '../emulator/util.ts';
import { checkVersion, smokePassed, summarize, type Expectations, type Target } from './invariants.ts';

const at = '2026-12-01T10:00:00.000Z';
const d = (action: Decision['action'], verdict?: 'pass' | 'fail'): Decision => ({
  at,
  action,
  percent: 0,
  ...(verdict ? { verdict } : {}),
});

function state(over: Partial<RolloutState> = {}): RolloutState {
  return {
    v: 1,
    candidate: 'app-r1',
    baseline: [{ revisionName: 'app-v0', percent: 100 }],
    phase: 'stepping',
    step: 0,
    percent: 20,
    steps: [
      { percent: 20, dwellMs: 1000 },
      { percent: 100, dwellMs: 0 },
    ],
    tag: 'latest',
    stableTag: 'stable',
    startedAt: at,
    history: [d('deploy'), d('smoke', 'pass'), d('step')],
    ...over,
  };
}

const expectations: Expectations = {
  userEntries: [
    { tag: 'debug', revisionName: 'app-v0', percent: 0 },
    { tag: 'edge', latestRevision: true, percent: 0 },
  ],
  annotations: { 'example.com/owner': 'team-a' },
  labels: { 'example.com/tier': 'web' },
  templateAnnotations: { 'example.com/note': 'kept' },
};

const user: Target[] = [
  { tag: 'debug', revisionName: 'app-v0', latestRevision: false, percent: 0 },
  { tag: 'edge', latestRevision: true, percent: 0 },
];

function svc(traffic: Target[], s?: RolloutState | string, over: { annotations?: object } = {}): KObject {
  return {
    metadata: {
      name: 'app',
      resourceVersion: '50',
      generation: 4,
      labels: { 'example.com/tier': 'web' },
      annotations: {
        'example.com/owner': 'team-a',
        ...(s === undefined ? {} : { [STATE_ANNOTATION]: typeof s === 'string' ? s : JSON.stringify(s) }),
        ...over.annotations,
      },
    },
    spec: { template: { metadata: { annotations: { 'example.com/note': 'kept' } } }, traffic },
  };
}

const pin = (revisionName: string, percent: number, tag?: string): Target => ({
  ...(tag ? { tag } : {}),
  revisionName,
  latestRevision: false,
  percent,
});

const revisions = new Set(['app-v0', 'app-r1', 'app-r2']);
const ctx = { expect: expectations, revisionExisted: (name: string) => revisions.has(name) };
const kinds = (v: KObject, previous?: KObject) => checkVersion(v, ctx, previous).map((f) => f.kind);

describe('checkVersion passes', () => {
  it('the Service before any rollout, its traffic following the latest revision', () => {
    expect(kinds(svc([{ latestRevision: true, percent: 100 }, ...user]))).toEqual([]);
  });

  it('each phase of a rollout with traffic as its state says, and the user entries kept', () => {
    const deploying = state({ phase: 'deploying', step: -1, percent: 0, history: [d('deploy')] });
    const latest = { tag: 'latest', latestRevision: true, percent: 0 };
    expect(kinds(svc([pin('app-v0', 100, 'stable'), latest, ...user], deploying))).toEqual([]);
    expect(kinds(svc([pin('app-v0', 80, 'stable'), pin('app-r1', 20, 'latest'), ...user], state()))).toEqual(
      [],
    );
    const promoted = state({ phase: 'promoted', percent: 100 });
    expect(kinds(svc([pin('app-r1', 100, 'stable'), latest, ...user], promoted))).toEqual([]);
    const rolledBack = state({ phase: 'rolled-back', percent: 0, history: [d('deploy'), d('rollback')] });
    expect(kinds(svc([pin('app-v0', 100, 'stable'), ...user], rolledBack))).toEqual([]);
  });

  it("a user's latestRevision entry pinned to the stable revision by the safest block", () => {
    const rolledBack = state({ phase: 'rolled-back', percent: 0 });
    const safest = [pin('app-v0', 100), user[0]!, pin('app-v0', 0, 'edge')];
    expect(kinds(svc(safest, rolledBack))).toEqual([]);
  });
});

describe('checkVersion flags', () => {
  const ok = () => [pin('app-v0', 80, 'stable'), pin('app-r1', 20, 'latest'), ...user];

  it('percents that do not add up to 100, a tag used twice, a revision that does not exist', () => {
    expect(
      kinds(svc([pin('app-v0', 70, 'stable'), pin('app-r1', 20, 'latest'), ...user], state())),
    ).toContain('traffic-sum');
    expect(kinds(svc([...ok(), pin('app-v0', 0, 'debug')], state()))).toContain('duplicate-tag');
    const missing = state({ candidate: 'app-r9' });
    expect(
      kinds(svc([pin('app-v0', 80, 'stable'), pin('app-r9', 20, 'latest'), ...user], missing)),
    ).toContain('missing-revision');
  });

  it('the stable revision below 100 minus the step, and a split that is not the one the state says', () => {
    expect(kinds(svc([pin('app-v0', 70, 'stable'), pin('app-r1', 30, 'latest'), ...user], state()))).toEqual([
      'stable-below-step',
    ]);
    expect(kinds(svc([pin('app-v0', 90, 'stable'), pin('app-r1', 10, 'latest'), ...user], state()))).toEqual([
      'traffic-disagrees-with-state',
    ]);
    const promoted = state({ phase: 'promoted', percent: 100 });
    expect(kinds(svc([pin('app-v0', 10, 'stable'), pin('app-r1', 90, 'latest'), ...user], promoted))).toEqual(
      ['traffic-disagrees-with-state'],
    );
    const rolledBack = state({ phase: 'rolled-back', percent: 0 });
    expect(
      kinds(svc([pin('app-v0', 90, 'stable'), pin('app-r1', 10, 'latest'), ...user], rolledBack)),
    ).toEqual(['stable-below-step']);
  });

  it('traffic on a revision that is neither the candidate nor the baseline (an abandoned candidate)', () => {
    const traffic = [pin('app-v0', 80, 'stable'), pin('app-r1', 10, 'latest'), pin('app-r2', 10), ...user];
    // What it has is taken from the stable revision, so that shows too.
    expect(kinds(svc(traffic, state({ percent: 10 })))).toEqual(['stray-traffic', 'stable-below-step']);
  });

  it('traffic on the candidate before its smoke test passed, even with a pass of an earlier candidate', () => {
    const noSmoke = state({ history: [d('deploy'), d('step')] });
    expect(kinds(svc(ok(), noSmoke))).toEqual(['traffic-before-smoke']);
    const superseded = state({ history: [d('deploy'), d('smoke', 'pass'), d('superseded'), d('deploy')] });
    expect(kinds(svc(ok(), superseded))).toEqual(['traffic-before-smoke']);
    const failed = state({ history: [d('deploy'), d('smoke', 'fail')] });
    expect(kinds(svc(ok(), failed))).toEqual(['traffic-before-smoke']);
    expect(smokePassed(state({ history: Array.from({ length: 40 }, () => d('hold')) }))).toBe('unknown');
  });

  it('an entry following the latest revision that carries traffic during a rollout', () => {
    const traffic = [
      pin('app-v0', 80, 'stable'),
      { tag: 'latest', latestRevision: true, percent: 20 },
      ...user,
    ];
    expect(kinds(svc(traffic, state()))).toContain('latest-with-traffic');
  });

  it("a user's entry gone, or changed; a user's annotation, label or template annotation gone", () => {
    expect(
      kinds(
        svc(
          ok().filter((t) => t.tag !== 'debug'),
          state(),
        ),
      ),
    ).toEqual(['user-entry-lost']);
    const moved = ok().map((t) => (t.tag === 'debug' ? pin('app-r1', 0, 'debug') : t));
    expect(kinds(svc(moved, state()))).toEqual(['user-entry-changed']);
    const v = svc(ok(), state());
    delete v.metadata.annotations['example.com/owner'];
    delete v.metadata.labels['example.com/tier'];
    v.spec.template.metadata.annotations = {};
    expect(kinds(v)).toEqual(['user-metadata-lost', 'user-metadata-lost', 'user-metadata-lost']);
  });

  it('a state annotation that does not decode, or one that is gone', () => {
    expect(kinds(svc(ok(), '{"v":1'))).toEqual(['state-undecodable']);
    expect(kinds(svc(ok(), JSON.stringify({ v: 2 })))).toEqual(['state-undecodable']);
    const before = svc(ok(), state());
    expect(kinds(svc([pin('app-v0', 100, 'stable'), ...user]), before)).toEqual(['state-lost']);
  });
});

describe("a preview's tag", () => {
  const withPreview = { ...ctx, expect: { ...expectations, previews: new Map([['pr-7', 'app-r2']]) } };
  const check = (traffic: Target[], s: RolloutState) =>
    checkVersion(svc([...traffic, ...user], s), withPreview).map((f) => f.kind);
  const previewing = state({ candidate: 'app-r2', tag: 'pr-7', phase: 'deploying', step: -1, percent: 0 });
  const after = state({ phase: 'promoted', percent: 100, candidate: 'app-r2', tag: 'pr-7' });

  it('follows the latest revision while its preview deploys, and names the preview after', () => {
    const latest = { tag: 'pr-7', latestRevision: true, percent: 0 };
    expect(check([pin('app-v0', 100, 'stable'), latest], previewing)).toEqual([]);
    expect(check([pin('app-r2', 100, 'stable'), pin('app-r2', 0, 'pr-7')], after)).toEqual([]);
    // Or it is gone.
    expect(check([pin('app-r2', 100, 'stable')], after)).toEqual([]);
  });

  it('is flagged when it follows the latest revision later, or names another revision', () => {
    const latest = { tag: 'pr-7', latestRevision: true, percent: 0 };
    expect(check([pin('app-r2', 100, 'stable'), latest], after)).toEqual(['preview-tag-moved']);
    expect(check([pin('app-r2', 100, 'stable'), pin('app-r1', 0, 'pr-7')], after)).toEqual([
      'preview-tag-moved',
    ]);
  });
});

it('summarize puts a version on one line', () => {
  expect(summarize({ ...svc(ok2(), state()), status: { observedGeneration: 4, traffic: ok2() } })).toBe(
    'rv=50 gen=4/4 spec[stable:app-v0=80 latest:app-r1=20] state{stepping app-r1 20% step 0 (step)} ' +
      'status[stable:app-v0=80 latest:app-r1=20] ready=-',
  );
});

function ok2(): Target[] {
  return [pin('app-v0', 80, 'stable'), pin('app-r1', 20, 'latest')];
}
