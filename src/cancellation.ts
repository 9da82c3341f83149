// The runner's cancellation, as the action sees it: which signal came when, and until when the run may still
// put traffic back. Imports nothing, so that the entry point can install its handlers before anything else loads.

/**
 * What the GitHub runner does on cancel (actions/runner ProcessInvoker): SIGINT, then SIGTERM 7.5 s later, then
 * SIGKILL 2.5 s after that. A first SIGTERM (a runner shutting down) leaves the 2.5 s alone.
 */
export const RUNNER_KILLS_AFTER_MS = { SIGINT: 10_000, SIGTERM: 2_500 } as const;

/** Kept back from the kill for the log's last lines, the outputs and the job summary. */
export const FINISH_MARGIN_MS = { SIGINT: 1_500, SIGTERM: 500 } as const;

export interface Cancellation {
  /** The signal that cancelled the run, or `abort` when it was cancelled in-process. */
  signal: 'SIGINT' | 'SIGTERM' | 'abort';
  /** When it arrived (epoch ms, real time). */
  at: number;
  /** Until when the run may still write and wait (epoch ms, real time): the kill, less the margin. */
  deadline: number;
}

export function cancellation(signal: 'SIGINT' | 'SIGTERM', at = Date.now()): Cancellation {
  return { signal, at, deadline: at + RUNNER_KILLS_AFTER_MS[signal] - FINISH_MARGIN_MS[signal] };
}

function isCancellation(x: unknown): x is Cancellation {
  return typeof x === 'object' && x !== null && 'deadline' in x && typeof x.deadline === 'number';
}

/**
 * The cancellation an aborted signal carries (the entry point aborts with one); an abort without one (a test,
 * a library) is taken as a SIGINT that came when it is first asked about.
 */
export function cancellationOf(signal: AbortSignal | undefined): Cancellation | undefined {
  if (!signal?.aborted) return undefined;
  if (isCancellation(signal.reason)) return signal.reason;
  const c: Cancellation = { ...cancellation('SIGINT'), signal: 'abort' };
  Object.defineProperty(signal, 'reason', { value: c });
  return c;
}

/**
 * A signal that aborts at the cancellation's deadline: every request still in flight then is abandoned, so the
 * run can say what it did before the runner's SIGKILL.
 */
export function hardStopOf(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!signal) return undefined;
  const stop = new AbortController();
  const arm = () => {
    const left = cancellationOf(signal)!.deadline - Date.now();
    setTimeout(() => stop.abort(), Math.max(0, left)).unref();
  };
  if (signal.aborted) arm();
  else signal.addEventListener('abort', arm, { once: true });
  return stop.signal;
}
