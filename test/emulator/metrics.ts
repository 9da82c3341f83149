// Knative queue-proxy metrics (the Prometheus exporter of Knative up to v1.18) for what the gateway served.

/** Knative's request latency buckets, in milliseconds. */
export const LATENCY_BUCKETS_MS = [
  5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 5000,
  10000, 20000, 50000, 100000,
];

export interface RequestLabels {
  namespace: string;
  service: string;
  configuration: string;
  revision: string;
  /**
   * queue-proxy's route_tag: `DISABLED` unless tag-header routing is on; then the tag, `DEFAULT` on the service
   * host, or `UNDEFINED` for a tag header that names no tag.
   */
  routeTag: string;
  code: number;
}

interface Series {
  labels: Record<string, string>;
  count: number;
  buckets: number[];
  sum: number;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function renderLabels(labels: Record<string, string>, extra?: [string, string]): string {
  const entries = Object.entries(labels);
  if (extra) entries.push(extra);
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

export class Metrics {
  private readonly request = new Map<string, Series>();
  private readonly app = new Map<string, Series>();

  record(l: RequestLabels, latencyMs: number): void {
    const base = {
      namespace_name: l.namespace,
      service_name: l.service,
      configuration_name: l.configuration,
      revision_name: l.revision,
      pod_name: `${l.revision}-deployment-0`,
      container_name: 'queue-proxy',
      response_code: String(l.code),
      response_code_class: `${Math.floor(l.code / 100)}xx`,
    };
    this.observe(this.request, { ...base, route_tag: l.routeTag }, latencyMs);
    this.observe(this.app, base, latencyMs);
  }

  private observe(map: Map<string, Series>, labels: Record<string, string>, value: number): void {
    const key = JSON.stringify(labels);
    let s = map.get(key);
    if (!s) {
      s = { labels, count: 0, buckets: LATENCY_BUCKETS_MS.map(() => 0), sum: 0 };
      map.set(key, s);
    }
    s.count++;
    s.sum += value;
    LATENCY_BUCKETS_MS.forEach((b, i) => {
      if (value <= b) s.buckets[i]++;
    });
  }

  /** The Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const out: string[] = [];
    const family = (name: string, help: string, map: Map<string, Series>) => {
      out.push(`# HELP ${name}_count ${help} count`, `# TYPE ${name}_count counter`);
      for (const s of map.values()) out.push(`${name}_count${renderLabels(s.labels)} ${s.count}`);
    };
    const histogram = (name: string, help: string, map: Map<string, Series>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const s of map.values()) {
        LATENCY_BUCKETS_MS.forEach((b, i) =>
          out.push(`${name}_bucket${renderLabels(s.labels, ['le', String(b)])} ${s.buckets[i]}`),
        );
        out.push(`${name}_bucket${renderLabels(s.labels, ['le', '+Inf'])} ${s.count}`);
        out.push(`${name}_sum${renderLabels(s.labels)} ${s.sum}`);
        out.push(`${name}_count${renderLabels(s.labels)} ${s.count}`);
      }
    };
    // Knative names its counters revision_request_count and revision_app_request_count (no _total suffix).
    family('revision_request', 'The number of requests that are routed to queue-proxy', this.request);
    family('revision_app_request', 'The number of requests that are routed to user-container', this.app);
    histogram(
      'revision_request_latencies',
      'The response latencies of the requests in milliseconds',
      this.request,
    );
    histogram(
      'revision_app_request_latencies',
      'The response latencies of the requests in milliseconds',
      this.app,
    );
    return `${out.join('\n')}\n`;
  }
}
