// The driver: carries a rollout from the planner's decision to the next, one small function per kind of decision
// (as argo-rollouts' rolloutCanary is a sequence of early-returning steps). Each returns the next decision, or
// nothing when the run is done with the rollout; a rollback ends the run failed.

import * as core from '@actions/core';
import { formatDuration } from '../duration.ts';
import { runSmokeTests } from '../health/smoke.ts';
import { AbortedError, NameTaken, RolloutFailed, TimeoutError, TrafficRefused } from '../errors.ts';
import { gatewayFor } from '../knative/hosts.ts';
import { condition, resolvedPercents, tagUrl, type Service } from '../knative/types.ts';
import {
  afterHold,
  afterPreviewSmoke,
  afterSmoke,
  describeBaseline,
  rollback,
  type Next,
  type Verdict,
} from '../rollout/planner.ts';
import { hadTraffic, progressionOf, stableOf, type RolloutState } from '../rollout/state.ts';
import { holdFromNow, isPromotion, promotionWaitsAt } from '../rollout/steps.ts';
import { describePercents } from '../rollout/traffic.ts';
import type { RunContext } from './context.ts';
import { hold, stopProbes } from './dwell.ts';
import { waitProgress } from './progress.ts';
import { callHooks, gatePromotion, preRollout } from './gates.ts';
import { done } from './outcome.ts';
import { failedMidRollout } from './recovery.ts';
import { apply, candidateServed, rollBack, watchingState } from './traffic.ts';

type Of<K extends Next['kind']> = Extract<Next, { kind: K }>;

/** What the loop carries from one decision to the next. */
interface Loop {
  /** The state of the step last held: where a promotion that is not confirmed stays. */
  held?: RolloutState;
  /** Whether the confirm-promotion webhooks (if any) have said yes. */
  confirmed: boolean;
}

/** Carries a rollout on from `first`; a failure on the way puts traffic back on the stable revision. */
export async function drive(ctx: RunContext, first: Next, held?: RolloutState): Promise<void> {
  ctx.rollout = first.state;
  try {
    await stepThrough(ctx, first, held);
  } catch (e) {
    await failedMidRollout(ctx, e);
  } finally {
    stopProbes(ctx);
  }
}

/** A rollout this run deployed or found: the candidate Ready, smoke-tested and gated, then its steps. */
export async function runRollout(ctx: RunContext, state: RolloutState): Promise<void> {
  let next: Next;
  if (state.phase === 'deploying') next = await readyAndSmoke(ctx, state);
  else if (state.phase === 'stepping') next = { kind: 'set-step', state, step: state.steps[state.step]! };
  else return;
  try {
    await stepThrough(ctx, next);
  } finally {
    stopProbes(ctx);
  }
}

async function stepThrough(ctx: RunContext, first: Next, heldBefore?: RolloutState): Promise<void> {
  const loop: Loop = { held: heldBefore, confirmed: false };
  let next: Next | undefined = first;
  while (next) next = await take(ctx, loop, next);
}

async function take(ctx: RunContext, loop: Loop, next: Next): Promise<Next | undefined> {
  // The confirm-promotion webhooks (if any) are asked before full traffic.
  if (isPromotion(next) && !loop.confirmed) {
    const gate = await gatePromotion(ctx, promotionWaitsAt(loop.held, next.state));
    if (gate.kind === 'holding') return undefined;
    loop.confirmed = true;
    if (gate.kind === 'failed') return gate.next;
  }
  switch (next.kind) {
    case 'set-step':
      return setStep(ctx, next);
    case 'park':
      return park(ctx, next);
    case 'hold':
      loop.held = next.state;
      return holdStep(ctx, next);
    case 'promote':
      return promote(ctx, next);
    case 'rollback':
      return rollBackNow(ctx, next);
  }
}

