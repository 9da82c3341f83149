// The shell's errors (to join src/errors.ts). They import nothing: the state another run left is described by
// the few fields that are read of it.

export class RolloutFailed extends Error {
  override name = 'RolloutFailed';
}

/** What is read of a rollout state that another run left (a RolloutState fits it). */
export interface FoundRollout {
  candidate: string;
  startedAt: string;
  phase: string;
  percent: number;
  paused?: { by: string };
}

/**
 * Another run (a comment command, a scheduled run, a newer deploy) changed this rollout while this one worked on
 * it: this run stops without writing, and without rolling back what the other run decided.
 */
export class ConcurrentChange<S extends FoundRollout = FoundRollout> extends RolloutFailed {
  override name = 'ConcurrentChange';
  constructor(
    message: string,
    readonly found?: S,
    /** The same rollout goes on (paused, stepped or promoted by the other run): not a failure of this run. */
    readonly benign = false,
  ) {
    super(message);
  }
}

/** Knative refused a traffic block whole (RoutesReady False): the split before it stays in force. */
export class TrafficRefused extends RolloutFailed {
  override name = 'TrafficRefused';
  constructor(
    readonly reason: string,
    readonly detail: string,
    /** Where traffic is, from status.traffic: the split before the refused block. */
    readonly traffic: string,
  ) {
    super(`Knative refused the traffic block (${reason}: ${detail}); traffic stays on ${traffic}`);
  }
}
