// The exact increase of counters between reads: resets, new and vanished series.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Increases, seriesKey, type Sample } from '../../src/health/increase.ts';

const s = (pod: string, value: number, code = '200'): Sample => ({ labels: { pod, code }, value });
const total = (xs: Sample[]) => xs.reduce((a, x) => a + x.value, 0);

describe('Increases', () => {
  it('counts from the first read on: the first read sets the start, each later one the increase', () => {
    const inc = new Increases();
    expect(inc.next([s('a', 10)])).toEqual([]);
    expect(inc.next([s('a', 13)])).toEqual([s('a', 3)]);
    expect(inc.next([s('a', 13)])).toEqual([]);
  });

  it('takes a value below the last as a reset: all of it is new', () => {
    const inc = new Increases();
    inc.next([s('a', 50)]);
    expect(inc.next([s('a', 4)])).toEqual([s('a', 4)]);
    expect(inc.next([s('a', 9)])).toEqual([s('a', 5)]);
  });

  it('counts a series that appears whole, and forgets one that vanishes', () => {
    const inc = new Increases();
    inc.next([s('a', 5)]);
    expect(inc.next([s('a', 7), s('b', 3), s('a', 1, '500')])).toEqual([
      s('a', 2),
      s('b', 3),
      s('a', 1, '500'),
    ]);
    expect(inc.next([s('b', 4)])).toEqual([s('b', 1)]);
    // a comes back later: a new pod would be a new series; the same labels count from 0 again.
    expect(inc.next([s('b', 4), s('a', 2)])).toEqual([s('a', 2)]);
  });

  it('ignores samples that are no counts (NaN, negative) and keys series by their labels in any order', () => {
    const inc = new Increases();
    inc.next([{ labels: { b: '1', a: '2' }, value: 1 }]);
    expect(
      inc.next([
        { labels: { a: '2', b: '1' }, value: 3 },
        { labels: { a: 'x' }, value: NaN },
      ]),
    ).toEqual([{ labels: { a: '2', b: '1' }, value: 2 }]);
    expect(seriesKey({ b: '1', a: '2' })).toBe(seriesKey({ a: '2', b: '1' }));
  });

  // A run of reads over pods that serve requests, restart (a reset) and come and go. A reset is seen when the
  // counter is below its last read, as for Prometheus's own increase(): the model restarts a counter only when
  // it has served more than it will serve again before the next read.
  it('neither invents nor loses a request over any run of resets, new and vanished series', () => {
    const step = fc.record({
      served: fc.array(fc.nat({ max: 20 }), { minLength: 4, maxLength: 4 }),
      restart: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      present: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        const inc = new Increases();
        const value = [0, 0, 0, 0];
        const alive = [true, true, false, false];
        inc.next(alive.flatMap((a, i) => (a ? [s(`p${i}`, value[i]!)] : [])));
        let truth = 0;
        let counted = 0;
        for (const st of steps) {
          for (let i = 0; i < 4; i++) {
            if (!alive[i]) {
              // A pod that appears starts from 0 and serves before its first read.
              if (!st.present[i]) continue;
              alive[i] = true;
              value[i] = 0;
            } else if (!st.present[i] && st.served[i] === 0) {
              // Vanishes after everything it served was read.
              alive[i] = false;
              continue;
            }
            const n = st.served[i]!;
            if (st.restart[i] && value[i]! > n) value[i] = n;
            else value[i]! += n;
            truth += n;
          }
          counted += total(inc.next(alive.flatMap((a, i) => (a ? [s(`p${i}`, value[i]!)] : []))));
        }
        expect(counted).toBe(truth);
      }),
      { numRuns: 300 },
    );
  });
});
