// The I/O shell around the planner for one Service: observes it, asks the planner what to do, does it, reports.

import * as core from '@actions/core';
import { stringify } from 'yaml';
import { formatDuration } from './duration.ts';
import { Checks, lookFrom, payloadFor, type CheckContext } from './health/analysis.ts';
import { Histogram } from './health/histogram.ts';
import { Judge } from './health/judge.ts';
import { addWindow, describeWindow, emptyWindow, Prober } from './health/probe.ts';
import { callWebhooks, type WebhookResult, type WebhookType } from './health/webhooks.ts';
import { runSmokeTests } from './health/smoke.ts';
import { describeSteps, InputError, type Inputs, type Template } from './inputs.ts';
import { AbortedError, KnativeClient, KubeError, TimeoutError } from './knative/client.ts';
import { checkGateways, gatewayFor } from './knative/hosts.ts';
import { condition, resolvedPercents, tagUrl, type Service, type TrafficTarget } from './knative/types.ts';
import { refusalOutlastsReady, routeVerdict } from './rollout/route.ts';
import {
  afterCheck,
  afterHold,
  afterPreviewSmoke,
  afterSmoke,
  describeBaseline,
  holdCurrent,
  patchFor,
  pauseRollout,
  planAdvance,
  PlanError,
  planDeploy,
  planRollback,
  promoteTo,
  resumeRollout,
  rollback,
  templateOf,
  type Next,
  type ServicePatch,
} from './rollout/planner.ts';
import {
  decodeState,
  isActive,
  progressionOf,
  stableAfter,
  STATE_ANNOTATION,
  stableOf,
  type RolloutState,
} from './rollout/state.ts';
import type { Deployments } from './github/deployments.ts';
import { describePercents, wantedPercents } from './rollout/traffic.ts';
import { logStatus, logTable, markdownSummary, type RunReport, type Status } from './report/report.ts';

import type { RunOptions } from './main.ts';

export class RolloutFailed extends Error {
  override name = 'RolloutFailed';
}

/**
 * Another run (a comment command, a scheduled run, a newer deploy) changed this rollout while this one worked on
 * it: this run stops without writing, and without rolling back what the other run decided.
 */
export class ConcurrentChange extends RolloutFailed {
  override name = 'ConcurrentChange';
  constructor(
    message: string,
    readonly found?: RolloutState,
    /** The same rollout goes on (paused, stepped or promoted by the other run): not a failure of this run. */
    readonly benign = false,
  ) {
    super(message);
  }
}

/** Knative refused a traffic block whole (RoutesReady False): the split before it stays in force. */
export class TrafficRefused extends RolloutFailed {
  override name = 'TrafficRefused';
  constructor(
    readonly reason: string,
    readonly detail: string,
    /** Where traffic is, from status.traffic: the split before the refused block. */
    readonly traffic: string,
  ) {
    super(`Knative refused the traffic block (${reason}: ${detail}); traffic stays on ${traffic}`);
  }
}

/**
 * Where users' traffic is while Knative refuses a block: status.traffic, or, when the refusal cleared it (a bad tag
 * host: route.go assigns status.traffic before it fails), the split as it was before the write, which the ingress
 * still serves.
 */
function servedSplit(svc: Service, before: Service | undefined): string {
  const now = resolvedPercents(svc);
  return describePercents(now.size || !before ? now : resolvedPercents(before));
}

export interface ShellOptions extends RunOptions {
  now: () => number;
  runUrl?: string;
  /** Who asked: `@login` of a comment's author, or the workflow's actor. */
  actor: string;
  /** A deploy from a pull request comment: a preview of its head commit, parked at 0% under tag pr-<number>. */
  preview?: { pr: number; sha: string };
  /** The commit deployed, for the GitHub Deployment. */
  sha?: string;
  deployments?: Deployments;
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

interface Probes {
  cand: Prober;
  stable?: Prober;
  startedAt: number;
  /** When the window now being collected began. */
  lastLookAt: number;
  /** Every answer of the stable revision judged so far: its p50 and p99 are the latency thresholds. */
  stableSeen: Histogram;
}

export class Shell {
  private probes?: Probes;
  private judge?: Judge;
  private checksOfRun?: Checks;
  private service?: Service;
  /** The rollout this run started or resumed: only it may be rolled back on this run's failure. */
  private rollout?: RolloutState;
  private readonly signal?: AbortSignal;
  private readonly now: () => number;

  constructor(
    private readonly inputs: Inputs,
    private readonly client: KnativeClient,
    private readonly report: RunReport,
    private readonly opts: ShellOptions,
  ) {
    this.signal = opts.signal;
    this.now = opts.now;
  }

  /** The rollout this run reports on: its candidate, and the stable revision it started from. */
  private reportOn(state: RolloutState): void {
    this.report.candidate = state.candidate;
    this.report.stable = stableOf(state);
  }

  private date(): Date {
    return new Date(this.now());
  }

  async execute(): Promise<void> {
    const { inputs } = this;
    const svc = await this.client.getService(inputs.service);
    if (!svc) {
      throw new InputError(
        'service',
        `Service "${inputs.service}" not found in namespace "${inputs.namespace}": create it first (kubectl apply) or check 'namespace'`,
      );
    }
    this.service = svc;
    // A command that may smoke-test or probe must be able to reach the Service's hosts: known before any write.
    if (['deploy', 'promote', 'resume', 'advance'].includes(inputs.command)) checkGateways(svc, inputs);
    switch (inputs.command) {
      case 'deploy':
        return this.deploy(svc);
      case 'promote':
        return this.promoteCommand(svc);
      case 'rollback':
        return this.rollbackCommand(svc);
      case 'status':
        return this.statusCommand(svc);
      case 'advance':
        return this.advanceCommand(svc);
      case 'pause':
        return this.pauseCommand(svc);
      case 'resume':
        return this.resumeCommand(svc);
      case 'help':
        return;
    }
  }

  private stateOf(svc: Service): RolloutState | undefined {
    const { state, problem } = decodeState(svc.metadata.annotations?.[STATE_ANNOTATION]);
    if (problem) core.warning(problem);
    return state;
  }

  // ---- deploy ------------------------------------------------------------------------------------------------

