// What a long wait for the cluster sees, said every few seconds, so that a wait is never silent for minutes.

import * as core from '@actions/core';
import { formatDuration } from '../duration.ts';
import { condition, type Service } from '../knative/types.ts';

/** The Service's conditions that say why a candidate is not served yet. */
export function describeConditions(svc: Service): string {
  return ['ConfigurationsReady', 'RoutesReady']
    .map((type) => {
      const c = condition(svc, type);
      if (!c) return `${type} not reported yet`;
      const why = c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : '';
      return `${type} ${c.status}${why}`;
    })
    .join('; ');
}

/**
 * Every `everyMs` (real time) of a wait, one line: how long it has waited, and what the Service said last. `seen`
 * takes each version the wait is shown; `stop` ends it.
 */
export function waitProgress(
  what: string,
  now: () => number,
  everyMs = 10_000,
): { seen(svc: Service): void; stop(): void } {
  const began = now();
  let last = 'nothing read yet';
  const timer = setInterval(() => {
    core.info(`… ${formatDuration(now() - began)} waiting for ${what}: ${last}`);
  }, everyMs);
  timer.unref();
  return {
    seen: (svc) => {
      last = describeConditions(svc);
    },
    stop: () => clearInterval(timer),
  };
}
