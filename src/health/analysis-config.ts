// The `analysis` input: a Prometheus server, the queries with their bounds, the built-in queries over
// queue-proxy's series and the schema they read (metrics-config.ts); parsed and checked, with messages that name the key.

import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../duration.ts';
import { InputError } from '../errors.ts';
import type { TrafficSeries } from './users.ts';
import { parseMetrics } from './metrics-config.ts';
import {
  BUILTINS,
  builtinQuery,
  KNATIVE_OPENCENSUS,
  type Builtin,
  type MetricsSetting,
  type TrafficSchema,
} from './metrics-schema.ts';

export { BUILTINS, builtinQuery, type Builtin } from './metrics-schema.ts';

export const TEMPLATE_VARS = ['namespace', 'service', 'revision', 'stable_revision', 'interval'] as const;
export type TemplateVars = Record<(typeof TEMPLATE_VARS)[number], string>;

export type OnNoData = 'fail' | 'ignore';

export interface PrometheusQuery {
  name: string;
  /**
   * The PromQL template. A builtin is expanded with the configured schema; with `metrics: auto`, with that of
   * Knative up to 1.18 (as before there were schemas) until the run resolves it (see `withSchema`).
   */
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
  /**
   * Users' traffic is judged: present unless `traffic: off` or no Prometheus server. The schema named in
   * `metrics`; with `metrics: auto`, the 1.18 schema, which the reader replaces with the one it finds.
   */
  traffic?: TrafficSeries;
  /** How often users' traffic is read (`traffic.every`); check-every when unset. */
  trafficEveryMs?: number;
  /** With the top-level `on-no-data: fail`: a step in which users sent the candidate no request fails. */
  trafficOnNoData?: 'fail';
  /** The series the built-ins read: `auto` (also when absent) or a schema. */
  metrics?: MetricsSetting;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

const TOP_KEYS = ['prometheus', 'on-no-data', 'metrics', 'queries', 'traffic'];
const PROMETHEUS_KEYS = ['url', 'headers', 'timeout'];
const QUERY_KEYS = ['name', 'builtin', 'query', 'min', 'max', 'on-no-data'];
const ON_NO_DATA: OnNoData[] = ['ignore', 'fail'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

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
  const metrics = parseMetrics(doc.metrics, fail);
  const schema = metrics === 'auto' ? KNATIVE_OPENCENSUS : metrics;

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
      promql = builtinQuery(builtin, schema);
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
  const every = parseTraffic(doc.traffic);
  const traffic = prom?.url && every !== 'off' ? trafficSeries(metrics) : undefined;
  return {
    url: prom?.url,
    headers: prom?.headers ?? {},
    timeoutMs: prom?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    queries,
    metrics,
    ...(traffic ? { traffic } : {}),
    ...(traffic && typeof every === 'number' ? { trafficEveryMs: every } : {}),
    ...(traffic && defaultOnNoData === 'fail' ? { trafficOnNoData: 'fail' as const } : {}),
  };
}

/** `traffic`: on (the default), off, or a map with `every`, how often users' traffic is read. */
function parseTraffic(v: unknown): 'on' | 'off' | number {
  if (v === undefined || v === null || v === 'on') return 'on';
  if (v === 'off') return 'off';
  if (!isMap(v))
    fail(`traffic is ${show(v)}: expected on (the default with a Prometheus server), off, or { every: 30s }`);
  checkKeys(v, ['every'], 'traffic');
  if (v.every === undefined) return 'on';
  try {
    const ms = parseDuration(String(v.every));
    if (ms !== undefined && ms >= 1000) return ms;
  } catch {
    // said below
  }
  return fail(`traffic.every is ${show(v.every)}: expected a duration of at least 1s, like 15s or 1m`);
}

/**
 * The series of users' traffic: the schema of the built-ins; with `auto`, until the judge resolves it itself, those
 * of Knative up to 1.18 (the series it reads carry the revision label only there: 1.19+ has it on target_info).
 */
function trafficSeries(m: MetricsSetting): TrafficSeries {
  return m === 'auto' ? KNATIVE_OPENCENSUS : m;
}

/** The config with its built-in queries expanded over `schema` (the one `metrics: auto` resolved to). */
export function withSchema(cfg: AnalysisConfig, schema: TrafficSchema): AnalysisConfig {
  return {
    ...cfg,
    queries: cfg.queries.map((q) => (q.builtin ? { ...q, promql: builtinQuery(q.builtin, schema) } : q)),
  };
}
