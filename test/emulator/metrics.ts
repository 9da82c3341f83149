// Knative queue-proxy metrics for what the gateway served, per pod, in either generation:
// - `otel` (Knative 1.19+): what knative.dev/pkg/observability/metrics/prometheus_enabled.go's
//   OpenTelemetry Prometheus exporter (go.opentelemetry.io/otel/exporters/prometheus v0.66.0, translation
//   strategy UnderscoreEscapingWithSuffixes) serves on a queue-proxy's :9091/metrics with
//   `request-metrics-protocol: prometheus`: kn_serving_invocation_duration_seconds (serving's
//   pkg/queue/request_metric.go), http_server_request_duration_seconds (otelhttp v0.69.0, wrapped around the
//   handlers in pkg/queue/sharedmain/handlers.go) and target_info with the resource of
//   pkg/queue/sharedmain/otel.go. The revision, service and namespace are resource attributes: on target_info
//   only. One endpoint serves every pod, so each pod's series carry `instance="<pod ip>:9091"`, the label
//   Prometheus gives them when it scrapes that pod: scrape the emulator with `honor_labels: true`.
// - `opencensus` (Knative up to 1.18, the emulator's default for now): revision_request_count, revision_request_latencies (ms) and their
//   revision_app_* twins, every label on every series, pod_name among them (serving knative-v1.18.2 pkg/queue/request_metric.go).

export type MetricsGeneration = 'otel' | 'opencensus';
export const GENERATIONS: MetricsGeneration[] = ['otel', 'opencensus'];

/** Knative's request latency buckets up to 1.18, in milliseconds. */
export const LATENCY_BUCKETS_MS = [
  5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 5000,
  10000, 20000, 50000, 100000,
];

/**
 * The buckets of kn.serving.invocation.duration (serving pkg/queue/request_metric.go `latencyBounds`) and of
 * otelhttp's http.server.request.duration (internal/semconv/server.go), in seconds: the same list.
 */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** queue-proxy's port for user metrics (serving pkg/networking/constants.go UserQueueMetricsPort). */
export const QUEUE_METRICS_PORT = 9091;

export interface RequestLabels {
  namespace: string;
  service: string;
  configuration: string;
  revision: string;
  /**
   * queue-proxy's route_tag: `DISABLED` unless tag-header routing is on; then the tag, `DEFAULT` on the service
   * host, or `UNDEFINED` for a tag header that names no tag. (1.19+ spells them kn:disabled, kn:default, kn:undefined.)
   */
  routeTag: string;
  code: number;
  /** The request's method and Host header (otelhttp's http.request.method and server.address/server.port). */
  method?: string;
  host?: string;
}

interface Series {
  labels: Record<string, string>;
  count: number;
  buckets: number[];
  sum: number;
}

