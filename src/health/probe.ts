// Probe traffic: a steady, open-loop request rate against a route. Requests are due on a fixed schedule whatever
// the answers take (a slow revision does not lower the offered load), and each latency is measured from when its
// request was due, so a stalled revision shows as the latency its users would see (no coordinated omission).
// Status and latency go into fixed-memory histograms: one for the whole run, one for the current window, which
// the judge takes at every look.

import type { Dispatcher } from 'undici';
import { agent, requestTarget, type RouteTarget } from './http.ts';
import { Histogram } from './histogram.ts';

export interface ProbeOptions {
  path: string;
  rps: number;
  /** Per-request timeout; a timed-out request is an error with this latency. */
  timeoutMs?: number;
  /** At most this many requests in flight; a due request beyond it is counted as an error (overload). */
  maxInFlight?: number;
  dispatcher?: Dispatcher;
  /** Clock in ms (performance.now() by default). */
  now?: () => number;
  /** Requests due in the first warmupMs are left out of `warm` (a cold start is not judged for latency). */
  warmupMs?: number;
}

/** What came back in a window of time: every finished request, its errors, and the latencies of the answers. */
export interface Window {
  requests: number;
  errors: number;
  /** Latency of every request that got an answer or timed out. */
  latency: Histogram;
  /** The same, for the requests due after the warm-up only: what latency is judged on. */
  warm: Histogram;
}

export const emptyWindow = (): Window => ({
  requests: 0,
  errors: 0,
  latency: new Histogram(),
  warm: new Histogram(),
});

export function addWindow(into: Window, w: Window): Window {
  into.requests += w.requests;
  into.errors += w.errors;
  into.latency.add(w.latency);
  into.warm.add(w.warm);
  return into;
}

/** A 5xx or a transport error is a failed request; anything else is the application's answer. */
export const isError = (status: number) => status === 0 || status >= 500;

/**
 * One request: its place in the schedule, and undici's handler for its answer. A class, so a request costs one
 * object and no closures.
 */
class Probe implements Dispatcher.DispatchHandler {
  /** Set once the request is on a connection: aborting it then closes that connection. */
  controller?: Dispatcher.DispatchController;
  status = 0;
  done = false;

  constructor(
    readonly dueAt: number,
    private readonly finish: (e: Probe, status: number, timedOut: boolean) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  /** The body is not read (undici requires the method). */
  onResponseData(): void {}

  onResponseEnd(): void {
    this.finish(this, this.status, false);
  }

  onResponseError(): void {
    this.finish(this, 0, false);
  }
}

export class Prober {
  /** Everything since start. */
  readonly total: Window = emptyWindow();
  private window: Window = emptyWindow();
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private sent = 0;
  private startedAt = 0;
  private stopped = false;
  /**
   * Requests due and not yet finished, in the order they were due: overdue ones are timed out from the head
   * (`head`); the ones from `next` on are due but not yet handed to the dispatcher, which was busy.
   */
  private pending: Probe[] = [];
  private head = 0;
  private next = 0;
  private readonly now: () => number;
  /** The dispatcher, from start on (the shared agent is looked up then, as `send` does per request). */
  private dispatcher?: Dispatcher;
  private readonly request: Dispatcher.DispatchOptions;
  private readonly done = (e: Probe, status: number, timedOut: boolean) => this.finish(e, status, timedOut);
  private readonly drained = () => this.flush();

  constructor(
    readonly target: RouteTarget,
    private readonly opts: ProbeOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
    // Everything about the request is worked out once: at thousands of requests a second, a URL parse and two
    // timers per request are what limits the rate.
    const { url, host } = requestTarget(target, opts.path);
    const u = new URL(url);
    this.request = {
      origin: u.origin,
      path: u.pathname + u.search,
      method: 'GET',
      headers: { 'user-agent': 'knative-canary-action', ...(host ? { host } : {}) },
    };
  }

