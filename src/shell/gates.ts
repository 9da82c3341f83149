// The webhook gates of a rollout, one small function each (as Flagger's scheduler_hooks.go has them): any type
// called once, pre-rollout before the first step, confirm-promotion before full traffic.

import * as core from '@actions/core';
import { formatDuration } from '../duration.ts';
import { payloadFor } from '../health/analysis.ts';
import { callWebhooks, type WebhookResult, type WebhookType } from '../health/webhooks.ts';
import { rollback, type Next } from '../rollout/planner.ts';
import { progressionOf, type RolloutState } from '../rollout/state.ts';
import { sleep, type RunContext } from './context.ts';
import { checkContext, checksOf, hold } from './dwell.ts';
import { done } from './outcome.ts';

/** Webhooks of one type, called once; their failures are logged. */
export async function callHooks(
  ctx: RunContext,
  type: WebhookType,
  state: RolloutState,
): Promise<WebhookResult[]> {
  const hooks = ctx.inputs.webhooks.filter((h) => h.type === type);
  if (!hooks.length) return [];
  const results = await callWebhooks(hooks, type, payloadFor(checkContext(ctx, state), type), {
    signal: type === 'post-rollout' ? undefined : ctx.signal,
  });
  for (const r of results) {
    const line = `${type} webhook ${r.hook.name}: ${r.detail}`;
    if (r.ok) core.info(`✔ ${line}`);
    else if (type === 'post-rollout') core.warning(line);
    else core.info(`✘ ${line}`);
  }
  return results;
}

/**
 * pre-rollout webhooks, before the candidate gets traffic: a failure counts as a failed check and is asked
 * again after check-every, until failure-threshold is reached.
 */
export async function preRollout(
  ctx: RunContext,
  state: RolloutState,
): Promise<{ pass: boolean; detail: string } | undefined> {
  if (!ctx.inputs.webhooks.some((h) => h.type === 'pre-rollout')) return undefined;
  core.startGroup('pre-rollout webhooks');
  try {
    for (;;) {
      const failed = (await callHooks(ctx, 'pre-rollout', state)).filter((r) => !r.ok);
      if (!failed.length) return { pass: true, detail: 'pre-rollout webhooks passed' };
      const detail = failed.map((r) => `pre-rollout webhook ${r.hook.name}: ${r.detail}`).join('; ');
      if (++checksOf(ctx).failed >= ctx.inputs.failureThreshold)
        return { pass: false, detail: `${detail} (failure-threshold ${ctx.inputs.failureThreshold})` };
      await sleep(ctx.inputs.checkEveryMs, ctx.signal);
    }
  } finally {
    core.endGroup();
  }
}

/**
 * Promotion (full traffic) waits for the confirm-promotion webhooks: a refusal until `timeout` ends the run
 * holding at the last step passed; a step that fails meanwhile rolls back.
 */
export async function gatePromotion(
  ctx: RunContext,
  held: RolloutState,
): Promise<{ kind: 'confirmed' } | { kind: 'holding' } | { kind: 'failed'; next: Next }> {
  const confirmed = await confirmPromotion(ctx, held);
  if (confirmed.kind === 'failed')
    return {
      kind: 'failed',
      next: rollback(held, `${held.percent}% while awaiting confirmation: ${confirmed.detail}`, ctx.date()),
    };
  if (confirmed.kind === 'holding') {
    const message =
      progressionOf(held) === 'scheduled'
        ? `Holding ${held.candidate} at ${held.percent}%: promotion is not confirmed yet ` +
          `(${confirmed.detail}); the next scheduled run asks again.`
        : `Holding ${held.candidate} at ${held.percent}%: promotion was not confirmed within ` +
          `${formatDuration(ctx.inputs.timeoutMs)} (${confirmed.detail}). Run again to ask again, or use ` +
          `command: promote or command: rollback.`;
    core.warning(message);
    done(ctx, 'progressing', message, ctx.service!, held);
    return { kind: 'holding' };
  }
  return { kind: 'confirmed' };
}

/**
 * confirm-promotion webhooks, after the last step passed: until they all answer 2xx the candidate holds at
 * its last step, still judged, and they are asked again every check-every, for up to `timeout`.
 */
async function confirmPromotion(
  ctx: RunContext,
  state: RolloutState,
): Promise<{ kind: 'confirmed' } | { kind: 'holding'; detail: string } | { kind: 'failed'; detail: string }> {
  if (!ctx.inputs.webhooks.some((h) => h.type === 'confirm-promotion')) return { kind: 'confirmed' };
  const { inputs } = ctx;
  // A scheduled rollout asks once per run: the next scheduled run asks again, with no job waiting meanwhile.
  const waitMs = progressionOf(state) === 'scheduled' ? 0 : inputs.timeoutMs;
  core.startGroup(
    `Confirm promotion of ${state.candidate}` + (waitMs ? ` (waiting up to ${formatDuration(waitMs)})` : ''),
  );
  const deadline = ctx.now() + waitMs;
  try {
    for (;;) {
      const refused = (await callHooks(ctx, 'confirm-promotion', state)).filter((r) => !r.ok);
      if (!refused.length) return { kind: 'confirmed' };
      const detail = refused.map((r) => `${r.hook.name}: ${r.detail}`).join('; ');
      if (ctx.now() >= deadline) return { kind: 'holding', detail };
      core.info(`⏸ promotion not confirmed (${detail}); holding at ${state.percent}%`);
      const verdict = await hold(
        ctx,
        state,
        state.percent,
        Math.min(deadline, ctx.now() + inputs.checkEveryMs),
        'confirm',
      );
      if (!verdict.pass) return { kind: 'failed', detail: verdict.detail };
    }
  } finally {
    core.endGroup();
  }
}