/** One queue-proxy: its pod, and its counters since it started. */
export interface Pod {
  namespace: string;
  service: string;
  configuration: string;
  revision: string;
  name: string;
  ip: string;
  series: Map<string, Map<string, Series>>;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function renderLabels(labels: Record<string, string>, sorted: boolean): string {
  const entries = Object.entries(labels);
  if (sorted) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

const QUEUE_SCOPE = {
  otel_scope_name: 'knative.dev/serving/pkg/queue',
  otel_scope_schema_url: '',
  otel_scope_version: '',
};
const OTELHTTP_SCOPE = {
  otel_scope_name: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp',
  otel_scope_schema_url: '',
  otel_scope_version: '0.69.0',
};
const STANDARD_METHODS = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE'];

/** queue-proxy 1.19+'s kn.route.tag (serving pkg/queue/routetag_handler.go). */
function otelRouteTag(tag: string): string {
  return tag === 'DISABLED'
    ? 'kn:disabled'
    : tag === 'DEFAULT'
      ? 'kn:default'
      : tag === 'UNDEFINED'
        ? 'kn:undefined'
        : tag;
}

export class Metrics {
  private readonly pods = new Map<string, Pod>();
  /** Pods started per revision, for the next pod's name. */
  private readonly started = new Map<string, number>();
  private nextIp = 1;

  constructor(readonly generation: MetricsGeneration = 'opencensus') {}

  /** The revision's running pod, started on its first request. */
  pod(namespace: string, revision: string): Pod | undefined {
    return this.pods.get(`${namespace}/${revision}`);
  }

  /** A running pod by its name. */
  podNamed(namespace: string, name: string): Pod | undefined {
    return [...this.pods.values()].find((p) => p.namespace === namespace && p.name === name);
  }

  private podFor(l: RequestLabels): Pod {
    const key = `${l.namespace}/${l.revision}`;
    let pod = this.pods.get(key);
    if (!pod) {
      const n = this.started.get(key) ?? 0;
      this.started.set(key, n + 1);
      const ip = this.nextIp++;
      pod = {
        namespace: l.namespace,
        service: l.service,
        configuration: l.configuration,
        revision: l.revision,
        name: `${l.revision}-deployment-${n}`,
        ip: `10.244.${Math.floor(ip / 250)}.${(ip % 250) + 2}`,
        series: new Map(),
      };
      this.pods.set(key, pod);
    }
    return pod;
  }

  /**
   * The revision's pod is replaced: its counters are gone with it, and the next request starts a new pod (a new
   * name, a new IP, counters from zero), as when Kubernetes replaces a pod. Returns the old pod's name.
   */
  restartPod(namespace: string, revision: string): string | undefined {
    const key = `${namespace}/${revision}`;
    const old = this.pods.get(key);
    this.pods.delete(key);
    if (!old) this.started.set(key, (this.started.get(key) ?? 0) + 1);
    return old?.name;
  }

  record(l: RequestLabels, latencyMs: number): void {
    const pod = this.podFor(l);
    if (this.generation === 'opencensus') {
      const base = {
        namespace_name: l.namespace,
        service_name: l.service,
        configuration_name: l.configuration,
        revision_name: l.revision,
        pod_name: pod.name,
        container_name: 'queue-proxy',
        response_code: String(l.code),
        response_code_class: `${Math.floor(l.code / 100)}xx`,
      };
      this.observe(pod, 'request', { ...base, route_tag: l.routeTag }, latencyMs, LATENCY_BUCKETS_MS);
      this.observe(pod, 'app', base, latencyMs, LATENCY_BUCKETS_MS);
      return;
    }
    const seconds = latencyMs / 1000;
    const status = { http_response_status_code: String(l.code) };
    this.observe(pod, 'invocation', { ...status, ...QUEUE_SCOPE }, seconds, LATENCY_BUCKETS_S);
    const method = (l.method ?? 'GET').toUpperCase();
    const [host, port] = (l.host ?? l.service).toLowerCase().split(':');
    const http: Record<string, string> = {
      http_request_method: STANDARD_METHODS.includes(method) ? method : '_OTHER',
      ...status,
      kn_route_tag: otelRouteTag(l.routeTag),
      network_protocol_name: 'http',
      network_protocol_version: '1.1',
      server_address: host!,
      url_scheme: 'http',
      ...OTELHTTP_SCOPE,
    };
    if (port && port !== '80') http.server_port = port;
    this.observe(pod, 'http', http, seconds, LATENCY_BUCKETS_S);
  }

  private observe(
    pod: Pod,
    family: string,
    labels: Record<string, string>,
    value: number,
    bounds: number[],
  ): void {
    let map = pod.series.get(family);
    if (!map) pod.series.set(family, (map = new Map()));
    const key = JSON.stringify(labels);
    let s = map.get(key);
    if (!s) {
      s = { labels, count: 0, buckets: bounds.map(() => 0), sum: 0 };
      map.set(key, s);
    }
    s.count++;
    s.sum += value;
    bounds.forEach((b, i) => {
      if (value <= b) s.buckets[i]++;
    });
  }

  /** target_info of a pod: its OpenTelemetry resource (serving pkg/queue/sharedmain/otel.go `res`). */
  targetInfo(pod: Pod): Record<string, string> {
    return {
      k8s_container_name: 'queue-proxy',
      k8s_namespace_name: pod.namespace,
      k8s_pod_name: pod.name,
      kn_configuration_name: pod.configuration,
      kn_revision_name: pod.revision,
      kn_service_name: pod.service,
      service_instance_id: pod.name,
      service_name: pod.service || pod.configuration,
      service_version: 'unknown',
      telemetry_sdk_language: 'go',
      telemetry_sdk_name: 'opentelemetry',
      telemetry_sdk_version: '1.44.0',
    };
  }

  /** `instance` of a pod's series as Prometheus labels them when it scrapes the pod. */
  static instance(pod: Pod): string {
    return `${pod.ip}:${QUEUE_METRICS_PORT}`;
  }

  /**
   * The Prometheus text exposition format, version 0.0.4: every pod's series. `pod` renders one pod's alone,
   * exactly as its queue-proxy serves them (no `instance` label).
   */
  render(only?: Pod): string {
    const pods = only ? [only] : [...this.pods.values()];
    return this.generation === 'otel' ? this.renderOtel(pods, !only) : this.renderOpenCensus(pods);
  }

  private renderOpenCensus(pods: Pod[]): string {
    const out: string[] = [];
    const all = (family: string) => pods.flatMap((p) => [...(p.series.get(family)?.values() ?? [])]);
    const counter = (name: string, help: string, family: string) => {
      out.push(`# HELP ${name}_count ${help} count`, `# TYPE ${name}_count counter`);
      for (const s of all(family)) out.push(`${name}_count${renderLabels(s.labels, false)} ${s.count}`);
    };
    const histogram = (name: string, help: string, family: string) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const s of all(family)) this.histogramLines(out, name, s.labels, s, LATENCY_BUCKETS_MS, false);
    };
    // Knative names its counters revision_request_count and revision_app_request_count (no _total suffix).
    counter('revision_request', 'The number of requests that are routed to queue-proxy', 'request');
    counter('revision_app_request', 'The number of requests that are routed to user-container', 'app');
    histogram(
      'revision_request_latencies',
      'The response latencies of the requests in milliseconds',
      'request',
    );
    histogram(
      'revision_app_request_latencies',
      'The response latencies of the requests in milliseconds',
      'app',
    );
    return `${out.join('\n')}\n`;
  }

