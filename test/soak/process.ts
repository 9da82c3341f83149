// One run of the built action, interrupted as planned: the runner's cancellation (SIGINT, then SIGTERM 7.5 s later,
// then SIGKILL 2.5 s after that, each only if the process is still running) or a lost machine (SIGKILL), at a
// time or when the run starts its promotion.

import { startAction, type ActionResult, type StartActionOptions } from '../support/action-process.ts';
import type { SentSignal } from './outcome.ts';
import type { Interrupt, Moment } from './plan.ts';

/** What the GitHub runner waits after SIGINT before SIGTERM, and after SIGTERM before SIGKILL. */
export const SIGTERM_AFTER_MS = 7500;
export const SIGKILL_AFTER_MS = 2500;

/** The log lines that start the phases of a run an interrupt can strike at. */
export const MARKERS: Partial<Record<Moment, string>> = {
  deploy: '::group::Deploy ',
  'ready-wait': '::group::Wait for ',
  smoke: '::group::Smoke test ',
  dwell: 'Holding ',
  check: '::group::Check ',
  step: '::group::Step ',
  promote: '::group::Promote ',
  rollback: '::group::Roll back ',
};

export interface InterruptedRun {
  result: ActionResult;
  sent: SentSignal[];
}

export interface RunOptions extends Omit<StartActionOptions, 'onStdout'> {
  interrupt?: Interrupt;
  /** Resolves when the watcher sees the run's step or promotion write land, for those moments. */
  written?: Promise<void>;
  /** Called as the SIGINT of a cancel is sent. */
  onCancel?: () => void;
  /** A run still going after this long is killed (and that is a finding of its own). */
  timeoutMs: number;
}

export function runInterrupted(opts: RunOptions): Promise<InterruptedRun> {
  const started = performance.now();
  const sent: SentSignal[] = [];
  const timers: NodeJS.Timeout[] = [];
  let exited = false;
  const send = (signal: SentSignal['signal'], planned: boolean) => {
    if (exited || p.child.exitCode !== null || p.child.signalCode !== null) return;
    sent.push({ signal, atMs: Math.round(performance.now() - started), planned });
    p.child.kill(signal);
  };
  const later = (ms: number, f: () => void) => timers.push(setTimeout(f, ms));
  const cancel = () => {
    if (exited || sent.some((s) => s.signal === 'SIGINT')) return;
    opts.onCancel?.();
    send('SIGINT', true);
    later(SIGTERM_AFTER_MS, () => send('SIGTERM', false));
    later(SIGTERM_AFTER_MS + SIGKILL_AFTER_MS, () => send('SIGKILL', false));
  };
  const i = opts.interrupt;
  let struck = false;
  const strike = () => {
    if (struck || !i) return;
    struck = true;
    later(i.delayMs, () => (i.kind === 'kill' ? send('SIGKILL', true) : cancel()));
  };
  const marker = i && MARKERS[i.on];
  const p = startAction({
    ...opts,
    onStdout: (_chunk, all) => {
      if (marker && !struck && all.includes(marker)) strike();
    },
  });
  if (i?.on === 'time') strike();
  void opts.written?.then(strike);
  later(opts.timeoutMs, () => send('SIGKILL', false));
  return p.result.then((result) => {
    exited = true;
    for (const t of timers) clearTimeout(t);
    return { result, sent };
  });
}
