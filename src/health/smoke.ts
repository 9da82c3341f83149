// Smoke tests against the candidate's own tag URL, before any user traffic reaches it.

import { send, type RouteTarget } from './http.ts';

export interface SmokeTest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Accepted status codes. */
  expectStatus: number[];
  /** A regular expression the response body must match. */
  bodyPattern?: RegExp;
  /** Extra attempts after a failure (a revision that just turned Ready may answer 503 once). */
  retries: number;
}

export interface SmokeResult {
  test: SmokeTest;
  pass: boolean;
  attempts: number;
  status: number;
  latencyMs: number;
  detail: string;
}

const snippet = (body: string | undefined) => {
  const b = (body ?? '').replace(/\s+/g, ' ').trim();
  return b.length > 120 ? `${b.slice(0, 120)}…` : b;
};

export async function runSmokeTest(
  target: RouteTarget,
  test: SmokeTest,
  opts: { signal?: AbortSignal; retryDelayMs?: number; timeoutMs?: number } = {},
): Promise<SmokeResult> {
  let last: SmokeResult | undefined;
  for (let attempt = 1; attempt <= test.retries + 1; attempt++) {
    if (opts.signal?.aborted) break;
    const r = await send(target, {
      method: test.method,
      path: test.path,
      headers: test.headers,
      body: test.body,
      readBody: true,
      timeoutMs: opts.timeoutMs ?? 10_000,
      signal: opts.signal,
    });
    let detail: string;
    let pass = false;
    if (r.error) detail = r.error;
    else if (!test.expectStatus.includes(r.status)) {
      detail = `status ${r.status}, expected ${test.expectStatus.join(' or ')}; body: ${snippet(r.body)}`;
    } else if (test.bodyPattern && !test.bodyPattern.test(r.body ?? '')) {
      detail = `status ${r.status} but the body does not match /${test.bodyPattern.source}/; body: ${snippet(r.body)}`;
    } else {
      pass = true;
      detail = `status ${r.status} in ${Math.round(r.latencyMs)} ms`;
    }
    last = { test, pass, attempts: attempt, status: r.status, latencyMs: r.latencyMs, detail };
    if (pass) return last;
    if (attempt <= test.retries) await new Promise((res) => setTimeout(res, opts.retryDelayMs ?? 500));
  }
  return last ?? { test, pass: false, attempts: 0, status: 0, latencyMs: 0, detail: 'cancelled' };
}

export async function runSmokeTests(
  target: RouteTarget,
  tests: SmokeTest[],
  opts: { signal?: AbortSignal; retryDelayMs?: number } = {},
): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  for (const t of tests) {
    const r = await runSmokeTest(target, t, opts);
    results.push(r);
    if (!r.pass) break;
  }
  return results;
}
