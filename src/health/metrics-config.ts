// The `metrics` key of the `analysis` input: `auto`, a known schema by name, or a map of series and label names
// for other exporters (the keys of Knative up to 1.18's map are still accepted, and amend its names).

import { KNOWN_SCHEMAS, type MetricsSetting, type TrafficSchema } from './metrics-schema.ts';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const METRICS_KEYS = [
  'base',
  'name',
  'request-count',
  'request-latencies',
  'latency-unit',
  'revision-label',
  'namespace-label',
  'error-label',
  'error-pattern',
  'code-class-label',
  'info-series',
  'info-on',
];
const NAMES = ['auto', ...Object.keys(KNOWN_SCHEMAS)];

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses `metrics`; `fail` throws the input's error with the message. */
export function parseMetrics(v: unknown, fail: (msg: string) => never): MetricsSetting {
  if (v === undefined || v === null || v === 'auto') return 'auto';
  if (typeof v === 'string') {
    const known = KNOWN_SCHEMAS[v];
    if (!known)
      fail(`metrics is ${JSON.stringify(v)}: expected ${NAMES.join(', ')}, or a map of series names`);
    return known!;
  }
  if (!isMap(v)) {
    return fail(`metrics must be ${NAMES.join(', ')}, or a map with any of ${METRICS_KEYS.join(', ')}`);
  }
  for (const k of Object.keys(v)) {
    if (!METRICS_KEYS.includes(k)) {
      fail(`metrics has unknown key "${k}": expected ${METRICS_KEYS.join(', ')}`);
    }
  }
  const name = (key: string, re: RegExp, what: string): string | undefined => {
    const value = v[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !re.test(value)) {
      const label = what === 'label';
      fail(
        `metrics.${key} is ${JSON.stringify(value)}: expected a Prometheus ${what} name ` +
          `(letters, digits, '_'${label ? '' : ", ':'"}; not starting with a digit)`,
      );
    }
    return value as string;
  };
  const oneOf = (key: string, allowed: string[]): string | undefined => {
    const value = v[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !allowed.includes(value)) {
      fail(`metrics.${key} is ${JSON.stringify(value)}: expected ${allowed.join(' or ')}`);
    }
    return value as string;
  };

  // A map without `base` amends Knative up to 1.18's names, as the map did before there were schemas.
  const baseName = oneOf('base', Object.keys(KNOWN_SCHEMAS)) ?? 'knative-opencensus';
  const base = KNOWN_SCHEMAS[baseName]!;
  const out: TrafficSchema = { ...base, error: { ...base.error } };
  if (base.info) out.info = { ...base.info, on: [...base.info.on] };

  if (v.name !== undefined && v.name !== null) {
    if (typeof v.name !== 'string' || v.name.trim() === '') fail('metrics.name must be a non-empty string');
    out.name = (v.name as string).trim();
  } else {
    out.name = 'custom';
  }
  out.requests = name('request-count', METRIC_NAME, 'metric') ?? out.requests;
  const latencies = name('request-latencies', METRIC_NAME, 'metric');
  if (latencies) out.buckets = latencies.endsWith('_bucket') ? latencies : `${latencies}_bucket`;
  out.unit = (oneOf('latency-unit', ['ms', 's']) as TrafficSchema['unit'] | undefined) ?? out.unit;
  out.revisionLabel = name('revision-label', LABEL_NAME, 'label') ?? out.revisionLabel;
  out.namespaceLabel = name('namespace-label', LABEL_NAME, 'label') ?? out.namespaceLabel;

  const classLabel = name('code-class-label', LABEL_NAME, 'label');
  const errorLabel = name('error-label', LABEL_NAME, 'label');
  if (classLabel && errorLabel) {
    fail('metrics has both code-class-label and error-label: use error-label (with error-pattern)');
  }
  if (classLabel) out.error = { label: classLabel, pattern: '5xx' };
  if (errorLabel) out.error.label = errorLabel;
  const pattern = v['error-pattern'];
  if (pattern !== undefined && pattern !== null) {
    let ok = typeof pattern === 'string' && pattern !== '';
    try {
      if (ok) new RegExp(pattern as string);
    } catch {
      ok = false;
    }
    if (!ok) {
      fail(
        `metrics.error-pattern is ${JSON.stringify(pattern)}: expected a regular expression for the error label's ` +
          'values, like "5.." or "5xx"',
      );
    }
    out.error.pattern = pattern as string;
  } else if (errorLabel && !classLabel && errorLabel !== base.error.label) {
    fail(`metrics.error-label ${errorLabel} needs error-pattern: the values of errors, like "5.." or "5xx"`);
  }

  const infoSeries = v['info-series'];
  if (infoSeries === 'none' || infoSeries === false) {
    delete out.info;
    if (v['info-on'] !== undefined) fail('metrics.info-on needs info-series: the series that has the labels');
  } else if (infoSeries !== undefined && infoSeries !== null) {
    const series = name('info-series', METRIC_NAME, 'metric')!;
    out.info = { series, on: out.info?.on ?? ['job', 'instance'] };
  }
  const on = v['info-on'];
  if (on !== undefined && on !== null) {
    if (!out.info) fail('metrics.info-on needs info-series: the series that has the revision and namespace');
    const list = typeof on === 'string' ? [on] : on;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((l) => typeof l === 'string' && LABEL_NAME.test(l))
    ) {
      fail(`metrics.info-on is ${JSON.stringify(on)}: expected a list of label names, like [job, instance]`);
    }
    out.info!.on = list as string[];
  }
  return out;
}
