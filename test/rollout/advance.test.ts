// The scheduled progression and the commands on a rollout in progress, as pure decisions.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlanError } from '../../src/errors.ts';
import { parseSteps } from '../../src/inputs.ts';
import {
  afterCheck,
  afterPreviewSmoke,
  afterSmoke,
  holdCurrent,
  pauseRollout,
  planAdvance,
  promoteTo,
  resumeRollout,
  type Next,
} from '../../src/rollout/planner.ts';
import { patchFor, planDeploy } from '../../src/rollout/deploy.ts';
import type { RolloutState } from '../../src/rollout/state.ts';
import type { Service } from '../../src/knative/types.ts';

const t0 = Date.parse('2026-11-28T12:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000);
const pass = { pass: true as const, detail: 'ok' };
const fail = { pass: false as const, detail: '5 errors' };
const STALE = 600_000;

const service: Service = {
  metadata: { name: 'hello', resourceVersion: '7', generation: 2, annotations: {} },
  spec: {
    template: { metadata: { name: 'hello-v1' }, spec: { containers: [{ image: 'app:v1' }] } },
    traffic: [{ latestRevision: true, percent: 100 }],
  },
  status: { traffic: [{ revisionName: 'hello-v1', percent: 100, latestRevision: false }] },
};

function deployed(progression: 'inline' | 'scheduled' = 'scheduled', steps = '10,50,100'): RolloutState {
  const plan = planDeploy(
    { service, now: at(0) },
    {
      service: 'hello',
      revisionName: 'hello-v2',
      tag: 'latest',
      stableTag: 'stable',
      steps: parseSteps(steps, 600_000),
      acceptSplit: false,
      image: 'app:v2',
      env: [],
      progression,
    },
  );
  if (plan.kind !== 'start') throw new Error('expected start');
  return plan.state;
}

/** A scheduled rollout at its first step, entered at t=0. */
function atFirstStep(steps?: string): RolloutState {
  const next = afterSmoke(deployed('scheduled', steps), pass, at(0));
  if (next.kind !== 'set-step') throw new Error('expected set-step');
  return next.state;
}

/** One scheduled run at time s: the state it leaves (unchanged when it takes no step). */
function advanceAt(state: RolloutState, s: number, healthy = true): { state: RolloutState; next?: Next } {
  const plan = planAdvance(state, t0 + s * 1000, STALE);
  if (plan.kind !== 'check') return { state };
  const next = afterCheck(state, healthy ? pass : fail, plan.due, at(s));
  return { state: next?.state ?? state, next };
}

describe('planAdvance', () => {
  it('leaves alone what it does not drive: no state, ended, inline, paused, a preview', () => {
    expect(planAdvance(undefined, t0, STALE)).toEqual({
      kind: 'skip',
      reason: 'no rollout of this action on it',
    });
    expect(planAdvance(atFirstStep(), t0, STALE).kind).toBe('check');
    const inline = afterSmoke(deployed('inline'), pass, at(0)).state;
    expect(planAdvance(inline, t0 + 3_600_000, STALE)).toEqual({
      kind: 'skip',
      reason: 'the rollout of hello-v2 is inline: the job that deployed it takes its steps',
    });
    const paused = pauseRollout(atFirstStep(), 'hello', '@octocat', at(5)).state;
    expect(planAdvance(paused, t0 + 3_600_000, STALE)).toEqual({
      kind: 'skip',
      reason: 'the rollout of hello-v2 is paused (by @octocat at 2026-11-28T12:00:05.000Z)',
    });
    const preview = afterPreviewSmoke(deployed(), pass, '@octocat', at(1)).state;
    expect(planAdvance(preview, t0 + 3_600_000, STALE)).toMatchObject({
      kind: 'skip',
      reason: 'hello-v2 is a preview at 0%: promote or resume it to start its steps',
    });
    const promoted = advanceAt(advanceAt(atFirstStep(), 600).state, 1200).state;
    expect(promoted.phase).toBe('promoted');
    expect(planAdvance(promoted, t0 + 3_600_000, STALE)).toEqual({
      kind: 'skip',
      reason: 'the rollout of hello-v2 is promoted',
    });
  });

  it('waits for a deploying run, and calls it stale after staleAfterMs', () => {
    const d = deployed();
    expect(planAdvance(d, t0 + 60_000, STALE).kind).toBe('skip');
    expect(planAdvance(d, t0 + STALE + 1, STALE)).toMatchObject({ kind: 'stale' });
  });

  it('is due once the dwell is over', () => {
    const s = atFirstStep();
    expect(planAdvance(s, t0 + 599_999, STALE)).toEqual({ kind: 'check', due: false, dueAt: t0 + 600_000 });
    expect(planAdvance(s, t0 + 600_000, STALE)).toEqual({ kind: 'check', due: true, dueAt: t0 + 600_000 });
  });
});

describe('afterCheck', () => {
  it('takes 0% to 100% over several runs, one step per due run', () => {
    let s = atFirstStep('10,25,50,100');
    const seen: number[] = [s.percent];
    for (let min = 5; min <= 60; min += 5) {
      s = advanceAt(s, min * 60).state;
      if (seen.at(-1) !== s.percent) seen.push(s.percent);
    }
    expect(seen).toEqual([10, 25, 50, 100]);
    expect(s.phase).toBe('promoted');
  });

  it('rolls back on a failed check whether or not the dwell is over', () => {
    const early = advanceAt(atFirstStep(), 60, false);
    expect(early.next?.kind).toBe('rollback');
    expect(early.state).toMatchObject({ phase: 'rolled-back', percent: 0 });
    expect(advanceAt(atFirstStep(), 900, false).next?.kind).toBe('rollback');
  });

  it('writes nothing when healthy and not due', () => {
    expect(advanceAt(atFirstStep(), 60).next).toBeUndefined();
  });

  it('never takes two steps however often it runs at one instant (idempotent)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 7200 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        (times, repeats) => {
          let s = atFirstStep('10,25,50,100');
          for (const t of [...times].sort((a, b) => a - b)) {
            const before = s.step;
            for (let i = 0; i < repeats; i++) s = advanceAt(s, t).state;
            // Each step's dwell is 10 minutes, so runs at one instant take at most one step.
            if (s.phase === 'stepping') expect(s.step - before).toBeLessThanOrEqual(1);
          }
        },
      ),
    );
  });

  it('starts a resumed preview with its first step', () => {
    const preview = afterPreviewSmoke(deployed(), pass, '@octocat', at(1)).state;
    const resumed = resumeRollout(preview, 'hello', '@octocat', at(30));
    const plan = planAdvance(resumed, t0 + 31_000, STALE);
    expect(plan).toMatchObject({ kind: 'check', due: true });
    const next = afterCheck(resumed, pass, true, at(31));
    expect(next).toMatchObject({ kind: 'set-step', step: { percent: 10 } });
    expect(holdCurrent(resumed, at(31))).toMatchObject({ kind: 'set-step', step: { percent: 10 } });
  });
});

