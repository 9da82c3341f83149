// The `metrics` key of the analysis input: the known schemas, a custom map (the old keys and the new), the messages
// that name the key; the queries `auto` asks, and what it concludes.

import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { parseAnalysis } from '../../src/health/analysis-config.ts';
import {
  KNATIVE_OPENCENSUS,
  KNATIVE_OTEL,
  builtinQuery,
  presenceQuery,
  resolveSchema,
  revisionSeries,
} from '../../src/health/metrics-schema.ts';
import { renderQuery } from '../../src/health/prometheus.ts';

const metrics = (yaml: string) => parseAnalysis(`metrics: ${yaml}`).metrics;

function error(yaml: string): string {
  try {
    parseAnalysis(`metrics: ${yaml}`);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message.replace(/^Input 'analysis': /, '');
  }
  throw new Error(`expected metrics: ${yaml} to fail`);
}

const VARS = {
  namespace: 'prod',
  service: 'hello',
  revision: 'hello-2',
  stable_revision: 'hello-1',
  interval: '1m',
};

describe('metrics: the schema of the built-ins', () => {
  it('is auto by default; knative and knative-opencensus name the two generations', () => {
    expect(parseAnalysis('prometheus: { url: http://p:9090 }').metrics).toBe('auto');
    expect(metrics('auto')).toBe('auto');
    expect(metrics('knative')).toBe(KNATIVE_OTEL);
    expect(metrics('knative-opencensus')).toBe(KNATIVE_OPENCENSUS);
    expect(KNATIVE_OTEL).toMatchObject({
      requests: 'kn_serving_invocation_duration_seconds_count',
      buckets: 'kn_serving_invocation_duration_seconds_bucket',
      unit: 's',
      revisionLabel: 'kn_revision_name',
      namespaceLabel: 'k8s_namespace_name',
      error: { label: 'http_response_status_code', pattern: '5..' },
      info: { series: 'target_info', on: ['job', 'instance'] },
    });
    expect(KNATIVE_OPENCENSUS).toMatchObject({
      requests: 'revision_request_count',
      buckets: 'revision_request_latencies_bucket',
      unit: 'ms',
      error: { label: 'response_code_class', pattern: '5xx' },
    });
    expect(KNATIVE_OPENCENSUS.info).toBeUndefined();
  });

  it('a custom map for another exporter: Istio', () => {
    const istio = metrics(`
  name: istio
  request-count: istio_requests_total
  request-latencies: istio_request_duration_milliseconds_bucket
  latency-unit: ms
  revision-label: destination_canonical_service
  namespace-label: destination_service_namespace
  error-label: response_code
  error-pattern: "5.."`);
    expect(istio).toEqual({
      name: 'istio',
      requests: 'istio_requests_total',
      buckets: 'istio_request_duration_milliseconds_bucket',
      unit: 'ms',
      revisionLabel: 'destination_canonical_service',
      namespaceLabel: 'destination_service_namespace',
      error: { label: 'response_code', pattern: '5..' },
    });
    const q = renderQuery(builtinQuery('request-success-rate', istio as typeof KNATIVE_OTEL), VARS);
    expect(q).toBe(
      '1 - ((sum(rate(istio_requests_total{destination_service_namespace="prod",destination_canonical_service="hello-2",' +
        'response_code=~"5.."}[1m])) or vector(0)) / sum(rate(istio_requests_total{destination_service_namespace="prod",' +
        'destination_canonical_service="hello-2"}[1m])))',
    );
  });

  it('base: knative with the labels promoted onto the series (info-series: none), or another info join', () => {
    const promoted = metrics('{ base: knative, info-series: none }');
    expect(promoted).toMatchObject({ requests: KNATIVE_OTEL.requests, revisionLabel: 'kn_revision_name' });
    expect(promoted).not.toHaveProperty('info');
    expect(renderQuery(builtinQuery('request-duration-p99', promoted as typeof KNATIVE_OTEL), VARS)).toBe(
      '1000 * histogram_quantile(0.99, sum by (le) (rate(kn_serving_invocation_duration_seconds_bucket{' +
        'k8s_namespace_name="prod",kn_revision_name="hello-2"}[1m])))',
    );
    const joined = metrics('{ base: knative, info-on: [pod] }');
    expect(joined).toMatchObject({ info: { series: 'target_info', on: ['pod'] } });
    expect(metrics('{ base: knative-opencensus, info-series: pod_info, info-on: pod }')).toMatchObject({
      info: { series: 'pod_info', on: ['pod'] },
    });
    expect((metrics('{ base: knative }') as typeof KNATIVE_OTEL).name).toBe('custom');
  });

  it('the keys of the map before schemas amend the names of Knative up to 1.18', () => {
    expect(
      metrics('{ request-count: my_count, request-latencies: my_ms, code-class-label: class }'),
    ).toMatchObject({
      requests: 'my_count',
      buckets: 'my_ms_bucket',
      unit: 'ms',
      revisionLabel: 'revision_name',
      error: { label: 'class', pattern: '5xx' },
    });
    expect(metrics('{ latency-unit: s }')).toMatchObject({
      buckets: 'revision_request_latencies_bucket',
      unit: 's',
    });
  });

  it('errors name the key', () => {
    expect(error('knative-1.19')).toBe(
      'metrics is "knative-1.19": expected auto, knative, knative-opencensus, or a map of series names',
    );
    expect(error('[a]')).toMatch(
      /^metrics must be auto, knative, knative-opencensus, or a map with any of base, /,
    );
    expect(error('{ base: istio }')).toBe('metrics.base is "istio": expected knative or knative-opencensus');
    expect(error('{ latency-unit: seconds }')).toBe('metrics.latency-unit is "seconds": expected ms or s');
    expect(error('{ error-label: code }')).toBe(
      'metrics.error-label code needs error-pattern: the values of errors, like "5.." or "5xx"',
    );
    expect(error('{ error-label: code, error-pattern: "5[" }')).toBe(
      'metrics.error-pattern is "5[": expected a regular expression for the error label\'s values, like "5.." or "5xx"',
    );
    expect(error('{ error-label: code, code-class-label: class }')).toBe(
      'metrics has both code-class-label and error-label: use error-label (with error-pattern)',
    );
    expect(error('{ info-on: [job] }')).toBe(
      'metrics.info-on needs info-series: the series that has the revision and namespace',
    );
    expect(error('{ base: knative, info-on: [] }')).toBe(
      'metrics.info-on is []: expected a list of label names, like [job, instance]',
    );
    expect(error('{ info-series: "target-info" }')).toMatch(
      /^metrics.info-series is "target-info": expected a/,
    );
    expect(error('{ name: "" }')).toBe('metrics.name must be a non-empty string');
  });
});

