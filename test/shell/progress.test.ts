// A long wait says what it sees every few seconds (src/shell/progress.ts).

import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { Service } from '../../src/knative/types.ts';
import { describeConditions, waitProgress } from '../../src/shell/progress.ts';

let lines: string[];
beforeEach(() => {
  vi.useFakeTimers();
  lines = [];
  // @actions/core's info() writes the line and a newline to stdout.
  vi.spyOn(process.stdout, 'write').mockImplementation((l) => {
    lines.push(String(l).replace(/\n$/, ''));
    return true;
  });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const svc = (conditions: object[]): Service =>
  ({ metadata: { name: 'hello' }, spec: { template: {} }, status: { conditions } }) as unknown as Service;

it('says nothing in the first seconds, then every 10 s how long it waited and what the Service said last', () => {
  let t = 0;
  const p = waitProgress('hello-v2 to be Ready and served', () => t);
  p.seen(svc([]));
  t = 9_000;
  vi.advanceTimersByTime(9_000);
  expect(lines).toEqual([]);
  p.seen(
    svc([
      {
        type: 'ConfigurationsReady',
        status: 'Unknown',
        reason: 'RevisionMissing',
        message: 'Configuration "hello" is waiting for a Revision to become ready.',
      },
    ]),
  );
  t = 10_000;
  vi.advanceTimersByTime(1_000);
  expect(lines).toEqual([
    '… 10s waiting for hello-v2 to be Ready and served: ConfigurationsReady Unknown (RevisionMissing: ' +
      'Configuration "hello" is waiting for a Revision to become ready.); RoutesReady not reported yet',
  ]);
  p.stop();
  vi.advanceTimersByTime(60_000);
  expect(lines).toHaveLength(1);
});

it('describes conditions without a reason by their status alone', () => {
  expect(
    describeConditions(
      svc([
        { type: 'ConfigurationsReady', status: 'True' },
        { type: 'RoutesReady', status: 'False', reason: 'RevisionNameTaken' },
      ]),
    ),
  ).toBe('ConfigurationsReady True; RoutesReady False (RevisionNameTaken)');
});