  private histogramLines(
    out: string[],
    name: string,
    labels: Record<string, string>,
    s: Series,
    bounds: number[],
    sorted: boolean,
  ): void {
    bounds.forEach((b, i) =>
      out.push(`${name}_bucket${renderLabels({ ...labels, le: String(b) }, sorted)} ${s.buckets[i]}`),
    );
    out.push(`${name}_bucket${renderLabels({ ...labels, le: '+Inf' }, sorted)} ${s.count}`);
    out.push(`${name}_sum${renderLabels(labels, sorted)} ${s.sum}`);
    out.push(`${name}_count${renderLabels(labels, sorted)} ${s.count}`);
  }

  private renderOtel(pods: Pod[], withInstance: boolean): string {
    const out: string[] = [];
    const inst = (p: Pod): Record<string, string> => (withInstance ? { instance: Metrics.instance(p) } : {});
    // client_golang's Gather sorts families by name, and labels by name.
    const histogram = (name: string, help: string, family: string) => {
      const series = pods.flatMap((p) =>
        [...(p.series.get(family)?.values() ?? [])].map((s) => ({ s, labels: { ...s.labels, ...inst(p) } })),
      );
      if (!series.length) return;
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const { s, labels } of series) this.histogramLines(out, name, labels, s, LATENCY_BUCKETS_S, true);
    };
    histogram('http_server_request_duration_seconds', 'Duration of HTTP server requests.', 'http');
    histogram('kn_serving_invocation_duration_seconds', 'The duration of task execution', 'invocation');
    if (pods.length) {
      out.push('# HELP target_info Target metadata', '# TYPE target_info gauge');
      for (const p of pods)
        out.push(`target_info${renderLabels({ ...this.targetInfo(p), ...inst(p) }, true)} 1`);
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }
}