describe('auto', () => {
  it('asks each known schema in turn about the stable revision or the candidate; the first with data wins', async () => {
    const asked: string[] = [];
    const r = await resolveSchema('auto', VARS, async (q) => {
      asked.push(q);
      return q.includes('revision_request_count') ? 3 : undefined;
    });
    expect(r.schema).toBe(KNATIVE_OPENCENSUS);
    expect(asked).toEqual([
      `${presenceQuery(KNATIVE_OTEL, 'prod', 'hello-1')} or ${presenceQuery(KNATIVE_OTEL, 'prod', 'hello-2')}`,
      `${presenceQuery(KNATIVE_OPENCENSUS, 'prod', 'hello-1')} or ${presenceQuery(KNATIVE_OPENCENSUS, 'prod', 'hello-2')}`,
    ]);
    expect(presenceQuery(KNATIVE_OTEL, 'prod', 'hello-1')).toBe(
      'count((kn_serving_invocation_duration_seconds_count * on(job, instance) group_left() ' +
        'target_info{k8s_namespace_name="prod",kn_revision_name="hello-1"}))',
    );
    expect(presenceQuery(KNATIVE_OPENCENSUS, 'a"b', 'r')).toBe(
      'count(revision_request_count{namespace_name="a\\"b",revision_name="r"})',
    );
  });

  it('reports none, or the error, and a fixed schema unasked', async () => {
    const none = await resolveSchema('auto', { ...VARS, stable_revision: '' }, async () => undefined);
    expect(none.schema).toBeUndefined();
    expect(none.detail).toBe(
      'metrics: auto found no series for hello-2 in any known schema: knative (Knative 1.19+, OpenTelemetry): ' +
        'kn_serving_invocation_duration_seconds_count, knative-opencensus (Knative up to 1.18): revision_request_count; ' +
        'the built-in queries have no data until one has',
    );
    const failed = await resolveSchema('auto', VARS, () => Promise.reject(new Error('connection refused')));
    expect(failed.error).toMatch(
      /could not ask Prometheus about knative \(Knative 1\.19\+, OpenTelemetry\): connection refused/,
    );
    const fixed = await resolveSchema(KNATIVE_OTEL, VARS, () => Promise.reject(new Error('not asked')));
    expect(fixed.schema).toBe(KNATIVE_OTEL);
  });

  it('revisionSeries wraps the selector and joins the info series after it', () => {
    const where = { namespace: 'ns', revision: 'r', matchers: 'http_response_status_code=~"5.."' };
    expect(revisionSeries(KNATIVE_OTEL, 'x_total', where, (s) => `increase(${s}[5m])`)).toBe(
      '(increase(x_total{http_response_status_code=~"5.."}[5m]) * on(job, instance) group_left() ' +
        'target_info{k8s_namespace_name="ns",kn_revision_name="r"})',
    );
    expect(revisionSeries(KNATIVE_OPENCENSUS, 'x', { namespace: 'ns', revision: 'r' })).toBe(
      'x{namespace_name="ns",revision_name="r"}',
    );
  });
});
