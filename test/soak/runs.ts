// A run of the action in the soak: its inputs (short steps and dwells, the Service's clock), the run itself with
// its interrupt and the API faults of a cancel, and the checks of its outcome once it is over.

import { schedulePayload } from '../support/events.ts';
import { condition } from '../emulator/helpers.ts';
import type { KObject } from '../emulator/util.ts';
import type { RunRecord, SoakContext } from './context.ts';
import { degradedRules, runUser } from './faults.ts';
import { stateOf } from './invariants.ts';
import type { RolloutState } from '../../src/rollout/state.ts';
import { checkRun, checkSettled, killed, unwritten, type RunFacts } from './outcome.ts';
import type { Interrupt, RolloutPlan } from './plan.ts';
import { runInterrupted } from './process.ts';
import { rngFor } from './random.ts';

export type Command = RunFacts['command'];

/** Inputs every run shares: probes fast and dwells short, so a rollout takes seconds. */
function common(ctx: SoakContext, service: string): Record<string, string> {
  return {
    service,
    gateway: ctx.h.emulator.gatewayUrl,
    'probe-rps': '20',
    'min-interval': '1s',
    warmup: '0s',
    timeout: '5s',
    'max-latency-p99': '250',
  };
}

export function deployInputs(ctx: SoakContext, plan: RolloutPlan): Record<string, string> {
  return {
    ...common(ctx, plan.service),
    command: 'deploy',
    image: plan.image,
    'revision-name': plan.revisionName,
    env: Object.entries(plan.env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
    steps: plan.steps,
    // Inline steps hold 1 s each (min-interval too: no step passes early); scheduled ones are advanced by the clock.
    interval: plan.mode === 'scheduled' ? '10m' : '1s',
    progression: plan.mode,
    ...(plan.smokeTests ? { 'smoke-tests': '- path: /smoke\n' } : {}),
  };
}

export function commandInputs(ctx: SoakContext, service: string, command: Command): Record<string, string> {
  return { ...common(ctx, service), command };
}

export interface RunSpec {
  rollout: number;
  service: string;
  label: string;
  command: Command;
  mode: RolloutPlan['mode'];
  inputs: Record<string, string>;
  revision?: string;
  image?: string;
  interrupt?: Interrupt;
  racing?: boolean;
  /** The event (default: a push; a schedule for advance) and more env (GitHub's, for a comment). */
  event?: { name: string; payload: unknown };
  env?: Record<string, string>;
}

let nextId = 1;

/** Starts a run; resolves with its record once it has exited (not yet checked). */
export async function run(ctx: SoakContext, spec: RunSpec): Promise<RunRecord> {
  const id = nextId++;
  const { service } = spec;
  const user = runUser(id);
  const active = ctx.active.get(service) ?? new Set<number>();
  ctx.active.set(service, active.add(id));
  const rec: RunRecord = {
    id,
    rollout: spec.rollout,
    service,
    label: spec.label,
    user,
    interrupt: spec.interrupt,
    startedAt: Date.now(),
    findings: [],
    facts: undefined as unknown as RunFacts,
  };
  ctx.runs.push(rec);
  const owner = `run-${id}`;
  ctx.faults.add(owner, user, ctx.rolloutFaults.get(service) ?? []);
  let degraded = false;
  const i = spec.interrupt;
  const startRv = ctx.h.emulator.store.resourceVersion;
  let stopWaiting = () => {};
  // A step or promotion write of this run's, as the watcher sees it land: a state it did not start from.
  const key = (s?: RolloutState) => (s ? `${s.candidate} ${s.startedAt} ${s.phase} ${s.step}` : '');
  const from = key(stateOf(ctx.h.emulator.store.get('services', 'default', service)).state);
  const landed = (svc: KObject): boolean => {
    const s = stateOf(svc).state;
    if (svc.metadata.name !== service || Number(svc.metadata.resourceVersion) <= startRv) return false;
    if (!s || key(s) === from) return false;
    return i?.on === 'promotion-written' ? s.phase === 'promoted' : s.phase === 'stepping' && s.step >= 0;
  };
  const written =
    i?.on === 'promotion-written' || i?.on === 'step-written'
      ? new Promise<void>((resolve) => {
          stopWaiting = ctx.until((svc) => {
            if (landed(svc)) resolve();
            return landed(svc);
          });
        })
      : undefined;
  const { result, sent } = await runInterrupted({
    inputs: { ...spec.inputs, kubeconfig: ctx.h.emulator.kubeconfig('default', user) },
    env: {
      KNATIVE_CANARY_NOW: new Date(Date.now() + (ctx.skew.get(service) ?? 0)).toISOString(),
      // Loopback only: should a run call GitHub, it reaches the fake.
      ...(ctx.github ? { GITHUB_API_URL: ctx.github.url } : {}),
      ...spec.env,
    },
    event:
      spec.event ??
      (spec.command === 'advance' ? { name: 'schedule', payload: schedulePayload() } : undefined),
    interrupt: i,
    written,
    timeoutMs: 90_000,
    onCancel: () => {
      if (i?.kind !== 'cancel' || !i.during) return;
      degraded = true;
      ctx.faults.add(owner, user, degradedRules(i.during, rngFor(ctx.seed, 'cancel', id)));
    },
  });
  stopWaiting();
  // A killed run's last requests may still be in the API server (held by a delay): let them land before anything
  // is checked, as they would on a cluster before the next run.
  if (result.signal === 'SIGKILL') await new Promise((r) => setTimeout(r, 3000));
  ctx.faults.clear(owner);
  active.delete(id);
  rec.endedAt = Date.now();
  rec.facts = {
    command: spec.command,
    mode: spec.mode,
    revision: spec.revision,
    image: spec.image,
    code: result.code,
    signal: result.signal,
    outputs: result.outputs,
    stdout: result.stdout,
    stderr: result.stderr,
    sent,
    apiDegraded: degraded,
    racing: spec.racing,
  };
  return rec;
}

/** Waits (up to a few seconds) until the Service's controllers have caught up with its spec. */
export async function settle(ctx: SoakContext, service: string): Promise<KObject> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const svc = await ctx.watcher.get(service);
    const routes = condition(svc, 'RoutesReady')?.status;
    const caughtUp = svc.status?.observedGeneration === svc.metadata.generation && routes !== 'Unknown';
    if (caughtUp || Date.now() > deadline) return svc;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const imageOf = (ctx: SoakContext) => (rev: string) =>
  ctx.h.emulator.store.get('revisions', 'default', rev)?.spec?.containers?.[0]?.image as string | undefined;

/**
 * Checks runs that ended: each against the Service after them (against any version seen while it ran, for a run
 * racing others), then the settled Service. Findings become violations.
 */
export async function checkRuns(
  ctx: SoakContext,
  service: string,
  runs: RunRecord[],
  before: KObject,
): Promise<KObject> {
  const after = await settle(ctx, service);
  for (const rec of runs) {
    // Its writes that landed; a run racing others is held to the versions from its last write (or its start) on.
    const writes = ctx.h.emulator.api.requests.filter(
      (q) => q.user === rec.user && q.method !== 'GET' && (q.status ?? 500) < 300,
    );
    rec.facts.wrote = writes.length > 0;
    const from = writes.at(-1)?.at ?? rec.startedAt;
    const afters = rec.facts.racing
      ? [...ctx.versionsDuring(service, from, rec.endedAt ?? Date.now()), after]
      : [after];
    rec.findings = checkRun(rec.facts, before, afters, imageOf(ctx));
    for (const f of rec.findings) ctx.violate(service, f, [rec.id]);
  }
  const revisions = (name: string) => {
    const rev = ctx.h.emulator.store.get('revisions', 'default', name);
    if (!rev) return undefined;
    const ready = condition(rev, 'Ready');
    return {
      ready: ready?.status,
      readySince: ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : undefined,
    };
  };
  // A run killed, or one that said its rollback could not be written, leaves the Service to the next run: the
  // settled Service is checked after that one.
  if (runs.some((r) => killed(r.facts) || unwritten(r.facts))) return after;
  const concerned = runs.length ? runs.map((r) => r.id) : ctx.runsOn(service);
  for (const f of checkSettled(after, revisions, ctx.lastSpecChange.get(service) ?? 0))
    ctx.violate(service, f, concerned, after);
  return after;
}
