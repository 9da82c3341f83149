// The soak's API faults: the rules of each rollout, for the user of each of its runs (every run has a user of its
// own, and so has the watcher, left alone), added and removed as runs come and go, with a count of what fired.

import type { ApiFaultRule, Faults } from '../emulator/faults.ts';
import type { FaultProfile } from './plan.ts';
import { int, type Rng } from './random.ts';

/** The rules of a fault profile, for the requests of a run (all of them: reads, writes, watches). */
export function profileRules(profile: FaultProfile, r: Rng): ApiFaultRule[] {
  const rules: ApiFaultRule[] = [];
  const scale = profile === 'mixed' ? 0.5 : 1;
  if (profile === 'delays' || profile === 'mixed')
    rules.push({ action: 'delay', delayMs: int(r, 100, 600), probability: 0.3 * scale });
  if (profile === 'errors' || profile === 'mixed') {
    rules.push({ action: 'status', status: 500, probability: 0.08 * scale });
    rules.push({ action: 'status', status: 429, probability: 0.04 * scale });
    rules.push({ action: 'status', status: 503, probability: 0.03 * scale });
  }
  if (profile === 'cuts' || profile === 'mixed') rules.push({ action: 'cut', probability: 0.06 * scale });
  if (profile === 'conflicts' || profile === 'mixed')
    rules.push({ method: 'PATCH', action: 'status', status: 409, probability: 0.3 * scale });
  return rules;
}

/** From a cancel on: reads (and watches) failing with 500s and cut connections, or every call slow. */
export function degradedRules(kind: 'reads-fail' | 'slow-api', r: Rng): ApiFaultRule[] {
  return kind === 'reads-fail'
    ? [
        { method: 'GET', action: 'status', status: 500, probability: 0.6 },
        { method: 'GET', action: 'cut', probability: 0.5 },
      ]
    : [{ action: 'delay', delayMs: int(r, 700, 2500) }];
}

const label = (rule: ApiFaultRule): string =>
  rule.action === 'status' ? `${rule.status}` : rule.action === 'cut' ? 'cut' : 'delay';

interface Owned {
  owner: string;
  rule: ApiFaultRule;
}

/** The user a run's kubeconfig authenticates as. */
export const runUser = (id: number): string => `action-${id}`;
export const isRunUser = (user: string | undefined): boolean => user?.startsWith('action-') ?? false;

export class FaultPlan {
  private rules: Owned[] = [];
  private readonly stuck = new Set<string>();
  /** Faults that fired, by kind (500, 429, 409, cut, delay). */
  readonly injected = new Map<string, number>();

  constructor(private readonly faults: Faults) {}

  /** Rules for the requests of one user (a run's). */
  add(owner: string, user: string, rules: ApiFaultRule[]): void {
    this.collect();
    this.rules.push(...rules.map((rule) => ({ owner, rule: { ...rule, user } })));
    this.apply();
  }

  clear(owner: string): void {
    this.collect();
    this.rules = this.rules.filter((r) => r.owner !== owner);
    this.apply();
  }

  /** Holds a revision (`namespace/name`) not ready, or lets it go. */
  setStuck(key: string, stuck: boolean): void {
    this.collect();
    if (stuck) this.stuck.add(key);
    else this.stuck.delete(key);
    this.apply();
  }

  total(): number {
    this.collect();
    this.apply();
    return [...this.injected.values()].reduce((a, b) => a + b, 0);
  }

  /** Counts the hits since the rules were last set (setting them starts the counts afresh). */
  private collect(): void {
    this.rules.forEach((r, i) => {
      const hits = this.faults.hits[i] ?? 0;
      if (hits) this.injected.set(label(r.rule), (this.injected.get(label(r.rule)) ?? 0) + hits);
    });
  }

  private apply(): void {
    this.faults.set({
      api: this.rules.map((r) => r.rule),
      stuckRevisions: [...this.stuck],
    });
  }
}
