// The action's entry point: runs the rollout, and turns the runner's cancellation signals into a rollback.

import { run } from './main.ts';

const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // The runner waits 7.5 s after SIGINT before SIGTERM: abort, let run() put traffic back, then exit.
    controller.abort();
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

await run({ signal: controller.signal, now: clock() });
