// The `analysis` input, PromQL templates and durations, and how a value is judged against its bounds.

import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { formatValue, judgeValue, promDuration, renderQuery } from '../../src/health/prometheus.ts';
import {
  DEFAULT_TIMEOUT_MS,
  builtinQuery,
  parseAnalysis,
  type PrometheusQuery,
} from '../../src/health/analysis-config.ts';
import { KNATIVE_OPENCENSUS, KNATIVE_OTEL } from '../../src/health/metrics-schema.ts';

const URL_LINE = 'prometheus: { url: http://prometheus.monitoring:9090 }';

/** The message parseAnalysis throws for `text`, checking it is an InputError for 'analysis'. */
function error(text: string): string {
  try {
    parseAnalysis(text);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).input).toBe('analysis');
    return (e as Error).message;
  }
  throw new Error(`expected parseAnalysis to fail for:\n${text}`);
}

const withQueries = (...queries: string[]) =>
  `${URL_LINE}\nqueries:\n${queries.map((q) => `  - ${q.trim().replace(/\n/g, '\n    ')}`).join('\n')}\n`;

const VARS = {
  namespace: 'prod',
  service: 'hello',
  revision: 'hello-abc1234',
  stable_revision: 'hello-0000001',
  interval: '30s',
};

describe('parseAnalysis', () => {
  it('gives no queries for blank text, or YAML with nothing in it', () => {
    for (const text of ['', '  \n', '# only a comment\n']) {
      expect(parseAnalysis(text)).toEqual({ headers: {}, timeoutMs: DEFAULT_TIMEOUT_MS, queries: [] });
    }
  });

  it('reads the example: server, headers, timeout, defaults and per-query on-no-data', () => {
    const cfg = parseAnalysis(`
prometheus:
  url: http://prometheus.monitoring:9090
  headers: { Authorization: Bearer xyz, X-Scope-OrgID: 7 }
  timeout: 5s
on-no-data: ignore
queries:
  - name: success-rate
    builtin: request-success-rate
    min: 0.99
  - name: p99
    builtin: request-duration-p99
    max: 500
  - name: errors-vs-stable
    query: |
      sum(rate(revision_request_count{namespace_name="{{ namespace }}",revision_name="{{revision}}",response_code_class="5xx"}[{{ interval }}]))
    min: 0
    max: 0.5
    on-no-data: fail
`);
    expect(cfg.url?.toString()).toBe('http://prometheus.monitoring:9090/');
    expect(cfg.headers).toEqual({ authorization: 'Bearer xyz', 'x-scope-orgid': '7' });
    expect(cfg.timeoutMs).toBe(5000);
    expect(cfg.queries.map((q) => [q.name, q.min, q.max, q.onNoData, q.builtin])).toEqual([
      ['success-rate', 0.99, undefined, 'ignore', 'request-success-rate'],
      ['p99', undefined, 500, 'ignore', 'request-duration-p99'],
      ['errors-vs-stable', 0, 0.5, 'fail', undefined],
    ]);
    expect(cfg.queries[2]!.promql).toBe(
      'sum(rate(revision_request_count{namespace_name="{{ namespace }}",revision_name="{{revision}}",' +
        'response_code_class="5xx"}[{{ interval }}]))',
    );
    expect(cfg.queries[2]).not.toHaveProperty('builtin');
    expect(cfg.queries[0]).not.toHaveProperty('max');
  });

  it('defaults: timeout 10s, on-no-data ignore, no headers; a top-level on-no-data applies to every query', () => {
    const cfg = parseAnalysis(withQueries('{ name: a, builtin: request-success-rate, min: 0.9 }'));
    expect(cfg.timeoutMs).toBe(10_000);
    expect(cfg.headers).toEqual({});
    expect(cfg.queries[0]!.onNoData).toBe('ignore');
    const strict = parseAnalysis(
      `on-no-data: fail\n${withQueries(
        '{ name: a, builtin: request-success-rate, min: 0.9 }',
        '{ name: b, builtin: request-duration-p99, max: 100, on-no-data: ignore }',
      )}`,
    );
    expect(strict.queries.map((q) => q.onNoData)).toEqual(['fail', 'ignore']);
  });

  it('expands the built-ins over Knative 1.19+ metrics with metrics: knative', () => {
    expect(parseAnalysis(withQueries('{ name: ok, builtin: request-success-rate, min: 0.99 }')).metrics).toBe(
      'auto',
    );
    const cfg = parseAnalysis(
      'metrics: knative\n' +
        withQueries(
          '{ name: ok, builtin: request-success-rate, min: 0.99 }',
          '{ name: p99, builtin: request-duration-p99, max: 500 }',
        ),
    );
    expect(cfg.metrics).toBe(KNATIVE_OTEL);
    const join =
      'on(job, instance) group_left() target_info{k8s_namespace_name="{{ namespace }}",kn_revision_name="{{ revision }}"}';
    expect(cfg.queries[0]!.promql).toBe(
      '1 - ((sum((rate(kn_serving_invocation_duration_seconds_count{http_response_status_code=~"5.."}[{{ interval }}]) * ' +
        `${join})) or vector(0)) / ` +
        `sum((rate(kn_serving_invocation_duration_seconds_count[{{ interval }}]) * ${join})))`,
    );
    expect(renderQuery(cfg.queries[1]!.promql, VARS)).toBe(
      '1000 * histogram_quantile(0.99, sum by (le) ((rate(kn_serving_invocation_duration_seconds_bucket[30s]) * ' +
        'on(job, instance) group_left() target_info{k8s_namespace_name="prod",kn_revision_name="hello-abc1234"})))',
    );
  });

  it('expands the built-ins over Knative up to 1.18 with metrics: knative-opencensus (and auto, until a run resolves it)', () => {
    const cfg = parseAnalysis(
      `metrics: knative-opencensus\n${withQueries(
        '{ name: ok, builtin: request-success-rate, min: 0.99 }',
        '{ name: p99, builtin: request-duration-p99, max: 500 }',
      )}`,
    );
    const auto = parseAnalysis(
      withQueries(
        '{ name: ok, builtin: request-success-rate, min: 0.99 }',
        '{ name: p99, builtin: request-duration-p99, max: 500 }',
      ),
    );
    expect(auto.queries.map((q) => q.promql)).toEqual(cfg.queries.map((q) => q.promql));
    const sel = 'namespace_name="{{ namespace }}",revision_name="{{ revision }}"';
    expect(cfg.queries[0]!.promql).toBe(
      `1 - ((sum(rate(revision_request_count{${sel},response_code_class=~"5xx"}[{{ interval }}])) or vector(0)) / ` +
        `sum(rate(revision_request_count{${sel}}[{{ interval }}])))`,
    );
    expect(renderQuery(cfg.queries[1]!.promql, VARS)).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(revision_request_latencies_bucket{' +
        'namespace_name="prod",revision_name="hello-abc1234"}[30s])))',
    );
  });

  it('expands the built-ins with overridden metric and label names (the map of Knative up to 1.18)', () => {
    const cfg = parseAnalysis(`
metrics:
  request-count: kn_requests_total
  request-latencies: "kn:latency_ms"
  revision-label: rev
  namespace-label: ns
  code-class-label: class
${withQueries(
  '{ name: ok, builtin: request-success-rate, min: 0.99 }',
  '{ name: p99, builtin: request-duration-p99, max: 500 }',
)}`);
    expect(renderQuery(cfg.queries[0]!.promql, VARS)).toBe(
      '1 - ((sum(rate(kn_requests_total{ns="prod",rev="hello-abc1234",class=~"5xx"}[30s])) or vector(0)) / ' +
        'sum(rate(kn_requests_total{ns="prod",rev="hello-abc1234"}[30s])))',
    );
    expect(renderQuery(cfg.queries[1]!.promql, VARS)).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(kn:latency_ms_bucket{ns="prod",rev="hello-abc1234"}[30s])))',
    );
    // Only some names overridden: the others keep those of Knative up to 1.18, as before there were schemas.
    const partial = parseAnalysis(
      `metrics: { revision-label: rev }\n${withQueries('{ name: ok, builtin: request-success-rate, min: 0 }')}`,
    );
    expect(partial.queries[0]!.promql).toContain(
      'revision_request_count{namespace_name="{{ namespace }}",rev=',
    );
    expect(builtinQuery('request-success-rate', KNATIVE_OPENCENSUS)).toBe(
      partial.queries[0]!.promql.replace(/\brev=/g, 'revision_name='),
    );
  });

  it('moves credentials in the URL into a basic Authorization header', () => {
    const cfg = parseAnalysis(
      `prometheus: { url: "https://user:p%40ss@prom.example.com/prefix/?x=1#frag" }\n` +
        'queries: [{ name: a, builtin: request-success-rate, min: 0.9 }]',
    );
    expect(cfg.url?.toString()).toBe('https://prom.example.com/prefix/?x=1');
    expect(cfg.headers.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    // An explicit header wins.
    const explicit = parseAnalysis(
      `prometheus: { url: "http://u:p@prom:9090", headers: { authorization: Bearer t } }\n` +
        'queries: [{ name: a, builtin: request-success-rate, min: 0.9 }]',
    );
    expect(explicit.headers.authorization).toBe('Bearer t');
  });

  it('accepts a prometheus section without queries, and numeric strings as bounds', () => {
    expect(parseAnalysis(URL_LINE).queries).toEqual([]);
    const cfg = parseAnalysis(withQueries('{ name: a, builtin: request-success-rate, min: "0.95", max: 1 }'));
    expect(cfg.queries[0]).toMatchObject({ min: 0.95, max: 1 });
    expect(
      parseAnalysis(withQueries('{ name: a, builtin: request-success-rate, min: 1, max: 1 }')).queries,
    ).toHaveLength(1);
    expect(parseAnalysis(`prometheus: { url: "http://p:9090", timeout: 2 }`).timeoutMs).toBe(2000);
  });

  it("judges users' traffic on queue-proxy's series with a server, unless traffic: off", () => {
    // metrics: auto reads Knative 1.18's series for users' traffic until the judge resolves the schema itself.
    expect(parseAnalysis(URL_LINE).traffic).toEqual({
      name: 'knative-opencensus',
      requests: 'revision_request_count',
      buckets: 'revision_request_latencies_bucket',
      unit: 'ms',
      revisionLabel: 'revision_name',
      namespaceLabel: 'namespace_name',
      error: { label: 'response_code_class', pattern: '5xx' },
    });
    expect(parseAnalysis(`${URL_LINE}\ntraffic: off`).traffic).toBeUndefined();
    expect(parseAnalysis(`${URL_LINE}\ntraffic: on`).traffic?.name).toBe('knative-opencensus');
    expect(parseAnalysis('traffic: on').traffic).toBeUndefined();
    expect(
      parseAnalysis(`${URL_LINE}\nmetrics: { request-count: istio_requests_total, revision-label: x }`)
        .traffic,
    ).toMatchObject({
      name: 'custom',
      requests: 'istio_requests_total',
      revisionLabel: 'x',
    });
    expect(parseAnalysis(`${URL_LINE}\nmetrics: knative`).traffic).toBe(KNATIVE_OTEL);
    expect(parseAnalysis(`${URL_LINE}\ntraffic: { every: 15s }`).trafficEveryMs).toBe(15_000);
    expect(parseAnalysis(`${URL_LINE}\ntraffic: {}`).trafficEveryMs).toBeUndefined();
    expect(error(`${URL_LINE}\ntraffic: sometimes`)).toBe(
      `Input 'analysis': traffic is "sometimes": expected on (the default with a Prometheus server), off, or { every: 30s }`,
    );
    expect(error(`${URL_LINE}\ntraffic: { every: 10ms }`)).toBe(
      `Input 'analysis': traffic.every is "10ms": expected a duration of at least 1s, like 15s or 1m`,
    );
    expect(error(`${URL_LINE}\ntraffic: { evry: 10s }`)).toMatch(
      /traffic has unknown key "evry": expected every/,
    );
  });

  describe('errors', () => {
    it('bad YAML, and YAML that is not a map', () => {
      expect(error('queries: [ { name: a')).toMatch(/^Input 'analysis': is not valid YAML: /);
      expect(error('- a\n- b')).toBe(
        "Input 'analysis': expected a YAML map with prometheus, on-no-data, metrics, queries, traffic; got a list",
      );
      expect(error('just text')).toMatch(/expected a YAML map .*; got string/);
    });

    it('unknown keys, listing the allowed ones', () => {
      expect(error('promethus: { url: http://p }')).toBe(
        `Input 'analysis': analysis has unknown key "promethus": expected prometheus, on-no-data, metrics, queries, traffic`,
      );
      expect(error('prometheus: { url: http://p, token: x }')).toBe(
        `Input 'analysis': prometheus has unknown key "token": expected url, headers, timeout`,
      );
      expect(error('metrics: { request_count: x }')).toBe(
        'Input \'analysis\': metrics has unknown key "request_count": expected base, name, request-count, ' +
          'request-latencies, latency-unit, revision-label, namespace-label, error-label, error-pattern, ' +
          'code-class-label, info-series, info-on',
      );
      expect(error(withQueries('{ name: a, builtin: request-success-rate, min: 0.9, threshold: 1 }'))).toBe(
        `Input 'analysis': queries[0] "a" has unknown key "threshold": expected name, builtin, query, min, max, on-no-data`,
      );
    });

    it('an unknown builtin, listing the built-ins', () => {
      expect(
        error(
          withQueries(
            '{ name: ok, builtin: request-success-rate, min: 0.9 }',
            '{ name: lat, builtin: p99, max: 5 }',
          ),
        ),
      ).toBe(
        `Input 'analysis': queries[1] "lat".builtin is "p99": expected one of request-success-rate, request-duration-p99`,
      );
    });

    it('neither or both of builtin and query', () => {
      expect(error(withQueries('{ name: a, min: 1 }'))).toBe(
        `Input 'analysis': queries[0] "a" needs exactly one of builtin (request-success-rate, request-duration-p99) ` +
          'or query (PromQL), found neither',
      );
      expect(error(withQueries('{ name: a, builtin: request-success-rate, query: up, min: 1 }'))).toMatch(
        /queries\[0\] "a" needs exactly one of builtin .* not both$/,
      );
      expect(error(withQueries('{ name: a, query: "  ", min: 1 }'))).toBe(
        `Input 'analysis': queries[0] "a".query must be a PromQL expression (a non-empty string)`,
      );
    });

    it('a missing, or missing url when there are queries', () => {
      expect(error('queries: [{ name: a, builtin: request-success-rate, min: 0.9 }]')).toBe(
        "Input 'analysis': prometheus.url is required with queries: the Prometheus server's base URL, like " +
          'http://prometheus.monitoring:9090',
      );
      expect(
        error('prometheus: { timeout: 5s }\nqueries: [{ name: a, builtin: request-success-rate, min: 0.9 }]'),
      ).toMatch(/prometheus\.url is required with queries/);
    });

    it('a bad url', () => {
      expect(error('prometheus: { url: "not a url" }')).toBe(
        `Input 'analysis': prometheus.url "not a url" is not a URL: expected the server's base URL, like ` +
          'http://prometheus.monitoring:9090',
      );
      expect(error('prometheus: { url: 9090 }')).toMatch(/prometheus\.url 9090 is not a URL/);
      expect(error('prometheus: { url: "http://me:s3cr3t@bad host" }')).toMatch(
        /^Input 'analysis': prometheus\.url "http:\/\/…@bad host" is not a URL/,
      );
      expect(error('prometheus: { url: "ftp://p:9090" }')).toBe(
        "Input 'analysis': prometheus.url must be an http:// or https:// URL",
      );
      expect(error('prometheus: http://p:9090')).toMatch(/prometheus must be a map with url/);
    });

    it('bad headers, without showing their values', () => {
      expect(error('prometheus: { url: "http://p", headers: [a] }')).toBe(
        "Input 'analysis': prometheus.headers must be a map of header names to values",
      );
      expect(error('prometheus: { url: "http://p", headers: { "bad name": x } }')).toMatch(
        /prometheus\.headers has "bad name", which is not a valid HTTP header name/,
      );
      const msg = error('prometheus: { url: "http://p", headers: { Authorization: { secret: s3cr3t } } }');
      expect(msg).toBe("Input 'analysis': prometheus.headers.Authorization must be a string");
      const multiline = error(
        'prometheus: { url: "http://p", headers: { Authorization: "Bearer s3cr3t\\nX: y" } }',
      );
      expect(multiline).toBe(
        "Input 'analysis': prometheus.headers.Authorization must not contain line breaks",
      );
      expect(msg + multiline).not.toContain('s3cr3t');
    });

    it('a bad timeout', () => {
      expect(error('prometheus: { url: "http://p", timeout: soon }')).toBe(
        `Input 'analysis': prometheus.timeout is "soon": expected a duration from 1ms to 10m, like 10s or 500ms`,
      );
      expect(error('prometheus: { url: "http://p", timeout: 0s }')).toMatch(/prometheus\.timeout is "0s"/);
      expect(error('prometheus: { url: "http://p", timeout: 1h }')).toMatch(/prometheus\.timeout is "1h"/);
    });

    it('bad on-no-data', () => {
      expect(error(`on-no-data: skip\n${URL_LINE}`)).toBe(
        `Input 'analysis': on-no-data is "skip": expected ignore or fail`,
      );
      expect(error(withQueries('{ name: a, builtin: request-success-rate, min: 1, on-no-data: true }'))).toBe(
        `Input 'analysis': queries[0] "a".on-no-data is true: expected ignore or fail`,
      );
    });

    it('bad metric and label names', () => {
      expect(error('metrics: { request-count: "requests-total" }')).toBe(
        `Input 'analysis': metrics.request-count is "requests-total": expected a Prometheus metric name ` +
          "(letters, digits, '_', ':'; not starting with a digit)",
      );
      expect(error('metrics: { revision-label: "rev:name" }')).toBe(
        `Input 'analysis': metrics.revision-label is "rev:name": expected a Prometheus label name ` +
          "(letters, digits, '_'; not starting with a digit)",
      );
    });

    it('queries that are not a list, or not maps, or have no name', () => {
      expect(error(`${URL_LINE}\nqueries: { name: a }`)).toBe(
        "Input 'analysis': queries must be a list of queries, each with name, builtin or query, min or max",
      );
      expect(error(withQueries('just-a-string'))).toBe(
        "Input 'analysis': queries[0] must be a map with name, builtin or query, and min or max",
      );
      expect(error(withQueries('{ builtin: request-success-rate, min: 1 }'))).toBe(
        "Input 'analysis': queries[0] needs a name: a non-empty string",
      );
      expect(error(withQueries('{ name: 7, builtin: request-success-rate, min: 1 }'))).toBe(
        "Input 'analysis': queries[0] needs a name: a non-empty string",
      );
    });

    it('duplicate names', () => {
      expect(
        error(
          withQueries(
            '{ name: a, builtin: request-success-rate, min: 0.9 }',
            '{ name: b, builtin: request-duration-p99, max: 9 }',
            '{ name: a, builtin: request-duration-p99, max: 9 }',
          ),
        ),
      ).toBe(`Input 'analysis': queries[2] "a": the name "a" is used by an earlier query`);
    });

    it('bad numbers, no bounds, and min > max', () => {
      expect(error(withQueries('{ name: a, builtin: request-success-rate, min: high }'))).toBe(
        `Input 'analysis': queries[0] "a".min is "high": expected a finite number, like 0.99 or 500`,
      );
      expect(error(withQueries('{ name: a, builtin: request-success-rate, max: .inf }'))).toMatch(
        /queries\[0\] "a"\.max is Infinity: expected a finite number/,
      );
      expect(error(withQueries('{ name: a, builtin: request-success-rate, max: [1] }'))).toMatch(
        /queries\[0\] "a"\.max is \[1\]: expected a finite number/,
      );
      expect(error(withQueries('{ name: a, builtin: request-success-rate }'))).toBe(
        `Input 'analysis': queries[0] "a" needs min or max (or both): the bounds it must keep`,
      );
      expect(error(withQueries('{ name: a, builtin: request-success-rate, min: 0.9, max: 0.5 }'))).toBe(
        `Input 'analysis': queries[0] "a" has min 0.9 greater than max 0.5: expected min <= max`,
      );
    });

    it('template variables that do not exist', () => {
      expect(error(withQueries(`{ name: q, query: 'up{pod="{{ pod }}"}', max: 1 }`))).toBe(
        `Input 'analysis': queries[0] "q".query uses unknown template variable "{{ pod }}": expected one of ` +
          '{{ namespace }}, {{ service }}, {{ revision }}, {{ stable_revision }}, {{ interval }}',
      );
      expect(
        error(withQueries(`{ name: q, query: 'up{a="{{revision}}",b="{{Revision}}"}', max: 1 }`)),
      ).toMatch(/uses unknown template variable "\{\{Revision\}\}"/);
      expect(error(withQueries(`{ name: q, query: 'up{a="{{ revision }"}', max: 1 }`))).toBe(
        `Input 'analysis': queries[0] "q".query has a "{{" without a closing "}}": expected a template variable ` +
          'like {{ revision }}',
      );
    });
  });
});