describe('preview, pause, resume and promote', () => {
  it('parks a preview at 0% with its tag pinned to the candidate', () => {
    const next = afterPreviewSmoke({ ...deployed(), tag: 'pr-12' }, pass, '@octocat', at(1));
    expect(next).toMatchObject({
      kind: 'park',
      state: { phase: 'stepping', step: -1, percent: 0, paused: { by: '@octocat', reason: 'preview' } },
    });
    const traffic = patchFor(service, next.state).spec.traffic;
    expect(traffic).toContainEqual({
      tag: 'pr-12',
      revisionName: 'hello-v2',
      latestRevision: false,
      percent: 0,
    });
    expect(traffic).toContainEqual({
      tag: 'stable',
      revisionName: 'hello-v1',
      latestRevision: false,
      percent: 100,
    });
  });

  it('rolls back a preview whose smoke test failed', () => {
    expect(afterPreviewSmoke(deployed(), fail, '@octocat', at(1)).kind).toBe('rollback');
  });

  it('pauses and resumes, restarting the dwell', () => {
    const s = atFirstStep();
    const paused = pauseRollout(s, 'hello', '@a', at(100));
    expect(paused.state.percent).toBe(10);
    expect(paused.state.paused).toEqual({ by: '@a', at: at(100).toISOString() });
    expect(() => pauseRollout(paused.state, 'hello', '@a', at(101))).toThrow(
      'the rollout of hello-v2 is already paused (by @a at 2026-11-28T12:01:40.000Z)',
    );
    const resumed = resumeRollout(paused.state, 'hello', '@b', at(900));
    expect(resumed.paused).toBeUndefined();
    expect(resumed.stepStartedAt).toBe(at(900).toISOString());
    expect(resumed.history.at(-1)).toMatchObject({ action: 'resume', detail: 'by @b' });
    expect(() => resumeRollout(resumed, 'hello', '@b', at(901))).toThrow(
      'the rollout of hello-v2 is not paused',
    );
  });

  it('refuses commands without a rollout in progress, naming what is there', () => {
    expect(() => pauseRollout(undefined, 'hello', '@a', at(0))).toThrow(PlanError);
    expect(() => pauseRollout(undefined, 'hello', '@a', at(0))).toThrow(
      'no rollout in progress on Service "hello": nothing to pause',
    );
    const rolledBack = advanceAt(atFirstStep(), 60, false).state;
    expect(() => resumeRollout(rolledBack, 'hello', '@a', at(0))).toThrow(
      'no rollout in progress on Service "hello" (the last one, of hello-v2, ended rolled-back): nothing to resume',
    );
    expect(() => pauseRollout(deployed(), 'hello', '@a', at(0))).toThrow(
      'hello-v2 is still being deployed: pause it once it is Ready',
    );
  });

  it('promotes to a percent, then continues with the steps above it', () => {
    const next = promoteTo(atFirstStep(), 'hello', 25, 300_000, '@a', at(10));
    expect(next.kind).toBe('set-step');
    expect(next.state).toMatchObject({ phase: 'stepping', step: 0, percent: 25 });
    expect(next.state.steps).toEqual([
      { percent: 25, dwellMs: 300_000 },
      { percent: 50, dwellMs: 600_000 },
      { percent: 100, dwellMs: 0 },
    ]);
    expect(promoteTo(atFirstStep(), 'hello', 50, 1, '@a', at(10)).state.steps[0]).toEqual({
      percent: 50,
      dwellMs: 600_000,
    });
    expect(promoteTo(atFirstStep(), 'hello', 100, 1, '@a', at(10))).toMatchObject({
      kind: 'promote',
      state: { phase: 'promoted', percent: 100 },
    });
    expect(() => promoteTo(atFirstStep(), 'hello', 10, 1, '@a', at(10))).toThrow(
      'hello-v2 already has 10% of traffic: promote takes it higher; to lower it, roll back',
    );
  });

  it('lifts a pause when promoting', () => {
    const paused = pauseRollout(atFirstStep(), 'hello', '@a', at(5)).state;
    expect(promoteTo(paused, 'hello', 50, 1, '@b', at(6)).state.paused).toBeUndefined();
    const preview = afterPreviewSmoke(deployed(), pass, '@a', at(1)).state;
    expect(promoteTo(preview, 'hello', 10, 60_000, '@b', at(6))).toMatchObject({
      kind: 'set-step',
      state: { percent: 10, step: 0 },
    });
  });
});

