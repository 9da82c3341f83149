// One run of the built action, interrupted as planned: the runner's cancellation (SIGINT, then SIGTERM 7.5 s later,
// then SIGKILL 2.5 s after that, each only if the process is still running) or a lost machine (SIGKILL), at a
// time or when the run starts its promotion.

import { startAction, type ActionResult, type StartActionOptions } from '../support/action-process.ts';
import type { SentSignal } from './outcome.ts';
import type { Interrupt } from './plan.ts';

/** What the GitHub runner waits after SIGINT before SIGTERM, and after SIGTERM before SIGKILL. */
export const SIGTERM_AFTER_MS = 7500;
export const SIGKILL_AFTER_MS = 2500;

/** The log line a run writes as it starts its promotion write. */
export const PROMOTION_LOG = '::group::Promote ';

export interface InterruptedRun {
  result: ActionResult;
  sent: SentSignal[];
}

export interface RunOptions extends Omit<StartActionOptions, 'onStdout'> {
  interrupt?: Interrupt;
  /** Resolves when the run's promotion write has landed (seen by the watcher), for `via: 'write'`. */
  promotionWritten?: Promise<void>;
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
  const strike = () => (i?.kind.startsWith('kill') ? send('SIGKILL', true) : cancel());
  let promotionSeen = false;
  const p = startAction({
    ...opts,
    onStdout: (_chunk, all) => {
      if (promotionSeen || !i || !('via' in i) || i.via !== 'log') return;
      if (all.includes(PROMOTION_LOG)) {
        promotionSeen = true;
        later(i.delayMs, strike);
      }
    },
  });
  if (i && 'atMs' in i) later(i.atMs, strike);
  if (i && 'via' in i && i.via === 'write') void opts.promotionWritten?.then(() => later(i.delayMs, strike));
  later(opts.timeoutMs, () => send('SIGKILL', false));
  return p.result.then((result) => {
    exited = true;
    for (const t of timers) clearTimeout(t);
    return { result, sent };
  });
}