  private async deploy(svc: Service): Promise<void> {
    const { inputs } = this;
    const state = this.stateOf(svc);
    const baselineGuess = resolvedPercents(svc);
    const single = baselineGuess.size === 1 ? [...baselineGuess.keys()][0] : undefined;
    const stableRevision = single ? await this.client.getRevision(single) : undefined;
    const namedRevision =
      inputs.revisionName === single ? stableRevision : await this.client.getRevision(inputs.revisionName);
    const ctx = {
      stableRevision,
      namedRevision,
      run: this.opts.runUrl,
      ...(this.opts.preview ? { pr: this.opts.preview.pr, sha: this.opts.preview.sha } : {}),
    };
    let plan = planDeploy({ service: svc, state, now: this.date(), ...ctx }, inputs);

    core.startGroup(`Plan: ${inputs.namespace}/${inputs.service}`);
    core.info(`Traffic now: ${describePercents(baselineGuess)}`);
    core.info(`Steps: ${describeSteps(inputs.steps)}`);
    core.info(
      `Limits: error rate ≤ ${(inputs.maxErrorRate * 100).toFixed(1)}%` +
        (inputs.maxLatencyP99Ms !== undefined
          ? `, p99 ≤ ${inputs.maxLatencyP99Ms} ms`
          : ', p99 not limited') +
        `; probes at ${inputs.probeRps} req/s`,
    );
    core.endGroup();

    if (plan.kind === 'unchanged') {
      core.info(`Nothing to deploy: ${plan.reason}.`);
      this.report.stable = plan.stable;
      this.report.candidate = inputs.revisionName;
      return this.done('unchanged', `Nothing to deploy: ${plan.reason}.`, svc);
    }
    if (inputs.dryRun) {
      const patch = plan.kind === 'start' ? plan.patch : patchFor(svc, plan.state);
      return this.dryRun(svc, patch, plan.state);
    }

    let current: RolloutState;
    if (plan.kind === 'start') {
      // The Deployment first, so that its id is in the state written with the template.
      const deployment =
        this.opts.deployments &&
        (await this.opts.deployments.create({
          ref: this.opts.preview?.sha ?? this.opts.sha ?? '',
          service: inputs.service,
          namespace: inputs.namespace,
          candidate: inputs.revisionName,
          previous: state,
          pr: this.opts.preview?.pr,
        }));
      if (deployment)
        plan = planDeploy({ service: svc, state, now: this.date(), ...ctx, deployment }, inputs);
      if (plan.kind !== 'start') throw new PlanError(`the plan changed while deploying: ${plan.kind}`);
      core.startGroup(`Deploy ${inputs.revisionName} at 0% under tag "${inputs.tag}"`);
      if (plan.superseded)
        core.warning(
          `A rollout of ${plan.superseded} was in progress: it is superseded and gets no traffic.`,
        );
      // The plan above was made from `svc`; only a Service changed since (a 409) needs planning again.
      const written = await this.client
        .update(
          inputs.service,
          (fresh) => {
            if (fresh !== svc) {
              plan = planDeploy(
                { service: fresh, state: this.stateOf(fresh), now: this.date(), ...ctx, deployment },
                inputs,
              );
            }
            if (plan.kind !== 'start')
              throw new PlanError(`the Service changed while deploying: ${plan.kind}`);
            return { patch: plan.patch, result: plan.state };
          },
          svc,
        )
        .catch(async (e: unknown) => {
          // Nothing was written: the deployment just created did not happen.
          if (deployment) await this.opts.deployments?.abandon(deployment, (e as Error).message);
          throw e;
        });
      current = written.result;
      this.service = written.service;
      if (plan.superseded && state) await this.opts.deployments?.superseded(state, inputs.revisionName);
      await this.opts.deployments?.follow(current, written.service);
      core.info(
        `Wrote template ${inputs.revisionName}; stable ${describeBaseline(current.baseline)} stays pinned by name.`,
      );
      this.mark(0);
    } else {
      current = plan.state;
      core.startGroup(`Resume rollout of ${current.candidate} (phase ${current.phase}, ${current.percent}%)`);
      core.info(`Found the rollout's state on the Service, written by ${current.run ?? 'an earlier run'}.`);
      this.mark(current.percent);
    }
    this.rollout = current;
    this.reportOn(current);
    core.endGroup();

    try {
      await this.runRollout(current);
    } catch (e) {
      await this.failedMidRollout(e);
    }
  }

  /**
   * A run that ended in a reported state (rolled back by a verdict) says so itself; another run's change to the
   * rollout stands. Anything else mid-rollout (cancellation, a route that never confirmed a step, an API failure)
   * first puts traffic back on the stable revision.
   */
  private async failedMidRollout(e: unknown): Promise<never> {
    if (this.report.status) throw e;
    if (e instanceof ConcurrentChange) throw await this.stopped(e);
    const reason =
      e instanceof AbortedError
        ? 'the run was cancelled'
        : e instanceof RolloutFailed
          ? e.message
          : `unexpected error: ${(e as Error).message}`;
    return this.emergencyRollback(reason);
  }

  /** Another run changed the rollout: say where traffic is now, and whether this rollout goes on. */
  private async stopped(e: ConcurrentChange): Promise<ConcurrentChange> {
    const svc = await this.client.getService(this.inputs.service).catch(() => undefined);
    const now = svc ? ` Traffic is on ${describePercents(resolvedPercents(svc))}.` : '';
    const f = e.found;
    const same =
      f !== undefined && f.candidate === this.rollout?.candidate && f.startedAt === this.rollout.startedAt;
    return new ConcurrentChange(`Stopped: ${e.message}.${now}`, f, same && f.phase !== 'rolled-back');
  }

  /** Carries a rollout on from `first`; a failure on the way puts traffic back on the stable revision. */
  private async drive(first: Next, held?: RolloutState): Promise<void> {
    this.rollout = first.state;
    try {
      await this.stepThrough(first, held);
    } catch (e) {
      await this.failedMidRollout(e);
    } finally {
      this.stopProbes();
    }
  }

