// The ingress gateway: routes each request by its Host header, as Istio or Kourier do for Knative.
// The service host splits requests across revisions by percent; a tag host sends everything to its revision.

import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Metrics } from './metrics.ts';

export interface Target {
  namespace: string;
  service: string;
  configuration: string;
  revision: string;
  percent: number;
}

export interface HostRoute {
  /** `DEFAULT` for the service's own hosts, else the tag. */
  tag: string;
  targets: Target[];
}

export interface GatewayOptions {
  metrics: Metrics;
  endpoint: (namespace: string, revision: string) => number | undefined;
  random: () => number;
  /** Knative's `tag-header-based-routing` feature: `Knative-Serving-Tag` on the service host picks a tag. */
  tagHeaderRouting: boolean;
}

export class Gateway {
  /** host -> route, replaced whole per Route so a change is atomic. */
  private readonly hosts = new Map<string, HostRoute>();
  private readonly byRoute = new Map<string, string[]>();
  readonly server: Server;

  constructor(private readonly opts: GatewayOptions) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  /** Installs the hosts of one Route, replacing the ones it had. */
  program(routeKey: string, hosts: Map<string, HostRoute>): void {
    for (const h of this.byRoute.get(routeKey) ?? []) this.hosts.delete(h);
    for (const [h, r] of hosts) this.hosts.set(h, r);
    this.byRoute.set(routeKey, [...hosts.keys()]);
  }

  unprogram(routeKey: string): void {
    this.program(routeKey, new Map());
    this.byRoute.delete(routeKey);
  }

  route(host: string): HostRoute | undefined {
    return this.hosts.get(host.toLowerCase().replace(/:\d+$/, ''));
  }

  /** Picks a revision by percent with the injected randomness; 0% targets get nothing. */
  pick(route: HostRoute): Target | undefined {
    const live = route.targets.filter((t) => t.percent > 0);
    const total = live.reduce((s, t) => s + t.percent, 0);
    if (total === 0) return undefined;
    let r = this.opts.random() * total;
    for (const t of live) {
      r -= t.percent;
      if (r < 0) return t;
    }
    return live[live.length - 1];
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    let route = this.route(req.headers.host ?? '');
    if (!route) {
      req.resume();
      res.writeHead(404, { 'content-length': '0' }).end();
      return;
    }
    const tagHeader = req.headers['knative-serving-tag'];
    if (this.opts.tagHeaderRouting && route.tag === 'DEFAULT' && typeof tagHeader === 'string' && tagHeader) {
      const hostTarget = route.targets[0];
      const tagged = hostTarget && this.findTag(hostTarget.namespace, hostTarget.service, tagHeader);
      if (tagged) route = tagged;
    }
    // queue-proxy's route_tag: the ingress sets the tag headers only with tag-header routing enabled.
    const routeTag = !this.opts.tagHeaderRouting
      ? 'DISABLED'
      : route.tag !== 'DEFAULT'
        ? route.tag
        : typeof tagHeader === 'string' && tagHeader
          ? 'UNDEFINED'
          : 'DEFAULT';
    const target = this.pick(route);
    const port = target && this.opts.endpoint(target.namespace, target.revision);
    if (!target || !port) {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no healthy upstream\n');
      return;
    }
    const record = (code: number) =>
      this.opts.metrics.record(
        {
          namespace: target.namespace,
          service: target.service,
          configuration: target.configuration,
          revision: target.revision,
          routeTag,
          code,
          method: req.method,
          host: req.headers.host,
        },
        performance.now() - started,
      );
    const upstream = httpRequest(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('end', () => record(up.statusCode ?? 502));
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent)
        res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream connect error\n');
      else res.destroy();
      record(502);
    });
    req.pipe(upstream);
  }

  private findTag(namespace: string, service: string, tag: string): HostRoute | undefined {
    for (const r of this.hosts.values()) {
      const t = r.targets[0];
      if (r.tag === tag && t && t.namespace === namespace && t.service === service) return r;
    }
    return undefined;
  }
}
