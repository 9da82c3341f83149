// What a cancelled run does with the rollout it was driving (src/rollout/cancel.ts), and the rolled-back block of a
// candidate that was never created (src/rollout/traffic.ts tagAsFound).

import { describe, expect, it } from 'vitest';
import { parseSteps } from '../../src/inputs.ts';
import type { Service } from '../../src/knative/types.ts';
import { onCancel } from '../../src/rollout/cancel.ts';
import { planDeploy, patchFor } from '../../src/rollout/deploy.ts';
import { afterSmoke, pauseRollout, promote, rollback, type Next } from '../../src/rollout/planner.ts';
import type { RolloutState } from '../../src/rollout/state.ts';

const t0 = new Date('2026-11-28T12:00:00Z');
const service: Service = {
  metadata: { name: 'hello', resourceVersion: '7', generation: 2, annotations: {} },
  spec: {
    template: { metadata: { name: 'hello-v1' }, spec: { containers: [{ image: 'app:v1' }] } },
    traffic: [
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
      { tag: 'debug', revisionName: 'hello-v1', latestRevision: false, percent: 0 },
    ],
  },
  status: { traffic: [{ revisionName: 'hello-v1', percent: 100, latestRevision: false }] },
};
const inputs = (progression: 'inline' | 'scheduled' = 'inline') => ({
  service: 'hello',
  revisionName: 'hello-v2',
  tag: 'latest',
  stableTag: 'stable',
  steps: parseSteps('10,50,100', 60_000),
  acceptSplit: false,
  image: 'app:v2',
  env: [],
  progression,
});
function deployed(progression: 'inline' | 'scheduled' = 'inline'): RolloutState {
  const plan = planDeploy({ service, now: t0 }, inputs(progression));
  if (plan.kind !== 'start') throw new Error('expected start');
  return plan.state;
}
const atTen = (s: RolloutState) =>
  (afterSmoke(s, { pass: true, detail: 'ok' }, t0) as Extract<Next, { kind: 'set-step' }>).state;
const reason = 'the run was cancelled (SIGINT)';

describe('onCancel', () => {
  it('rolls back a rollout this run drives inline: deploying, or at a step', () => {
    for (const s of [deployed(), atTen(deployed())]) {
      const d = onCancel(s, s, reason, t0);
      expect(d.kind).toBe('rollback');
      if (d.kind !== 'rollback') return;
      expect(d.next.state.phase).toBe('rolled-back');
      expect(d.next.reason).toBe(reason);
    }
  });

  it("reports this run's promotion, or a rollback already in place, as it ended", () => {
    const s = atTen(deployed());
    expect(onCancel(promote(s, t0).state, s, reason, t0).kind).toBe('promoted');
    expect(onCancel(rollback(s, 'bad', t0).state, s, reason, t0).kind).toBe('rolled-back');
  });

  it('leaves alone what it does not drive, and says why', () => {
    const s = atTen(deployed());
    expect(onCancel(s, undefined, reason, t0)).toEqual({
      kind: 'leave',
      state: s,
      why: 'this run had written nothing yet',
    });
    const other = { ...deployed(), startedAt: '2026-11-28T13:00:00.000Z', candidate: 'hello-v3' };
    expect(onCancel(other, s, reason, t0)).toMatchObject({
      kind: 'leave',
      why: 'another run has taken the rollout over (it is now deploying of hello-v3 at 0%)',
    });
    expect(onCancel(undefined, s, reason, t0)).toMatchObject({
      kind: 'leave',
      why: 'the Service no longer carries its rollout state',
    });
    const paused = pauseRollout(s, 'hello', '@octocat', t0).state;
    expect(onCancel(paused, s, reason, t0)).toMatchObject({
      kind: 'leave',
      why: 'the rollout is paused at 10% (by @octocat) and holds there',
    });
    const scheduled = atTen(deployed('scheduled'));
    expect(onCancel(scheduled, scheduled, reason, t0)).toMatchObject({
      kind: 'leave',
      why: 'the rollout is scheduled: it stays at 10%, and the next advance run checks it',
    });
    // A scheduled deploy still waiting for its candidate is this run's to roll back.
    expect(onCancel(deployed('scheduled'), deployed('scheduled'), reason, t0).kind).toBe('rollback');
  });
});

describe('the rollback of a candidate never created', () => {
  const back = rollback(deployed(), 'name taken', t0).state;
  const asDeployed: Service = {
    ...service,
    spec: { ...service.spec, traffic: patchFor(service, deployed()).spec.traffic },
  };

  it("drops the candidate's tag by default, and keeps the user's entries", () => {
    expect(patchFor(asDeployed, back).spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'debug', revisionName: 'hello-v1', latestRevision: false, percent: 0 },
    ]);
  });

  it("puts the tag's entry back as the deploy found it, unless it named the candidate", () => {
    const found = service.spec.traffic![1]!;
    expect(patchFor(asDeployed, back, { tagAsFound: found }).spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
      { tag: 'debug', revisionName: 'hello-v1', latestRevision: false, percent: 0 },
    ]);
    const namedCandidate = { tag: 'latest', revisionName: 'hello-v2', latestRevision: false, percent: 0 };
    expect(patchFor(asDeployed, back, { tagAsFound: namedCandidate }).spec.traffic).toHaveLength(2);
  });
});