  /**
   * The candidate is Ready and its tag is served: status.traffic resolves the tag to it at the observed generation
   * and RoutesReady is True (the gateway serves it). A failed candidate, a name taken, or a refusal that waiting
   * for the candidate will not end stop the wait at once.
   */
  private readyCheck(candidate: string, tag: string, minGeneration: number, before?: Service) {
    return (svc: Service): Service | undefined => {
      const failedRev =
        svc.status?.latestCreatedRevisionName === candidate
          ? condition(svc, 'ConfigurationsReady')
          : undefined;
      if (failedRev?.status === 'False') {
        throw new RolloutFailed(
          `revision ${candidate} failed: ${failedRev.message ?? failedRev.reason ?? 'not ready'}`,
        );
      }
      const routes = condition(svc, 'RoutesReady');
      if (routes?.status === 'False' && routes.reason === 'RevisionNameTaken') {
        throw new RolloutFailed(`revision ${candidate} cannot be created: ${routes.message}`);
      }
      if ((svc.status?.observedGeneration ?? 0) < minGeneration) return undefined;
      if (routes?.status === 'False') {
        const refused = {
          kind: 'refused' as const,
          reason: routes.reason ?? '',
          message: routes.message ?? '',
        };
        if (refusalOutlastsReady(refused, svc, candidate))
          throw new TrafficRefused(refused.reason, refused.message, servedSplit(svc, before));
        return undefined;
      }
      const target = svc.status?.traffic?.find((t) => t.tag === tag);
      return target?.revisionName === candidate && routes?.status === 'True' ? svc : undefined;
    };
  }

  private async runRollout(start: RolloutState): Promise<void> {
    const { inputs } = this;
    const state = start;
    let next: Next;

    if (state.phase === 'deploying') {
      core.startGroup(
        `Wait for ${state.candidate} to become Ready (timeout ${formatDuration(inputs.timeoutMs)})`,
      );
      const began = this.now();
      try {
        this.service = await this.client.waitForService(
          inputs.service,
          this.readyCheck(state.candidate, state.tag, this.service?.metadata.generation ?? 0, this.service),
          { timeoutMs: inputs.timeoutMs, signal: this.signal },
          this.service,
        );
      } catch (e) {
        if (e instanceof TimeoutError || e instanceof RolloutFailed) {
          const reason =
            e instanceof TimeoutError
              ? `revision ${state.candidate} did not become Ready within ${formatDuration(inputs.timeoutMs)}${this.whyNotReady(e)}`
              : e.message;
          this.report.steps.push({
            label: 'ready',
            percent: 0,
            startedAt: began,
            endedAt: this.now(),
            verdict: 'fail',
            detail: reason,
          });
          core.endGroup();
          const back = rollback(state, reason, this.date());
          await this.apply(back);
          const message = `${reason}. No user traffic reached it; traffic stays on ${describeBaseline(state.baseline)}.`;
          this.done('rolled-back', message, this.service!, back.state);
          throw new RolloutFailed(message);
        }
        throw e;
      }
      core.info(
        `✔ ${state.candidate} is Ready after ${formatDuration(this.now() - began)}; tag "${state.tag}" resolves to it.`,
      );
      this.report.steps.push({
        label: 'ready',
        percent: 0,
        startedAt: began,
        endedAt: this.now(),
        verdict: 'pass',
        detail: `Ready in ${formatDuration(this.now() - began)}`,
      });
      core.endGroup();

      const url = tagUrl(this.service, state.tag)!;
      const gateway = gatewayFor(url, this.service, inputs);
      core.startGroup(`Smoke test ${url}${gateway ? ` via ${gateway.origin}` : ''}`);
      const smokeBegan = this.now();
      const results = await runSmokeTests({ url, gateway }, inputs.smokeTests, {
        signal: this.signal,
      });
      if (this.signal?.aborted) throw new AbortedError();
      for (const r of results) {
        const line = `${r.test.method} ${r.test.path}: ${r.detail}${r.attempts > 1 ? ` (attempt ${r.attempts})` : ''}`;
        if (r.pass) core.info(`✔ ${line}`);
        else core.error(`✘ ${line}`);
      }
      const failed = results.find((r) => !r.pass);
      const detail = failed
        ? `${failed.test.method} ${failed.test.path}: ${failed.detail}`
        : `${results.length} passed`;
      this.report.steps.push({
        label: 'smoke',
        percent: 0,
        startedAt: smokeBegan,
        endedAt: this.now(),
        verdict: failed ? 'fail' : 'pass',
        detail,
      });
      core.endGroup();
      const pre = failed ? undefined : await this.preRollout(state);
      const verdict = failed ? { pass: false, detail } : pre && !pre.pass ? pre : { pass: true, detail };
      next = this.opts.preview
        ? afterPreviewSmoke(state, verdict, this.opts.actor, this.date())
        : afterSmoke(state, verdict, this.date());
    } else if (state.phase === 'stepping') {
      next = { kind: 'set-step', state, step: state.steps[state.step]! };
    } else {
      return;
    }

    try {
      await this.stepThrough(next);
    } finally {
      this.stopProbes();
    }
  }

