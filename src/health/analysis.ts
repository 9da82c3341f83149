// The glue between what the probes, Prometheus and webhooks report and the judge: the judge's looks from probe
// windows, and one round of checks (queries, rollout and rollback webhooks) with its outcome.

import type { Histogram } from './histogram.ts';
import type { ArmLook, Look } from './judge.ts';
import type { Window } from './probe.ts';
import {
  evaluateQueries,
  judgeValue,
  promDuration,
  queryPrometheus,
  type QueryResult,
} from './prometheus.ts';
import { withSchema, type AnalysisConfig, type TemplateVars } from './analysis-config.ts';
import { describeSchema, resolveSchema } from './metrics-schema.ts';
import { callWebhooks, type Webhook, type WebhookPayload, type WebhookResult } from './webhooks.ts';

/** Stable answers needed before its median, and its p99, are taken as thresholds. */
export const MIN_FOR_P50 = 20;
export const MIN_FOR_P99 = 200;

/** Latency is judged on the requests due after the probes' warm-up (`warm`). */
function arm(w: Window, p50?: number, p99?: number, limit?: number): ArmLook {
  return {
    requests: w.requests,
    errors: w.errors,
    timed: w.warm.count,
    overP50: p50 === undefined ? 0 : w.warm.countAbove(p50),
    overP99: p99 === undefined ? 0 : w.warm.countAbove(p99),
    overLimit: limit === undefined ? 0 : w.warm.countAbove(limit),
    all: {
      timed: w.latency.count,
      overP99: p99 === undefined ? 0 : w.latency.countAbove(p99),
      overLimit: limit === undefined ? 0 : w.latency.countAbove(limit),
    },
  };
}

/**
 * A look from the windows each prober collected since the last one. The latency thresholds are the stable
 * revision's p50 and p99 over everything before this window, so they do not depend on what is being judged.
 */
export function lookFrom(
  candidate: Window,
  stable: Window | undefined,
  stableBefore: Histogram | undefined,
  limitMs: number | undefined,
  atMs: number,
): Look {
  const n = stableBefore?.count ?? 0;
  const p50Ms = stable && n >= MIN_FOR_P50 ? stableBefore!.quantile(0.5) : undefined;
  const p99Ms = stable && n >= MIN_FOR_P99 ? stableBefore!.quantile(0.99) : undefined;
  return {
    candidate: arm(candidate, p50Ms, p99Ms, limitMs),
    stable: stable ? arm(stable, p50Ms, p99Ms) : undefined,
    p50Ms,
    p99Ms,
    atMs,
  };
}

export interface CheckContext {
  namespace: string;
  service: string;
  candidate: string;
  stable: string[];
  step: number;
  steps: number;
  percent: number;
  intervalMs: number;
  run?: string;
}

export interface CheckRound {
  queries: QueryResult[];
  hooks: WebhookResult[];
  /** Failed checks: a query out of range, in error or without data when that fails; a rollout hook not 2xx. */
  failures: string[];
  /** A rollback webhook answered 2xx. */
  rollbackAskedBy?: string;
  /** One line per check, for the log. */
  lines: { ok: boolean; text: string }[];
}

export function payloadFor(ctx: CheckContext, phase: WebhookPayload['phase']): WebhookPayload {
  return {
    name: ctx.service,
    namespace: ctx.namespace,
    phase,
    candidate: ctx.candidate,
    stable: ctx.stable,
    step: ctx.step,
    steps: ctx.steps,
    percent: ctx.percent,
    run: ctx.run,
    metadata: {},
  };
}

export function templateVars(ctx: CheckContext): TemplateVars {
  return {
    namespace: ctx.namespace,
    service: ctx.service,
    revision: ctx.candidate,
    stable_revision: ctx.stable[0] ?? '',
    interval: promDuration(ctx.intervalMs),
  };
}

/** The queries of a round; while `metrics: auto` has found no schema (`unresolved`), the built-ins have no data. */
async function queriesOf(
  analysis: AnalysisConfig,
  vars: TemplateVars,
  signal?: AbortSignal,
  unresolved?: { error?: string },
): Promise<QueryResult[]> {
  if (!analysis.queries.length) return [];
  if (!unresolved) return evaluateQueries(analysis, vars, { signal });
  const custom = { ...analysis, queries: analysis.queries.filter((q) => !q.builtin) };
  const results = custom.queries.length ? await evaluateQueries(custom, vars, { signal }) : [];
  return analysis.queries.map(
    (query) =>
      results.find((r) => r.query === query) ??
      (unresolved.error
        ? { query, promql: query.promql, verdict: 'error', detail: `${query.name}: ${unresolved.error}` }
        : { ...judgeValue(query, undefined), promql: query.promql }),
  );
}

