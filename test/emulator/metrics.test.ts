// queue-proxy's metrics as the emulator serves them, in both generations, per pod, and across a pod restart.
// Knative 1.19+ (`otel`): serving pkg/queue/request_metric.go (kn.serving.invocation.duration, its buckets and
// http.response.status_code), pkg/queue/sharedmain/otel.go (the resource: target_info), pkg/queue/sharedmain/
// handlers.go + otelhttp v0.69.0 internal/semconv/server.go (http.server.request.duration), pkg/queue/
// routetag_handler.go (kn.route.tag), knative.dev/pkg observability/metrics/prometheus_enabled.go (the exporter,
// UnderscoreEscapingWithSuffixes: dots to underscores, `_seconds`, otel_scope_* labels, target_info).
// Knative up to 1.18 (`opencensus`): serving knative-v1.18.2 pkg/queue/request_metric.go and pkg/metrics/key.go.

import { afterEach, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, LATENCY_BUCKETS_S, Metrics, type RequestLabels } from './metrics.ts';
import { sendRequests, service, startHarness, type Harness } from './helpers.ts';

const REQ: RequestLabels = {
  namespace: 'prod',
  service: 'hello',
  configuration: 'hello',
  revision: 'hello-00001',
  routeTag: 'DISABLED',
  code: 200,
  method: 'GET',
  host: 'hello.prod.example.com',
};

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const pick = (samples: Sample[], name: string, match: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
const total = (samples: Sample[], name: string, match: Record<string, string> = {}) =>
  pick(samples, name, match).reduce((a, s) => a + s.value, 0);

describe('Metrics, otel (Knative 1.19+)', () => {
  it('serves kn_serving_invocation_duration_seconds with the status code, and the revision on target_info', () => {
    const m = new Metrics('otel');
    m.record(REQ, 30);
    m.record({ ...REQ, code: 503 }, 1200);
    const text = m.render();
    const pod = m.pod('prod', 'hello-00001')!;
    const instance = `${pod.ip}:9091`;
    // The exporter's translation: the unit as `_seconds`, dots to underscores, the scope as otel_scope_* labels;
    // the resource attributes only on target_info.
    expect(text).toContain(
      '# HELP kn_serving_invocation_duration_seconds The duration of task execution\n' +
        '# TYPE kn_serving_invocation_duration_seconds histogram\n' +
        `kn_serving_invocation_duration_seconds_bucket{http_response_status_code="200",instance="${instance}",` +
        'le="0.005",otel_scope_name="knative.dev/serving/pkg/queue",otel_scope_schema_url="",otel_scope_version=""} 0\n',
    );
    const s = parse(text);
    const count = pick(s, 'kn_serving_invocation_duration_seconds_count');
    expect(count.map((c) => [c.labels.http_response_status_code, c.value])).toEqual([
      ['200', 1],
      ['503', 1],
    ]);
    for (const c of count) expect(c.labels).not.toHaveProperty('kn_revision_name');
    const buckets = pick(s, 'kn_serving_invocation_duration_seconds_bucket', {
      http_response_status_code: '200',
    });
    expect(buckets.map((b) => b.labels.le)).toEqual([...LATENCY_BUCKETS_S.map(String), '+Inf']);
    // 30 ms: first in the 0.05 s bucket.
    expect(buckets.find((b) => b.labels.le === '0.025')!.value).toBe(0);
    expect(buckets.find((b) => b.labels.le === '0.05')!.value).toBe(1);
    expect(total(s, 'kn_serving_invocation_duration_seconds_sum')).toBeCloseTo(1.23, 9);
    expect(pick(s, 'target_info')).toEqual([
      {
        name: 'target_info',
        value: 1,
        labels: {
          instance,
          k8s_container_name: 'queue-proxy',
          k8s_namespace_name: 'prod',
          k8s_pod_name: 'hello-00001-deployment-0',
          kn_configuration_name: 'hello',
          kn_revision_name: 'hello-00001',
          kn_service_name: 'hello',
          service_instance_id: 'hello-00001-deployment-0',
          service_name: 'hello',
          service_version: 'unknown',
          telemetry_sdk_language: 'go',
          telemetry_sdk_name: 'opentelemetry',
          telemetry_sdk_version: '1.44.0',
        },
      },
    ]);
    // otelhttp's server histogram around the handlers, with kn.route.tag from the labeler.
    expect(
      pick(s, 'http_server_request_duration_seconds_count', { http_response_status_code: '200' }),
    ).toEqual([
      {
        name: 'http_server_request_duration_seconds_count',
        value: 1,
        labels: {
          http_request_method: 'GET',
          http_response_status_code: '200',
          instance,
          kn_route_tag: 'kn:disabled',
          network_protocol_name: 'http',
          network_protocol_version: '1.1',
          otel_scope_name: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp',
          otel_scope_schema_url: '',
          otel_scope_version: '0.69.0',
          server_address: 'hello.prod.example.com',
          url_scheme: 'http',
        },
      },
    ]);
    // No Knative 1.18 names.
    expect(text).not.toContain('revision_request');
  });

  it('one pod alone is what its queue-proxy serves: no instance label', () => {
    const m = new Metrics('otel');
    m.record(REQ, 10);
    const text = m.render(m.pod('prod', 'hello-00001'));
    expect(text).not.toContain('instance=');
    expect(parse(text).filter((x) => x.name === 'target_info')).toHaveLength(1);
    expect(new Metrics('otel').render()).toBe('');
  });

  it('a restart starts a new pod: new name and instance, counters from zero', () => {
    const m = new Metrics('otel');
    for (let i = 0; i < 3; i++) m.record(REQ, 10);
    m.record({ ...REQ, revision: 'hello-00002' }, 10);
    const first = m.pod('prod', 'hello-00001')!;
    expect(m.restartPod('prod', 'hello-00001')).toBe('hello-00001-deployment-0');
    // Gone until it serves again.
    expect(pick(parse(m.render()), 'target_info').map((t) => t.labels.kn_revision_name)).toEqual([
      'hello-00002',
    ]);
    m.record(REQ, 10);
    const second = m.pod('prod', 'hello-00001')!;
    expect(second.name).toBe('hello-00001-deployment-1');
    expect(second.ip).not.toBe(first.ip);
    const s = parse(m.render());
    const info = pick(s, 'target_info', { kn_revision_name: 'hello-00001' });
    expect(info.map((t) => [t.labels.k8s_pod_name, t.labels.instance])).toEqual([
      ['hello-00001-deployment-1', `${second.ip}:9091`],
    ]);
    expect(total(s, 'kn_serving_invocation_duration_seconds_count', { instance: `${second.ip}:9091` })).toBe(
      1,
    );
    // The other revision's pod is untouched.
    expect(m.pod('prod', 'hello-00002')!.name).toBe('hello-00002-deployment-0');
  });

  it("spells queue-proxy 1.19+'s route tags", () => {
    const m = new Metrics('otel');
    for (const routeTag of ['DISABLED', 'DEFAULT', 'UNDEFINED', 'canary']) m.record({ ...REQ, routeTag }, 1);
    m.record({ ...REQ, method: 'PURGE', host: 'hello.prod.example.com:8080' }, 1);
    const s = parse(m.render());
    expect(pick(s, 'http_server_request_duration_seconds_count').map((x) => x.labels.kn_route_tag)).toEqual([
      'kn:disabled',
      'kn:default',
      'kn:undefined',
      'canary',
      'kn:disabled',
    ]);
    const other = pick(s, 'http_server_request_duration_seconds_count', { http_request_method: '_OTHER' });
    expect(other.map((x) => [x.labels.server_address, x.labels.server_port])).toEqual([
      ['hello.prod.example.com', '8080'],
    ]);
  });
});

describe('Metrics, opencensus (Knative up to 1.18)', () => {
  it('serves revision_request_count and revision_request_latencies (ms), every label on every series', () => {
    const m = new Metrics('opencensus');
    m.record(REQ, 30);
    m.record({ ...REQ, code: 500 }, 30);
    const s = parse(m.render());
    expect(pick(s, 'revision_request_count').map((x) => x.labels)).toEqual(
      ['200', '500'].map((code) => ({
        namespace_name: 'prod',
        service_name: 'hello',
        configuration_name: 'hello',
        revision_name: 'hello-00001',
        pod_name: 'hello-00001-deployment-0',
        container_name: 'queue-proxy',
        response_code: code,
        response_code_class: `${code[0]}xx`,
        route_tag: 'DISABLED',
      })),
    );
    expect(total(s, 'revision_app_request_count')).toBe(2);
    const le = pick(s, 'revision_request_latencies_bucket', { response_code: '200' }).map((b) => b.labels.le);
    expect(le).toEqual([...LATENCY_BUCKETS_MS.map(String), '+Inf']);
    expect(pick(s, 'target_info')).toEqual([]);
    expect(pick(s, 'kn_serving_invocation_duration_seconds_count')).toEqual([]);
  });

  it('a restart changes pod_name and starts the counters from zero', () => {
    const m = new Metrics('opencensus');
    for (let i = 0; i < 4; i++) m.record(REQ, 1);
    m.restartPod('prod', 'hello-00001');
    m.record(REQ, 1);
    const s = parse(m.render());
    expect(pick(s, 'revision_request_count').map((x) => [x.labels.pod_name, x.value])).toEqual([
      ['hello-00001-deployment-1', 1],
    ]);
  });
});

describe('the emulator: --metrics, /metrics/NS/POD and POST /emulator/restart-pod', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('otel: restart-pod gives the revision a new pod with fresh counters', async () => {
    h = await startHarness({ seed: 7, metrics: 'otel' });
    await h.create(service('restarts'));
    await h.settled('restarts');
    const host = 'restarts.default.example.com';
    await sendRequests(h.emulator.gatewayUrl, host, 5, 2);
    const scrape = async () => parse(await (await fetch(h!.emulator.metricsUrl)).text());
    let s = await scrape();
    const [info] = pick(s, 'target_info', { kn_revision_name: 'restarts-00001' });
    expect(info!.labels).toMatchObject({ k8s_namespace_name: 'default', kn_service_name: 'restarts' });
    expect(
      total(s, 'kn_serving_invocation_duration_seconds_count', { instance: info!.labels.instance! }),
    ).toBe(5);
    const one = await fetch(`${h.emulator.metricsUrl}/default/${info!.labels.k8s_pod_name}`);
    expect(one.status).toBe(200);
    expect(await one.text()).not.toContain('instance=');
    expect((await fetch(`${h.emulator.metricsUrl}/default/nope`)).status).toBe(404);

    const api = h.emulator.apiUrl;
    const bad = await fetch(`${api}/emulator/restart-pod`, { method: 'POST' });
    expect(bad.status).toBe(400);
    const res = await fetch(`${api}/emulator/restart-pod?namespace=default&revision=restarts-00001`, {
      method: 'POST',
    });
    expect(await res.json()).toEqual({
      namespace: 'default',
      revision: 'restarts-00001',
      old: 'restarts-00001-deployment-0',
    });
    await sendRequests(h.emulator.gatewayUrl, host, 2, 1);
    s = await scrape();
    const infos = pick(s, 'target_info', { kn_revision_name: 'restarts-00001' });
    expect(infos.map((i) => i.labels.k8s_pod_name)).toEqual(['restarts-00001-deployment-1']);
    expect(total(s, 'kn_serving_invocation_duration_seconds_count')).toBe(2);
  });

  it("serves Knative 1.18's names by default (metrics: 'opencensus')", async () => {
    h = await startHarness();
    await h.create(service('old'));
    await h.settled('old');
    await sendRequests(h.emulator.gatewayUrl, 'old.default.example.com', 3, 1);
    const s = parse(await (await fetch(h.emulator.metricsUrl)).text());
    expect(total(s, 'revision_request_count', { revision_name: 'old-00001' })).toBe(3);
    expect(pick(s, 'target_info')).toEqual([]);
  });
});
