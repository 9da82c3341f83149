// Reads users' traffic in the background during a dwell, every `everyMs`: the raw request counters and latency
// buckets of the rollout's revisions, two instant queries a read, each read turned into a Look (users.ts). With
// `metrics: auto` the schema is found first (resolveSchema: the first known one with series for these revisions).
// A read that fails is said once in the log and gives no evidence; it never fails a step by itself.

import type { AnalysisConfig } from './analysis-config.ts';
import type { Look } from './judge.ts';
import { describeSchema, resolveSchema, type MetricsSetting, type TrafficSchema } from './metrics-schema.ts';
import { queryPrometheus, queryVector } from './prometheus.ts';
import { UsersTraffic } from './users.ts';

export interface UsersReaderOptions {
  namespace: string;
  candidate: string;
  stable: string[];
  everyMs: number;
  maxLatencyP99Ms?: number;
  info: (text: string) => void;
  warn: (text: string) => void;
  /** When the probes began: looks are stamped from it, as the probes' are, for the warm-up. */
  startedAt: number;
}

export class UsersReader {
  traffic?: UsersTraffic;
  private readonly looks: Look[] = [];
  private inflight?: Promise<void>;
  private nextAt = 0;
  private warned = false;
  /** Reads that came back, for the report. */
  reads = 0;

  constructor(
    private readonly analysis: AnalysisConfig,
    private readonly setting: MetricsSetting,
    private readonly o: UsersReaderOptions,
  ) {}

  /** Starts a read in the background if one is due and none is running; the first is due at once. */
  tick(now: number, signal?: AbortSignal): void {
    if (this.inflight || now < this.nextAt) return;
    this.nextAt = now + this.o.everyMs;
    const at = now - this.o.startedAt;
    this.inflight = this.read(at, signal)
      .catch((e: Error) => {
        if (signal?.aborted || this.warned) return;
        this.warned = true;
        this.o.warn(
          `users' traffic could not be read from Prometheus (${e.message}); judging on the probes alone`,
        );
      })
      .finally(() => (this.inflight = undefined));
  }

  private async read(at: number, signal?: AbortSignal): Promise<void> {
    const traffic = this.traffic ?? (await this.start(signal));
    if (!traffic) return;
    const q = (metric: string) =>
      queryVector(this.analysis, traffic.selector(this.o.namespace, metric), { signal });
    const [requests, buckets] = await Promise.all([q(traffic.series.requests), q(traffic.series.buckets)]);
    this.reads++;
    this.looks.push(traffic.look(requests, buckets, at));
  }

  /** The schema, found once (with `auto`, asked again at each read until one has series). */
  private async start(signal?: AbortSignal): Promise<UsersTraffic | undefined> {
    const r = await resolveSchema(
      this.setting,
      { namespace: this.o.namespace, revision: this.o.candidate, stable_revision: this.o.stable[0] ?? '' },
      async (promql) => (await queryPrometheus(this.analysis, promql, { signal })).value,
    );
    if (r.error) throw new Error(r.error);
    if (!r.schema) return undefined;
    return (this.traffic = this.begin(r.schema));
  }

  private begin(schema: TrafficSchema): UsersTraffic {
    this.o.info(
      `Judging users' traffic too: ${schema.requests} and ${schema.buckets} (${describeSchema(schema)}) from ` +
        'Prometheus',
    );
    return new UsersTraffic(schema, this.o.candidate, this.o.stable, this.o.maxLatencyP99Ms);
  }

  /** The looks of the reads that came back since the last call. */
  take(): Look[] {
    return this.looks.splice(0);
  }
}
