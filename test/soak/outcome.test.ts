// The soak's checks of a run's outcome and of a settled Service, fed runs and Services that agree and that do not.

import { describe, expect, it } from 'vitest';
import { STATE_ANNOTATION, type RolloutState } from '../../src/rollout/state.ts';
import type { KObject } from '../emulator/util.ts';
import type { Target } from './invariants.ts';
import { checkRun, checkSettled, type RunFacts } from './outcome.ts';

const at = '2026-12-01T10:00:00.000Z';

function state(over: Partial<RolloutState> = {}): RolloutState {
  return {
    v: 1,
    candidate: 'app-r1',
    baseline: [{ revisionName: 'app-v0', percent: 100 }],
    phase: 'stepping',
    step: 0,
    percent: 20,
    steps: [{ percent: 20, dwellMs: 1000 }],
    tag: 'latest',
    stableTag: 'stable',
    startedAt: at,
    history: [],
    ...over,
  };
}

const pin = (revisionName: string, percent: number, tag?: string): Target => ({
  ...(tag ? { tag } : {}),
  revisionName,
  latestRevision: false,
  percent,
});

const svc = (traffic: Target[], s?: RolloutState, status: KObject = {}): KObject => ({
  metadata: {
    name: 'app',
    resourceVersion: '9',
    generation: 3,
    annotations: s ? { [STATE_ANNOTATION]: JSON.stringify(s) } : {},
  },
  spec: { traffic },
  status,
});

const stable = svc(
  [pin('app-v0', 100, 'stable')],
  state({ candidate: 'app-r0', phase: 'promoted', percent: 100, startedAt: '2026-11-30T00:00:00Z' }),
);
const promoted = svc([pin('app-r1', 100, 'stable')], state({ phase: 'promoted', percent: 100 }));
const rolledBack = svc([pin('app-v0', 100, 'stable')], state({ phase: 'rolled-back', percent: 0 }));
const stepping = svc([pin('app-v0', 80, 'stable'), pin('app-r1', 20, 'latest')], state());

function run(over: Partial<RunFacts> = {}): RunFacts {
  return {
    command: 'deploy',
    mode: 'inline',
    revision: 'app-r1',
    image: 'img:r1',
    code: 0,
    signal: null,
    outputs: { status: 'promoted', revision: 'app-r1', percent: '100' },
    stdout: '',
    stderr: '',
    sent: [],
    ...over,
  };
}

const image = () => 'img:r1';
const kinds = (r: RunFacts, after: KObject | KObject[], before = stable) =>
  checkRun(r, before, Array.isArray(after) ? after : [after], image).map((f) => f.kind);

