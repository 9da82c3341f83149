// The verdict on a rollout, look by look: the sequential tests of the candidate against the stable revision
// (sequential.ts), and the absolute limits on top. Pure: it is given what the probes saw since the last look and
// answers `fail`, `pass` or `continue`, with the evidence.

import {
  ConditionalTest,
  ERROR_MIXTURE,
  P50_MIXTURE,
  P99_MIXTURE,
  PassTest,
  RateTest,
} from './sequential.ts';

/** What one revision's probes saw since the last look. */
export interface ArmLook {
  requests: number;
  errors: number;
  /** Requests with a latency (an answer or a timeout). */
  timed: number;
  /** Of those, slower than the stable revision's p50 and p99 as known before this look. */
  overP50: number;
  overP99: number;
  /** Of those, slower than max-latency-p99. */
  overLimit: number;
  /**
   * The same counts over every answer, the warm-up's included, when the fields above leave it out: the evidence
   * for a pass may count it (a cold start only weakens that evidence).
   */
  all?: { timed: number; overP99: number; overLimit: number };
}

export interface Look {
  candidate: ArmLook;
  /** Absent when the stable revision is not probed (no stable tag): only the absolute limits apply. */
  stable?: ArmLook;
  /** The latency thresholds this look was counted against, undefined until the stable revision has enough answers. */
  p50Ms?: number;
  p99Ms?: number;
  /**
   * When the window of this look began, since the candidate's probes began: a window that began during the
   * warm-up is not judged for latency (comparing its end would let the warm-up's last moments through).
   */
  atMs: number;
}

export interface JudgeConfig {
  /** Bound on the chance of rolling back a candidate that is no worse than the stable revision. */
  alpha: number;
  maxErrorRate: number;
  maxLatencyP99Ms?: number;
  /** Latency evidence from the first warmupMs is ignored (a cold start is not a regression). */
  warmupMs: number;
  /** The candidate needs at least this many events (errors, slow requests) before a test can fail it. */
  minEvents?: number;
  /** Weights of the errors, p50 and p99 tests in the combined e-value (they sum to 1). */
  weights?: { errors: number; p50: number; p99: number };
  /** Ratios a step must be shown not to reach, to pass before its dwell is over. */
  passRatios?: { errors: number; p99: number };
}

export type TestName = 'errors' | 'latency-p50' | 'latency-p99' | 'error-limit' | 'latency-limit';

export interface Decision {
  decision: 'continue' | 'pass' | 'fail';
  /** The test that decided a `fail`. */
  test?: TestName;
  detail: string;
}

interface Counts {
  requests: number;
  errors: number;
  timed: number;
  overLimit: number;
  /** timed and overLimit with the warm-up's answers. */
  allTimed: number;
  allOverLimit: number;
}

const zero = (): Counts => ({ requests: 0, errors: 0, timed: 0, overLimit: 0, allTimed: 0, allOverLimit: 0 });

function add(c: Counts, a: ArmLook): void {
  c.requests += a.requests;
  c.errors += a.errors;
  c.timed += a.timed;
  c.overLimit += a.overLimit;
  c.allTimed += (a.all ?? a).timed;
  c.allOverLimit += (a.all ?? a).overLimit;
}

export const pct = (x: number) => `${(x * 100).toFixed(x < 0.001 && x > 0 ? 2 : 1)}%`;
const num = (x: number) =>
  x >= 1e6 ? x.toExponential(1) : x >= 100 ? String(Math.round(x)) : x.toPrecision(2).replace(/\.?0+$/, '');
const share = (k: number, n: number) => `${k}/${n} (${pct(n ? k / n : 0)})`;

export const DEFAULT_WEIGHTS = { errors: 0.6, p50: 0.2, p99: 0.2 };

export class Judge {
  readonly errors = new ConditionalTest(ERROR_MIXTURE);
  readonly p50 = new ConditionalTest(P50_MIXTURE);
  readonly p99 = new ConditionalTest(P99_MIXTURE);
  private readonly errorLimit?: RateTest;
  private readonly latencyLimit?: RateTest;
  private readonly weights: { errors: number; p50: number; p99: number };
  /** This step's evidence that the candidate is not worse; reset at every step. */
  private passErrors!: PassTest;
  private passP99!: PassTest;
  private passErrorLimit!: PassTest;
  private passLatencyLimit!: PassTest;
  private step = { candidate: zero(), stable: zero() };
  /** Whole run. */
  readonly run = { candidate: zero(), stable: zero() };

