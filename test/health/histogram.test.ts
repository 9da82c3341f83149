// The fixed-memory histogram against exact answers computed from the raw values.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/health/histogram.ts';

const exactQuantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

const latency = fc.double({ min: 0, max: 600_000, noNaN: true });

describe('Histogram', () => {
  it('answers a quantile never below the exact one and at most 1/64 above it (plus 1 µs)', () => {
    fc.assert(
      fc.property(
        fc.array(latency, { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, q) => {
          const h = new Histogram();
          for (const x of xs) h.record(x);
          const exact = exactQuantile(xs, q);
          const got = h.quantile(q)!;
          expect(got).toBeGreaterThanOrEqual(Math.floor(exact * 1000) / 1000);
          expect(got).toBeLessThanOrEqual(exact * (1 + 1 / 64) + 0.001);
        },
      ),
    );
  });

  it('counts values above a threshold exactly, at the edge of the threshold bucket', () => {
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 300 }), latency, (xs, t) => {
        const h = new Histogram();
        for (const x of xs) h.record(x);
        const above = h.countAbove(t);
        // Never more than the values above t, never fewer than those above t's bucket (t·(1 + 1/64) + 1 µs).
        expect(above).toBeLessThanOrEqual(xs.filter((x) => x > t).length);
        expect(above).toBeGreaterThanOrEqual(xs.filter((x) => x > t * (1 + 1 / 64) + 0.001).length);
      }),
    );
  });

  it('merging two histograms is recording both sets of values', () => {
    fc.assert(
      fc.property(fc.array(latency), fc.array(latency), (a, b) => {
        const ha = new Histogram();
        const hb = new Histogram();
        const all = new Histogram();
        for (const x of a) {
          ha.record(x);
          all.record(x);
        }
        for (const x of b) {
          hb.record(x);
          all.record(x);
        }
        ha.add(hb);
        expect(ha.count).toBe(all.count);
        for (const q of [0, 0.5, 0.9, 0.99, 1]) expect(ha.quantile(q)).toBe(all.quantile(q));
        expect(ha.countAbove(100)).toBe(all.countAbove(100));
      }),
    );
  });

  it('keeps min, max and mean exactly, and is empty-safe', () => {
    const h = new Histogram();
    expect(h.quantile(0.5)).toBeUndefined();
    expect(h.mean).toBeUndefined();
    for (const x of [2, 4, 9]) h.record(x);
    expect([h.min, h.max, h.mean, h.count]).toEqual([2, 9, 5, 3]);
    expect(h.quantile(1)).toBe(9);
  });

  it('holds a fixed 13 KB however many values it records', () => {
    expect(Histogram.bytes).toBe(1664 * 8);
    const h = new Histogram();
    for (let i = 0; i < 100_000; i++) h.record(i % 5000);
    expect(h.count).toBe(100_000);
    // A value past the top bucket (35 minutes) is kept in the top bucket, not lost.
    h.record(3_600_000);
    expect(h.countAbove(60_000)).toBe(1);
  });
});
