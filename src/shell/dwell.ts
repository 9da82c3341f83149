// The dwell of a step: the probes (started once per run), the sequential judge at every look, and the Prometheus
// queries and webhooks every check-every and once more before a pass. Reaches a verdict for one step.

import * as core from '@actions/core';
import { formatDuration } from '../duration.ts';
import { Checks, lookFrom, type CheckContext } from '../health/analysis.ts';
import { Histogram } from '../health/histogram.ts';
import { Judge } from '../health/judge.ts';
import { addWindow, describeWindow, emptyWindow, Prober } from '../health/probe.ts';
import { gatewayFor } from '../knative/hosts.ts';
import { tagUrl } from '../knative/types.ts';
import { UsersReader } from '../health/users-reader.ts';
import type { RolloutState } from '../rollout/state.ts';
import { sleep, type Probes, type RunContext } from './context.ts';

/** Starts probing the candidate's and the stable revision's tag URLs, once per run. */
export function startProbes(ctx: RunContext, state: RolloutState): Probes {
  if (ctx.probes) return ctx.probes;
  const { inputs } = ctx;
  const svc = ctx.service!;
  const path = inputs.smokeTests[0]?.path ?? '/';
  const candUrl = tagUrl(svc, state.tag)!;
  const stableUrl = state.stableTag ? tagUrl(svc, state.stableTag) : undefined;
  const opts = {
    path,
    rps: inputs.probeRps,
    timeoutMs: Math.min(10_000, inputs.timeoutMs),
    // A request due in the warm-up may be answered after it: the probes know when each one was due.
    warmupMs: inputs.warmupMs,
  };
  const cand = { url: candUrl, gateway: gatewayFor(candUrl, svc, inputs) };
  const stable = stableUrl ? { url: stableUrl, gateway: gatewayFor(stableUrl, svc, inputs) } : undefined;
  ctx.probes = {
    cand: new Prober(cand, opts).start(),
    stable: stable ? new Prober(stable, opts).start() : undefined,
    startedAt: ctx.now(),
    lastLookAt: ctx.now(),
    stableSeen: new Histogram(),
  };
  if (inputs.probeRps > 0)
    core.info(
      `Probing ${candUrl}${stableUrl ? ` and ${stableUrl}` : ''}` +
        `${cand.gateway ? ` via ${cand.gateway.origin}` : ''} at ${inputs.probeRps} req/s each` +
        (stableUrl ? '' : ': no stable tag, so only the absolute limits apply'),
    );
  return ctx.probes;
}

/** The run's Prometheus queries and webhooks; their failures count against failure-threshold together. */
export function checksOf(ctx: RunContext): Checks {
  const { inputs } = ctx;
  return (ctx.checks ??= new Checks(
    inputs.analysis,
    inputs.webhooks,
    inputs.checkEveryMs,
    inputs.failureThreshold,
    (ok, text) => (ok ? core.info : core.warning)(`${ok ? '✔' : '✘'} ${text}`),
  ));
}

/** Stops the probes (they are started again by the next dwell that needs them). */
export function stopProbes(ctx: RunContext): void {
  ctx.probes?.cand.stop();
  ctx.probes?.stable?.stop();
  ctx.probes = undefined;
}

/** What the queries and webhooks are told of the rollout. */
export function checkContext(ctx: RunContext, state: RolloutState): CheckContext {
  return {
    namespace: ctx.inputs.namespace,
    service: ctx.inputs.service,
    candidate: state.candidate,
    stable: state.baseline.map((b) => b.revisionName),
    step: state.phase === 'stepping' ? state.step + 1 : 0,
    steps: state.steps.length,
    percent: state.percent,
    intervalMs: ctx.inputs.intervalMs,
    run: ctx.opts.runUrl,
  };
}

/** A judge of the run's inputs, at `alpha`. */
function judgeFor(ctx: RunContext, alpha: number): Judge {
  const { inputs } = ctx;
  return new Judge({
    alpha,
    maxErrorRate: inputs.maxErrorRate,
    maxLatencyP99Ms: inputs.maxLatencyP99Ms,
    warmupMs: inputs.warmupMs,
  });
}

/**
 * Users' traffic as a second source of evidence, when the analysis has a Prometheus server: the rollout's revisions'
 * request counters and latency buckets, read every check-every. Made once per run.
 */
function usersOf(ctx: RunContext, state: RolloutState, startedAt: number): RunContext['users'] {
  const { inputs } = ctx;
  if (ctx.users || !inputs.analysis.url) return ctx.users;
  if (!inputs.analysis.traffic) return undefined;
  const everyMs = inputs.analysis.trafficEveryMs ?? inputs.checkEveryMs;
  const reader = new UsersReader(inputs.analysis, inputs.analysis.metrics ?? 'auto', {
    namespace: inputs.namespace,
    candidate: state.candidate,
    stable: state.baseline.map((b) => b.revisionName),
    everyMs,
    maxLatencyP99Ms: inputs.maxLatencyP99Ms,
    info: (text) => core.info(`${text}, read every ${formatDuration(everyMs)}`),
    warn: (text) => core.warning(text),
    startedAt,
  });
  return (ctx.users = { reader, judge: judgeFor(ctx, inputs.alpha / 2) });
}