  constructor(readonly cfg: JudgeConfig) {
    this.weights = cfg.weights ?? DEFAULT_WEIGHTS;
    if (cfg.maxErrorRate > 0 && cfg.maxErrorRate < 1) this.errorLimit = new RateTest(cfg.maxErrorRate);
    if (cfg.maxLatencyP99Ms !== undefined) this.latencyLimit = new RateTest(0.01);
    this.startStep();
  }

  /** A new step: its own counts for the limits and its own evidence for an early pass. */
  startStep(): void {
    const pr = this.cfg.passRatios ?? { errors: 2, p99: 3 };
    this.passErrors = new PassTest(pr.errors);
    this.passP99 = new PassTest(pr.p99);
    this.passErrorLimit = new PassTest(0);
    this.passLatencyLimit = new PassTest(0);
    this.step = { candidate: zero(), stable: zero() };
  }

  observe(look: Look): void {
    const c = look.candidate;
    const s = look.stable;
    add(this.step.candidate, c);
    add(this.run.candidate, c);
    if (s) {
      add(this.step.stable, s);
      add(this.run.stable, s);
    }
    if (s && c.requests + s.requests > 0) {
      const theta = c.requests / (c.requests + s.requests);
      this.errors.update(c.errors, c.errors + s.errors, theta);
      this.passErrors.updateConditional(c.errors, c.errors + s.errors, theta);
    }
    const warm = look.atMs >= this.cfg.warmupMs;
    if (s && warm && c.timed + s.timed > 0) {
      const theta = c.timed / (c.timed + s.timed);
      if (look.p50Ms !== undefined) this.p50.update(c.overP50, c.overP50 + s.overP50, theta);
      if (look.p99Ms !== undefined) this.p99.update(c.overP99, c.overP99 + s.overP99, theta);
    }
    // Evidence for a pass counts during the warm-up too: a cold start only makes it weaker.
    const ca = c.all ?? c;
    const sa = s && (s.all ?? s);
    if (sa && look.p99Ms !== undefined && ca.timed + sa.timed > 0) {
      const theta = ca.timed / (ca.timed + sa.timed);
      this.passP99.updateConditional(ca.overP99, ca.overP99 + sa.overP99, theta);
    }
    if (this.errorLimit) {
      this.errorLimit.update(c.errors, c.requests);
      const p = this.cfg.maxErrorRate;
      this.passErrorLimit.updateRate(c.errors, c.requests, p / 4, p);
    }
    if (this.latencyLimit) {
      if (warm) this.latencyLimit.update(c.overLimit, c.timed);
      this.passLatencyLimit.updateRate(ca.overLimit, ca.timed, 0.0025, 0.01);
    }
  }

  /** The combined e-value of the comparison with the stable revision. */
  eValue(): number {
    const w = this.weights;
    return w.errors * this.errors.eValue() + w.p50 * this.p50.eValue() + w.p99 * this.p99.eValue();
  }