describe('previews and rollouts in progress', () => {
  const planPreview = (state: RolloutState, revisionName = 'hello-pr7') =>
    planDeploy(
      { service, state, now: at(100), pr: 7, sha: 'a'.repeat(40) },
      {
        service: 'hello',
        revisionName,
        tag: 'pr-7',
        stableTag: 'stable',
        steps: parseSteps('10,100', 60_000),
        acceptSplit: false,
        image: 'app:pr7',
        env: [],
        progression: 'inline',
      },
    );

  it('refuses a preview while a rollout with traffic is in progress', () => {
    expect(() => planPreview(atFirstStep())).toThrow(
      'a rollout of hello-v2 is in progress (stepping at 10%): a preview would take its place. Promote or roll it back first',
    );
    expect(() => planPreview(deployed())).toThrow(PlanError);
  });

  it('lets a preview replace another preview, keeping the baseline', () => {
    const other = afterPreviewSmoke(deployed(), pass, '@a', at(1)).state;
    const plan = planPreview(other);
    expect(plan.kind).toBe('start');
    if (plan.kind === 'start') {
      expect(plan.superseded).toBe('hello-v2');
      expect(plan.state).toMatchObject({
        candidate: 'hello-pr7',
        pr: 7,
        tag: 'pr-7',
        baseline: other.baseline,
      });
    }
  });
});
