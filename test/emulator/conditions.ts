// Knative's condition sets, as knative/pkg apis/condition_set.go has them: a happy condition (Ready) that follows
// its dependents. MarkFalse on a dependent copies its reason onto Ready at once; MarkUnknown does unless another
// dependent is False (then Ready goes False with the Unknown one's reason, as the source does); MarkTrue recomputes
// Ready from the most recently changed unhappy condition of severity Error, False before Unknown.

export type Status = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: Status;
  reason?: string;
  message?: string;
  severity?: string;
  lastTransitionTime?: string;
}

const timestamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class ConditionSet {
  constructor(
    readonly happy: string,
    readonly dependents: readonly string[],
  ) {}

  /** A manager over a copy of `conds`; read the result from `.conditions`. */
  manage(conds: Condition[] | undefined, now: Date): ConditionManager {
    return new ConditionManager(
      this,
      (conds ?? []).map((c) => ({ ...c })),
      now,
    );
  }
}

export class ConditionManager {
  /** Order in which conditions were set by this manager: the newer, the later (ties of lastTransitionTime). */
  private readonly order = new Map<string, number>();
  private seq = 0;

  constructor(
    private readonly set_: ConditionSet,
    public conditions: Condition[],
    private readonly now: Date,
  ) {}

  get(type: string): Condition | undefined {
    return this.conditions.find((c) => c.type === type);
  }

  private terminal(type: string): boolean {
    return type === this.set_.happy || this.set_.dependents.includes(type);
  }

  /** SetCondition: a change of anything but the time stamps it anew; the list stays sorted by type. */
  set(c: Omit<Condition, 'lastTransitionTime' | 'severity'>): void {
    const next: Condition = { type: c.type, status: c.status };
    if (c.reason) next.reason = c.reason;
    if (c.message) next.message = c.message;
    if (!this.terminal(c.type)) next.severity = 'Info';
    const prev = this.get(c.type);
    if (
      prev &&
      prev.status === next.status &&
      (prev.reason ?? '') === (next.reason ?? '') &&
      (prev.message ?? '') === (next.message ?? '') &&
      (prev.severity ?? '') === (next.severity ?? '')
    )
      return;
    next.lastTransitionTime = timestamp(this.now);
    this.order.set(c.type, ++this.seq);
    this.conditions = [...this.conditions.filter((x) => x.type !== c.type), next].sort((a, b) =>
      a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
    );
  }

  /** InitializeConditions: Ready Unknown when unset; unset dependents Unknown (True when Ready is True). */
  initialize(): void {
    let happy = this.get(this.set_.happy);
    if (!happy) {
      this.set({ type: this.set_.happy, status: 'Unknown' });
      happy = this.get(this.set_.happy)!;
    }
    const status: Status = happy.status === 'True' ? 'True' : 'Unknown';
    for (const d of this.set_.dependents) if (!this.get(d)) this.set({ type: d, status });
  }

  markTrue(type: string, reason?: string, message?: string): void {
    this.set({ type, status: 'True', reason, message });
    this.recomputeHappiness(type);
  }

  markFalse(type: string, reason: string, message = ''): void {
    this.set({ type, status: 'False', reason, message });
    if (this.set_.dependents.includes(type))
      this.set({ type: this.set_.happy, status: 'False', reason, message });
  }

  markUnknown(type: string, reason: string, message = ''): void {
    this.set({ type, status: 'Unknown', reason, message });
    let dependent = false;
    for (const d of this.set_.dependents) {
      if (this.get(d)?.status === 'False') {
        // Failed conditions trump Unknown ones: Ready is (made) False, with this call's reason.
        if (this.get(this.set_.happy)?.status !== 'False') this.markFalse(this.set_.happy, reason, message);
        return;
      }
      if (d === type) dependent = true;
    }
    if (dependent) this.set({ type: this.set_.happy, status: 'Unknown', reason, message });
  }

  private recomputeHappiness(type: string): void {
    const unhappy = this.unhappyDependent();
    if (unhappy) {
      this.set({
        type: this.set_.happy,
        status: unhappy.status,
        reason: unhappy.reason,
        message: unhappy.message,
      });
    } else if (type !== this.set_.happy) {
      this.set({ type: this.set_.happy, status: 'True' });
    }
  }

  /** findUnhappyDependent: the newest False condition of severity Error, else the newest Unknown one. */
  private unhappyDependent(): Condition | undefined {
    if (this.set_.dependents.length === 0) return undefined;
    const errors = this.conditions
      .filter((c) => !c.severity && c.type !== this.set_.happy)
      .sort(
        (a, b) =>
          (b.lastTransitionTime ?? '').localeCompare(a.lastTransitionTime ?? '') ||
          (this.order.get(b.type) ?? 0) - (this.order.get(a.type) ?? 0),
      );
    const found = errors.find((c) => c.status === 'False') ?? errors.find((c) => c.status === 'Unknown');
    if (found) return found;
    if (this.set_.dependents.length > errors.length) return { type: '', status: 'Unknown' };
    return undefined;
  }
}

// The condition sets of knative/serving pkg/apis/serving/v1: *_lifecycle.go.
export const serviceConditions = new ConditionSet('Ready', ['ConfigurationsReady', 'RoutesReady']);
export const configurationConditions = new ConditionSet('Ready', []);
export const routeConditions = new ConditionSet('Ready', [
  'AllTrafficAssigned',
  'IngressReady',
  'CertificateProvisioned',
]);
export const revisionConditions = new ConditionSet('Ready', ['ResourcesAvailable', 'ContainerHealthy']);
