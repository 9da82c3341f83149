import { describe, expect, it } from 'vitest';
import { PlanError } from '../../src/errors.ts';
import { afterHold, afterSmoke, holdCurrent, planRollback, type Next } from '../../src/rollout/planner.ts';
import {
  desiredTemplate,
  planDeploy,
  specMatches,
  templateOf,
  type PlanInputs,
} from '../../src/rollout/deploy.ts';
import { decodeState, encodeState, STATE_ANNOTATION, type RolloutState } from '../../src/rollout/state.ts';
import type { Revision, Service } from '../../src/knative/types.ts';
import { parseSteps } from '../../src/inputs.ts';

const now = new Date('2026-11-28T12:00:00Z');
const later = (s: number) => new Date(now.getTime() + s * 1000);

function svc(
  traffic: { revisionName: string; percent: number; tag?: string }[],
  state?: RolloutState,
): Service {
  return {
    metadata: {
      name: 'hello',
      resourceVersion: '42',
      generation: 3,
      annotations: state ? { [STATE_ANNOTATION]: encodeState(state) } : {},
    },
    spec: {
      template: {
        metadata: { name: 'hello-v1' },
        spec: { containers: [{ image: 'app:v1', env: [{ name: 'A', value: '1' }] }] },
      },
      traffic: [{ latestRevision: true, percent: 100 }],
    },
    status: { traffic: traffic.map((t) => ({ ...t, latestRevision: false })) },
  };
}

const stableRev: Revision = {
  metadata: { name: 'hello-v1' },
  spec: {
    containers: [
      {
        name: 'user-container',
        image: 'app:v1',
        env: [{ name: 'A', value: '1' }],
        readinessProbe: { tcpSocket: { port: 0 } },
      },
    ],
    timeoutSeconds: 300,
    containerConcurrency: 0,
  },
};

const inputs = (over: Partial<PlanInputs> = {}): PlanInputs => ({
  service: 'hello',
  revisionName: 'hello-v2',
  tag: 'latest',
  stableTag: 'stable',
  steps: parseSteps('10,50,100', 60_000),
  acceptSplit: false,
  progression: 'inline',
  image: 'app:v2',
  env: [],
  ...over,
});

describe('desiredTemplate and specMatches', () => {
  it('takes the Service template, sets image, env and the revision name', () => {
    const t = desiredTemplate(
      svc([]).spec.template,
      inputs({
        env: [
          { name: 'A', value: '2' },
          { name: 'B', value: 'x' },
        ],
      }),
    );
    expect(t.metadata?.name).toBe('hello-v2');
    expect(t.spec.containers[0]).toEqual({
      image: 'app:v2',
      env: [
        { name: 'A', value: '2' },
        { name: 'B', value: 'x' },
      ],
    });
  });

  it('compares what the template sets with the defaulted revision spec', () => {
    expect(
      specMatches({ containers: [{ image: 'app:v1', env: [{ name: 'A', value: '1' }] }] }, stableRev.spec),
    ).toBe(true);
    expect(
      specMatches({ containers: [{ image: 'app:v2', env: [{ name: 'A', value: '1' }] }] }, stableRev.spec),
    ).toBe(false);
    expect(specMatches({ containers: [{ image: 'app:v1', env: [] }] }, stableRev.spec)).toBe(false);
    expect(
      specMatches({ containers: [{ image: 'app:v1', env: [{ name: 'A', value: '2' }] }] }, stableRev.spec),
    ).toBe(false);
    expect(specMatches({ containers: [{ image: 'app:v1' }], timeoutSeconds: 60 }, stableRev.spec)).toBe(
      false,
    );
  });
});