describe('checkRun', () => {
  it('passes runs whose exit code, outputs and cluster agree', () => {
    expect(kinds(run(), promoted)).toEqual([]);
    const back = { status: 'rolled-back', revision: 'app-r1', percent: '0' };
    expect(kinds(run({ code: 1, outputs: back }), rolledBack)).toEqual([]);
    expect(kinds(run({ command: 'rollback', outputs: back }), rolledBack)).toEqual([]);
    const progressing = { status: 'progressing', revision: 'app-r1', percent: '20' };
    expect(kinds(run({ mode: 'scheduled', outputs: progressing }), stepping)).toEqual([]);
    // A failure before anything was written.
    expect(kinds(run({ code: 1, outputs: {} }), stable)).toEqual([]);
    // A preview, paused at 0% under its tag.
    const preview = svc(
      [pin('app-v0', 100, 'stable'), pin('app-r1', 0, 'pr-7')],
      state({ step: -1, percent: 0, tag: 'pr-7', paused: { by: '@someone', at, reason: 'preview' } }),
    );
    const paused = { status: 'paused', revision: 'app-r1', percent: '0' };
    expect(kinds(run({ outputs: paused }), preview)).toEqual([]);
    expect(kinds(run({ outputs: paused }), stepping)).toEqual(['status-disagrees']);
  });

  it('flags a status the cluster does not show, a wrong exit code, missing outputs', () => {
    expect(kinds(run(), stepping)).toContain('status-disagrees');
    expect(kinds(run({ code: 1 }), promoted)).toEqual(['exit-code']);
    const back = { status: 'rolled-back', revision: 'app-r1', percent: '0' };
    expect(kinds(run({ outputs: back }), rolledBack)).toEqual(['exit-code']);
    expect(kinds(run({ outputs: { status: 'promoted' } }), promoted)).toEqual(['outputs-incomplete']);
    expect(kinds(run({ code: 1, outputs: {} }), stepping)).toEqual(['status-disagrees']);
    expect(kinds(run({ code: 0, outputs: {} }), stable)).toEqual(['exit-code']);
    // Unless the change was not this run's (a killed run's write landing late): none of its writes landed.
    const late = run({ command: 'promote', outputs: { status: 'unchanged' }, wrote: false });
    expect(kinds(late, promoted, stepping)).toEqual([]);
    expect(kinds(run({ outputs: { status: 'planned' } }), stable)).toEqual(['unexpected-status']);
    expect(kinds(run({ stderr: 'TypeError: x is undefined' }), promoted)).toEqual(['crash']);
  });

  it('flags traffic on a revision of the same name that runs another image', () => {
    expect(checkRun(run(), stable, [promoted], () => 'img:r0').map((f) => f.kind)).toEqual(['wrong-image']);
    // Not a run that wrote nothing and claims nothing (it lost a race to the deploy of the other image).
    const refused = run({ racing: true, wrote: false, code: 1, outputs: {} });
    expect(checkRun(refused, stable, [promoted], () => 'img:r0')).toEqual([]);
  });

  it('a cancelled run: promoted, rolled back or where it was is fine; a split left unreported is not', () => {
    const sent = [{ signal: 'SIGINT' as const, atMs: 500, planned: true }];
    const back = { status: 'rolled-back', revision: 'app-r1', percent: '0' };
    expect(kinds(run({ sent, code: 1, outputs: back }), rolledBack)).toEqual([]);
    expect(kinds(run({ sent, code: 1 }), promoted)).toEqual([]);
    expect(kinds(run({ sent, code: 1, outputs: {} }), stable)).toEqual([]);
    expect(kinds(run({ sent, code: 1, outputs: {} }), stepping)).toEqual(['cancel-left-active']);
    const progressing = { status: 'progressing', revision: 'app-r1', percent: '20' };
    expect(kinds(run({ sent, code: 1, outputs: progressing }), stepping)).toEqual(['cancel-left-split']);
    // Saying that the rollback could not be written leaves it to the next run, as a kill would.
    const unwritten = 'Stopped (the run was cancelled), and the rollback could not be written: HTTP 500.';
    expect(kinds(run({ sent, code: 1, outputs: {}, stdout: unwritten }), stepping)).toEqual([]);
  });

  it('a killed run is exempt, unless the runner had to kill it after a cancel (a note if the API was slow)', () => {
    const kill = { signal: 'SIGKILL' as const, atMs: 500, planned: true };
    expect(kinds(run({ sent: [kill], signal: 'SIGKILL', outputs: {} }), stepping)).toEqual([]);
    const overran = [
      { signal: 'SIGINT' as const, atMs: 500, planned: true },
      { signal: 'SIGTERM' as const, atMs: 8000, planned: false },
      { signal: 'SIGKILL' as const, atMs: 10500, planned: false },
    ];
    expect(kinds(run({ sent: overran, signal: 'SIGKILL', outputs: {} }), stepping)).toEqual([
      'cancel-overran',
    ]);
    expect(
      kinds(run({ sent: overran, signal: 'SIGKILL', outputs: {}, apiDegraded: true }), stepping),
    ).toEqual(['cancel-overran-slow-api']);
    const hung = [{ signal: 'SIGKILL' as const, atMs: 90_000, planned: false }];
    expect(kinds(run({ sent: hung, signal: 'SIGKILL', outputs: {} }), stepping)).toEqual(['run-hung']);
  });

  it('a run ended by the signal itself (before its handlers, or as it exits) must have changed nothing, or say what', () => {
    const sent = [{ signal: 'SIGINT' as const, atMs: 100, planned: true }];
    expect(kinds(run({ sent, signal: 'SIGINT', code: null, outputs: {} }), stable)).toEqual([]);
    expect(kinds(run({ sent, signal: 'SIGINT', code: null, outputs: {} }), stepping)).toEqual([
      'died-on-signal',
    ]);
    // As it exited, its work done: its outputs are checked, not its exit code.
    const late = run({ sent: [{ ...sent[0]!, atMs: 4600 }], signal: 'SIGINT', code: null });
    expect(kinds(late, promoted)).toEqual([]);
    expect(kinds(late, stepping)).toContain('status-disagrees');
  });

  it('a racing advance may report any version seen while it ran, or a rollout another run finished', () => {
    const progressing = { status: 'progressing', revision: 'app-r1', percent: '20' };
    const racer = run({ command: 'advance', mode: 'scheduled', racing: true, outputs: progressing });
    expect(kinds(racer, [stepping, promoted], stepping)).toEqual([]);
    expect(kinds({ ...racer, racing: false }, promoted, stepping)).toContain('status-disagrees');
    const unchanged = { ...racer, outputs: { status: 'unchanged' } };
    expect(kinds(unchanged, [stepping, rolledBack], stepping)).toEqual([]);
    // One whose writes landed must say what it did.
    expect(kinds({ ...unchanged, wrote: true }, [promoted], stepping)).toEqual(['status-disagrees']);
    const cancelledSilently = { ...racer, code: 1, outputs: {}, wrote: true };
    const sent = [{ signal: 'SIGINT' as const, atMs: 500, planned: true }];
    expect(kinds({ ...cancelledSilently, sent }, [promoted], stepping)).toEqual(['cancel-unreported-change']);
    const lost = {
      ...racer,
      code: 1,
      outputs: {},
      stdout: 'Stopped: another run changed this rollout meanwhile (it is now rolled-back of app-r1 at 0%)',
    };
    expect(kinds(lost, [stepping, rolledBack], stepping)).toEqual(['outputs-incomplete']);
  });
});