describe('renderQuery', () => {
  it('fills in every variable, with or without spaces inside the braces', () => {
    expect(
      renderQuery(
        'a{ns="{{namespace}}",svc="{{ service }}",rev="{{  revision\t}}",old="{{stable_revision }}"}[{{ interval}}]',
        VARS,
      ),
    ).toBe('a{ns="prod",svc="hello",rev="hello-abc1234",old="hello-0000001"}[30s]');
    expect(renderQuery('x{a="{{ revision }}"} / x{a="{{ revision }}"}', VARS)).toBe(
      'x{a="hello-abc1234"} / x{a="hello-abc1234"}',
    );
  });

  it('escapes backslashes and quotes in a quoted value, and nowhere else', () => {
    const vars = { ...VARS, revision: 'a"} or vector(1) #\\', interval: '1m' };
    expect(renderQuery('x{r="{{ revision }}"}', vars)).toBe('x{r="a\\"} or vector(1) #\\\\"}');
    expect(renderQuery("x{r='{{ revision }}'}", { ...VARS, revision: `it's\\` })).toBe("x{r='it\\'s\\\\'}");
    expect(renderQuery("x{r='{{ revision }}'}", { ...VARS, revision: 'say "hi"' })).toBe(`x{r='say "hi"'}`);
    expect(renderQuery('x{r="{{ revision }}"}', { ...VARS, revision: 'two\nlines' })).toBe(
      'x{r="two\\nlines"}',
    );
    // Outside quotes: as is.
    expect(renderQuery('rate(x[{{ interval }}]) > {{ revision }}', { ...VARS, revision: '"q"' })).toBe(
      'rate(x[30s]) > "q"',
    );
    // A raw string has no escapes.
    expect(renderQuery('x{r=~`{{ revision }}.*`}', VARS)).toBe('x{r=~`hello-abc1234.*`}');
    expect(() => renderQuery('x{r=~`{{ revision }}`}', { ...VARS, revision: 'a`b' })).toThrow(/raw string/);
  });

  it('follows escaped quotes and comments when telling what is inside a string', () => {
    // The \" inside the first string does not end it; the placeholder after the string is outside.
    expect(
      renderQuery('label_replace(x, "a", "\\"{{ revision }}", "b", "")', { ...VARS, revision: 'r"' }),
    ).toBe('label_replace(x, "a", "\\"r\\"", "b", "")');
    // A quote in a comment starts no string.
    expect(
      renderQuery('# it\'s the rate\nx{r="{{ revision }}"} > {{ interval }}', { ...VARS, revision: 'a"b' }),
    ).toBe('# it\'s the rate\nx{r="a\\"b"} > 30s');
  });

  it('refuses an unknown variable', () => {
    expect(() => renderQuery('x{a="{{ nope }}"}', VARS)).toThrow('unknown template variable {{ nope }}');
  });
});