  private async stepThrough(first: Next, heldBefore?: RolloutState): Promise<void> {
    let next = first;
    let state: RolloutState;
    /** The state of the step last held: where a promotion that is not confirmed stays. */
    let held: RolloutState | undefined = heldBefore;
    /** Whether the confirm-promotion webhooks (if any) have said yes. */
    let confirmed = false;
    for (;;) {
      state = next.state;
      // Full traffic is the promotion: the confirm-promotion webhooks (if any) are asked before it.
      const promoting = next.kind === 'promote' || (next.kind === 'set-step' && next.step.percent === 100);
      if (promoting && !confirmed) {
        // Where the candidate waits: the last step it passed, or 0% when the steps go straight to 100.
        const gate = await this.gatePromotion(held ?? { ...state, percent: 0 });
        if (gate.kind === 'holding') return;
        confirmed = true;
        if (gate.kind === 'failed') {
          next = gate.next;
          continue;
        }
      }
      switch (next.kind) {
        case 'set-step': {
          core.startGroup(
            `Step ${state.step + 1}/${state.steps.length}: ${next.step.percent}% to ${state.candidate}`,
          );
          try {
            await this.apply(next);
          } catch (e) {
            if (!(e instanceof TrafficRefused)) throw e;
            // The step never reached users: the split before it stays, and the candidate is rolled back.
            core.error(`✘ ${e.message}.`);
            core.endGroup();
            next = rollback(
              state,
              `Knative refused the ${next.step.percent}% step (${e.reason}: ${e.detail})`,
              this.date(),
            );
            break;
          }
          core.info(`Traffic: ${describePercents(resolvedPercents(this.service!))}`);
          if (progressionOf(state) === 'scheduled') {
            core.endGroup();
            const message =
              `${state.candidate} has ${state.percent}% of traffic (step ${state.step + 1} of ${state.steps.length}); ` +
              `scheduled runs (command advance) take the next step once its dwell of ` +
              `${formatDuration(next.step.dwellMs)} is over and its checks pass.`;
            this.done('progressing', message, this.service!, state);
            return;
          }
          next = holdCurrent({ ...state, stepStartedAt: new Date(this.now()).toISOString() }, this.date());
          break;
        }
        case 'park': {
          await this.apply(next);
          const url = tagUrl(this.service!, state.tag);
          const message =
            state.paused?.reason === 'preview'
              ? `Preview of ${state.candidate} at 0% under tag "${state.tag}": ${url ?? '(no URL yet)'}. ` +
                `It gets no traffic until it is promoted or resumed.`
              : `${next.message[0]!.toUpperCase()}${next.message.slice(1)}.`;
          this.done(state.paused ? 'paused' : 'progressing', message, this.service!, state);
          return;
        }
        case 'hold': {
          held = state;
          const verdict = await this.hold(state, next.step.percent, next.untilMs);
          core.endGroup();
          next = afterHold(state, verdict, this.date());
          break;
        }
        case 'promote': {
          core.startGroup(`Promote ${state.candidate} to 100%`);
          await this.apply(next);
          core.info(
            `✔ ${state.candidate} is the stable revision${state.stableTag ? ` (tag "${state.stableTag}")` : ''}.`,
          );
          core.endGroup();
          this.report.stable = state.candidate;
          this.done('promoted', `Promoted ${state.candidate} to 100% of traffic.`, this.service!, state);
          await this.callHooks('post-rollout', state).catch(() => undefined);
          return;
        }
        case 'rollback': {
          core.startGroup(`Roll back to ${describeBaseline(state.baseline)}`);
          const began = this.now();
          await this.apply(next);
          core.info(
            `Traffic: ${describePercents(resolvedPercents(this.service!))}, confirmed by the route ${formatDuration(this.now() - began)} after the decision.`,
          );
          core.endGroup();
          const message = `Rolled back ${state.candidate}: ${next.reason}. Traffic is back on ${describeBaseline(state.baseline)}.`;
          this.done('rolled-back', message, this.service!, state);
          this.stopProbes();
          await this.callHooks('post-rollout', state).catch(() => undefined);
          throw new RolloutFailed(message);
        }
      }
    }
  }

  private whyNotReady(e: TimeoutError): string {
    const last = (e as TimeoutError & { last?: Service }).last;
    const c = last ? (condition(last, 'ConfigurationsReady') ?? condition(last, 'Ready')) : undefined;
    return c?.message ? ` (${c.reason ?? c.status}: ${c.message})` : '';
  }

  /** Starts probing the candidate's and the stable revision's tag URLs, once per run. */
  private startProbes(state: RolloutState): Probes {
    if (this.probes) return this.probes;
    const { inputs } = this;
    const svc = this.service!;
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
    this.probes = {
      cand: new Prober(cand, opts).start(),
      stable: stable ? new Prober(stable, opts).start() : undefined,
      startedAt: this.now(),
      lastLookAt: this.now(),
      stableSeen: new Histogram(),
    };
    if (inputs.probeRps > 0)
      core.info(
        `Probing ${candUrl}${stableUrl ? ` and ${stableUrl}` : ''}` +
          `${cand.gateway ? ` via ${cand.gateway.origin}` : ''} at ${inputs.probeRps} req/s each` +
          (stableUrl ? '' : ': no stable tag, so only the absolute limits apply'),
      );
    return this.probes;
  }

  /** The run's Prometheus queries and webhooks; their failures count against failure-threshold together. */
  private get checks(): Checks {
    const { inputs } = this;
    return (this.checksOfRun ??= new Checks(
      inputs.analysis,
      inputs.webhooks,
      inputs.checkEveryMs,
      inputs.failureThreshold,
      (ok, text) => (ok ? core.info : core.warning)(`${ok ? '✔' : '✘'} ${text}`),
    ));
  }

  private stopProbes(): void {
    this.probes?.cand.stop();
    this.probes?.stable?.stop();
    this.probes = undefined;
  }

  private checkContext(state: RolloutState): CheckContext {
    return {
      namespace: this.inputs.namespace,
      service: this.inputs.service,
      candidate: state.candidate,
      stable: state.baseline.map((b) => b.revisionName),
      step: state.phase === 'stepping' ? state.step + 1 : 0,
      steps: state.steps.length,
      percent: state.percent,
      intervalMs: this.inputs.intervalMs,
      run: this.opts.runUrl,
    };
  }

  /**
   * Probes candidate and stable during the dwell and judges at every look; runs the Prometheus queries and the
   * rollout and rollback webhooks every check-every, and once more before a pass.
   */
  private async hold(
    state: RolloutState,
    percent: number,
    untilMs: number,
    label = `step ${state.step + 1}`,
  ): Promise<{ pass: boolean; detail: string }> {
    const { inputs } = this;
    const p = this.startProbes(state);
    const judge = (this.judge ??= new Judge({
      alpha: inputs.alpha,
      maxErrorRate: inputs.maxErrorRate,
      maxLatencyP99Ms: inputs.maxLatencyP99Ms,
      warmupMs: inputs.warmupMs,
    }));
    judge.startStep();
    const began = this.now();
    const stepCand = emptyWindow();
    const stepStable = p.stable ? emptyWindow() : undefined;
    const look = () => {
      const c = p.cand.take();
      const s = p.stable?.take();
      addWindow(stepCand, c);
      if (s) addWindow(stepStable!, s);
      judge.observe(lookFrom(c, s, p.stableSeen, inputs.maxLatencyP99Ms, p.lastLookAt - p.startedAt));
      p.lastLookAt = this.now();
      if (s) p.stableSeen.add(s.latency);
    };
    const evidence = () =>
      `candidate ${describeWindow(stepCand)}` + (stepStable ? `; stable ${describeWindow(stepStable)}` : '');

    const checks = this.checks;
    checks.startStep(began);

    core.info(`Holding ${formatDuration(Math.max(0, untilMs - began))} at ${percent}%`);
    let verdict: { pass: boolean; detail: string } | undefined;
    try {
      for (;;) {
        const left = untilMs - this.now();
        await sleep(Math.max(0, Math.min(left, this.opts.judgeEveryMs ?? 250)), this.signal);
        look();
        const t = this.now();
        const final = t >= untilMs;
        const d = judge.decide({ final, canPass: t - began >= inputs.minIntervalMs });
        checks.tick(t, this.checkContext(state), this.signal);
        const failed = checks.verdict();
        if (failed) {
          verdict = { pass: false, detail: `${failed}; ${evidence()}` };
          break;
        }
        if (d.decision === 'fail') {
          verdict = { pass: false, detail: `${d.detail}; ${evidence()}` };
          break;
        }
        if (d.decision === 'pass') {
          const last = await checks.final(this.checkContext(state), this.signal);
          if (last) {
            verdict = { pass: false, detail: `${last}; ${evidence()}` };
            break;
          }
          verdict = { pass: true, detail: `${evidence()}; ${d.detail}` };
          break;
        }
      }
    } finally {
      look();
      this.report.steps.push({
        label,
        percent,
        startedAt: began,
        endedAt: this.now(),
        candidate: stepCand,
        stable: stepStable,
        verdict: verdict ? (verdict.pass ? 'pass' : 'fail') : 'skipped',
        detail: verdict?.detail ?? 'cancelled',
      });
    }
    if (verdict.pass)
      core.info(`✔ ${percent}% healthy after ${formatDuration(this.now() - began)}: ${verdict.detail}`);
    else core.error(`✘ ${percent}% unhealthy after ${formatDuration(this.now() - began)}: ${verdict.detail}`);
    return verdict;
  }