/** A step's traffic, served; then its dwell, unless scheduled runs take it from here. */
async function setStep(ctx: RunContext, next: Of<'set-step'>): Promise<Next | undefined> {
  const { state } = next;
  core.startGroup(
    `Step ${state.step + 1}/${state.steps.length}: ${next.step.percent}% to ${state.candidate}`,
  );
  try {
    await apply(ctx, next);
  } catch (e) {
    if (!(e instanceof TrafficRefused)) throw e;
    // The step never reached users: the split before it stays, and the candidate is rolled back.
    core.info(`✘ ${e.message}.`);
    core.endGroup();
    return rollback(
      state,
      `Knative refused the ${next.step.percent}% step (${e.reason}: ${e.detail})`,
      ctx.date(),
    );
  }
  core.info(`Traffic: ${describePercents(resolvedPercents(ctx.service!))}`);
  if (progressionOf(state) === 'scheduled') {
    core.endGroup();
    const message =
      `${state.candidate} has ${state.percent}% of traffic (step ${state.step + 1} of ${state.steps.length}); ` +
      `scheduled runs (command advance) take the next step once its dwell of ` +
      `${formatDuration(next.step.dwellMs)} is over and its checks pass.`;
    done(ctx, 'progressing', message, ctx.service!, state);
    return undefined;
  }
  return holdFromNow(state, ctx.date());
}

/** A state written and left there: a preview at 0%, a pause, a resume that scheduled runs take on. */
async function park(ctx: RunContext, next: Of<'park'>): Promise<undefined> {
  const { state } = next;
  await apply(ctx, next);
  const url = tagUrl(ctx.service!, state.tag);
  const message =
    state.paused?.reason === 'preview'
      ? `Preview of ${state.candidate} at 0% under tag "${state.tag}": ${url ?? '(no URL yet)'}. ` +
        `It gets no traffic until it is promoted or resumed.`
      : `${next.message[0]!.toUpperCase()}${next.message.slice(1)}.`;
  done(ctx, state.paused ? 'paused' : 'progressing', message, ctx.service!, state);
  return undefined;
}

/** The dwell of the current step, and the planner's answer to its verdict. */
async function holdStep(ctx: RunContext, next: Of<'hold'>): Promise<Next> {
  const verdict = await hold(ctx, next.state, next.step.percent, next.untilMs);
  core.endGroup();
  return afterHold(next.state, verdict, ctx.date());
}

async function promote(ctx: RunContext, next: Of<'promote'>): Promise<undefined> {
  const { state } = next;
  core.startGroup(`Promote ${state.candidate} to 100%`);
  await apply(ctx, next);
  core.info(
    `✔ ${state.candidate} is the stable revision${state.stableTag ? ` (tag "${state.stableTag}")` : ''}.`,
  );
  core.endGroup();
  ctx.report.stable = state.candidate;
  done(ctx, 'promoted', `Promoted ${state.candidate} to 100% of traffic.`, ctx.service!, state);
  await callHooks(ctx, 'post-rollout', state).catch(() => undefined);
  return undefined;
}

async function rollBackNow(ctx: RunContext, next: Of<'rollback'>): Promise<never> {
  const { state } = next;
  core.startGroup(`Roll back to ${describeBaseline(state.baseline)}`);
  const began = ctx.now();
  await apply(ctx, next);
  core.info(
    `Traffic: ${describePercents(resolvedPercents(ctx.service!))}, confirmed by the route ${formatDuration(ctx.now() - began)} after the decision.`,
  );
  core.endGroup();
  // "Rolled back" only for a candidate that had traffic; one stopped before (a failed smoke test or pre-rollout
  // gate) is said to be so.
  const message = hadTraffic(state)
    ? `Rolled back ${state.candidate}: ${next.reason}. Traffic is back on ${describeBaseline(state.baseline)}.`
    : `Stopped ${state.candidate} before it had any traffic: ${next.reason}. Traffic stays on ${describeBaseline(state.baseline)}.`;
  done(ctx, 'rolled-back', message, ctx.service!, state);
  stopProbes(ctx);
  await callHooks(ctx, 'post-rollout', state).catch(() => undefined);
  throw new RolloutFailed(message);
}