  start(): this {
    if (this.opts.rps <= 0) return this;
    this.startedAt = this.now();
    this.dispatcher = this.opts.dispatcher ?? agent();
    this.dispatcher.on('drain', this.drained);
    this.tick();
    // Fire everything due at every tick; the tick is at most 10 ms, or the request period when that is longer.
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.min(10, 1000 / this.opts.rps)));
    return this;
  }

  /** Requests sent so far (finished or not). */
  get offered(): number {
    return this.sent;
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.now();
    this.sweep(now);
    const period = 1000 / this.opts.rps;
    const due = Math.floor((now - this.startedAt) / period) + 1;
    while (this.sent < due) {
      this.fire(this.startedAt + this.sent * period);
      this.sent++;
    }
    this.flush();
  }

  /** Times out the requests due more than timeoutMs ago (one timer for all of them). */
  private sweep(now: number): void {
    const limit = now - (this.opts.timeoutMs ?? 5000);
    const q = this.pending;
    while (this.head < q.length) {
      const e = q[this.head]!;
      if (!e.done) {
        if (e.dueAt > limit) break;
        // Counted as timed out now. One still waiting for the dispatcher is never sent; one queued inside it is
        // answered later and ignored.
        this.finish(e, 0, true);
        e.controller?.abort(new Error('timed out'));
      }
      this.head++;
    }
    if (this.next < this.head) this.next = this.head;
    if (this.head > 1024 && this.head * 2 > q.length) {
      this.pending = q.slice(this.head);
      this.next -= this.head;
      this.head = 0;
    }
  }

  private fire(dueAt: number): void {
    if (this.inFlight >= (this.opts.maxInFlight ?? 1000)) {
      this.count(0, undefined, dueAt);
      return;
    }
    this.inFlight++;
    this.pending.push(new Probe(dueAt, this.done));
  }

  /**
   * Hands the requests due so far to the dispatcher, in order, until it says it is busy (all its connections
   * taken): the rest wait here, as cheap entries, and go when it emits 'drain', or at the next tick. undici's own
   * queue would hold them as full requests. Either way each is timed from when it was due.
   */
  private flush(): void {
    const q = this.pending;
    while (this.next < q.length && !this.stopped) {
      const e = q[this.next++]!;
      if (e.done) continue;
      // undici's dispatch with a handler: no response stream, no promise, no timer per request. It answers false
      // when busy, and also when it failed the request at once (closed): then the next may fail at once too.
      if (!this.dispatcher!.dispatch(this.request, e) && !e.done) return;
    }
  }

  private finish(e: Probe, status: number, timedOut: boolean): void {
    if (e.done) return;
    e.done = true;
    this.inFlight--;
    if (this.stopped) return;
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    const latency = timedOut ? timeoutMs : status !== 0 ? Math.max(0, this.now() - e.dueAt) : undefined;
    this.count(status, latency, e.dueAt);
  }

  private count(status: number, latencyMs: number | undefined, dueAt: number): void {
    const warm = dueAt - this.startedAt >= (this.opts.warmupMs ?? 0);
    const error = isError(status);
    record(this.total, error, latencyMs, warm);
    record(this.window, error, latencyMs, warm);
  }

  /** What finished since the last take (or start), and a fresh window from now on. */
  take(): Window {
    const w = this.window;
    this.window = emptyWindow();
    return w;
  }

  /** Stops sending; requests still in flight are abandoned and not counted. */
  stop(): Window {
    clearInterval(this.timer);
    this.dispatcher?.off('drain', this.drained);
    this.stopped = true;
    for (let i = this.head; i < this.pending.length; i++) {
      const e = this.pending[i]!;
      if (e.done) continue;
      e.done = true;
      e.controller?.abort(new Error('stopped'));
    }
    this.pending = [];
    this.head = 0;
    this.next = 0;
    return this.total;
  }
}

function record(w: Window, error: boolean, latencyMs: number | undefined, warm: boolean): void {
  w.requests++;
  if (error) w.errors++;
  if (latencyMs !== undefined) {
    w.latency.record(latencyMs);
    if (warm) w.warm.record(latencyMs);
  }
}

const ms = (x: number | undefined) =>
  x === undefined ? 'n/a' : `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;

/** `240 req, 3 err (1.3%), p50 12 ms, p99 48 ms` */
export function describeWindow(w: Window): string {
  if (w.requests === 0) return 'no requests';
  const rate = ((w.errors / w.requests) * 100).toFixed(w.errors && w.errors / w.requests < 0.001 ? 2 : 1);
  return `${w.requests} req, ${w.errors} err (${rate}%), p50 ${ms(w.latency.quantile(0.5))}, p99 ${ms(w.latency.quantile(0.99))}`;
}