describe('planDeploy', () => {
  it('starts a rollout: template and traffic in one patch carrying the resourceVersion', () => {
    const plan = planDeploy(
      { service: svc([{ revisionName: 'hello-v1', percent: 100 }]), stableRevision: stableRev, now },
      inputs(),
    );
    expect(plan.kind).toBe('start');
    if (plan.kind !== 'start') return;
    expect(plan.patch.metadata.resourceVersion).toBe('42');
    expect(plan.patch.spec.template?.metadata?.name).toBe('hello-v2');
    expect(plan.patch.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
    ]);
    const state = decodeState(plan.patch.metadata.annotations[STATE_ANNOTATION]).state!;
    expect(state).toMatchObject({
      candidate: 'hello-v2',
      phase: 'deploying',
      step: -1,
      percent: 0,
      baseline: [{ revisionName: 'hello-v1', percent: 100 }],
    });
  });

  it('is unchanged when the revision is already stable, or the stable one runs the same image and spec', () => {
    const s = svc([{ revisionName: 'hello-v1', percent: 100 }]);
    expect(planDeploy({ service: s, now }, inputs({ revisionName: 'hello-v1', image: 'app:v1' })).kind).toBe(
      'unchanged',
    );
    expect(planDeploy({ service: s, stableRevision: stableRev, now }, inputs({ image: 'app:v1' })).kind).toBe(
      'unchanged',
    );
    expect(
      planDeploy(
        { service: s, stableRevision: stableRev, now },
        inputs({ image: 'app:v1', env: [{ name: 'A', value: '9' }] }),
      ).kind,
    ).toBe('start');
  });

  it('refuses a revision-name that is taken by a revision with another spec, instead of calling it unchanged', () => {
    const s = svc([{ revisionName: 'hello-v1', percent: 100 }]);
    expect(() =>
      planDeploy(
        { service: s, stableRevision: stableRev, now },
        inputs({ revisionName: 'hello-v1', image: 'app:v9' }),
      ),
    ).toThrowError(/^Input 'revision-name': "hello-v1" is already a revision with a different image or spec/);
    // Resuming a rollout under the same name with another image is refused the same way.
    const first = planDeploy({ service: s, now }, inputs());
    if (first.kind !== 'start') throw new Error('expected start');
    const mid: Service = { ...s, spec: { ...s.spec, template: first.patch.spec.template! } };
    expect(planDeploy({ service: mid, state: first.state, now }, inputs()).kind).toBe('resume');
    expect(() =>
      planDeploy({ service: mid, state: first.state, now }, inputs({ image: 'app:v9' })),
    ).toThrowError(/already a revision/);
  });

  it('refuses a split it was not told to accept, saying what is there and how to proceed', () => {
    const split = svc([
      { revisionName: 'hello-v1', percent: 80 },
      { revisionName: 'hello-v0', percent: 20 },
    ]);
    expect(() => planDeploy({ service: split, now }, inputs())).toThrowError(PlanError);
    expect(() => planDeploy({ service: split, now }, inputs())).toThrowError(
      /already splits its traffic \(hello-v1 80%, hello-v0 20%\).*command: rollback.*accept-split: true/,
    );
    const plan = planDeploy({ service: split, now }, inputs({ acceptSplit: true }));
    expect(plan.kind === 'start' && plan.state.baseline).toEqual([
      { revisionName: 'hello-v1', percent: 80 },
      { revisionName: 'hello-v0', percent: 20 },
    ]);
  });

  it('refuses a Service with no resolved traffic', () => {
    expect(() => planDeploy({ service: svc([]), now }, inputs())).toThrowError(/no resolved traffic yet/);
  });

  it('resumes its own rollout in progress, and supersedes another candidate keeping the old baseline', () => {
    const first = planDeploy({ service: svc([{ revisionName: 'hello-v1', percent: 100 }]), now }, inputs());
    if (first.kind !== 'start') throw new Error('expected start');
    const stepping: RolloutState = { ...first.state, phase: 'stepping', step: 0, percent: 10 };
    const mid = svc(
      [
        { revisionName: 'hello-v1', percent: 90 },
        { revisionName: 'hello-v2', percent: 10 },
      ],
      stepping,
    );
    expect(planDeploy({ service: mid, state: stepping, now }, inputs())).toMatchObject({
      kind: 'resume',
      state: stepping,
    });
    const next = planDeploy({ service: mid, state: stepping, now }, inputs({ revisionName: 'hello-v3' }));
    expect(next.kind).toBe('start');
    if (next.kind !== 'start') return;
    expect(next.superseded).toBe('hello-v2');
    expect(next.state.baseline).toEqual([{ revisionName: 'hello-v1', percent: 100 }]);
    expect(next.patch.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
    ]);
    expect(next.state.history.map((d) => d.action)).toEqual(['deploy', 'superseded', 'deploy']);
  });
});

