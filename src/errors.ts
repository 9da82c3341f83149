// The action's errors, in one place. This file imports nothing, not even types, so that any module may import it
// without making an import cycle; where an error carries an object, its shape is a type parameter.

/** An input the action cannot use: the message names the input and says what was expected. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`Input '${input}': ${message}`);
    this.name = 'InputError';
  }
}

/** A decision the action cannot take: the message says what is there and how to proceed. */
export class PlanError extends Error {
  override name = 'PlanError';
}

/** A Kubernetes API call failed: `code` is the HTTP status (0: no answer), `reason` the Status object's reason. */
export class KubeError extends Error {
  override name = 'KubeError';
  constructor(
    readonly code: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * A watch did not see the state it waited for in time. `last` is the object as last seen, if any (the knative
 * client's watches give the Service: `TimeoutError<Service>`).
 */
export class TimeoutError<Last = unknown> extends Error {
  override name = 'TimeoutError';
  constructor(
    message: string,
    readonly last?: Last,
  ) {
    super(message);
  }
}

/** The run was cancelled (the runner's SIGINT/SIGTERM) while waiting. */
export class AbortedError extends Error {
  override name = 'AbortedError';
  constructor() {
    super('cancelled');
  }
}

/** A GitHub REST call failed: `status` is the HTTP status, when GitHub answered. */
export class GitHubError extends Error {
  override name = 'GitHubError';
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A failure to talk to Prometheus at all (connection refused, reset, timed out, a proxy's 502): retried. */
export class TransportError extends Error {}

/** A rollout could not go on: the message says why and where traffic is. */
export class RolloutFailed extends Error {
  override name = 'RolloutFailed';
}

/** Knative would not create the candidate: its revision name is another revision's (RevisionNameTaken). */
export class NameTaken extends RolloutFailed {
  override name = 'NameTaken';
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
export class ConcurrentChange extends RolloutFailed {
  override name = 'ConcurrentChange';
  constructor(
    message: string,
    readonly found?: FoundRollout,
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

/**
 * Whether `e` is one of the action's own expected failures (bad input, a plan refused, the cluster's refusal, a
 * rollout that could not go on), reported by its message alone; any other error may be a bug, and its stack is
 * worth logging.
 */
export function isExpected(e: unknown): boolean {
  return (
    e instanceof InputError || e instanceof PlanError || e instanceof KubeError || e instanceof RolloutFailed
  );
}