describe('promDuration', () => {
  it('renders ms in the largest unit that divides them', () => {
    expect(promDuration(30_000)).toBe('30s');
    expect(promDuration(90_000)).toBe('90s');
    expect(promDuration(120_000)).toBe('2m');
    expect(promDuration(1500)).toBe('1500ms');
    expect(promDuration(3_600_000)).toBe('1h');
    expect(promDuration(5_400_000)).toBe('90m');
    expect(promDuration(86_400_000)).toBe('1d');
    expect(promDuration(10_000.4)).toBe('10s');
    expect(promDuration(0)).toBe('0s');
  });
});

describe('judging a value', () => {
  const q = (over: Partial<PrometheusQuery>): PrometheusQuery => ({
    name: 'success-rate',
    promql: 'x',
    onNoData: 'ignore',
    ...over,
  });

  it('passes inside the bounds and fails outside them, with the bound in the detail', () => {
    expect(judgeValue(q({ min: 0.99 }), 0.98234)).toMatchObject({
      verdict: 'fail',
      value: 0.98234,
      detail: 'success-rate = 0.982 < min 0.99',
    });
    expect(judgeValue(q({ min: 0.99 }), 0.995).detail).toBe('success-rate = 0.995 ≥ min 0.99');
    expect(judgeValue(q({ name: 'p99', builtin: 'request-duration-p99', max: 500 }), 412.3)).toMatchObject({
      verdict: 'pass',
      detail: 'p99 = 412 ms ≤ max 500',
    });
    expect(judgeValue(q({ name: 'p99', builtin: 'request-duration-p99', max: 500 }), 1234.5).detail).toBe(
      'p99 = 1235 ms > max 500',
    );
    expect(judgeValue(q({ name: 'e', min: 0, max: 0.5 }), 0.25).detail).toBe('e = 0.25 ≥ min 0, ≤ max 0.5');
    expect(judgeValue(q({ name: 'e', min: 0, max: 0.5 }), -1).verdict).toBe('fail');
    // Only the p99 builtin is in ms.
    expect(judgeValue(q({ name: 'custom', max: 500 }), 600).detail).toBe('custom = 600 > max 500');
    expect(judgeValue(q({ name: 'p99', builtin: 'request-duration-p99', max: 500 }), Infinity).detail).toBe(
      'p99 = +Inf ms > max 500',
    );
  });

  it('shows enough digits to tell a value from its bound', () => {
    expect(judgeValue(q({ min: 0.99 }), 0.98996).detail).toBe('success-rate = 0.98996 < min 0.99');
    expect(judgeValue(q({ max: 500 }), 500.4).detail).toBe('success-rate = 500.4 > max 500');
    expect(formatValue(0.5)).toBe('0.5');
    expect(formatValue(123456.7)).toBe('123457');
  });

  it('no data: ignored, or a failure with on-no-data: fail', () => {
    expect(judgeValue(q({ min: 0.99 }), undefined)).toEqual({
      query: q({ min: 0.99 }),
      verdict: 'no-data',
      detail: 'success-rate: no data (ignored)',
    });
    expect(judgeValue(q({ name: 'errors-vs-stable', max: 0.5, onNoData: 'fail' }), undefined)).toMatchObject({
      verdict: 'fail',
      detail: 'errors-vs-stable: no data (on-no-data: fail)',
    });
  });
});
