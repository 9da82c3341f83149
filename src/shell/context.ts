// The context of one run for one Service: what it was given, what it talks to, and what it has seen so far. Every
// part of the shell takes it as its first argument, in the way argo-rollouts passes its rolloutContext around.

import * as core from '@actions/core';
import type { Deployments } from '../github/deployments.ts';
import type { Checks } from '../health/analysis.ts';
import type { Histogram } from '../health/histogram.ts';
import type { Judge } from '../health/judge.ts';
import type { Prober } from '../health/probe.ts';
import type { UsersReader } from '../health/users-reader.ts';
import type { Inputs } from '../inputs.ts';
import { AbortedError } from '../errors.ts';
import type { KnativeClient } from '../knative/client.ts';
import type { Service } from '../knative/types.ts';
import type { RunReport } from '../report/report.ts';
import { decodeState, stableOf, STATE_ANNOTATION, type RolloutState } from '../rollout/state.ts';

/** How the run is driven from outside: cancellation, the clock, and the judge's pace. */
export interface RunOptions {
  /** Aborts the run (the runner's SIGINT/SIGTERM); an in-between traffic split is rolled back first. */
  signal?: AbortSignal;
  now?: () => number;
  /** How often the probe evidence is judged during a dwell. */
  judgeEveryMs?: number;
}

export interface ShellOptions extends RunOptions {
  now: () => number;
  /** Aborts at the cancellation's deadline (see hardStopOf): even a rollback's wait ends there. */
  hardStop?: AbortSignal;
  runUrl?: string;
  /** Who asked: `@login` of a comment's author, or the workflow's actor. */
  actor: string;
  /** A deploy from a pull request comment: a preview of its head commit, parked at 0% under tag pr-<number>. */
  preview?: { pr: number; sha: string };
  /** A pull request that was closed (command close): its preview's tag goes. */
  pullRequest?: number;
  /** The commit deployed, for the GitHub Deployment. */
  sha?: string;
  deployments?: Deployments;
}

/** The probes of one run: started at the first dwell, stopped when the run is done with traffic. */
export interface Probes {
  cand: Prober;
  stable?: Prober;
  startedAt: number;
  /** When the window now being collected began. */
  lastLookAt: number;
  /** Every answer of the stable revision judged so far: its p50 and p99 are the latency thresholds. */
  stableSeen: Histogram;
}

export class RunContext {
  /** The Service as the run first read it. */
  found?: Service;
  /** The Service as last seen: read at the start, then as each write and each wait returned it. */
  service?: Service;
  /** The rollout this run started or resumed: only it may be rolled back on this run's failure. */
  rollout?: RolloutState;
  /** The run's probes, while a dwell needs them. */
  probes?: Probes;
  /** The sequential judge: its evidence accumulates over the whole run. */
  judge?: Judge;
  /** The Prometheus queries and webhooks of the run, counted against failure-threshold together. */
  checks?: Checks;
  /** Users' traffic read from Prometheus, and the judge of it (alpha shared with the probes' judge). */
  users?: { reader: UsersReader; judge: Judge };
  /**
   * While the run puts traffic back (cancelled, or failed mid-rollout): until when its reads and writes keep
   * trying (epoch ms, real time).
   */
  until?: number;
  /** Whether the run's cancellation has been dealt with (once per run: see recovery.ts `cancelled`). */
  cancelSettled = false;
  /** Cancellation from the runner: every wait but a rollback's stops at it. */
  readonly signal?: AbortSignal;
  /** The end of a cancelled run's time: even a rollback's wait ends there. */
  readonly hardStop?: AbortSignal;
  /** The clock, injected (tests and scheduled rollouts set it). */
  readonly now: () => number;

  constructor(
    /** The inputs, parsed, for this Service. */
    readonly inputs: Inputs,
    /** The Kubernetes API. */
    readonly client: KnativeClient,
    /** What the log, the job summary and the comment reply are rendered from. */
    readonly report: RunReport,
    /** Who asked, for which event, and the GitHub Deployments. */
    readonly opts: ShellOptions,
  ) {
    this.signal = opts.signal;
    this.hardStop = opts.hardStop;
    this.now = opts.now;
  }

  /**
   * The options of a read worth a second or two while the run puts traffic back (never past ctx.until); outside
   * that, the client's usual attempts.
   */
  briefly(): { until?: number } {
    return { until: this.until === undefined ? undefined : Math.min(this.until, Date.now() + 2000) };
  }

  date(): Date {
    return new Date(this.now());
  }

  /** The rollout state on a Service; a foreign or corrupt one is reported and ignored. */
  stateOf(svc: Service): RolloutState | undefined {
    const { state, problem } = decodeState(svc.metadata.annotations?.[STATE_ANNOTATION]);
    if (problem) core.warning(problem);
    return state;
  }

  /** The rollout this run reports on: its candidate, and the stable revision it started from. */
  reportOn(state: RolloutState): void {
    this.report.candidate = state.candidate;
    this.report.stable = stableOf(state);
  }

  /** A point of the candidate's share over time, for the chart. */
  mark(percent: number): void {
    this.report.timeline.push({ at: this.now(), percent });
  }
}

/** Waits `ms`, or rejects with AbortedError when the run is cancelled first. */
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