/** One round: the Prometheus queries, the rollout webhooks and the rollback webhooks, all at once. */
export async function runChecks(
  analysis: AnalysisConfig,
  webhooks: Webhook[],
  ctx: CheckContext,
  signal?: AbortSignal,
  unresolved?: { error?: string },
): Promise<CheckRound> {
  const vars = templateVars(ctx);
  const [queries, rollout, rollback] = await Promise.all([
    queriesOf(analysis, vars, signal, unresolved),
    callWebhooks(webhooks, 'rollout', payloadFor(ctx, 'rollout'), { signal }),
    callWebhooks(webhooks, 'rollback', payloadFor(ctx, 'rollback'), { signal }),
  ]);
  const round: CheckRound = { queries, hooks: [...rollout, ...rollback], failures: [], lines: [] };
  for (const q of queries) {
    const ok = q.verdict === 'pass' || q.verdict === 'no-data';
    round.lines.push({ ok, text: `query ${q.detail}` });
    if (!ok) round.failures.push(`query ${q.detail}`);
  }
  for (const h of rollout) {
    round.lines.push({ ok: h.ok, text: `webhook ${h.hook.name}: ${h.detail}` });
    if (!h.ok) round.failures.push(`rollout webhook ${h.hook.name}: ${h.detail}`);
  }
  for (const h of rollback) {
    if (h.ok) {
      round.rollbackAskedBy = `rollback webhook ${h.hook.name} asked for a rollback (${h.detail})`;
      round.lines.push({ ok: false, text: round.rollbackAskedBy });
    }
  }
  return round;
}

/**
 * The periodic checks of a run: a round every check-every while a step holds (one at a time, in the background,
 * so probes are judged meanwhile), their failures counted against failure-threshold over the whole run.
 */
export class Checks {
  private rounds: CheckRound[] = [];
  private inflight?: Promise<void>;
  /** The analysis with its built-ins over the schema found, once `metrics: auto` has found one. */
  private resolved?: AnalysisConfig;
  private lastResolution?: string;
  private nextAt = 0;
  /** Failed rounds this run. */
  failed = 0;
  readonly enabled: boolean;

  constructor(
    private readonly analysis: AnalysisConfig,
    private readonly webhooks: Webhook[],
    private readonly everyMs: number,
    private readonly threshold: number,
    private readonly log: (ok: boolean, text: string) => void,
  ) {
    this.enabled =
      analysis.queries.length > 0 || webhooks.some((h) => h.type === 'rollout' || h.type === 'rollback');
  }

  /** A step begins: its first round is due check-every from now. */
  startStep(now: number): void {
    this.nextAt = now + this.everyMs;
  }

  /** Starts a round in the background if one is due and none is running. */
  tick(now: number, ctx: CheckContext, signal?: AbortSignal): void {
    if (!this.enabled || this.inflight || now < this.nextAt) return;
    void this.start(ctx, signal);
    this.nextAt = now + this.everyMs;
  }

  /** One more round, after any in flight: a step passes on checks as fresh as its probes. */
  async final(ctx: CheckContext, signal?: AbortSignal): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    if (this.inflight) await this.inflight;
    await this.start(ctx, signal);
    return this.verdict();
  }

  /**
   * `metrics: auto`: asks Prometheus which schema has series for the stable revision (or the candidate), at the
   * first round and at each next one until one has; says in the log what it found, once.
   */
  private async resolve(
    ctx: CheckContext,
    signal?: AbortSignal,
  ): Promise<{ analysis: AnalysisConfig; unresolved?: { error?: string }; line?: CheckRound['lines'][0] }> {
    const setting = this.analysis.metrics ?? 'auto';
    if (this.resolved) return { analysis: this.resolved };
    if (!this.analysis.queries.some((q) => q.builtin)) {
      this.resolved = this.analysis;
      return { analysis: this.analysis };
    }
    if (setting !== 'auto') {
      this.resolved = this.analysis;
      return { analysis: this.analysis, line: { ok: true, text: `metrics: ${describeSchema(setting)}` } };
    }
    const r = await resolveSchema(
      setting,
      templateVars(ctx),
      async (q) => (await queryPrometheus(this.analysis, q, { signal })).value,
    );
    const line = r.detail === this.lastResolution ? undefined : { ok: !r.error, text: r.detail };
    this.lastResolution = r.detail;
    if (!r.schema) return { analysis: this.analysis, unresolved: { error: r.error }, line };
    this.resolved = withSchema(this.analysis, r.schema);
    return { analysis: this.resolved, line };
  }

  private start(ctx: CheckContext, signal?: AbortSignal): Promise<void> {
    this.inflight = this.resolve(ctx, signal)
      .then(async ({ analysis, unresolved, line }) => {
        const round = await runChecks(analysis, this.webhooks, ctx, signal, unresolved);
        if (line) round.lines.unshift(line);
        return round;
      })
      .then(
        (r) => void this.rounds.push(r),
        (e: Error) =>
          void this.rounds.push({
            queries: [],
            hooks: [],
            failures: [`checks failed: ${e.message}`],
            lines: [{ ok: false, text: `checks failed: ${e.message}` }],
          }),
      )
      .finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Logs the rounds that came back; the failure that ends the step, if they call for one. */
  verdict(): string | undefined {
    for (const r of this.rounds.splice(0)) {
      for (const l of r.lines) this.log(l.ok, l.text);
      if (r.rollbackAskedBy) return r.rollbackAskedBy;
      if (r.failures.length && ++this.failed >= this.threshold) {
        return `${r.failures.join('; ')} (${this.failed} failed check${this.failed > 1 ? 's' : ''}, failure-threshold ${this.threshold})`;
      }
    }
    return undefined;
  }
}
