// The action's entry point: runs the rollout, and turns the runner's cancellation signals into a rollback.

import { run } from './main.ts';

const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // The runner waits 7.5 s after SIGINT before SIGTERM: abort, let run() put traffic back, then exit.
    controller.abort();
  });
}

await run({ signal: controller.signal });