describe('checkSettled', () => {
  const ready = (status: string, since = '2026-12-01T10:00:00Z') => ({
    ready: status,
    readySince: Date.parse(since),
  });
  const routes = (status: string) => ({
    conditions: [{ type: 'RoutesReady', status }],
    traffic: [pin('app-r1', 100, 'stable')],
  });
  const settled = svc([pin('app-r1', 100, 'stable')], undefined, routes('True'));

  it('passes traffic on Ready revisions that the route serves', () => {
    expect(checkSettled(settled, () => ready('True'), Date.parse('2026-12-01T10:00:05Z'))).toEqual([]);
  });

  it('flags traffic on a revision not Ready since before the last change, and a route serving another split', () => {
    const notReady = checkSettled(settled, () => ready('False'), Date.parse('2026-12-01T10:00:05Z'));
    expect(notReady.map((f) => f.kind)).toEqual(['routed-not-ready']);
    const other = svc([pin('app-r1', 100, 'stable')], undefined, {
      ...routes('True'),
      traffic: [pin('app-v0', 100, 'stable')],
    });
    expect(checkSettled(other, () => ready('True'), 0).map((f) => f.kind)).toEqual([
      'served-differs',
      'served-differs',
    ]);
    const refused = svc([pin('app-r1', 100, 'stable')], undefined, routes('False'));
    expect(checkSettled(refused, () => ready('True'), 0).map((f) => f.kind)).toEqual(['route-not-ready']);
  });

  it('excuses a revision that stopped being Ready after the last change of spec (a crash no run saw)', () => {
    const crashedLater = checkSettled(
      svc([pin('app-r1', 100, 'stable')], undefined, routes('False')),
      () => ready('False', '2026-12-01T10:00:07Z'),
      Date.parse('2026-12-01T10:00:05.300Z'),
    );
    expect(crashedLater).toEqual([]);
  });
});
