// The Prometheus provider of the canary analysis: the `analysis` input (a Prometheus server, queries with
// bounds), PromQL templates filled in for the candidate revision, instant queries and their verdicts.

import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../duration.ts';
import { InputError, TransportError } from '../errors.ts';

export const BUILTINS = ['request-success-rate', 'request-duration-p99'] as const;
export type Builtin = (typeof BUILTINS)[number];

export const TEMPLATE_VARS = ['namespace', 'service', 'revision', 'stable_revision', 'interval'] as const;
export type TemplateVars = Record<(typeof TEMPLATE_VARS)[number], string>;

export type OnNoData = 'fail' | 'ignore';

export interface PrometheusQuery {
  name: string;
  /** The PromQL template; a builtin is already expanded with the configured metric names. */
  promql: string;
  min?: number;
  max?: number;
  onNoData: OnNoData;
  builtin?: Builtin;
}

export interface AnalysisConfig {
  /** The Prometheus server's base URL (credentials in it are moved into an Authorization header). */
  url?: URL;
  /** Sent with every query; names are lower-cased. Never printed. */
  headers: Record<string, string>;
  timeoutMs: number;
  queries: PrometheusQuery[];
}

/** Series and label names the built-in queries use. */
export interface MetricNames {
  'request-count': string;
  /** A histogram in milliseconds: `<name>_bucket` series with label `le`. */
  'request-latencies': string;
  'revision-label': string;
  'namespace-label': string;
  'code-class-label': string;
}

/** Knative's queue-proxy metrics as its Prometheus exporter names them (Knative up to 1.18). */
export const DEFAULT_METRICS: MetricNames = {
  'request-count': 'revision_request_count',
  'request-latencies': 'revision_request_latencies',
  'revision-label': 'revision_name',
  'namespace-label': 'namespace_name',
  'code-class-label': 'response_code_class',
};

export const DEFAULT_TIMEOUT_MS = 10_000;

const TOP_KEYS = ['prometheus', 'on-no-data', 'metrics', 'queries'];
const PROMETHEUS_KEYS = ['url', 'headers', 'timeout'];
const QUERY_KEYS = ['name', 'builtin', 'query', 'min', 'max', 'on-no-data'];
const ON_NO_DATA: OnNoData[] = ['ignore', 'fail'];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The PromQL of a built-in query, as a template over `{{ namespace }}`, `{{ revision }}`, `{{ interval }}`. */
export function builtinQuery(builtin: Builtin, metrics: MetricNames = DEFAULT_METRICS): string {
  const sel = `${metrics['namespace-label']}="{{ namespace }}",${metrics['revision-label']}="{{ revision }}"`;
  const count = metrics['request-count'];
  switch (builtin) {
    case 'request-success-rate':
      return (
        `sum(rate(${count}{${sel},${metrics['code-class-label']}!="5xx"}[{{ interval }}])) / ` +
        `sum(rate(${count}{${sel}}[{{ interval }}]))`
      );
    case 'request-duration-p99':
      return (
        `histogram_quantile(0.99, sum by (le) ` +
        `(rate(${metrics['request-latencies']}_bucket{${sel}}[{{ interval }}])))`
      );
  }
}

function fail(msg: string): never {
  throw new InputError('analysis', msg);
}

/** A YAML value in a message (.inf is a number JSON cannot show). */
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v));

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(obj: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) fail(`${where} has unknown key "${k}": expected ${allowed.join(', ')}`);
  }
}

function parseOnNoData(v: unknown, where: string): OnNoData {
  if (typeof v !== 'string' || !ON_NO_DATA.includes(v as OnNoData)) {
    fail(`${where} is ${show(v)}: expected ${ON_NO_DATA.join(' or ')}`);
  }
  return v as OnNoData;
}

function parseBound(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'string' && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*$/i.test(v)
        ? Number(v)
        : NaN;
  if (!Number.isFinite(n)) fail(`${where} is ${show(v)}: expected a finite number, like 0.99 or 500`);
  return n;
}