/** With `on-no-data: fail`, a step that passes must have seen users' requests to the candidate. */
function usersNoData(ctx: RunContext, state: RolloutState): string | undefined {
  const users = ctx.users;
  if (!users || ctx.inputs.analysis.trafficOnNoData !== 'fail') return undefined;
  // Two reads make the first increase: before them there was no chance to see any.
  if (users.reader.reads < 2 || (users.reader.traffic?.stepRequests() ?? 0) > 0) return undefined;
  return `users' traffic: no request to ${state.candidate} seen in Prometheus in this step (on-no-data: fail)`;
}

/**
 * Probes candidate and stable during the dwell and judges at every look; runs the Prometheus queries and the
 * rollout and rollback webhooks every check-every, and once more before a pass.
 */
export async function hold(
  ctx: RunContext,
  state: RolloutState,
  percent: number,
  untilMs: number,
  label = `step ${state.step + 1}`,
): Promise<{ pass: boolean; detail: string }> {
  const { inputs } = ctx;
  const p = startProbes(ctx, state);
  const users = usersOf(ctx, state, p.startedAt);
  // Two sources of evidence share alpha: each judge fails at 2/alpha, so a healthy candidate is rolled back by
  // either with a chance of at most alpha in all.
  const judge = (ctx.judge ??= judgeFor(ctx, users ? inputs.alpha / 2 : inputs.alpha));
  judge.startStep();
  users?.judge.startStep();
  users?.reader.traffic?.startStep();
  const usersVerdict = (): string | undefined => {
    if (!users) return undefined;
    for (const l of users.reader.take()) {
      users.judge.observe(l);
      // Users' traffic only ever fails a step: an early pass is the probes' to give.
      const u = users.judge.decide({ final: false, canPass: false });
      if (u.decision === 'fail') return `users' traffic: ${u.detail}`;
    }
    return undefined;
  };
  const began = ctx.now();
  const stepCand = emptyWindow();
  const stepStable = p.stable ? emptyWindow() : undefined;
  const look = () => {
    const c = p.cand.take();
    const s = p.stable?.take();
    addWindow(stepCand, c);
    if (s) addWindow(stepStable!, s);
    judge.observe(lookFrom(c, s, p.stableSeen, inputs.maxLatencyP99Ms, p.lastLookAt - p.startedAt));
    p.lastLookAt = ctx.now();
    if (s) p.stableSeen.add(s.latency);
  };
  const evidence = () =>
    `candidate ${describeWindow(stepCand)}` + (stepStable ? `; stable ${describeWindow(stepStable)}` : '');

  const checks = checksOf(ctx);
  checks.startStep(began);

  core.info(`Holding ${formatDuration(Math.max(0, untilMs - began))} at ${percent}%`);
  let verdict: { pass: boolean; detail: string } | undefined;
  try {
    for (;;) {
      const left = untilMs - ctx.now();
      await sleep(Math.max(0, Math.min(left, ctx.opts.judgeEveryMs ?? 250)), ctx.signal);
      look();
      const t = ctx.now();
      const final = t >= untilMs;
      const d = judge.decide({ final, canPass: t - began >= inputs.minIntervalMs });
      checks.tick(t, checkContext(ctx, state), ctx.signal);
      users?.reader.tick(t, ctx.signal);
      const failed = checks.verdict() ?? usersVerdict();
      if (failed) {
        verdict = { pass: false, detail: failed };
        break;
      }
      if (d.decision === 'fail') {
        verdict = { pass: false, detail: `${users ? 'probes: ' : ''}${d.detail}` };
        break;
      }
      if (d.decision === 'pass') {
        const last = (await checks.final(checkContext(ctx, state), ctx.signal)) ?? usersNoData(ctx, state);
        if (last) {
          verdict = { pass: false, detail: last };
          break;
        }
        verdict = { pass: true, detail: d.detail };
        break;
      }
    }
  } finally {
    look();
    ctx.report.steps.push({
      label,
      percent,
      startedAt: began,
      endedAt: ctx.now(),
      candidate: stepCand,
      stable: stepStable,
      verdict: verdict ? (verdict.pass ? 'pass' : 'fail') : 'interrupted',
      detail: verdict?.detail ?? 'interrupted before a verdict',
      ...(users?.reader.traffic ? { users: users.reader.traffic.describeStep() } : {}),
    });
  }
  // The verdict says what happened; the probes' numbers follow on a line of their own (the summary's table has
  // them in columns).
  const after = formatDuration(ctx.now() - began);
  core.info(
    verdict.pass
      ? `✔ ${percent}% healthy after ${after}: ${verdict.detail}`
      : `✘ ${percent}% unhealthy after ${after}: ${verdict.detail}`,
  );
  core.info(`  probes: ${evidence()}`);
  if (users) core.info(`  users' requests: ${users.reader.traffic?.describe() ?? 'none'}`);
  return verdict;
}
