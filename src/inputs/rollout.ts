// The rollout section of the inputs: the steps, the interval each step holds, the timeout of each wait.

import type { GetInput, Inputs } from './types.ts';
import type { Step } from '../rollout/state.ts';
import { InputError } from '../errors.ts';
import { parseDurationInput } from './values.ts';

/** `10,50,100`, `25:10m, 50, 100` (a step may carry its own dwell); 100 is appended when missing. */
export function parseSteps(value: string, intervalMs: number): Step[] {
  const text = value === '' ? '10,50,100' : value;
  const parts = text
    .split(/[,\s]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new InputError('steps', 'expected a list of percents like 10,50,100');
  const steps: Step[] = [];
  for (const part of parts) {
    const m = /^(\d+)%?(?::(.+))?$/.exec(part);
    if (!m) {
      throw new InputError(
        'steps',
        `"${part}" is not a step: expected a percent (1-100), optionally with a dwell as 25:10m`,
      );
    }
    const percent = Number(m[1]);
    if (percent < 1 || percent > 100) {
      throw new InputError('steps', `${percent} is out of range: each step must be a percent from 1 to 100`);
    }
    const prev = steps.at(-1);
    if (prev && percent <= prev.percent) {
      throw new InputError(
        'steps',
        `steps must increase: ${percent} comes after ${prev.percent} in "${text}"`,
      );
    }
    // A dwell on the 100% step is an explicit bake time before promotion; without one 100 promotes at once.
    const dwellMs =
      m[2] !== undefined ? parseDurationInput('steps', m[2], '') : percent === 100 ? 0 : intervalMs;
    steps.push({ percent, dwellMs });
  }
  if (steps.at(-1)!.percent !== 100) steps.push({ percent: 100, dwellMs: 0 });
  return steps;
}

export function parseRollout(get: GetInput): Pick<Inputs, 'intervalMs' | 'steps' | 'timeoutMs'> {
  const intervalMs = parseDurationInput('interval', get('interval'), '1m');
  const steps = parseSteps(get('steps'), intervalMs);
  const timeoutMs = parseDurationInput('timeout', get('timeout'), '5m');
  return { intervalMs, steps, timeoutMs };
}
