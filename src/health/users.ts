// Users' traffic as evidence for the judge: each revision's requests, errors and latency buckets, read raw from
// Prometheus (queue-proxy counts every request a revision serves), turned into the increase since the last read
// (increase.ts) and into the judge's Look. Latency is compared at bucket edges both arms are counted against: the
// candidate's share of requests above the edge at or over the stable revision's p50 and p99, as known before the
// look. A revision with no requests gives no evidence, never a failure.

import { Increases, type Sample } from './increase.ts';
import { pct, type ArmLook, type Look } from './judge.ts';
import type { TrafficSchema } from './metrics-schema.ts';

/** Where a revision's requests are counted: a schema of metrics-schema.ts. */
export type TrafficSeries = TrafficSchema;

/** One revision's requests since the last read: errors among them, and latency buckets (cumulative, `le` in ms). */
export interface RevisionCounts {
  requests: number;
  errors: number;
  buckets: Map<number, number>;
}

const empty = (): RevisionCounts => ({ requests: 0, errors: 0, buckets: new Map() });

/** Increases of one read, summed per revision. */
export function countsByRevision(
  requests: Sample[],
  buckets: Sample[],
  series: TrafficSeries,
): Map<string, RevisionCounts> {
  const out = new Map<string, RevisionCounts>();
  const of = (labels: Record<string, string>) => {
    const rev = labels[series.revisionLabel] ?? '';
    let c = out.get(rev);
    if (!c) out.set(rev, (c = empty()));
    return c;
  };
  const isError = new RegExp(`^(?:${series.error.pattern})$`);
  for (const s of requests) {
    const c = of(s.labels);
    c.requests += s.value;
    if (isError.test(s.labels[series.error.label] ?? '')) c.errors += s.value;
  }
  const scale = series.unit === 's' ? 1000 : 1;
  for (const s of buckets) {
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le) * scale;
    if (Number.isNaN(le)) continue;
    const c = of(s.labels);
    c.buckets.set(le, (c.buckets.get(le) ?? 0) + s.value);
  }
  return out;
}

/** Adds one read's buckets to a revision's whole-run histogram. */
export function addBuckets(into: Map<number, number>, from: Map<number, number>): void {
  for (const [le, n] of from) into.set(le, (into.get(le) ?? 0) + n);
}

/** Adds the counts of `from` (when there are any) to `into`. */
function addCounts(into: RevisionCounts, from: RevisionCounts | undefined): RevisionCounts {
  if (!from) return into;
  into.requests += from.requests;
  into.errors += from.errors;
  addBuckets(into.buckets, from.buckets);
  return into;
}

/** The smallest bucket edge with at least `q` of the histogram's requests at or below it (never +Inf). */
export function edgeAt(buckets: Map<number, number>, q: number): number | undefined {
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return undefined;
  const edges = [...buckets.keys()].filter((le) => le !== Infinity).sort((a, b) => a - b);
  return edges.find((le) => (buckets.get(le) ?? 0) >= q * total) ?? edges.at(-1);
}

/** Requests slower than `edge`: all the histogram's, less those in the buckets up to it. */
function over(c: RevisionCounts, edge: number | undefined): number {
  if (edge === undefined) return 0;
  const total = c.buckets.get(Infinity) ?? 0;
  return Math.max(0, total - (c.buckets.get(edge) ?? 0));
}

/** The judge's view of one revision's requests; `limitEdge` is the first edge at or above max-latency-p99. */
export function armLook(
  c: RevisionCounts,
  p50Edge: number | undefined,
  p99Edge: number | undefined,
  limitEdge: number | undefined,
): ArmLook {
  return {
    requests: c.requests,
    errors: c.errors,
    timed: c.buckets.get(Infinity) ?? 0,
    overP50: over(c, p50Edge),
    overP99: over(c, p99Edge),
    overLimit: over(c, limitEdge),
  };
}