/** Waits for the candidate and its tag to be served, smoke-tests it and asks pre-rollout: the first decision. */
async function readyAndSmoke(ctx: RunContext, state: RolloutState): Promise<Next> {
  const { inputs } = ctx;
  core.startGroup(
    `Wait for ${state.candidate} to become Ready (timeout ${formatDuration(inputs.timeoutMs)})`,
  );
  const began = ctx.now();
  const progress = waitProgress(`${state.candidate} to be Ready and served`, ctx.now);
  const served = candidateServed(
    state.candidate,
    state.tag,
    ctx.service?.metadata.generation ?? 0,
    ctx.service,
  );
  try {
    ctx.service = await ctx.client.waitForService(
      inputs.service,
      watchingState(ctx.service, (svc) => {
        progress.seen(svc);
        return served(svc);
      }),
      { timeoutMs: inputs.timeoutMs, signal: ctx.signal },
      ctx.service,
    );
  } catch (e) {
    progress.stop();
    if (e instanceof TimeoutError || e instanceof RolloutFailed) {
      const reason =
        e instanceof TimeoutError
          ? `revision ${state.candidate} did not become Ready within ${formatDuration(inputs.timeoutMs)}${whyNotReady(e)}`
          : e.message;
      ctx.report.steps.push({
        label: 'ready',
        percent: 0,
        startedAt: began,
        endedAt: ctx.now(),
        verdict: 'fail',
        detail: reason,
      });
      core.endGroup();
      const back = rollback(state, reason, ctx.date());
      // A candidate never created (its name taken) leaves its tag's entry as the deploy found it.
      const asFound =
        e instanceof NameTaken ? ctx.found?.spec.traffic?.find((t) => t.tag === state.tag) : undefined;
      await rollBack(ctx, back, inputs.timeoutMs, asFound);
      const stable = stableOf(back.state);
      const template =
        ctx.service?.spec.template.metadata?.name === stable
          ? `, and the Service's template is back to ${stable}'s`
          : '';
      const message = `${reason}. No user traffic reached it; traffic stays on ${describeBaseline(state.baseline)}${template}.`;
      done(ctx, 'rolled-back', message, ctx.service!, back.state);
      throw new RolloutFailed(message);
    }
    throw e;
  } finally {
    progress.stop();
  }
  core.info(
    `✔ ${state.candidate} is Ready after ${formatDuration(ctx.now() - began)}; tag "${state.tag}" resolves to it.`,
  );
  ctx.report.steps.push({
    label: 'ready',
    percent: 0,
    startedAt: began,
    endedAt: ctx.now(),
    verdict: 'pass',
    detail: `Ready in ${formatDuration(ctx.now() - began)}`,
  });
  core.endGroup();

  const verdict = await smokeTest(ctx, state);
  const pre = verdict.pass ? await preRollout(ctx, state) : undefined;
  const gated = pre && !pre.pass ? pre : verdict;
  return ctx.opts.preview
    ? afterPreviewSmoke(state, gated, ctx.opts.actor, ctx.date())
    : afterSmoke(state, gated, ctx.date());
}

async function smokeTest(ctx: RunContext, state: RolloutState): Promise<Verdict> {
  const { inputs } = ctx;
  const url = tagUrl(ctx.service!, state.tag)!;
  const gateway = gatewayFor(url, ctx.service!, inputs);
  core.startGroup(`Smoke test ${url}${gateway ? ` via ${gateway.origin}` : ''}`);
  const began = ctx.now();
  const results = await runSmokeTests({ url, gateway }, inputs.smokeTests, { signal: ctx.signal });
  if (ctx.signal?.aborted) throw new AbortedError();
  for (const r of results) {
    const line = `${r.test.method} ${r.test.path}: ${r.detail}${r.attempts > 1 ? ` (attempt ${r.attempts})` : ''}`;
    if (r.pass) core.info(`✔ ${line}`);
    else core.info(`✘ ${line}`);
  }
  const failed = results.find((r) => !r.pass);
  const detail = failed
    ? `${failed.test.method} ${failed.test.path}: ${failed.detail}`
    : `${results.length} passed`;
  ctx.report.steps.push({
    label: 'smoke',
    percent: 0,
    startedAt: began,
    endedAt: ctx.now(),
    verdict: failed ? 'fail' : 'pass',
    detail,
  });
  core.endGroup();
  return { pass: !failed, detail } as Verdict;
}

function whyNotReady(e: TimeoutError): string {
  const last = (e as TimeoutError<Service>).last;
  const c = last ? (condition(last, 'ConfigurationsReady') ?? condition(last, 'Ready')) : undefined;
  return c?.message ? ` (${c.reason ?? c.status}: ${c.message})` : '';
}
