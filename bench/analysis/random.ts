// Seeded randomness for the analysis: xoshiro128** seeded through splitmix32, Poisson sampling by inversion
// through a precomputed CDF with a guide table (exact to double precision, O(1) expected), and the normal tail.

/** splitmix32: a 32-bit hash, also used to spread seeds. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a of a string: a cell's name as a seed, so that adding or reordering cells changes nothing else. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The seed of one run of one cell: it depends on nothing else, so results do not depend on the worker split. */
export function runSeed(globalSeed: number, cellKey: string, run: number): number {
  return mix32(mix32(globalSeed ^ hashString(cellKey)) ^ mix32(run + 0x6a09e667));
}

/** xoshiro128** (Blackman and Vigna), 32-bit output; the state in an Int32Array, which V8 keeps unboxed. */
export class Rng {
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) this.s[i] = x = mix32(x);
    if (!(this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!)) this.s[3] = 1; // never all zero
  }

  /** A uniform 32-bit integer. */
  u32(): number {
    const s = this.s;
    const a = s[0]!;
    const b = s[1]!;
    const b5 = Math.imul(b, 5);
    const r = Math.imul((b5 << 7) | (b5 >>> 25), 9);
    const c = s[2]! ^ a;
    const d = s[3]! ^ b;
    s[0] = a ^ d;
    s[1] = b ^ c;
    s[2] = c ^ (b << 9);
    s[3] = (d << 11) | (d >>> 21);
    return r >>> 0;
  }

  /** A uniform number in [0, 1) on a grid of 2^-32. */
  uniform(): number {
    return this.u32() * 2.3283064365386963e-10;
  }
}

/**
 * Poisson(mean) by inversion of its CDF, tabulated up to far in the tail (mean + 20·√mean + 30, beyond which the
 * mass is below 1e-40) and searched from a guide table: one uniform and one or two comparisons per draw.
 */
export class PoissonTable {
  private readonly cdf: Float64Array;
  private readonly guide: Int32Array;
  private readonly size: number;

  constructor(readonly mean: number) {
    if (!(mean >= 0) || mean > 500) throw new Error(`Poisson mean out of range: ${mean}`);
    const top = Math.ceil(mean + 20 * Math.sqrt(mean) + 30);
    const cdf = new Float64Array(top + 1);
    let p = Math.exp(-mean);
    let sum = 0;
    for (let k = 0; k <= top; k++) {
      sum += p;
      cdf[k] = sum;
      p *= mean / (k + 1);
    }
    cdf[top] = 1; // the mass beyond is below double precision
    this.cdf = cdf;
    this.size = Math.max(8, Math.min(top + 1, 256));
    this.guide = new Int32Array(this.size);
    let k = 0;
    for (let i = 0; i < this.size; i++) {
      while (cdf[k]! <= i / this.size) k++;
      this.guide[i] = k;
    }
  }

  /** The draw for a uniform u in [0, 1). */
  sample(u: number): number {
    let k = this.guide[(u * this.size) | 0]!;
    while (this.cdf[k]! <= u) k++;
    return k;
  }
}

/** P(Z > x) for a standard normal Z, to about 1e-14 relative (Hart 1968, as given by West 2005). */
export function normalUpper(x: number): number {
  const z = Math.abs(x);
  let tail: number;
  if (z > 37) tail = 0;
  else {
    const e = Math.exp((-z * z) / 2);
    if (z < 7.07106781186547) {
      let n = 3.52624965998911e-2 * z + 0.700383064443688;
      n = n * z + 6.37396220353165;
      n = n * z + 33.912866078383;
      n = n * z + 112.079291497871;
      n = n * z + 221.213596169931;
      n = n * z + 220.206867912376;
      let d = 8.83883476483184e-2 * z + 1.75566716318264;
      d = d * z + 16.064177579207;
      d = d * z + 86.7807322029461;
      d = d * z + 296.564248779674;
      d = d * z + 637.333633378831;
      d = d * z + 793.826512519948;
      d = d * z + 440.413735824752;
      tail = (e * n) / d;
    } else {
      let d = z + 0.65;
      d = z + 4 / d;
      d = z + 3 / d;
      d = z + 2 / d;
      d = z + 1 / d;
      tail = e / d / 2.506628274631;
    }
  }
  return x > 0 ? tail : 1 - tail;
}

/** The standard normal's 99th percentile. */
export const Z99 = 2.3263478740408408;
