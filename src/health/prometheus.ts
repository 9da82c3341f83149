// The Prometheus provider of the canary analysis: PromQL templates filled in for the candidate revision, instant
// queries and their verdicts. The `analysis` input that configures it is parsed in analysis-config.ts.

import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { TransportError } from '../errors.ts';
import type { AnalysisConfig, PrometheusQuery, TemplateVars } from './analysis-config.ts';
import type { Sample } from './increase.ts';

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Milliseconds as a PromQL duration: 120000 → `2m`, 90000 → `90s`, 1500 → `1500ms`. */
export function promDuration(ms: number): string {
  const r = Math.max(0, Math.round(ms));
  if (r === 0) return '0s';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (r % size === 0) return `${r / size}${unit}`;
  }
  return `${r}ms`;
}

/**
 * Fills in `{{ name }}` (spaces inside the braces optional). A value inside a quoted PromQL string (a label
 * matcher's value) is escaped so it cannot end the string; anywhere else it goes in as it is.
 */
export function renderQuery(template: string, vars: TemplateVars): string {
  let out = '';
  let quote: '"' | "'" | '`' | undefined;
  const placeholder = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;
  for (let i = 0; i < template.length;) {
    placeholder.lastIndex = i;
    const m = placeholder.exec(template);
    if (m) {
      const name = m[1]!;
      if (!Object.hasOwn(vars, name)) throw new Error(`unknown template variable {{ ${name} }}`);
      const value = vars[name as keyof TemplateVars];
      out += quote ? escapeIn(quote, value) : value;
      i += m[0].length;
      continue;
    }
    const c = template[i]!;
    if (quote) {
      if (c === '\\' && quote !== '`') {
        // An escape sequence: the next character does not end the string.
        out += template.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
    } else if (c === '#') {
      // A comment, up to the end of the line: quotes in it start no string.
      const end = template.indexOf('\n', i);
      const stop = end < 0 ? template.length : end;
      out += template.slice(i, stop);
      i = stop;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function escapeIn(quote: '"' | "'" | '`', value: string): string {
  if (quote === '`') {
    // A raw string has no escapes.
    if (value.includes('`'))
      throw new Error(`cannot put ${JSON.stringify(value)} in a raw string (backquotes)`);
    return value;
  }
  return value
    .replace(/\\/g, '\\\\')
    .replace(quote === '"' ? /"/g : /'/g, `\\${quote}`)
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

export interface QueryOptions {
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  /** Evaluation time; Prometheus's now when absent. */
  at?: Date;
  /** Waits before the 2nd and 3rd attempts after a transport error. */
  retryDelaysMs?: number[];
}

interface PromBody {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** The URL for messages: no credentials, no query string. */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

function sampleValue(v: unknown): number | undefined {
  const text = String(v);
  const n = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  return Number.isNaN(n) ? undefined : n;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('the query was cancelled');
}

async function attempt(
  cfg: AnalysisConfig,
  endpoint: URL,
  body: string,
  opts: QueryOptions,
): Promise<{ status: number; text: string }> {
  const timeout = AbortSignal.timeout(cfg.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  try {
    const res = await request(endpoint, {
      method: 'POST',
      headers: {
        'user-agent': 'knative-canary-action',
        accept: 'application/json',
        ...cfg.headers,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
      dispatcher: opts.dispatcher,
      signal,
    });
    return { status: res.statusCode, text: await res.body.text() };
  } catch (e) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    if (timeout.aborted) throw new TransportError(`timed out after ${cfg.timeoutMs} ms`);
    const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
    throw new TransportError(err.code ?? err.cause?.code ?? err.message);
  }
}

/**
 * One instant query (POST /api/v1/query). No data (an empty vector, or NaN as 0/0 gives for a revision without
 * requests) is `value: undefined`. A query must give one series at most. Transport errors are tried three
 * times; Prometheus's own errors are not retried.
 */
/** One instant query's answer (`data` of Prometheus's JSON), after retrying what failed to arrive. */
async function queryData(
  cfg: AnalysisConfig,
  promql: string,
  opts: QueryOptions,
): Promise<{ resultType?: string; result?: unknown }> {
  if (!cfg.url) throw new Error('no Prometheus server: the analysis input has no prometheus.url');
  const endpoint = new URL(cfg.url);
  endpoint.pathname = `${endpoint.pathname.replace(/\/+$/, '')}/api/v1/query`;
  const form = new URLSearchParams({ query: promql });
  if (opts.at) form.set('time', (opts.at.getTime() / 1000).toFixed(3));
  const delays = opts.retryDelaysMs ?? [250, 750];
  let res: { status: number; text: string } | undefined;
  for (let i = 0; ; i++) {
    try {
      res = await attempt(cfg, endpoint, form.toString(), opts);
      const proxyError = [502, 503, 504].includes(res.status) && !res.text.trimStart().startsWith('{');
      if (proxyError) throw new TransportError(`HTTP ${res.status}: ${snippet(res.text)}`);
      break;
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      if (i >= delays.length) {
        throw new Error(
          `cannot reach Prometheus at ${shown(endpoint)}: ${e.message} (after ${i + 1} attempts)`,
          { cause: e },
        );
      }
      try {
        await sleep(delays[i], undefined, { signal: opts.signal });
      } catch {
        throw abortError(opts.signal!);
      }
    }
  }

  let body: PromBody | undefined;
  try {
    body = JSON.parse(res.text) as PromBody;
  } catch {
    // not JSON
  }
  if (body?.status === 'error') {
    const type = body.errorType ? ` (${body.errorType})` : '';
    throw new Error(`Prometheus answered ${res.status}${type}: ${body.error ?? 'no error message'}`);
  }
  if (res.status < 200 || res.status > 299 || body?.status !== 'success' || !isMap(body.data)) {
    throw new Error(
      `Prometheus at ${shown(endpoint)} answered ${res.status} without a query result: ${snippet(res.text)}`,
    );
  }
  return body.data;
}

export async function queryPrometheus(
  cfg: AnalysisConfig,
  promql: string,
  opts: QueryOptions = {},
): Promise<{ value?: number; series: number }> {
  const { resultType, result } = await queryData(cfg, promql, opts);
  if (resultType === 'scalar' && Array.isArray(result)) return { value: sampleValue(result[1]), series: 1 };
  if (resultType !== 'vector' || !Array.isArray(result)) {
    throw new Error(
      `the query gives a ${resultType === 'matrix' ? 'range vector' : resultType}, not a number: it must ` +
        'return one series (a range selector needs a function such as rate() around it)',
    );
  }
  const vector = result as { metric?: Record<string, string>; value?: [number, string] }[];
  if (vector.length > 1) {
    const some = vector
      .slice(0, 3)
      .map((s) => JSON.stringify(s.metric ?? {}))
      .join(', ');
    throw new Error(
      `the query returned ${vector.length} series (${some}${vector.length > 3 ? ', …' : ''}); it must return ` +
        'one: aggregate it, e.g. with sum()',
    );
  }
  if (vector.length === 0) return { series: 0 };
  return { value: sampleValue(vector[0]!.value?.[1]), series: 1 };
}

/** Every series an instant query returns, with its labels: for reading counters raw. */
export async function queryVector(
  cfg: AnalysisConfig,
  promql: string,
  opts: QueryOptions = {},
): Promise<Sample[]> {
  const { resultType, result } = await queryData(cfg, promql, opts);
  if (resultType !== 'vector' || !Array.isArray(result))
    throw new Error(`the query gives a ${resultType}, not an instant vector of series`);
  return (result as { metric?: Record<string, string>; value?: [number, string] }[]).flatMap((r) => {
    const value = sampleValue(r.value?.[1]);
    return value === undefined ? [] : [{ labels: r.metric ?? {}, value }];
  });
}

export interface QueryResult {
  query: PrometheusQuery;
  /** The PromQL sent. */
  promql: string;
  value?: number;
  verdict: 'pass' | 'fail' | 'no-data' | 'error';
  detail: string;
}

/** A value for people: 3 significant digits, or more when fewer would hide which side of a bound it is on. */
export function formatValue(v: number, bounds: (number | undefined)[] = []): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const fmt = (p: number) =>
    Math.abs(v) >= 10 ** p ? String(Math.round(v)) : String(Number(v.toPrecision(p)));
  const sides = (x: number) => bounds.map((b) => (b === undefined ? 0 : Math.sign(x - b))).join();
  for (let p = 3; p < 17; p++) {
    const s = fmt(p);
    if (sides(Number(s)) === sides(v)) return s;
  }
  return String(v);
}

export function judgeValue(query: PrometheusQuery, value: number | undefined): Omit<QueryResult, 'promql'> {
  const { name, min, max } = query;
  if (value === undefined) {
    return query.onNoData === 'fail'
      ? { query, verdict: 'fail', detail: `${name}: no data (on-no-data: fail)` }
      : { query, verdict: 'no-data', detail: `${name}: no data (ignored)` };
  }
  const unit = query.builtin === 'request-duration-p99' ? ' ms' : '';
  if (min !== undefined && value < min) {
    return {
      query,
      value,
      verdict: 'fail',
      detail: `${name} = ${formatValue(value, [min])}${unit} < min ${min}`,
    };
  }
  if (max !== undefined && value > max) {
    return {
      query,
      value,
      verdict: 'fail',
      detail: `${name} = ${formatValue(value, [max])}${unit} > max ${max}`,
    };
  }
  const parts: string[] = [];
  if (min !== undefined) parts.push(`≥ min ${min}`);
  if (max !== undefined) parts.push(`≤ max ${max}`);
  return {
    query,
    value,
    verdict: 'pass',
    detail: `${name} = ${formatValue(value, [min, max])}${unit} ${parts.join(', ')}`,
  };
}

/** Runs every query at the same evaluation time and judges each against its bounds. */
export async function evaluateQueries(
  cfg: AnalysisConfig,
  vars: TemplateVars,
  opts: QueryOptions = {},
): Promise<QueryResult[]> {
  const at = opts.at ?? new Date();
  return Promise.all(
    cfg.queries.map(async (query): Promise<QueryResult> => {
      let promql = query.promql;
      try {
        promql = renderQuery(query.promql, vars);
        const { value } = await queryPrometheus(cfg, promql, { ...opts, at });
        return { ...judgeValue(query, value), promql };
      } catch (e) {
        return { query, promql, verdict: 'error', detail: `${query.name}: ${(e as Error).message}` };
      }
    }),
  );
}