describe('stepping', () => {
  const start = (steps = '10,50,100') => {
    const plan = planDeploy(
      { service: svc([{ revisionName: 'hello-v1', percent: 100 }]), now },
      inputs({ steps: parseSteps(steps, 60_000) }),
    );
    if (plan.kind !== 'start') throw new Error('expected start');
    return plan.state;
  };
  const pass = { pass: true as const, detail: 'ok' };
  const fail = { pass: false as const, detail: '5 errors' };

  /** Drives the machine with a verdict per hold; returns the kinds of decisions in order. */
  function drive(state: RolloutState, verdicts: boolean[]): { kinds: string[]; last: Next } {
    const kinds: string[] = [];
    let t = 0;
    let next = afterSmoke(state, pass, later(t));
    for (;;) {
      kinds.push(next.kind === 'set-step' ? `set ${next.step.percent}` : next.kind);
      if (next.kind === 'set-step') next = holdCurrent(next.state, later(++t));
      else if (next.kind === 'hold')
        next = afterHold(next.state, verdicts.shift() ? pass : fail, later((t += 60)));
      else return { kinds, last: next };
    }
  }

  it('walks every step and promotes', () => {
    const { kinds, last } = drive(start(), [true, true]);
    expect(kinds).toEqual(['set 10', 'hold', 'set 50', 'hold', 'promote']);
    expect(last.state).toMatchObject({ phase: 'promoted', percent: 100 });
  });

  it('rolls back at the first failing step and goes no further', () => {
    const { kinds, last } = drive(start(), [true, false]);
    expect(kinds).toEqual(['set 10', 'hold', 'set 50', 'hold', 'rollback']);
    expect(last.kind === 'rollback' && last.reason).toBe('50% step failed: 5 errors');
    expect(last.state).toMatchObject({ phase: 'rolled-back', percent: 0 });
  });

  it('a failed smoke test rolls back before any step', () => {
    const next = afterSmoke(start(), { pass: false, detail: 'status 500' }, now);
    expect(next.kind).toBe('rollback');
    expect(next.state.step).toBe(-1);
  });

  it('holds at 100% before promoting when the last step has a dwell', () => {
    expect(drive(start('50,100:10m'), [true, true]).kinds).toEqual([
      'set 50',
      'hold',
      'set 100',
      'hold',
      'promote',
    ]);
  });

  it('holds the rest of a resumed step, measured from when it began', () => {
    const state: RolloutState = {
      ...start(),
      phase: 'stepping',
      step: 0,
      percent: 10,
      stepStartedAt: now.toISOString(),
    };
    const hold = holdCurrent(state, later(20));
    expect(hold.kind === 'hold' && hold.untilMs).toBe(now.getTime() + 60_000);
  });
});

