// The decisions the shell once took itself, now pure: what counts as promotion, where an unconfirmed promotion
// waits, the hold once a step is served, the park of a resume, the conflict of two runs, the status of a state.

import { describe, expect, it } from 'vitest';
import { parseSteps } from '../../src/inputs.ts';
import { isReady, type Service } from '../../src/knative/types.ts';
import { onConflict } from '../../src/rollout/conflict.ts';
import { afterSmoke, pauseRollout, promote, rollback, type Next } from '../../src/rollout/planner.ts';
import { planDeploy, withDeployment } from '../../src/rollout/deploy.ts';
import { decodeState, reportedStatus, sameRollout, STATE_ANNOTATION } from '../../src/rollout/state.ts';
import { holdFromNow, isPromotion, promotionWaitsAt, resumedPark } from '../../src/rollout/steps.ts';

const t0 = new Date('2026-11-28T12:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
const service: Service = {
  metadata: { name: 'hello', resourceVersion: '7', generation: 2, annotations: {} },
  spec: {
    template: { metadata: { name: 'hello-v1' }, spec: { containers: [{ image: 'app:v1' }] } },
    traffic: [{ latestRevision: true, percent: 100 }],
  },
  status: { traffic: [{ revisionName: 'hello-v1', percent: 100, latestRevision: false }] },
};
const inputs = {
  service: 'hello',
  revisionName: 'hello-v2',
  tag: 'latest',
  stableTag: 'stable',
  steps: parseSteps('10,100', 60_000),
  acceptSplit: false,
  image: 'app:v2',
  env: [],
  progression: 'inline' as const,
};

function start(obs: Partial<Parameters<typeof planDeploy>[0]> = {}) {
  const plan = planDeploy({ service, now: t0, ...obs }, inputs);
  if (plan.kind !== 'start') throw new Error('expected start');
  return plan;
}
const deployed = () => start().state;
const stepOne = () =>
  afterSmoke(deployed(), { pass: true, detail: 'ok' }, t0) as Extract<Next, { kind: 'set-step' }>;

describe('isPromotion and promotionWaitsAt', () => {
  it('is a promote, or a step to 100%; not a step below it, a hold or a rollback', () => {
    const s = deployed();
    expect(isPromotion(promote(s, t0))).toBe(true);
    expect(isPromotion({ kind: 'set-step', state: s, step: { percent: 100, dwellMs: 60_000 } })).toBe(true);
    expect(isPromotion(stepOne())).toBe(false);
    expect(isPromotion(rollback(s, 'bad', t0))).toBe(false);
  });

  it('waits at the step last held, or at 0% when nothing was held', () => {
    const s = stepOne().state;
    expect(promotionWaitsAt(s, deployed())).toBe(s);
    expect(promotionWaitsAt(undefined, s)).toEqual({ ...s, percent: 0 });
  });
});

describe('holdFromNow', () => {
  it('holds the step just served for its whole dwell, counted from now', () => {
    const next = holdFromNow(stepOne().state, later(30));
    expect(next).toMatchObject({ kind: 'hold', untilMs: later(30).getTime() + 60_000 });
    expect(next.state.stepStartedAt).toBe(later(30).toISOString());
  });
});

describe('resumedPark', () => {
  it('is the park that writes the resumed state', () => {
    const s = stepOne().state;
    expect(resumedPark(s)).toEqual({ kind: 'park', state: s, message: 'resumed' });
  });
});

describe('sameRollout and reportedStatus', () => {
  it('tells a rollout by its candidate and start', () => {
    const s = deployed();
    expect(sameRollout(s, stepOne().state)).toBe(true);
    expect(sameRollout(s, { ...s, startedAt: later(1).toISOString() })).toBe(false);
    expect(sameRollout(s, undefined)).toBe(false);
  });

  it('reports a paused rollout that was rolled back as rolled-back, as everywhere', () => {
    const paused = pauseRollout(stepOne().state, 'hello', '@ops', t0).state;
    expect(reportedStatus(paused)).toBe('paused');
    const back = rollback(paused, 'bad', later(1)).state;
    expect(back.paused).toBeDefined();
    expect(reportedStatus(back)).toBe('rolled-back');
    expect(reportedStatus(promote(stepOne().state, t0).state)).toBe('promoted');
    expect(reportedStatus(stepOne().state)).toBe('progressing');
    expect(reportedStatus(undefined)).toBe('unchanged');
  });
});

describe('onConflict', () => {
  const mine = stepOne().state;
  it('rebuilds a rollback on the same rollout that another run paused or stepped meanwhile', () => {
    const paused = pauseRollout(mine, 'hello', '@ops', t0).state;
    const d = onConflict(paused, rollback(mine, 'errors', later(2)), later(2));
    expect(d.kind).toBe('write');
    if (d.kind !== 'write') return;
    expect(d.state.phase).toBe('rolled-back');
    expect(d.state.paused).toEqual(paused.paused);
    expect(d.warning).toMatch(
      /^Another run changed this rollout meanwhile \(now stepping at 10%, paused by @ops\)/,
    );
  });

  it('stops for anything else: another rollout, a finished one, or a step of this run', () => {
    const other = { ...mine, candidate: 'hello-v3' };
    expect(onConflict(other, rollback(mine, 'errors', t0), t0)).toEqual({
      kind: 'stop',
      found: other,
      message:
        'another run changed this rollout meanwhile (it is now stepping of hello-v3 at 10%), so this run stops ' +
        'without writing over it',
    });
    const done = rollback(mine, 'command', t0).state;
    expect(onConflict(done, rollback(mine, 'errors', t0), t0).kind).toBe('stop');
    expect(onConflict(mine, stepOne(), t0).kind).toBe('stop');
    expect(onConflict(undefined, stepOne(), t0)).toMatchObject({ kind: 'stop', found: undefined });
  });
});

describe('withDeployment', () => {
  it('is the plan planDeploy makes with the deployment given, to the byte', () => {
    const deployment = { id: 42, environment: 'production' };
    const preview = { pr: 7, sha: 'abc1234' };
    for (const extra of [{}, preview]) {
      const attached = withDeployment(start(extra), deployment);
      const direct = start({ ...extra, deployment });
      expect(attached).toEqual(direct);
      expect(attached.patch.metadata.annotations[STATE_ANNOTATION]).toBe(
        direct.patch.metadata.annotations[STATE_ANNOTATION],
      );
      expect(decodeState(attached.patch.metadata.annotations[STATE_ANNOTATION]).state?.deployment).toEqual(
        deployment,
      );
    }
  });
});

describe('isReady', () => {
  it('is a Ready condition True, nothing else', () => {
    expect(isReady({ status: { conditions: [{ type: 'Ready', status: 'True' }] } })).toBe(true);
    expect(isReady({ status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } })).toBe(false);
    expect(isReady({ status: {} })).toBe(false);
    expect(isReady(undefined)).toBe(false);
  });
});