/** Every `{{ … }}` in a query must name a template variable. */
function checkTemplate(text: string, where: string): void {
  for (const m of text.matchAll(/\{\{(.*?)\}\}/gs)) {
    const name = m[1]!.trim();
    if (!(TEMPLATE_VARS as readonly string[]).includes(name)) {
      fail(
        `${where} uses unknown template variable "{{${m[1]}}}": expected one of ` +
          TEMPLATE_VARS.map((v) => `{{ ${v} }}`).join(', '),
      );
    }
  }
  if (text.replace(/\{\{(.*?)\}\}/gs, '').includes('{{')) {
    fail(`${where} has a "{{" without a closing "}}": expected a template variable like {{ revision }}`);
  }
}

function parsePrometheus(
  v: unknown,
): { url?: URL; headers: Record<string, string>; timeoutMs: number } | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) return fail('prometheus must be a map with url, and optionally headers and timeout');
  checkKeys(v, PROMETHEUS_KEYS, 'prometheus');
  const headers: Record<string, string> = {};
  if (v.headers !== undefined && v.headers !== null) {
    if (!isMap(v.headers)) fail('prometheus.headers must be a map of header names to values');
    for (const [k, value] of Object.entries(v.headers as Record<string, unknown>)) {
      if (!HEADER_NAME.test(k)) fail(`prometheus.headers has "${k}", which is not a valid HTTP header name`);
      // The values are secrets as often as not: no message shows them.
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        fail(`prometheus.headers.${k} must be a string`);
      }
      const text = String(value);
      if (/[\r\n\0]/.test(text)) fail(`prometheus.headers.${k} must not contain line breaks`);
      headers[k.toLowerCase()] = text;
    }
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (v.timeout !== undefined && v.timeout !== null) {
    const ms =
      typeof v.timeout === 'string' || typeof v.timeout === 'number'
        ? parseDuration(String(v.timeout))
        : undefined;
    if (ms === undefined || ms <= 0 || ms > 600_000) {
      fail(
        `prometheus.timeout is ${JSON.stringify(v.timeout)}: expected a duration from 1ms to 10m, like 10s or 500ms`,
      );
    }
    timeoutMs = ms!;
  }
  let url: URL | undefined;
  if (v.url !== undefined && v.url !== null) {
    const bad = () =>
      fail(
        `prometheus.url ${show(v.url).replace(/\/\/[^/@]*@/, '//…@')} is not a URL: expected the server's base URL, like ` +
          'http://prometheus.monitoring:9090',
      );
    if (typeof v.url !== 'string') bad();
    try {
      url = new URL(v.url as string);
    } catch {
      bad();
    }
    if (url!.protocol !== 'http:' && url!.protocol !== 'https:') {
      fail(`prometheus.url must be an http:// or https:// URL`);
    }
    if (url!.username || url!.password) {
      // undici does not send URL credentials: they become basic auth, unless a header says otherwise.
      const user = decodeURIComponent(url!.username);
      const pass = decodeURIComponent(url!.password);
      headers.authorization ??= `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      url!.username = '';
      url!.password = '';
    }
    url!.hash = '';
  }
  return { url, headers, timeoutMs };
}

function parseMetrics(v: unknown): MetricNames {
  if (v === undefined || v === null) return DEFAULT_METRICS;
  const keys = Object.keys(DEFAULT_METRICS);
  if (!isMap(v)) return fail(`metrics must be a map with any of ${keys.join(', ')}`);
  checkKeys(v, keys, 'metrics');
  const out = { ...DEFAULT_METRICS };
  for (const [k, value] of Object.entries(v)) {
    const isLabel = k.endsWith('-label');
    const re = isLabel ? LABEL_NAME : METRIC_NAME;
    if (typeof value !== 'string' || !re.test(value)) {
      fail(
        `metrics.${k} is ${JSON.stringify(value)}: expected a Prometheus ${isLabel ? 'label' : 'metric'} name ` +
          `(letters, digits, '_'${isLabel ? '' : ", ':'"}; not starting with a digit)`,
      );
    }
    out[k as keyof MetricNames] = value as string;
  }
  return out;
}

/** Parses the `analysis` input; blank text means no queries. */
export function parseAnalysis(text: string): AnalysisConfig {
  const none: AnalysisConfig = { headers: {}, timeoutMs: DEFAULT_TIMEOUT_MS, queries: [] };
  if (text.trim() === '') return none;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return fail(`is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return none;
  if (!isMap(doc)) {
    return fail(
      `expected a YAML map with ${TOP_KEYS.join(', ')}; got ${Array.isArray(doc) ? 'a list' : typeof doc}`,
    );
  }
  checkKeys(doc, TOP_KEYS, 'analysis');
  const prom = parsePrometheus(doc.prometheus);
  const defaultOnNoData =
    doc['on-no-data'] === undefined ? 'ignore' : parseOnNoData(doc['on-no-data'], 'on-no-data');
  const metrics = parseMetrics(doc.metrics);

  const list = doc.queries ?? [];
  if (!Array.isArray(list))
    fail('queries must be a list of queries, each with name, builtin or query, min or max');
  const queries: PrometheusQuery[] = [];
  for (const [i, item] of (list as unknown[]).entries()) {
    if (!isMap(item)) {
      fail(`queries[${i}] must be a map with name, builtin or query, and min or max`);
    }
    const q = item as Record<string, unknown>;
    const named = typeof q.name === 'string' && q.name.trim() !== '';
    const where = named ? `queries[${i}] "${q.name as string}"` : `queries[${i}]`;
    checkKeys(q, QUERY_KEYS, where);
    if (!named) fail(`${where} needs a name: a non-empty string`);
    const name = (q.name as string).trim();
    if (queries.some((o) => o.name === name))
      fail(`${where}: the name "${name}" is used by an earlier query`);

    const hasBuiltin = q.builtin !== undefined && q.builtin !== null;
    const hasQuery = q.query !== undefined && q.query !== null;
    if (hasBuiltin === hasQuery) {
      fail(
        `${where} needs exactly one of builtin (${BUILTINS.join(', ')}) or query (PromQL), ` +
          `${hasBuiltin ? 'not both' : 'found neither'}`,
      );
    }
    let promql: string;
    let builtin: Builtin | undefined;
    if (hasBuiltin) {
      if (!BUILTINS.includes(q.builtin as Builtin)) {
        fail(`${where}.builtin is ${JSON.stringify(q.builtin)}: expected one of ${BUILTINS.join(', ')}`);
      }
      builtin = q.builtin as Builtin;
      promql = builtinQuery(builtin, metrics);
    } else {
      if (typeof q.query !== 'string' || q.query.trim() === '') {
        fail(`${where}.query must be a PromQL expression (a non-empty string)`);
      }
      promql = (q.query as string).trim();
      checkTemplate(promql, `${where}.query`);
    }

    const min = parseBound(q.min, `${where}.min`);
    const max = parseBound(q.max, `${where}.max`);
    if (min === undefined && max === undefined)
      fail(`${where} needs min or max (or both): the bounds it must keep`);
    if (min !== undefined && max !== undefined && min > max) {
      fail(`${where} has min ${min} greater than max ${max}: expected min <= max`);
    }
    const onNoData =
      q['on-no-data'] === undefined ? defaultOnNoData : parseOnNoData(q['on-no-data'], `${where}.on-no-data`);
    const query: PrometheusQuery = { name, promql, onNoData };
    if (min !== undefined) query.min = min;
    if (max !== undefined) query.max = max;
    if (builtin) query.builtin = builtin;
    queries.push(query);
  }
  if (queries.length > 0 && !prom?.url) {
    fail(
      `prometheus.url is required with queries: the Prometheus server's base URL, like http://prometheus.monitoring:9090`,
    );
  }
  return {
    url: prom?.url,
    headers: prom?.headers ?? {},
    timeoutMs: prom?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    queries,
  };
}

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
export async function queryPrometheus(
  cfg: AnalysisConfig,
  promql: string,
  opts: QueryOptions = {},
): Promise<{ value?: number; series: number }> {
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
  const { resultType, result } = body.data;
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