describe('planRollback', () => {
  const base = svc([{ revisionName: 'hello-v3', percent: 100 }]);

  it('needs a revision-name when no rollout is recorded', () => {
    expect(() =>
      planRollback(base, undefined, undefined, { tag: 'latest', stableTag: 'stable' }, now),
    ).toThrowError(/no rollout recorded.*give 'revision-name'/);
  });

  it('puts a chosen revision at 100% under the stable tag, keeping user entries', () => {
    const withUser: Service = {
      ...base,
      spec: {
        ...base.spec,
        traffic: [
          { latestRevision: true, percent: 100 },
          { tag: 'v1', revisionName: 'hello-v1', percent: 0 },
        ],
      },
    };
    const plan = planRollback(withUser, undefined, 'hello-v1', { tag: 'latest', stableTag: 'stable' }, now);
    // A rollback names no revision but the one it returns to: nothing under the candidate's tag.
    expect(plan.patch.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v1', latestRevision: false, percent: 100 },
      { tag: 'v1', revisionName: 'hello-v1', percent: 0 },
    ]);
    expect(plan.state.phase).toBe('rolled-back');
  });
});

describe('state annotation', () => {
  it('round-trips and refuses what it does not understand', () => {
    const plan = planDeploy({ service: svc([{ revisionName: 'hello-v1', percent: 100 }]), now }, inputs());
    if (plan.kind !== 'start') throw new Error('expected start');
    expect(decodeState(encodeState(plan.state)).state).toEqual(plan.state);
    expect(decodeState('{').problem).toMatch(/not JSON/);
    expect(decodeState('{"v":2}').problem).toMatch(/not a rollout state/);
    expect(decodeState(undefined)).toEqual({});
  });

  it('keeps the history bounded', () => {
    const plan = planDeploy({ service: svc([{ revisionName: 'hello-v1', percent: 100 }]), now }, inputs());
    if (plan.kind !== 'start') throw new Error('expected start');
    let s = plan.state;
    for (let i = 0; i < 100; i++)
      s = afterHold({ ...s, phase: 'stepping', step: 0 }, { pass: true, detail: 'x' }, now).state;
    expect(decodeState(encodeState(s)).state!.history.length).toBeLessThanOrEqual(40);
  });
});

describe('templateOf', () => {
  it("is the revision's name and spec with its template's own labels and annotations, not Knative's", () => {
    const rev: Revision = {
      metadata: {
        name: 'hello-v1',
        labels: {
          app: 'web',
          'serving.knative.dev/configuration': 'hello',
          'serving.knative.dev/configurationGeneration': '1',
          'serving.knative.dev/service': 'hello',
        },
        annotations: {
          'autoscaling.knative.dev/min-scale': '1',
          'serving.knative.dev/progress-deadline': '120s',
          'serving.knative.dev/creator': 'someone',
          'serving.knative.dev/routingStateModified': '2026-11-28T12:00:00Z',
        },
      },
      spec: stableRev.spec,
    };
    const t = templateOf(rev);
    expect(t).toEqual({
      metadata: {
        name: 'hello-v1',
        labels: { app: 'web' },
        annotations: {
          'autoscaling.knative.dev/min-scale': '1',
          'serving.knative.dev/progress-deadline': '120s',
        },
      },
      spec: stableRev.spec,
    });
    expect(t.spec).not.toBe(rev.spec);
    expect(templateOf(stableRev)).toEqual({ metadata: { name: 'hello-v1' }, spec: stableRev.spec });
  });
});

describe('planDeploy and a revision-name already taken', () => {
  it('refuses a name that a revision with another spec holds, though the template no longer carries it', () => {
    const taken: Revision = {
      metadata: { name: 'hello-v2' },
      spec: { ...stableRev.spec, containers: [{ ...stableRev.spec.containers[0]!, image: 'app:v2-old' }] },
    };
    const obs = {
      service: svc([{ revisionName: 'hello-v1', percent: 100 }]),
      stableRevision: stableRev,
      now,
    };
    expect(() => planDeploy({ ...obs, namedRevision: taken }, inputs())).toThrowError(
      /revision-name.*"hello-v2" is already a revision with a different image or spec/s,
    );
    // The same spec under that name is reused.
    const same: Revision = {
      ...taken,
      spec: { ...stableRev.spec, containers: [{ ...stableRev.spec.containers[0]!, image: 'app:v2' }] },
    };
    expect(planDeploy({ ...obs, namedRevision: same }, inputs()).kind).toBe('start');
  });
});
