// The series and labels the built-in queries read: queue-proxy's metrics as Knative 1.19+ (OpenTelemetry) and
// Knative up to 1.18 (OpenCensus) export them, or a custom schema; the built-in PromQL generated from one; and
// `auto`, which asks Prometheus at the start of a run which of the known schemas has data.

/** A traffic schema: where a revision's requests, errors and latencies are in Prometheus. */
export interface TrafficSchema {
  /** Which generation or exporter: for the log. */
  name: string;
  /** The counter of requests (full series name as Prometheus has it, e.g. `revision_request_count`). */
  requests: string;
  /** The latency histogram's bucket series (with `_bucket`), its `le` in `unit`. */
  buckets: string;
  unit: 'ms' | 's';
  revisionLabel: string;
  namespaceLabel: string;
  /** A request is an error when this label's value matches (e.g. response_code_class "5xx", or a status "5.."). */
  error: { label: string; pattern: string };
  /**
   * When the revision and namespace labels are not on the traffic series but on an info series of the same
   * target (OpenTelemetry's `target_info`, which carries the resource attributes), joined on these labels.
   */
  info?: { series: string; on: string[] };
}

/**
 * Knative 1.19+: queue-proxy's `kn.serving.invocation.duration` histogram (seconds), through the OpenTelemetry
 * Prometheus exporter (or Prometheus's OTLP receiver): its `_count` is the request counter. The revision and
 * namespace are resource attributes, so they are labels of `target_info` only, joined on `job` and `instance`.
 */
export const KNATIVE_OTEL: TrafficSchema = {
  name: 'knative',
  requests: 'kn_serving_invocation_duration_seconds_count',
  buckets: 'kn_serving_invocation_duration_seconds_bucket',
  unit: 's',
  revisionLabel: 'kn_revision_name',
  namespaceLabel: 'k8s_namespace_name',
  error: { label: 'http_response_status_code', pattern: '5..' },
  info: { series: 'target_info', on: ['job', 'instance'] },
};

/** Knative up to 1.18: queue-proxy's OpenCensus metrics, every label on every series, latencies in ms. */
export const KNATIVE_OPENCENSUS: TrafficSchema = {
  name: 'knative-opencensus',
  requests: 'revision_request_count',
  buckets: 'revision_request_latencies_bucket',
  unit: 'ms',
  revisionLabel: 'revision_name',
  namespaceLabel: 'namespace_name',
  error: { label: 'response_code_class', pattern: '5xx' },
};

/** The schemas `metrics: <name>` picks, and the order `auto` tries them in. */
export const KNOWN_SCHEMAS: Record<string, TrafficSchema> = {
  knative: KNATIVE_OTEL,
  'knative-opencensus': KNATIVE_OPENCENSUS,
};

/** What the known schemas are, for the log. */
const ABOUT: Record<string, string> = {
  knative: 'Knative 1.19+, OpenTelemetry',
  'knative-opencensus': 'Knative up to 1.18',
};

/** A schema's name for the log: `knative (Knative 1.19+, OpenTelemetry)`. */
export function describeSchema(schema: TrafficSchema): string {
  const about = KNOWN_SCHEMAS[schema.name] === schema ? ABOUT[schema.name] : undefined;
  return about ? `${schema.name} (${about})` : schema.name;
}

/** The `metrics` setting: a schema, or `auto` (the known schemas, tried in order at the start of a run). */
export type MetricsSetting = 'auto' | TrafficSchema;

export const BUILTINS = ['request-success-rate', 'request-duration-p99'] as const;
export type Builtin = (typeof BUILTINS)[number];

/** A label matcher's value inside double quotes. */
const quoted = (v: string): string => JSON.stringify(v);

/**
 * An instant vector of a revision's series `series`, with `matchers` (`a="b",c=~"d"`) on it, and `wrap` around
 * the selector (e.g. a rate over a window). With an info series, the revision and namespace select it and its
 * target's series join it (`* on(job, instance) group_left()`: target_info is 1, the values are unchanged).
 * `namespace` and `revision` go in as they are: template placeholders or names.
 */
