// Reads users' traffic in the background during a dwell, every `everyMs`: the raw request counters and latency
// buckets of the rollout's revisions, two instant queries a read, each read turned into a Look (users.ts). A read
// that fails is said once in the log and gives no evidence; it never fails a step by itself.

import type { AnalysisConfig } from './analysis-config.ts';
import type { Look } from './judge.ts';
import { queryVector } from './prometheus.ts';
import { UsersTraffic, type TrafficSeries } from './users.ts';

export class UsersReader {
  readonly traffic: UsersTraffic;
  private readonly looks: Look[] = [];
  private inflight?: Promise<void>;
  private nextAt = 0;
  private warned = false;
  /** Reads that came back, for the report. */
  reads = 0;

  constructor(
    private readonly analysis: AnalysisConfig,
    readonly series: TrafficSeries,
    private readonly namespace: string,
    candidate: string,
    stable: string[],
    private readonly everyMs: number,
    maxLatencyP99Ms: number | undefined,
    private readonly warn: (text: string) => void,
    /** When the probes began: looks are stamped from it, as the probes' are, for the warm-up. */
    private readonly startedAt: number,
  ) {
    this.traffic = new UsersTraffic(series, candidate, stable, maxLatencyP99Ms);
  }

  /** Starts a read in the background if one is due and none is running; the first is due at once. */
  tick(now: number, signal?: AbortSignal): void {
    if (this.inflight || now < this.nextAt) return;
    this.nextAt = now + this.everyMs;
    const at = now - this.startedAt;
    const q = (metric: string) =>
      queryVector(this.analysis, this.traffic.selector(this.namespace, metric), { signal });
    this.inflight = Promise.all([q(this.series.requests), q(this.series.buckets)])
      .then(([requests, buckets]) => {
        this.reads++;
        this.looks.push(this.traffic.look(requests, buckets, at));
      })
      .catch((e: Error) => {
        if (signal?.aborted || this.warned) return;
        this.warned = true;
        this.warn(
          `users' traffic could not be read from Prometheus (${e.message}); judging on the probes alone`,
        );
      })
      .finally(() => (this.inflight = undefined));
  }

  /** The looks of the reads that came back since the last call. */
  take(): Look[] {
    return this.looks.splice(0);
  }
}