  /**
   * `final`: the step's dwell is over; `canPass`: its minimum dwell is, so conclusive evidence that the
   * candidate is not worse ends it early.
   */
  decide(opts: { final: boolean; canPass?: boolean }): Decision {
    const { cfg } = this;
    const threshold = 1 / cfg.alpha;
    const minEvents = cfg.minEvents ?? 3;
    const e = this.eValue();
    if (e >= threshold) {
      const w = this.weights;
      const parts: [TestName, number, ConditionalTest][] = [
        ['errors', w.errors * this.errors.eValue(), this.errors],
        ['latency-p50', w.p50 * this.p50.eValue(), this.p50],
        ['latency-p99', w.p99 * this.p99.eValue(), this.p99],
      ];
      const [test, , t] = parts.reduce((a, b) => (b[1] > a[1] ? b : a));
      if (t.candidate >= minEvents) {
        return { decision: 'fail', test, detail: `${this.explain(test)}; ${this.statistic()}` };
      }
    }
    const step = this.step.candidate;
    const run = this.run.candidate;
    if (cfg.maxErrorRate === 0 && run.errors > 0) {
      return {
        decision: 'fail',
        test: 'error-limit',
        detail: `max-error-rate is 0 and the candidate failed ${share(run.errors, run.requests)}`,
      };
    }
    if (this.errorLimit && this.errorLimit.eValue() >= threshold && run.errors >= minEvents) {
      return {
        decision: 'fail',
        test: 'error-limit',
        detail: `error rate over max-error-rate ${pct(cfg.maxErrorRate)}: candidate ${share(run.errors, run.requests)}; e-value ${num(this.errorLimit.eValue())} ≥ ${num(threshold)}`,
      };
    }
    if (
      this.latencyLimit &&
      this.latencyLimit.eValue() >= threshold &&
      this.run.candidate.overLimit >= minEvents
    ) {
      return {
        decision: 'fail',
        test: 'latency-limit',
        detail: `p99 over max-latency-p99 ${cfg.maxLatencyP99Ms} ms: ${share(this.run.candidate.overLimit, this.run.candidate.timed)} of the candidate's requests slower than it (1% allowed); e-value ${num(this.latencyLimit.eValue())} ≥ ${num(threshold)}`,
      };
    }
    if (opts.final) {
      if (step.requests > 0 && step.errors / step.requests > cfg.maxErrorRate) {
        return {
          decision: 'fail',
          test: 'error-limit',
          detail: `error rate over max-error-rate ${pct(cfg.maxErrorRate)} this step: candidate ${share(step.errors, step.requests)}`,
        };
      }
      // The step's p99 is of its answers after the warm-up; a step wholly inside the warm-up is still held to the
      // limit, on every answer it had.
      const [timed, over] =
        step.timed > 0 ? [step.timed, step.overLimit] : [step.allTimed, step.allOverLimit];
      if (cfg.maxLatencyP99Ms !== undefined && timed > 0 && over > timed - Math.ceil(0.99 * timed)) {
        return {
          decision: 'fail',
          test: 'latency-limit',
          detail: `p99 over max-latency-p99 ${cfg.maxLatencyP99Ms} ms this step: ${share(over, timed)} of the candidate's requests slower than it`,
        };
      }
      return { decision: 'pass', detail: `held the whole dwell; ${this.statistic()}` };
    }
    if (opts.canPass) {
      const errorsOk =
        this.passErrors.eValue >= threshold ||
        (this.errorLimit !== undefined && this.passErrorLimit.eValue >= threshold);
      const latencyOk =
        this.passP99.eValue >= threshold ||
        (this.latencyLimit !== undefined && this.passLatencyLimit.eValue >= threshold) ||
        (this.run.stable.timed === 0 && this.latencyLimit === undefined);
      if (errorsOk && latencyOk) {
        return { decision: 'pass', detail: `passed early, conclusively no worse; ${this.statistic()}` };
      }
    }
    return { decision: 'continue', detail: this.statistic() };
  }

  /** What the comparison found, its first words saying what happened. */
  private explain(test: TestName): string {
    const c = this.run.candidate;
    const s = this.run.stable;
    switch (test) {
      case 'errors':
        return `more errors than the stable revision: candidate ${share(c.errors, c.requests)} vs stable ${share(s.errors, s.requests)}`;
      case 'latency-p50':
        return `slower than the stable revision: ${this.p50.candidate} of the candidate's requests over the stable's median vs ${this.p50.stable} of the stable's`;
      case 'latency-p99':
        return `slower tail than the stable revision: ${this.p99.candidate} of the candidate's requests over the stable's p99 vs ${this.p99.stable} of the stable's`;
      default:
        return test;
    }
  }

  /** The test statistic against its threshold, and its three parts. */
  statistic(): string {
    if (this.run.stable.requests === 0) return 'no stable revision to compare with';
    const e = this.eValue();
    const threshold = 1 / this.cfg.alpha;
    return `e-value ${num(e)} ${e >= threshold ? '≥' : '<'} ${num(threshold)} (errors ${num(this.errors.eValue())}, p50 ${num(this.p50.eValue())}, p99 ${num(this.p99.eValue())})`;
  }
}
