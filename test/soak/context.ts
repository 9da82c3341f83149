// The soak's shared state: the emulator, the watcher's view of every Service (a timeline of its versions, each
// checked as it arrives), the runs so far and their findings, and the violations with what is needed to read them.

import type { ApiFaultRule } from '../emulator/faults.ts';
import type { Harness } from '../emulator/helpers.ts';
import type { FakeGitHub } from '../support/github.ts';
import type { KObject } from '../emulator/util.ts';
import { FaultPlan } from './faults.ts';
import { checkVersion, summarize, type Expectations, type Finding } from './invariants.ts';
import type { RunFacts } from './outcome.ts';
import type { Interrupt, SoakPlan } from './plan.ts';
import { ServiceWatcher } from './watcher.ts';

/**
 * Findings reported as notes, not violations (they do not fail the soak): outputs missing beside a status the cluster
 * agrees with, and a cancel that outlasts the runner's 10 s while every API call is made slow.
 */
export const NOTE_KINDS = new Set(['outputs-incomplete', 'cancel-overran-slow-api']);

/** The user the watcher reads as: fault rules are limited to the action's user, so the watcher sees everything. */
export const WATCHER_USER = 'soak-watcher';
/** Versions kept per Service, for the timelines of violations and the versions a racing run may have reported. */
const TIMELINE = 120;

export interface RunRecord {
  id: number;
  rollout: number;
  service: string;
  /** What the run was in the rollout: `deploy`, `advance 2.1` (group 2, racer 1), `rollback after kill`, ... */
  label: string;
  /** The user its kubeconfig authenticates as: its API requests are told apart by it. */
  user: string;
  facts: RunFacts;
  /** The interrupt planned for the run, if any (it strikes only if the run gets to its moment). */
  interrupt?: Interrupt;
  startedAt: number;
  endedAt?: number;
  findings: Finding[];
}

export interface Violation {
  seed: number;
  rollout: number;
  service: string;
  kind: string;
  message: string;
  /** When it was seen, ms after the soak began. */
  atMs: number;
  /** The version that broke an invariant of every version, one line. */
  version?: string;
  /** The Service's versions up to then, one line each. */
  timeline: string[];
  /** The runs it concerns (in flight on the Service, or the run checked). */
  runs: number[];
}

interface Seen {
  at: number;
  svc: KObject;
  line: string;
}

export class SoakContext {
  readonly faults: FaultPlan;
  readonly watcher: ServiceWatcher;
  readonly began = Date.now();
  readonly runs: RunRecord[] = [];
  readonly violations: Violation[] = [];
  /** Findings of NOTE_KINDS, kept as violations are. */
  readonly notes: Violation[] = [];
  /** The rollout each Service is in now. */
  readonly current = new Map<string, number>();
  /** Runs in flight per Service. */
  readonly active = new Map<string, Set<number>>();
  /** When each Service's spec last changed (a new generation seen), ms since the epoch. */
  readonly lastSpecChange = new Map<string, number>();
  /** The clock skew of each Service's runs (KNATIVE_CANARY_NOW), ms: scheduled runs move it on. */
  readonly skew = new Map<string, number>();
  /** The fake GitHub that comment commands (previews) talk to. */
  github?: FakeGitHub;
  /** The API faults of the rollout under way on each Service, for each of its runs. */
  readonly rolloutFaults = new Map<string, ApiFaultRule[]>();
  /** The resourceVersion each revision was created at, from the emulator's store. */
  readonly revisionCreated = new Map<string, number>();
  private readonly timelines = new Map<string, Seen[]>();
  private readonly lastFindings = new Map<string, Set<string>>();
  private readonly listeners = new Set<(svc: KObject) => void>();

  constructor(
    readonly plan: SoakPlan,
    readonly h: Harness,
    readonly expectations: Map<string, Expectations>,
  ) {
    this.faults = new FaultPlan(h.emulator.faults);
    h.emulator.store.subscribe((e) => {
      if (e.plural === 'revisions' && e.type === 'ADDED' && !this.revisionCreated.has(e.object.metadata.name))
        this.revisionCreated.set(e.object.metadata.name, e.rv);
    });
    this.watcher = new ServiceWatcher(
      h.emulator.kubeconfig('default', WATCHER_USER),
      'default',
      (type, svc) => this.onVersion(type, svc),
    );
  }

  get seed(): number {
    return this.plan.seed;
  }

  /** Calls `f` with each version the watcher sees until it returns true. */
  until(f: (svc: KObject) => boolean): () => void {
    const l = (svc: KObject) => {
      if (f(svc)) this.listeners.delete(l);
    };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  timeline(service: string): Seen[] {
    return this.timelines.get(service) ?? [];
  }

  /** The versions current at some moment from `from` to `to` (ms since the epoch): the one then, and later ones. */
  versionsDuring(service: string, from: number, to: number): KObject[] {
    const seen = this.timeline(service);
    const first = seen.findLastIndex((s) => s.at <= from);
    return seen
      .slice(Math.max(first, 0))
      .filter((s) => s.at <= to)
      .map((s) => s.svc);
  }

  violate(service: string, f: Finding, runs: number[], version?: KObject): void {
    (NOTE_KINDS.has(f.kind) ? this.notes : this.violations).push({
      seed: this.seed,
      rollout: this.current.get(service) ?? -1,
      service,
      kind: f.kind,
      message: f.message,
      atMs: Date.now() - this.began,
      version: version ? summarize(version) : undefined,
      timeline: this.timeline(service)
        .slice(-25)
        .map((s) => `+${((s.at - this.began) / 1000).toFixed(2)}s ${s.line}`),
      runs,
    });
  }

  /** The runs a version of the Service concerns: those in flight, else the last one. */
  runsOn(service: string): number[] {
    const active = [...(this.active.get(service) ?? [])];
    if (active.length) return active;
    const last = this.runs.findLast((r) => r.service === service);
    return last ? [last.id] : [];
  }

  private onVersion(type: string, svc: KObject): void {
    const name = svc.metadata.name as string;
    const seen = this.timeline(name);
    const previous = seen.at(-1)?.svc;
    if (!previous || previous.metadata.generation !== svc.metadata.generation)
      this.lastSpecChange.set(name, Date.now());
    seen.push({ at: Date.now(), svc, line: `${type === 'MODIFIED' ? '' : `${type} `}${summarize(svc)}` });
    if (seen.length > TIMELINE) seen.shift();
    this.timelines.set(name, seen);
    const expect = this.expectations.get(name);
    if (!expect) return;
    const findings =
      type === 'DELETED'
        ? [{ kind: 'service-deleted', message: `Service ${name} was deleted` }]
        : checkVersion(
            svc,
            {
              expect,
              revisionExisted: (rev, rv) => (this.revisionCreated.get(rev) ?? Infinity) <= rv,
            },
            previous,
          );
    // A broken invariant is reported when it first shows, not again on each later version that still has it.
    const keys = new Set(findings.map((f) => `${f.kind}: ${f.message}`));
    const before = this.lastFindings.get(name) ?? new Set();
    for (const f of findings) {
      if (!before.has(`${f.kind}: ${f.message}`)) this.violate(name, f, this.runsOn(name), svc);
    }
    this.lastFindings.set(name, keys);
    for (const l of [...this.listeners]) l(svc);
  }
}
