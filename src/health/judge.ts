// The verdict on a step, from probe traffic: absolute limits on error rate and p99, with the stable revision's
// figures alongside as the reference. Fails early when the evidence is already conclusive.

export interface Sample {
  requests: number;
  errors: number;
  /** Latencies in ms of the requests that got a response. */
  latencies: number[];
}

export interface Limits {
  maxErrorRate: number;
  maxLatencyP99Ms?: number;
}

export type Judgement =
  { decision: 'continue' } | { decision: 'pass'; detail: string } | { decision: 'fail'; detail: string };

export function quantile(sorted: number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** Lower bound of the Wilson score interval (95%) for k successes in n trials. */
export function wilsonLower(k: number, n: number, z = 1.96): number {
  if (n === 0) return 0;
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = p + (z * z) / (2 * n);
  const margin = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return Math.max(0, (centre - margin) / denom);
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.001 && x > 0 ? 2 : 1)}%`;
const ms = (x: number | undefined) => (x === undefined ? 'n/a' : `${Math.round(x)} ms`);

export function describeSample(s: Sample, limits?: Limits): string {
  const rate = s.requests ? s.errors / s.requests : 0;
  const p99 = quantile(
    [...s.latencies].sort((a, b) => a - b),
    0.99,
  );
  let text = `${s.requests} requests, ${s.errors} errors (${pct(rate)}`;
  if (limits)
    text += rate > limits.maxErrorRate ? ` > ${pct(limits.maxErrorRate)}` : ` ≤ ${pct(limits.maxErrorRate)}`;
  text += `), p99 ${ms(p99)}`;
  if (limits?.maxLatencyP99Ms !== undefined && p99 !== undefined) {
    text +=
      p99 > limits.maxLatencyP99Ms ? ` > ${limits.maxLatencyP99Ms} ms` : ` ≤ ${limits.maxLatencyP99Ms} ms`;
  }
  return text;
}

/**
 * `final`: the dwell is over. Before that, fail only when conclusive: at least 3 errors (or slow requests) and the
 * 95% lower bound of their rate above the limit, so a single unlucky request does not roll back a release.
 */
export function judge(
  candidate: Sample,
  stable: Sample | undefined,
  limits: Limits,
  final: boolean,
): Judgement {
  const evidence = () =>
    `candidate ${describeSample(candidate, limits)}` + (stable ? `; stable ${describeSample(stable)}` : '');
  const { requests, errors } = candidate;
  const rate = requests ? errors / requests : 0;
  const errorsConclusive =
    limits.maxErrorRate === 0
      ? errors > 0
      : errors >= 3 && wilsonLower(errors, requests) > limits.maxErrorRate;
  if (errorsConclusive) return { decision: 'fail', detail: `error rate over the limit: ${evidence()}` };

  let slow = 0;
  const limit = limits.maxLatencyP99Ms;
  if (limit !== undefined) for (const l of candidate.latencies) if (l > limit) slow++;
  if (limit !== undefined && slow >= 3 && wilsonLower(slow, candidate.latencies.length) > 0.01) {
    return { decision: 'fail', detail: `p99 latency over the limit: ${evidence()}` };
  }
  if (!final) return { decision: 'continue' };

  if (rate > limits.maxErrorRate)
    return { decision: 'fail', detail: `error rate over the limit: ${evidence()}` };
  const p99 = quantile(
    [...candidate.latencies].sort((a, b) => a - b),
    0.99,
  );
  if (limit !== undefined && p99 !== undefined && p99 > limit) {
    return { decision: 'fail', detail: `p99 latency over the limit: ${evidence()}` };
  }
  if (requests === 0)
    return { decision: 'pass', detail: 'no probe traffic (probe-rps is 0): readiness only' };
  return { decision: 'pass', detail: evidence() };
}
