import { describe, expect, it } from 'vitest';
import { judge, quantile, wilsonLower, type Sample } from '../../src/health/judge.ts';

const sample = (requests: number, errors: number, latency = 10): Sample => ({
  requests,
  errors,
  latencies: Array.from({ length: requests }, () => latency),
});
const limits = { maxErrorRate: 0.01 };

describe('judge', () => {
  it('does not fail early on one or two unlucky errors', () => {
    expect(judge(sample(10, 1), undefined, limits, false).decision).toBe('continue');
    expect(judge(sample(10, 2), undefined, limits, false).decision).toBe('continue');
  });

  it('fails early once the errors are conclusive', () => {
    const j = judge(sample(10, 3), sample(10, 0), limits, false);
    expect(j.decision).toBe('fail');
    expect(j.decision === 'fail' && j.detail).toBe(
      'error rate over the limit: candidate 10 requests, 3 errors (30.0% > 1.0%), p99 10 ms; stable 10 requests, 0 errors (0.0%), p99 10 ms',
    );
  });

  it('at the end of the dwell, any rate over the limit fails and anything under passes', () => {
    expect(judge(sample(100, 2), undefined, limits, true).decision).toBe('fail');
    expect(judge(sample(100, 1), undefined, limits, true).decision).toBe('pass');
  });

  it('with a zero limit, one error fails', () => {
    expect(judge(sample(100, 1), undefined, { maxErrorRate: 0 }, false).decision).toBe('fail');
  });

  it('fails on p99 over the limit, early when the slow requests are conclusive', () => {
    const slow: Sample = { requests: 20, errors: 0, latencies: [...Array(17).fill(10), 300, 300, 300] };
    const j = judge(slow, undefined, { maxErrorRate: 0.01, maxLatencyP99Ms: 100 }, false);
    expect(j.decision === 'fail' && j.detail).toMatch(/^p99 latency over the limit: .*p99 300 ms > 100 ms$/);
    const one: Sample = { requests: 200, errors: 0, latencies: [...Array(199).fill(10), 300] };
    expect(judge(one, undefined, { maxErrorRate: 0.01, maxLatencyP99Ms: 100 }, true).decision).toBe('pass');
  });

  it('passes a dwell with no probe traffic on readiness alone, and says so', () => {
    expect(judge(sample(0, 0), undefined, limits, true)).toEqual({
      decision: 'pass',
      detail: 'no probe traffic (probe-rps is 0): readiness only',
    });
  });
});

describe('statistics', () => {
  it('quantile is the nearest-rank value', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(xs, 0.99)).toBe(99);
    expect(quantile(xs, 0.5)).toBe(50);
    expect(quantile([], 0.99)).toBeUndefined();
  });

  it('wilsonLower matches the textbook interval', () => {
    expect(wilsonLower(0, 10)).toBe(0);
    expect(wilsonLower(5, 10)).toBeCloseTo(0.2366, 3);
    expect(wilsonLower(3, 100)).toBeCloseTo(0.0103, 3);
  });
});
