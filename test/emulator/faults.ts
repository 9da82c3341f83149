// Fault injection: API calls answered with errors, delayed or cut off; a slower reconciler; revisions held not
// ready. Set in-process through `Faults`, or over HTTP through the control endpoint `/emulator/faults`.

import { ApiError, conflict } from './errors.ts';
import { isPlainObject } from './util.ts';

export interface ApiFaultRule {
  /** HTTP method to match (GET, PUT, PATCH, POST, DELETE); any when unset. */
  method?: string;
  /** Substring of the request path to match; any when unset. */
  path?: string;
  /** Only requests of this user (the user of the request's token, see `Emulator.kubeconfig`); any when unset. */
  user?: string;
  /**
   * What to do: answer with this status code (500, 429, 409, ...), delay by delayMs, cut the connection before
   * the request is handled, or handle it and then cut the connection instead of answering (`lose-answer`: the
   * write lands, the client never learns it).
   */
  action: 'status' | 'delay' | 'cut' | 'lose-answer';
  status?: number;
  delayMs?: number;
  /** Share of matching requests affected, 0..1 (default 1). */
  probability?: number;
  /** Affect only the next N matching requests (default: all). */
  times?: number;
}

export interface FaultSettings {
  api: ApiFaultRule[];
  /** Added to the reconciler's delay after each change. */
  reconcileDelayMs: number;
  /** How long the gateway takes to apply a traffic change. */
  ingressDelayMs: number;
  /** Revisions (`namespace/name`) held not ready whatever their probe says. */
  stuckRevisions: string[];
}

const STATUS_REASONS: Record<number, string> = {
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export class Faults {
  settings: FaultSettings;
  /** Count of requests each rule has affected, for tests to assert on. */
  readonly hits: number[] = [];

  constructor(
    private readonly random: () => number,
    private readonly defaults: { reconcileDelayMs: number; ingressDelayMs: number },
  ) {
    this.settings = { api: [], stuckRevisions: [], ...defaults };
  }

  reset(): void {
    this.settings = { api: [], stuckRevisions: [], ...this.defaults };
    this.hits.length = 0;
  }

  /** Replaces the given settings; validates what comes over HTTP. */
  set(input: unknown): void {
    if (!isPlainObject(input)) throw new Error('faults: expected a JSON object');
    const next: FaultSettings = { ...this.settings };
    if (input.api !== undefined) {
      if (!Array.isArray(input.api)) throw new Error('faults.api: expected a list of rules');
      next.api = input.api.map((r, i) => {
        if (!isPlainObject(r) || !['status', 'delay', 'cut', 'lose-answer'].includes(r.action)) {
          throw new Error(`faults.api[${i}].action: expected "status", "delay", "cut" or "lose-answer"`);
        }
        if (r.action === 'status' && !Number.isInteger(r.status)) {
          throw new Error(`faults.api[${i}].status: expected an HTTP status code`);
        }
        return { ...r } as ApiFaultRule;
      });
    }
    for (const k of ['reconcileDelayMs', 'ingressDelayMs'] as const) {
      if (input[k] !== undefined) {
        if (typeof input[k] !== 'number' || input[k] < 0)
          throw new Error(`faults.${k}: expected a number >= 0`);
        next[k] = input[k];
      }
    }
    if (input.stuckRevisions !== undefined) {
      if (!Array.isArray(input.stuckRevisions)) throw new Error('faults.stuckRevisions: expected a list');
      next.stuckRevisions = input.stuckRevisions.map(String);
    }
    // Only a fully valid request takes effect; new API rules start with fresh hit counts.
    if (input.api !== undefined) this.hits.length = 0;
    this.settings = next;
  }

  isStuck(key: string): boolean {
    return this.settings.stuckRevisions.includes(key);
  }

  /** The fault for one API request, if any: an error to answer with, 'cut', or a delay already waited. */
  async apiFault(
    method: string,
    path: string,
    user?: string,
  ): Promise<ApiError | 'cut' | 'lose-answer' | undefined> {
    for (const [i, rule] of this.settings.api.entries()) {
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (rule.path && !path.includes(rule.path)) continue;
      if (rule.user !== undefined && rule.user !== user) continue;
      if (rule.times !== undefined && (this.hits[i] ?? 0) >= rule.times) continue;
      if (this.random() >= (rule.probability ?? 1)) continue;
      this.hits[i] = (this.hits[i] ?? 0) + 1;
      if (rule.action === 'cut' || rule.action === 'lose-answer') return rule.action;
      if (rule.action === 'delay') {
        await new Promise((r) => setTimeout(r, rule.delayMs ?? 1000));
        continue;
      }
      const code = rule.status ?? 500;
      const reason = STATUS_REASONS[code] ?? 'InternalError';
      const message =
        code === 429
          ? 'Too many requests, please try again later.'
          : code === 409
            ? conflictMessage(path)
            : `Internal error occurred: injected fault (${code})`;
      return new ApiError(code, reason, message);
    }
    return undefined;
  }
}

/** The API server's conflict message, naming the object when the path names one. */
function conflictMessage(path: string): string {
  const m = /\/apis\/serving\.knative\.dev\/v1\/namespaces\/[^/]+\/([^/]+)\/([^/]+)/.exec(path);
  if (m) return conflict(m[1], m[2]).message;
  return 'Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again';
}
