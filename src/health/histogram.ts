// A fixed-memory latency histogram, HDR-style: values in microseconds, exact below 128 µs, then 64 linear
// sub-buckets per power of two, so every recorded value is known to within 1/64 (1.6%) of itself. 1,664 counters
// (13 KB) cover 1 µs to 35 minutes, whatever the number of requests.

const SUB = 64;
const MAX_US = 2 ** 31 - 1;
const BUCKETS = 2 * SUB + 24 * SUB;

/** Index of the bucket holding a value in µs. */
function indexOf(us: number): number {
  const v = Math.min(MAX_US, Math.max(0, Math.floor(us)));
  if (v < 2 * SUB) return v;
  const shift = 31 - Math.clz32(v) - 6;
  return 2 * SUB + (shift - 1) * SUB + ((v >>> shift) - SUB);
}

/** Lowest and highest µs value of a bucket. */
function rangeOf(index: number): [number, number] {
  if (index < 2 * SUB) return [index, index];
  const shift = Math.floor((index - 2 * SUB) / SUB) + 1;
  const mantissa = ((index - 2 * SUB) % SUB) + SUB;
  return [mantissa * 2 ** shift, (mantissa + 1) * 2 ** shift - 1];
}

export class Histogram {
  private counts = new Float64Array(BUCKETS);
  count = 0;
  private sumUs = 0;
  private minUs = Infinity;
  private maxUs = 0;

  /** Records a latency in milliseconds. */
  record(ms: number, times = 1): void {
    if (!(ms >= 0) || times <= 0) return;
    const us = ms * 1000;
    this.counts[indexOf(us)]! += times;
    this.count += times;
    this.sumUs += us * times;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /**
   * The nearest-rank q-quantile in ms (the ⌈q·n⌉-th smallest value), as the highest value of its bucket, so
   * it is never below the true quantile and at most 1.6% above it. Undefined when empty.
   */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count)));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(rangeOf(i)[1], this.maxUs) / 1000;
    }
    return this.maxUs / 1000;
  }

  /**
   * How many recorded values lie in buckets wholly above the bucket of `ms`: the values above `ms` rounded up to
   * its bucket's edge. Two histograms counted at the same `ms` use the same edge, so their counts compare exactly.
   */
  countAbove(ms: number): number {
    let n = 0;
    for (let i = indexOf(ms * 1000) + 1; i < BUCKETS; i++) n += this.counts[i]!;
    return n;
  }

  get mean(): number | undefined {
    return this.count ? this.sumUs / this.count / 1000 : undefined;
  }

  get max(): number | undefined {
    return this.count ? this.maxUs / 1000 : undefined;
  }

  get min(): number | undefined {
    return this.count ? this.minUs / 1000 : undefined;
  }

  add(other: Histogram): this {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
    return this;
  }

  clone(): Histogram {
    return new Histogram().add(this);
  }

  /** Bytes held by the counters, whatever was recorded. */
  static readonly bytes = BUCKETS * 8;
}