export function revisionSeries(
  schema: TrafficSchema,
  series: string,
  where: { namespace: string; revision: string; matchers?: string },
  wrap: (selector: string) => string = (s) => s,
): string {
  const sel = `${schema.namespaceLabel}="${where.namespace}",${schema.revisionLabel}="${where.revision}"`;
  const extra = where.matchers ?? '';
  if (!schema.info) return wrap(`${series}{${sel}${extra ? `,${extra}` : ''}}`);
  const on = schema.info.on.join(', ');
  return `(${wrap(extra ? `${series}{${extra}}` : series)} * on(${on}) group_left() ${schema.info.series}{${sel}})`;
}

/** The error matcher of a schema: `label=~"pattern"`. */
export function errorMatcher(schema: TrafficSchema): string {
  return `${schema.error.label}=~${quoted(schema.error.pattern)}`;
}

/**
 * The PromQL of a built-in query, as a template over `{{ namespace }}`, `{{ revision }}`, `{{ interval }}`.
 * request-success-rate is 1 minus the errors' share (0 errors when no request failed); request-duration-p99 is
 * in milliseconds whatever the histogram's unit.
 */
export function builtinQuery(builtin: Builtin, schema: TrafficSchema = KNATIVE_OTEL): string {
  const where = { namespace: '{{ namespace }}', revision: '{{ revision }}' };
  const rate = (s: string) => `rate(${s}[{{ interval }}])`;
  switch (builtin) {
    case 'request-success-rate': {
      const errors = revisionSeries(
        schema,
        schema.requests,
        { ...where, matchers: errorMatcher(schema) },
        rate,
      );
      const all = revisionSeries(schema, schema.requests, where, rate);
      return `1 - ((sum(${errors}) or vector(0)) / sum(${all}))`;
    }
    case 'request-duration-p99': {
      const q = `histogram_quantile(0.99, sum by (le) (${revisionSeries(schema, schema.buckets, where, rate)}))`;
      return schema.unit === 's' ? `1000 * ${q}` : q;
    }
  }
}

/** The query that tells whether a schema has series for a revision: their count, or no data. */
export function presenceQuery(schema: TrafficSchema, namespace: string, revision: string): string {
  const inQuotes = (v: string) => quoted(v).slice(1, -1);
  const where = { namespace: inQuotes(namespace), revision: inQuotes(revision) };
  return `count(${revisionSeries(schema, schema.requests, where)})`;
}

export interface Resolution {
  /** The schema found, or undefined when none had data (or a query failed: see `error`). */
  schema?: TrafficSchema;
  /** One line for the log. */
  detail: string;
  error?: string;
}

/**
 * `auto`: the first known schema with series for the stable revision (or, when it has none, say scaled to zero
 * too long, the candidate), one instant query per schema. A fixed schema is returned as it is, unasked.
 */
export async function resolveSchema(
  setting: MetricsSetting,
  vars: { namespace: string; revision: string; stable_revision: string },
  query: (promql: string) => Promise<number | undefined>,
): Promise<Resolution> {
  if (setting !== 'auto') return { schema: setting, detail: `metrics: ${describeSchema(setting)}` };
  const revisions = [...new Set([vars.stable_revision, vars.revision].filter(Boolean))];
  const who = revisions.join(' or ');
  const tried: string[] = [];
  for (const schema of Object.values(KNOWN_SCHEMAS)) {
    const promql = revisions.map((r) => presenceQuery(schema, vars.namespace, r)).join(' or ');
    let n: number | undefined;
    try {
      n = await query(promql);
    } catch (e) {
      const error = `metrics: auto could not ask Prometheus about ${describeSchema(schema)}: ${(e as Error).message}`;
      return { detail: error, error };
    }
    if (n !== undefined && n > 0) {
      return {
        schema,
        detail: `metrics: auto found ${describeSchema(schema)} series (${schema.requests}) for ${who}`,
      };
    }
    tried.push(`${describeSchema(schema)}: ${schema.requests}`);
  }
  return {
    detail:
      `metrics: auto found no series for ${who} in any known schema: ${tried.join(', ')}; ` +
      'the built-in queries have no data until one has',
  };
}