  /** Webhooks of one type, called once; their failures are logged. */
  private async callHooks(type: WebhookType, state: RolloutState): Promise<WebhookResult[]> {
    const hooks = this.inputs.webhooks.filter((h) => h.type === type);
    if (!hooks.length) return [];
    const results = await callWebhooks(hooks, type, payloadFor(this.checkContext(state), type), {
      signal: type === 'post-rollout' ? undefined : this.signal,
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
  private async preRollout(state: RolloutState): Promise<{ pass: boolean; detail: string } | undefined> {
    if (!this.inputs.webhooks.some((h) => h.type === 'pre-rollout')) return undefined;
    core.startGroup('pre-rollout webhooks');
    try {
      for (;;) {
        const failed = (await this.callHooks('pre-rollout', state)).filter((r) => !r.ok);
        if (!failed.length) return { pass: true, detail: 'pre-rollout webhooks passed' };
        const detail = failed.map((r) => `pre-rollout webhook ${r.hook.name}: ${r.detail}`).join('; ');
        if (++this.checks.failed >= this.inputs.failureThreshold)
          return { pass: false, detail: `${detail} (failure-threshold ${this.inputs.failureThreshold})` };
        await sleep(this.inputs.checkEveryMs, this.signal);
      }
    } finally {
      core.endGroup();
    }
  }

  /**
   * Promotion (full traffic) waits for the confirm-promotion webhooks: a refusal until `timeout` ends the run
   * holding at the last step passed; a step that fails meanwhile rolls back.
   */
  private async gatePromotion(
    held: RolloutState,
  ): Promise<{ kind: 'confirmed' } | { kind: 'holding' } | { kind: 'failed'; next: Next }> {
    const confirmed = await this.confirmPromotion(held);
    if (confirmed.kind === 'failed')
      return {
        kind: 'failed',
        next: rollback(
          held,
          `${held.percent}% while awaiting confirmation: ${confirmed.detail}`,
          this.date(),
        ),
      };
    if (confirmed.kind === 'holding') {
      const message =
        progressionOf(held) === 'scheduled'
          ? `Holding ${held.candidate} at ${held.percent}%: promotion is not confirmed yet ` +
            `(${confirmed.detail}); the next scheduled run asks again.`
          : `Holding ${held.candidate} at ${held.percent}%: promotion was not confirmed within ` +
            `${formatDuration(this.inputs.timeoutMs)} (${confirmed.detail}). Run again to ask again, or use ` +
            `command: promote or command: rollback.`;
      core.warning(message);
      this.done('progressing', message, this.service!, held);
      return { kind: 'holding' };
    }
    return { kind: 'confirmed' };
  }

  /**
   * confirm-promotion webhooks, after the last step passed: until they all answer 2xx the candidate holds at
   * its last step, still judged, and they are asked again every check-every, for up to `timeout`.
   */
  private async confirmPromotion(
    state: RolloutState,
  ): Promise<
    { kind: 'confirmed' } | { kind: 'holding'; detail: string } | { kind: 'failed'; detail: string }
  > {
    if (!this.inputs.webhooks.some((h) => h.type === 'confirm-promotion')) return { kind: 'confirmed' };
    const { inputs } = this;
    // A scheduled rollout asks once per run: the next scheduled run asks again, with no job waiting meanwhile.
    const waitMs = progressionOf(state) === 'scheduled' ? 0 : inputs.timeoutMs;
    core.startGroup(
      `Confirm promotion of ${state.candidate}` +
        (waitMs ? ` (waiting up to ${formatDuration(waitMs)})` : ''),
    );
    const deadline = this.now() + waitMs;
    try {
      for (;;) {
        const refused = (await this.callHooks('confirm-promotion', state)).filter((r) => !r.ok);
        if (!refused.length) return { kind: 'confirmed' };
        const detail = refused.map((r) => `${r.hook.name}: ${r.detail}`).join('; ');
        if (this.now() >= deadline) return { kind: 'holding', detail };
        core.info(`⏸ promotion not confirmed (${detail}); holding at ${state.percent}%`);
        const verdict = await this.hold(
          state,
          state.percent,
          Math.min(deadline, this.now() + inputs.checkEveryMs),
          'confirm',
        );
        if (!verdict.pass) return { kind: 'failed', detail: verdict.detail };
      }
    } finally {
      core.endGroup();
    }
  }

  /** Writes the state's traffic and waits until users are served it; a rollback as rollBack does. */
  private async apply(next: Next, waitMs = this.inputs.timeoutMs): Promise<void> {
    if (next.kind === 'rollback') {
      await this.rollBack(next, waitMs);
      return;
    }
    const written = await this.write(next);
    await this.confirm(next, written, waitMs);
  }

  /**
   * A rollback Knative routes whatever state the candidate is in: the block names no revision but the baseline
   * (the candidate's tag goes with it), and the template is put back to the stable revision's, so the Service's
   * latest ready revision, which `latestRevision` entries follow, is the stable one again and the next deploy
   * builds on it. Should Knative refuse it all the same, the safest block follows: the template as it was, and
   * every user entry that would not resolve to a Ready revision pinned to the stable revision.
   */
  private async rollBack(next: Extract<Next, { kind: 'rollback' }>, waitMs: number): Promise<void> {
    const stable = stableOf(next.state);
    const before = this.service;
    const rev = await this.client.getRevision(stable).catch(() => undefined);
    const restore = rev && before?.spec.template.metadata?.name !== stable ? templateOf(rev) : undefined;
    let written: { service: Service; patch: ServicePatch };
    try {
      written = await this.write(next, { template: restore });
    } catch (e) {
      if (!(restore && e instanceof KubeError && (e.code === 400 || e.code === 422))) throw e;
      core.warning(
        `The stable revision's template could not be put back (${e.message}); rolling back the traffic alone.`,
      );
      written = await this.write(next);
    }
    try {
      await this.confirm(next, written, waitMs);
      return;
    } catch (e) {
      if (!(e instanceof TrafficRefused)) throw e;
      core.warning(`${e.message}. Writing the safest block: ${stable} alone.`);
    }
    const routable = await this.routableTargets(this.service ?? written.service);
    written = await this.write(next, {
      template: restore ? before?.spec.template : undefined,
      routable,
    });
    await this.confirm(next, written, waitMs);
  }

  /** Which traffic entries resolve to a Ready revision now: read once per revision they name. */
  private async routableTargets(svc: Service): Promise<(t: TrafficTarget) => boolean> {
    const latest = svc.status?.latestReadyRevisionName;
    const names = new Set<string>();
    for (const t of svc.spec.traffic ?? []) {
      const n = t.latestRevision ? latest : t.revisionName;
      if (n) names.add(n);
    }
    const ready = new Set<string>();
    for (const n of names) {
      const r = await this.client.getRevision(n).catch(() => undefined);
      if (r && condition(r, 'Ready')?.status === 'True') ready.add(n);
    }
    return (t) => {
      const n = t.latestRevision ? latest : t.revisionName;
      return n !== undefined && ready.has(n);
    };
  }

  /**
   * Writes the state's traffic, built on the Service as last seen. A 409 reads it again and rebuilds, unless
   * another run changed the rollout meanwhile (a rollback or promote command, a newer deploy): then this run
   * stops without writing over it.
   */
  private async write(
    next: Next,
    extra: { template?: Template; routable?: (t: TrafficTarget) => boolean } = {},
  ): Promise<{ service: Service; patch: ServicePatch }> {
    const expected = this.service?.metadata.annotations?.[STATE_ANNOTATION];
    let state = next.state;
    const written = await this.client.update(
      this.inputs.service,
      (fresh) => {
        const found = fresh.metadata.annotations?.[STATE_ANNOTATION];
        state = next.state;
        if (found !== expected) {
          const other = decodeState(found).state;
          const same =
            other !== undefined &&
            isActive(other) &&
            other.candidate === next.state.candidate &&
            other.startedAt === next.state.startedAt;
          if (next.kind === 'rollback' && same) {
            // A failed verdict wins over a pause or a step that another run took meanwhile: roll back from there.
            state = rollback(other, next.reason, this.date()).state;
            core.warning(
              `Another run changed this rollout meanwhile (now ${other.phase} at ${other.percent}%` +
                `${other.paused ? `, paused by ${other.paused.by}` : ''}); it is rolled back all the same: ${next.reason}`,
            );
            const patch = patchFor(fresh, state, extra.template, extra.routable);
            return { patch, result: patch };
          }
          throw new ConcurrentChange(
            'another run changed this rollout meanwhile' +
              (other ? ` (it is now ${other.phase} of ${other.candidate} at ${other.percent}%)` : '') +
              ', so this run stops without writing over it',
            other,
          );
        }
        const patch = patchFor(fresh, next.state, extra.template, extra.routable);
        return { patch, result: patch };
      },
      this.service,
    );
    const before = decodeState(expected).state?.phase;
    this.service = written.service;
    this.mark(state.percent);
    await this.opts.deployments?.follow(state, written.service, before);
    return { service: written.service, patch: written.result };
  }

  /**
   * Waits until users are served the traffic just written: the generation observed, the split as asked and
   * RoutesReady True. A block Knative refuses is answered at once with TrafficRefused, not by waiting out the time.
   */
  private async confirm(
    next: Next,
    written: { service: Service; patch: ServicePatch },
    waitMs: number,
  ): Promise<void> {
    const generation = written.service.metadata.generation ?? 0;
    const wanted = (svc: Service) =>
      wantedPercents(written.patch.spec.traffic, svc.status?.latestReadyRevisionName);
    try {
      this.service = await this.client.waitForService(
        this.inputs.service,
        (svc) => {
          const v = routeVerdict(svc, generation, wanted(svc));
          if (v.kind === 'refused')
            throw new TrafficRefused(v.reason, v.message, servedSplit(svc, written.service));
          return v.kind === 'served' ? svc : undefined;
        },
        // A rollback is confirmed even when the run is being cancelled.
        { timeoutMs: waitMs, signal: next.kind === 'rollback' ? undefined : this.signal },
        written.service,
      );
    } catch (e) {
      if (e instanceof TrafficRefused)
        this.service =
          (await this.client.getService(this.inputs.service).catch(() => undefined)) ?? this.service;
      if (e instanceof TimeoutError) {
        const last = (e as TimeoutError & { last?: Service }).last;
        const rr = last ? condition(last, 'RoutesReady') : undefined;
        throw new RolloutFailed(
          `the route did not report ${describePercents(wanted(last ?? written.service))} within ${formatDuration(waitMs)}` +
            (rr?.message ? ` (${rr.reason}: ${rr.message})` : ''),
        );
      }
      throw e;
    }
  }

  private mark(percent: number): void {
    this.report.timeline.push({ at: this.now(), percent });
  }

  /**
   * Cancellation or a failure mid-rollout: the baseline back at 100% within seconds, then say exactly what
   * happened: confirmed, written but not yet confirmed by the route, or not written at all.
   */
  private async emergencyRollback(reason: string): Promise<never> {
    const svc = await this.client.getService(this.inputs.service).catch(() => undefined);
    const state = svc ? this.stateOf(svc) : undefined;
    const ours =
      state !== undefined &&
      state.candidate === this.rollout?.candidate &&
      state.startedAt === this.rollout.startedAt;
    if (!svc || !ours || !isActive(state)) {
      // Nothing of this run's is left in between: it ended, or another run has taken the rollout over.
      const now = svc ? ` Traffic is on ${describePercents(resolvedPercents(svc))}.` : '';
      throw new RolloutFailed(`Stopped: ${reason}.${now}`);
    }
    this.service = svc;
    const next = rollback(state, reason, this.date());
    const baseline = describeBaseline(state.baseline);
    const version = svc.metadata.resourceVersion;
    let message = `Stopped (${reason}): traffic is back on ${baseline}.`;
    try {
      await this.rollBack(next as Extract<Next, { kind: 'rollback' }>, 5000);
    } catch (e) {
      const now = describePercents(resolvedPercents(this.service ?? svc));
      if (this.service?.metadata.resourceVersion === version) {
        throw new RolloutFailed(
          `Stopped (${reason}), and the rollback could not be written: ${(e as Error).message}. Traffic is still ` +
            `${now}: run the action with command: rollback to put it on ${baseline}`,
        );
      }
      message =
        `Stopped (${reason}): the rollback to ${baseline} is written, but the route had not confirmed it ` +
        `after 5s (${(e as Error).message}). Traffic is on ${now}.`;
    }
    this.done('rolled-back', message, this.service ?? svc, next.state);
    throw new RolloutFailed(message);
  }

  // ---- promote, rollback, status ----------------------------------------------------------------------------

  private async promoteCommand(svc: Service): Promise<void> {
    const state = this.stateOf(svc);
    const percent = this.inputs.percent ?? 100;
    if (state?.phase === 'promoted') {
      this.report.candidate = state.candidate;
      this.report.stable = state.candidate;
      return this.done('unchanged', `${state.candidate} is already promoted.`, svc, state);
    }
    const by = this.opts.actor;
    // The run that moves a rollout on says who takes its next steps: this job (inline) or scheduled runs.
    const next = promoteTo(
      state,
      svc.metadata.name,
      percent,
      this.inputs.intervalMs,
      by,
      this.date(),
      this.inputs.progression,
    );
    const current = state!;
    this.reportOn(current);
    if (this.inputs.dryRun) return this.dryRun(svc, patchFor(svc, next.state), next.state);
    const rev = await this.client.getRevision(current.candidate);
    const ready = rev ? condition(rev, 'Ready') : undefined;
    if (ready?.status !== 'True') {
      throw new PlanError(
        `revision ${current.candidate} is not Ready (${ready?.reason ?? 'not found'}): it cannot take ${percent}% of traffic`,
      );
    }
    this.mark(current.percent);
    if (next.kind !== 'promote') {
      // Less than 100%: that percent is the current step, and the rollout goes on from there.
      core.info(`${by} sends ${percent}% of traffic to ${current.candidate}.`);
      return this.drive(next);
    }
    core.startGroup(`Promote ${current.candidate} to 100%`);
    await this.apply(next);
    core.endGroup();
    this.report.stable = current.candidate;
    this.done(
      'promoted',
      `Promoted ${current.candidate} to 100% of traffic (${by}).`,
      this.service!,
      next.state,
    );
  }

  private async pauseCommand(svc: Service): Promise<void> {
    const state = this.stateOf(svc);
    const next = pauseRollout(state, svc.metadata.name, this.opts.actor, this.date());
    this.reportOn(next.state);
    if (this.inputs.dryRun) return this.dryRun(svc, patchFor(svc, next.state), next.state);
    this.mark(next.state.percent);
    await this.write(next);
    const message =
      `Paused the rollout of ${next.state.candidate} at ${next.state.percent}% (${this.opts.actor}): its traffic ` +
      `stays there, and scheduled runs leave it alone until it is resumed.`;
    this.done('paused', message, this.service!, next.state);
  }

  private async resumeCommand(svc: Service): Promise<void> {
    const state = resumeRollout(
      this.stateOf(svc),
      svc.metadata.name,
      this.opts.actor,
      this.date(),
      this.inputs.progression,
    );
    this.reportOn(state);
    if (this.inputs.dryRun) return this.dryRun(svc, patchFor(svc, state), state);
    this.mark(state.percent);
    const next = holdCurrent(state, this.date());
    if (progressionOf(state) === 'scheduled' && next.kind !== 'set-step') {
      // Scheduled runs take it from here; this run only lifts the pause.
      await this.write({ kind: 'park', state, message: 'resumed' });
      const message =
        `Resumed the rollout of ${state.candidate} at ${state.percent}% (${this.opts.actor}): scheduled runs take ` +
        `the next step once the step's dwell, counted from now, is over.`;
      core.info(message);
      return this.done('progressing', message, this.service!, state);
    }
    core.info(`Resumed the rollout of ${state.candidate} at ${state.percent}% (${this.opts.actor}).`);
    if (next.kind === 'set-step') return this.drive(next);
    // Inline: the run holds the rest of the steps itself, from the state that says it is resumed.
    await this.write({ kind: 'park', state, message: 'resumed' });
    return this.drive(next);
  }

  /**
   * One scheduled run's turn at a rollout: its health is checked (revision, probes, queries and webhooks over
   * min-interval); a failure rolls back, a pass takes the next step once the dwell is over. Two runs at once
   * take one step: the second finds the state changed when it writes, and stops.
   */
  private async advanceCommand(svc: Service): Promise<void> {
    const { inputs } = this;
    const state = this.stateOf(svc);
    const plan = planAdvance(state, this.now(), inputs.timeoutMs * 2);
    if (state) {
      this.report.candidate = state.candidate;
      this.report.stable = stableAfter(state);
    }
    if (plan.kind === 'skip') {
      core.info(`${inputs.service}: nothing to do: ${plan.reason}.`);
      const status = state?.paused ? 'paused' : isActive(state) ? 'progressing' : 'unchanged';
      return this.done(status, `Nothing to do: ${plan.reason}.`, svc, state);
    }
    const current = state!;
    this.rollout = current;
    this.mark(current.percent);
    if (plan.kind === 'stale') {
      const next = rollback(current, plan.reason, this.date());
      if (inputs.dryRun) return this.dryRun(svc, patchFor(svc, next.state), next.state);
      return this.drive(next);
    }
    core.startGroup(
      `Check ${current.candidate} at ${current.percent}%` +
        (plan.due
          ? ': its dwell is over, so a pass takes the next step'
          : `: the next step is due at ${new Date(plan.dueAt).toISOString()}`),
    );
    let verdict: { pass: boolean; detail: string };
    const rev = await this.client.getRevision(current.candidate);
    const ready = rev ? condition(rev, 'Ready') : undefined;
    if (ready?.status !== 'True') {
      verdict = {
        pass: false,
        detail: `revision ${current.candidate} is not Ready (${ready?.reason ?? 'not found'}${ready?.message ? `: ${ready.message}` : ''})`,
      };
      core.error(`✘ ${verdict.detail}`);
    } else if (current.step < 0) {
      verdict = { pass: true, detail: 'starting the first step' };
    } else {
      try {
        verdict = await this.hold(
          current,
          current.percent,
          this.now() + inputs.minIntervalMs,
          `check ${current.percent}%`,
        );
      } finally {
        this.stopProbes();
      }
    }
    core.endGroup();
    const next = afterCheck(current, verdict, plan.due, this.date());
    if (!next) {
      const message =
        `${current.candidate} is healthy at ${current.percent}%; the next step is due at ` +
        `${new Date(plan.dueAt).toISOString()}.`;
      return this.done('progressing', message, svc, current);
    }
    if (inputs.dryRun) return this.dryRun(svc, patchFor(svc, next.state), next.state);
    // The step just checked is where a promotion that is not confirmed yet stays.
    return this.drive(next, current.step >= 0 ? current : undefined);
  }

  private async rollbackCommand(svc: Service): Promise<void> {
    const { inputs } = this;
    const state = this.stateOf(svc);
    let target: string | undefined;
    if (inputs.revisionNameGiven) {
      target = inputs.revisionName;
      const rev = await this.client.getRevision(target);
      if (!rev || rev.metadata.labels?.['serving.knative.dev/service'] !== inputs.service) {
        throw new InputError(
          'revision-name',
          `revision "${target}" of Service "${inputs.service}" not found in namespace "${inputs.namespace}"`,
        );
      }
      if (condition(rev, 'Ready')?.status !== 'True') {
        throw new InputError(
          'revision-name',
          `revision "${target}" is not Ready, so it cannot take 100% of traffic`,
        );
      }
    }
    const plan = planRollback(
      svc,
      state,
      target,
      { tag: inputs.tag, stableTag: inputs.stableTag },
      this.date(),
    );
    this.report.candidate = state?.candidate;
    this.report.stable = plan.target;
    if (inputs.dryRun) return this.dryRun(svc, plan.patch, plan.state);
    core.startGroup(`Roll back to ${describeBaseline(plan.state.baseline)}`);
    await this.apply({ kind: 'rollback', state: plan.state, reason: 'rollback command' });
    core.endGroup();
    this.done(
      'rolled-back',
      `Rolled back: traffic is on ${describeBaseline(plan.state.baseline)}.`,
      this.service!,
      plan.state,
    );
  }

  private statusCommand(svc: Service): void {
    const state = this.stateOf(svc);
    const status: Status = !state
      ? 'unchanged'
      : state.paused && isActive(state)
        ? 'paused'
        : state.phase === 'promoted'
          ? 'promoted'
          : state.phase === 'rolled-back'
            ? 'rolled-back'
            : 'progressing';
    this.report.candidate = state?.candidate;
    this.report.stable = state ? stableAfter(state) : [...resolvedPercents(svc).keys()][0];
    if (state) {
      core.startGroup('Rollout history');
      for (const d of state.history)
        core.info(
          `${d.at}  ${d.action.padEnd(10)} ${String(d.percent).padStart(3)}%  ${d.verdict ?? ''} ${d.detail ?? ''}`,
        );
      core.endGroup();
    }
    this.done(
      status,
      state
        ? `Rollout of ${state.candidate}: ${state.phase} at ${state.percent}%.`
        : 'No rollout recorded on this Service.',
      svc,
      state,
    );
  }

  private dryRun(svc: Service, patch: ServicePatch, state: RolloutState): void {
    core.startGroup('Dry run: the merge patch that would be sent');
    const { [STATE_ANNOTATION]: _s, ...rest } = patch.metadata.annotations;
    core.info(
      stringify({
        ...patch,
        metadata: { ...patch.metadata, annotations: { ...rest, [STATE_ANNOTATION]: '<rollout state>' } },
      }),
    );
    core.info(`Rollout state: ${JSON.stringify({ ...state, history: undefined })}`);
    core.endGroup();
    this.reportOn(state);
    this.done(
      'planned',
      `Dry run: nothing was written. Would send traffic as: ${patch.spec.traffic.map((t) => `${t.revisionName ?? 'latest'} ${t.percent}%${t.tag ? ` (${t.tag})` : ''}`).join(', ')}.`,
      svc,
      state,
    );
  }

  // ---- reporting ---------------------------------------------------------------------------------------------

  private done(status: Status, message: string, svc: Service, state?: RolloutState): void {
    this.report.status = status;
    this.report.message = message;
    this.report.traffic = svc.status?.traffic ?? [];
    if (state) {
      const step = state.steps[state.step];
      this.report.rollout = {
        phase: state.phase,
        percent: state.percent,
        step:
          state.phase === 'stepping' && step
            ? `step ${state.step + 1} of ${state.steps.length}` +
              (state.stepStartedAt && step.dwellMs
                ? `, dwell over at ${new Date(Date.parse(state.stepStartedAt) + step.dwellMs).toISOString()}`
                : '')
            : undefined,
        paused: state.paused?.by,
        tagUrl: state.phase === 'stepping' ? tagUrl(svc, state.tag) : undefined,
      };
    }
    const percent = state && this.report.candidate === state.candidate ? state.percent : 0;
    core.setOutput('status', status);
    core.setOutput('revision', this.report.candidate ?? '');
    core.setOutput('stable-revision', this.report.stable ?? '');
    core.setOutput('tag-url', tagUrl(svc, state?.tag ?? this.inputs.tag) ?? '');
    core.setOutput('url', svc.status?.url ?? '');
    core.setOutput('percent', String(percent));
    core.setOutput(
      'traffic',
      JSON.stringify(
        (svc.status?.traffic ?? []).map((t) => ({
          revisionName: t.revisionName,
          percent: t.percent ?? 0,
          tag: t.tag,
          latestRevision: t.latestRevision,
          url: t.url,
        })),
      ),
    );
  }

  async finish(succeeded: boolean): Promise<void> {
    const { report } = this;
    if (report.steps.length) core.info(`\n${logTable(report)}`);
    core.info(`\n${logStatus(report)}`);
    if (succeeded && report.message) core.info(report.message);
    if (process.env.GITHUB_STEP_SUMMARY) {
      try {
        await core.summary.addRaw(markdownSummary(report), true).write();
      } catch (e) {
        core.warning(`could not write the job summary: ${(e as Error).message}`);
      }
    }
  }
}
