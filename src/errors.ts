// The action's errors, in one place. This file imports nothing, not even types, so that any module may import it
// without making an import cycle; where an error carries an object, its shape is a type parameter.
// (The shell's RolloutFailed, ConcurrentChange and TrafficRefused are in src/shell/errors.ts, to join: issue 12.)

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

/**
 * Whether `e` is one of the action's own expected failures (bad input, a plan refused, the cluster's refusal),
 * reported by its message alone; any other error may be a bug, and its stack is worth logging.
 * RolloutFailed (and ConcurrentChange, a RolloutFailed) will join once they move here from src/shell/errors.ts
 * (issue 12); until then src/main.ts checks RolloutFailed itself.
 */
export function isExpected(e: unknown): boolean {
  return e instanceof InputError || e instanceof PlanError || e instanceof KubeError;
}
