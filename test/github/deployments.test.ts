import { describe, expect, it } from 'vitest';
import { statusFor } from '../../src/github/deployments.ts';
import type { Service } from '../../src/knative/types.ts';
import type { RolloutState } from '../../src/rollout/state.ts';

const svc: Service = {
  metadata: { name: 'hello' },
  spec: { template: { spec: { containers: [{ image: 'x' }] } } },
  status: {
    url: 'http://hello.default.example.com',
    traffic: [
      { tag: 'pr-7', revisionName: 'hello-v2', percent: 0, url: 'http://pr-7-hello.default.example.com' },
    ],
  },
};

const state = (over: Partial<RolloutState>): RolloutState => ({
  v: 1,
  candidate: 'hello-v2',
  baseline: [{ revisionName: 'hello-v1', percent: 100 }],
  phase: 'stepping',
  step: 0,
  percent: 10,
  steps: [
    { percent: 10, dwellMs: 60_000 },
    { percent: 50, dwellMs: 60_000 },
    { percent: 100, dwellMs: 0 },
  ],
  tag: 'pr-7',
  stableTag: 'stable',
  startedAt: '2026-11-28T10:00:00Z',
  history: [
    { at: '2026-11-28T10:01:00Z', action: 'rollback', percent: 0, detail: '10% step failed: errors' },
  ],
  ...over,
});

describe('statusFor', () => {
  it('follows the rollout: in progress while deploying and stepping, success once promoted', () => {
    expect(statusFor(state({ phase: 'deploying', percent: 0, step: -1 }), svc)).toEqual({
      state: 'in_progress',
      description: 'Deploying hello-v2 at 0% under tag pr-7',
    });
    expect(statusFor(state({}), svc)).toEqual({
      state: 'in_progress',
      description: '10% of traffic (step 1 of 3)',
      environmentUrl: 'http://hello.default.example.com',
    });
    expect(statusFor(state({ phase: 'promoted', percent: 100 }), svc)).toEqual({
      state: 'success',
      description: 'Promoted hello-v2: 100% of traffic',
      environmentUrl: 'http://hello.default.example.com',
    });
  });

  it('points a preview at its tag URL, and says who paused', () => {
    const preview = state({ step: -1, percent: 0, paused: { by: '@a', at: 'x', reason: 'preview' } });
    expect(statusFor(preview, svc)).toEqual({
      state: 'in_progress',
      description: 'Preview of hello-v2 at 0% under tag pr-7',
      environmentUrl: 'http://pr-7-hello.default.example.com',
    });
    expect(statusFor(state({ paused: { by: '@b', at: 'x' } }), svc).description).toBe('Paused at 10% by @b');
  });

  it('is inactive when the pull request of a preview was closed: the preview did not fail', () => {
    const closed = state({
      phase: 'rolled-back',
      percent: 0,
      history: [{ at: 'x', action: 'close', percent: 0, detail: 'pull request #7 was closed (@a)' }],
    });
    expect(statusFor(closed, svc, 'stepping')).toEqual({
      state: 'inactive',
      description: 'Closed: pull request #7 was closed (@a)',
    });
  });

  it('is a failure when a rollout is rolled back, and inactive when a promoted release is', () => {
    expect(statusFor(state({ phase: 'rolled-back', percent: 0 }), svc, 'stepping')).toEqual({
      state: 'failure',
      description: 'Rolled back: 10% step failed: errors',
    });
    expect(statusFor(state({ phase: 'rolled-back', percent: 0 }), svc, 'promoted').state).toBe('inactive');
  });
});
