// Always-valid sequential tests of a candidate against the stable revision, on the same window of time.
//
// Errors: each failed request is an event, and under "the candidate fails no more often than the stable revision"
// the chance that an event is the candidate's is its share of the requests, θ0 = n_cand / (n_cand + n_stable)
// (exactly binomial for Poisson arrivals, and no wider than binomial for fixed counts). Against it we run a
// mixture of likelihood ratios over error-rate ratios r > 1 (the candidate fails r times as often as the stable
// revision): a nonnegative supermartingale under the null, so by Ville's inequality it crosses 1/α with
// probability at most α however often it is looked at (the conditional-binomial test of Lindon et al., KDD 2022,
// with a discrete mixture). Common shocks, such as a dependency failing for both revisions, leave θ0 unchanged.
//
// Latency: the same test on "slower than the stable revision's p50" and "slower than its p99" events, the
// thresholds taken from the stable revision's answers before each look (predictable, so the test stays exact).
// The p50 test finds a shift of the whole distribution, the p99 test a regression in the tail alone.
//
// The tests' e-values are averaged with fixed weights (an average of e-values is an e-value), so the judge as a
// whole rolls back a healthy candidate with probability at most α over the whole run.

/** Error-rate (or exceedance-rate) ratios of the alternatives, with their prior weights. */
export interface Mixture {
  ratios: number[];
  weights: number[];
}

/** Alternatives for errors: from a 1.5x regression to a total outage. */
export const ERROR_MIXTURE: Mixture = mixture([1.5, 2, 3, 5, 8, 15, 40, 1000]);
/** Alternatives for "slower than the stable revision's median": a modest shift of the whole distribution. */
export const P50_MIXTURE: Mixture = mixture([1.1, 1.2, 1.35, 1.5, 1.8]);
/** Alternatives for "slower than the stable revision's p99". */
export const P99_MIXTURE: Mixture = mixture([1.5, 2, 3, 5, 10, 30]);

function mixture(ratios: number[], weights = ratios.map(() => 1 / ratios.length)): Mixture {
  return { ratios, weights };
}

/**
 * A one-sided mixture likelihood ratio for "events fall on the candidate with probability θ0", against the
 * candidate getting r times its share: θ_r = θ0·r / (θ0·r + 1 − θ0).
 */
export class ConditionalTest {
  private readonly logLR: Float64Array;
  private readonly logR: Float64Array;
  private readonly logW: Float64Array;
  /** Candidate and stable events seen. */
  candidate = 0;
  stable = 0;
  /** Largest e-value seen. */
  peak = 1;

  constructor(readonly mix: Mixture) {
    this.logLR = new Float64Array(mix.ratios.length);
    this.logR = Float64Array.from(mix.ratios, Math.log);
    this.logW = Float64Array.from(mix.weights, Math.log);
  }

  /** `k` of `m` new events are the candidate's, whose share of the requests was θ0. */
  update(k: number, m: number, theta0: number): void {
    if (m <= 0) return;
    this.candidate += k;
    this.stable += m - k;
    if (!(theta0 > 0 && theta0 < 1)) return;
    for (let j = 0; j < this.logLR.length; j++) {
      const r = this.mix.ratios[j]!;
      this.logLR[j]! += k * this.logR[j]! - m * Math.log(theta0 * r + 1 - theta0);
    }
    const e = this.eValue();
    if (e > this.peak) this.peak = e;
  }

  /** The mixture likelihood ratio. */
  eValue(): number {
    let max = -Infinity;
    for (let j = 0; j < this.logLR.length; j++) max = Math.max(max, this.logLR[j]! + this.logW[j]!);
    let sum = 0;
    for (let j = 0; j < this.logLR.length; j++) sum += Math.exp(this.logLR[j]! + this.logW[j]! - max);
    return Math.exp(max) * sum;
  }
}

/**
 * A one-sided test that a rate is p0, against a mixture of rates c·p0 (c > 1): for the absolute limits, where the
 * candidate is compared with a number, not with the stable revision.
 */
export class RateTest {
  private readonly logLR: Float64Array;
  private readonly ps: number[];
  private readonly logW: number;
  peak = 1;

  constructor(
    readonly p0: number,
    factors = [1.5, 2, 3, 5, 10, 30, 100],
  ) {
    this.ps = [...new Set(factors.map((c) => Math.min(0.999, c * p0)))].filter((p) => p > p0);
    this.logLR = new Float64Array(this.ps.length);
    this.logW = -Math.log(Math.max(1, this.ps.length));
  }

  /** `k` of `n` new trials were hits (errors, slow requests). */
  update(k: number, n: number): void {
    if (n <= 0) return;
    for (let j = 0; j < this.ps.length; j++) {
      const p = this.ps[j]!;
      this.logLR[j]! += k * Math.log(p / this.p0) + (n - k) * Math.log((1 - p) / (1 - this.p0));
    }
    const e = this.eValue();
    if (e > this.peak) this.peak = e;
  }

  eValue(): number {
    let sum = 0;
    for (let j = 0; j < this.logLR.length; j++) sum += Math.exp(this.logLR[j]! + this.logW);
    return this.logLR.length ? sum : 1;
  }
}

/**
 * A simple likelihood ratio for "good" (ratio 1) against "bad" (ratio `bad`): crossing 1/α is the evidence that
 * the candidate is not `bad` times worse, and a candidate that is bad crosses it with probability at most α.
 */
export class PassTest {
  logLR = 0;
  constructor(readonly bad: number) {}

  /** Events on the candidate's share θ0, as ConditionalTest.update. */
  updateConditional(k: number, m: number, theta0: number): void {
    if (m <= 0 || !(theta0 > 0 && theta0 < 1)) return;
    // log [θ0^k (1-θ0)^(m-k)] − log [θb^k (1-θb)^(m-k)], θb = θ0·b / (θ0·b + 1 − θ0)
    this.logLR += -k * Math.log(this.bad) + m * Math.log(theta0 * this.bad + 1 - theta0);
  }

  /** Trials against rates: good pGood, bad pBad. */
  updateRate(k: number, n: number, pGood: number, pBad: number): void {
    if (n <= 0) return;
    this.logLR += k * Math.log(pGood / pBad) + (n - k) * Math.log((1 - pGood) / (1 - pBad));
  }

  get eValue(): number {
    return Math.exp(this.logLR);
  }
}