/** One revision's users' requests for the log: counts, and p50 and p99 as the bucket edges they fall under. */
export function describeCounts(rev: string, c: RevisionCounts): string {
  const q = (x: number) => {
    const e = edgeAt(c.buckets, x);
    return e === undefined ? '?' : `≤ ${e} ms`;
  };
  const rate = pct(c.requests ? c.errors / c.requests : 0);
  return `${rev} ${c.requests} req, ${c.errors} err (${rate}), p50 ${q(0.5)}, p99 ${q(0.99)}`;
}

/**
 * The evidence of users' traffic over a run, read after read: the candidate against the stable revisions (summed
 * as one arm), thresholds from the stable revisions' answers before each read.
 */
export class UsersTraffic {
  private readonly requests = new Increases();
  private readonly buckets = new Increases();
  /** The stable revisions' whole-run latency histogram. */
  readonly stableSeen = new Map<number, number>();
  /** What each read added, for the report: per revision, over the run and over the current step. */
  readonly run = new Map<string, RevisionCounts>();
  private step = new Map<string, RevisionCounts>();

  constructor(
    readonly series: TrafficSeries,
    readonly candidate: string,
    readonly stable: string[],
    private readonly maxLatencyP99Ms?: number,
  ) {}

  /** Requests to the candidate in this step. */
  stepRequests(): number {
    return this.step.get(this.candidate)?.requests ?? 0;
  }

  /** A new step: its own counts for the report. */
  startStep(): void {
    this.step = new Map();
  }

  /** This step's users' requests, the candidate's and the stable revisions' together, for the step table. */
  describeStep(): { candidate: string; stable: string } {
    const sum = (revs: string[]) =>
      describeCounts(
        '',
        revs.reduce((c, r) => addCounts(c, this.step.get(r)), empty()),
      ).trim();
    return { candidate: sum([this.candidate]), stable: sum(this.stable) };
  }

  /** What users' requests each revision served this run, for the log: the candidate first. */
  describe(): string {
    const revs = [this.candidate, ...this.stable];
    const seen = revs.filter((r) => this.run.has(r));
    return seen.length ? seen.map((r) => describeCounts(r, this.run.get(r)!)).join('; ') : 'none seen yet';
  }

  /**
   * The instant query of a metric for the rollout's revisions. Where the revision and namespace are labels of an
   * info series only (Knative 1.19+: `target_info`), it is joined in and its revision label copied onto each series.
   */
  selector(namespace: string, metric: string): string {
    const revs = [this.candidate, ...this.stable]
      .map((r) => r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|');
    const q = (v: string) => JSON.stringify(v);
    const sel = `${this.series.namespaceLabel}=${q(namespace)},${this.series.revisionLabel}=~${q(revs)}`;
    const info = this.series.info;
    if (!info) return `${metric}{${sel}}`;
    return `${metric} * on(${info.on.join(', ')}) group_left(${this.series.revisionLabel}) ${info.series}{${sel}}`;
  }

  /** One read of the counters (as instant queries return them): the Look since the previous read. */
  look(requests: Sample[], buckets: Sample[], atMs: number): Look {
    const counts = countsByRevision(this.requests.next(requests), this.buckets.next(buckets), this.series);
    const stable = this.stable.reduce((s, rev) => addCounts(s, counts.get(rev)), empty());
    const cand = counts.get(this.candidate) ?? empty();
    for (const [rev, c] of counts) {
      for (const m of [this.run, this.step]) m.set(rev, addCounts(m.get(rev) ?? empty(), c));
    }
    const p50 = edgeAt(this.stableSeen, 0.5);
    const p99 = edgeAt(this.stableSeen, 0.99);
    const limit =
      this.maxLatencyP99Ms === undefined
        ? undefined
        : [...cand.buckets.keys(), ...this.stableSeen.keys()]
            .filter((le) => le !== Infinity && le >= this.maxLatencyP99Ms!)
            .sort((a, b) => a - b)[0];
    addBuckets(this.stableSeen, stable.buckets);
    return {
      candidate: armLook(cand, p50, p99, limit),
      stable: armLook(stable, p50, p99, limit),
      p50Ms: p50,
      p99Ms: p99,
      atMs,
    };
  }
}
