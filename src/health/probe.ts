// Probe traffic: a steady request rate against a route, recording status and latency of every request.

import type { Dispatcher } from 'undici';
import { agent, send, type RouteTarget } from './http.ts';
import type { Sample } from './judge.ts';

export interface ProbeOptions {
  path: string;
  rps: number;
  timeoutMs?: number;
  /** At most this many requests in flight; ticks beyond it are skipped (a stalled revision shows as timeouts). */
  maxInFlight?: number;
  dispatcher?: Dispatcher;
}

/** A 5xx or a transport error is a failed request; anything else is the application's answer. */
export const isError = (status: number) => status === 0 || status >= 500;

export class Prober {
  readonly sample: Sample = { requests: 0, errors: 0, latencies: [] };
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private readonly controller = new AbortController();

  constructor(
    readonly target: RouteTarget,
    private readonly opts: ProbeOptions,
  ) {}

  start(): this {
    if (this.opts.rps <= 0) return this;
    const period = 1000 / this.opts.rps;
    this.fire();
    this.timer = setInterval(() => this.fire(), period);
    return this;
  }

  private fire(): void {
    if (this.inFlight >= (this.opts.maxInFlight ?? 100)) return;
    this.inFlight++;
    void send(
      this.target,
      { path: this.opts.path, timeoutMs: this.opts.timeoutMs ?? 5000, signal: this.controller.signal },
      this.opts.dispatcher ?? agent(),
    ).then((r) => {
      this.inFlight--;
      if (this.controller.signal.aborted) return;
      this.sample.requests++;
      if (isError(r.status)) this.sample.errors++;
      if (r.status !== 0) this.sample.latencies.push(r.latencyMs);
    });
  }

  /** Stops sending; requests still in flight are abandoned and not counted. */
  stop(): Sample {
    clearInterval(this.timer);
    this.controller.abort();
    return this.sample;
  }
}
