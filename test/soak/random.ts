// The soak's randomness: one seeded generator per thing planned (a Service, a rollout), so a rollout's plan
// depends on the seed and its index only, never on timing or on how many other rollouts ran.

import { seededRandom } from '../emulator/util.ts';

export type Rng = () => number;

/** A generator for one thing planned: FNV-1a over the text of `seed` and the labels. */
export function rngFor(seed: number, ...labels: (string | number)[]): Rng {
  let h = 0x811c9dc5;
  for (const c of `${seed}/${labels.join('/')}`) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return seededRandom(h);
}

/** An integer in [lo, hi]. */
export const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

export const chance = (r: Rng, p: number): boolean => r() < p;

export function pick<T>(r: Rng, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

/** One of the items, each as likely as its weight. */
export function weighted<T>(r: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items.at(-1)![0];
}
