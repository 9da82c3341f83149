// The action's entry point. The runner's cancellation signals are caught first, before any module of the action
// loads (a signal in those first moments would otherwise kill the process), and turned into a cancellation of
// run(), which puts traffic back before the runner's SIGKILL.

import { cancellation } from './cancellation.ts';

const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // The first signal cancels; the runner's SIGTERM 7.5 s after its SIGINT changes nothing (the deadline
    // already allows for the SIGKILL that follows).
    if (!controller.signal.aborted) controller.abort(cancellation(sig));
  });
}

/**
 * KNATIVE_CANARY_NOW (an ISO time) starts the action's clock there, for tests of scheduled rollouts that span
 * hours; it is never set on a real runner.
 */
function clock(): (() => number) | undefined {
  const at = process.env.KNATIVE_CANARY_NOW;
  if (!at) return undefined;
  const start = Date.parse(at);
  if (Number.isNaN(start)) throw new Error(`KNATIVE_CANARY_NOW "${at}" is not an ISO time`);
  const began = Date.now();
  return () => start + (Date.now() - began);
}

const { run } = await import('./main.ts');
await run({ signal: controller.signal, now: clock() });
