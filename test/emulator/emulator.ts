// The Knative Serving emulator, in-process: an API server, Knative's webhook and controllers, revision
// backends, an external and a cluster-local ingress gateway and a metrics endpoint, all on loopback.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { ApiServer } from './apiserver.ts';
import { Backends } from './backends.ts';
import { checkTemplates } from './domains.ts';
import { Faults } from './faults.ts';
import { Gateway } from './gateway.ts';
import { Metrics, type MetricsGeneration } from './metrics.ts';
import { Reconciler } from './reconciler.ts';
import { Store } from './store.ts';
import { seededRandom } from './util.ts';

export interface EmulatorOptions {
  /** Cluster domain for route hosts (default `example.com`). */
  domain?: string;
  /** config-network `domain-template` (default `{{.Name}}.{{.Namespace}}.{{.Domain}}`). */
  domainTemplate?: string;
  /** config-network `tag-template` (default `{{.Tag}}-{{.Name}}`). */
  tagTemplate?: string;
  apiPort?: number;
  /** The external gateway (knative-ingress-gateway, kourier): hosts on the domain of Routes not cluster-local. */
  gatewayPort?: number;
  /** The cluster-local gateway (knative-local-gateway, kourier-internal): every `*.svc.cluster.local` host. */
  localGatewayPort?: number;
  metricsPort?: number;
  /**
   * Which queue-proxy metrics the metrics endpoint serves: `otel` (Knative 1.19+, what current Knative emits) or
   * `opencensus` (Knative up to 1.18, the default for now: the judge of users' traffic reads the revision label off
   * each series, which 1.19+ has only on target_info). See metrics.ts.
   */
  metrics?: MetricsGeneration;
  /** IMAGE -> shell COMMAND: revisions of IMAGE run COMMAND as a real process with PORT set. */
  run?: Record<string, string> | Map<string, string>;
  /** How long a revision may take to become ready (default 600 s, Knative's default). */
  progressDeadlineMs?: number;
  /** Delay between a change and the controllers acting on it (default 5 ms). */
  reconcileDelayMs?: number;
  /** How long the gateway takes to program a traffic change (default 20 ms). */
  ingressDelayMs?: number;
  probeIntervalMs?: number;
  /** The kubelet's first restart back-off for a crashed container, doubling to 5 min (default 10 s). */
  restartBackoffMs?: number;
  /** How long a ready revision may go without requests before it is inactive (default 90 s: Knative's 60 s
   * stable window plus its 30 s scale-to-zero grace period). */
  idleAfterMs?: number;
  bookmarkIntervalMs?: number;
  /** Watch events kept for resuming watches; older resourceVersions get 410 Gone. */
  historyLimit?: number;
  /** Seed for the gateway's split and fault injection; real randomness when unset. */
  seed?: number;
  /** Knative's `tag-header-based-routing` feature flag. */
  tagHeaderRouting?: boolean;
  /** Username recorded in `serving.knative.dev/creator` for the kubeconfig's token. */
  username?: string;
}

export interface Emulator {
  apiUrl: string;
  gatewayUrl: string;
  /** The cluster-local gateway: serves the hosts of cluster-local Services, and the `*.svc.cluster.local` hosts of all. */
  localGatewayUrl: string;
  metricsUrl: string;
  domain: string;
  token: string;
  store: Store;
  faults: Faults;
  gateway: Gateway;
  localGateway: Gateway;
  metrics: Metrics;
  reconciler: Reconciler;
  backends: Backends;
  api: ApiServer;
  /**
   * A kubeconfig (YAML) for the API server: context and cluster `emulator`, namespace `default`; with `user`, a
   * token of that user instead of the default one (fault rules can be limited to one user's requests).
   */
  kubeconfig(namespace?: string, user?: string): string;
  /** The bearer token of a user, made the first time it is asked for (as a service account's token is mounted). */
  tokenOf(user: string): string;
  writeKubeconfig(path: string, namespace?: string): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const domain = options.domain ?? 'example.com';
  const { domainTemplate, tagTemplate } = options;
  checkTemplates({ domain, domainTemplate, tagTemplate });
  const random = options.seed === undefined ? Math.random : seededRandom(options.seed);
  const token = randomBytes(24).toString('hex');
  const username = options.username ?? 'emulator-admin';
  const store = new Store(options.historyLimit ?? 2000);
  const faults = new Faults(random, {
    reconcileDelayMs: options.reconcileDelayMs ?? 5,
    ingressDelayMs: options.ingressDelayMs ?? 20,
  });
  const metrics = new Metrics(options.metrics ?? 'opencensus');
  const run = options.run instanceof Map ? options.run : new Map(Object.entries(options.run ?? {}));

  // The reconciler and the backends need each other; the callback reaches the reconciler declared below.
  const backends = new Backends({
    run,
    progressDeadlineMs: options.progressDeadlineMs ?? 600_000,
    probeIntervalMs: options.probeIntervalMs ?? 25,
    restartBackoffMs: options.restartBackoffMs,
    idleAfterMs: options.idleAfterMs,
    isStuck: (key) => faults.isStuck(key),
    onState: (ns, name, state) => reconciler.onBackendState(ns, name, state),
    random,
  });
  const gatewayOptions = {
    metrics,
    endpoint: (ns: string, rev: string) => backends.endpoint(ns, rev),
    random,
    tagHeaderRouting: options.tagHeaderRouting ?? false,
  };
  const gateway = new Gateway(gatewayOptions);
  const localGateway = new Gateway(gatewayOptions);
  const reconciler = new Reconciler(
    store,
    backends,
    gateway,
    {
      domain,
      domainTemplate,
      tagTemplate,
      delayMs: () => faults.settings.reconcileDelayMs,
      ingressDelayMs: () => faults.settings.ingressDelayMs,
      now: () => new Date(),
    },
    localGateway,
  );

  const tokens = new Map([[token, username]]);
  /** The token of a user, made the first time it is asked for. */
  const tokenOf = (user: string): string => {
    for (const [t, u] of tokens) if (u === user) return t;
    const t = randomBytes(24).toString('hex');
    tokens.set(t, user);
    return t;
  };

  const control = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const reply = (code: number, value: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (url.pathname === '/emulator/faults') {
      if (req.method === 'GET') return reply(200, { ...faults.settings, hits: faults.hits });
      if (req.method === 'DELETE') {
        faults.reset();
        return reply(200, faults.settings);
      }
      if (req.method === 'POST' || req.method === 'PUT') {
        try {
          faults.set(JSON.parse(body || '{}'));
        } catch (e) {
          return reply(400, { error: (e as Error).message });
        }
        return reply(200, faults.settings);
      }
    }
    if (url.pathname === '/emulator/requests') {
      if (req.method === 'GET') return reply(200, { requests: api.requests });
      if (req.method === 'DELETE') {
        api.requests.length = 0;
        return reply(200, {});
      }
    }
    if (url.pathname === '/emulator/compact' && req.method === 'POST') {
      store.compact();
      return reply(200, { resourceVersion: String(store.resourceVersion) });
    }
    if (url.pathname === '/emulator/restart-pod' && req.method === 'POST') {
      const namespace = url.searchParams.get('namespace') || 'default';
      const revision = url.searchParams.get('revision');
      if (!revision) return reply(400, { error: 'restart-pod needs ?revision=NAME (and &namespace=NS)' });
      const old = metrics.restartPod(namespace, revision);
      return reply(200, { namespace, revision, old: old ?? null });
    }
    if (url.pathname === '/emulator/close-watches' && req.method === 'POST') {
      api.closeWatches();
      return reply(200, {});
    }
    return reply(404, { error: `unknown control endpoint ${req.method} ${url.pathname}` });
  };

  const api = new ApiServer({
    store,
    faults,
    tokens,
    anonymousUser: username,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000,
    control,
  });
  const metricsServer = createServer((req, res) => {
    // /metrics: every pod; /metrics/NAMESPACE/POD: one pod's, as its queue-proxy serves them.
    const pod = /^\/metrics\/([^/]+)\/([^/]+)$/.exec(req.url ?? '');
    const one = pod && metrics.podNamed(decodeURIComponent(pod[1]!), decodeURIComponent(pod[2]!));
    if (req.url === '/metrics' || one) {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        .end(metrics.render(one || undefined));
    } else res.writeHead(404).end();
  });

  const apiPort = await listen(api.server, options.apiPort ?? 0);
  const gatewayPort = await listen(gateway.server, options.gatewayPort ?? 0);
  const localGatewayPort = await listen(localGateway.server, options.localGatewayPort ?? 0);
  const metricsPort = await listen(metricsServer, options.metricsPort ?? 0);
  const apiUrl = `http://127.0.0.1:${apiPort}`;

  const kubeconfig = (namespace = 'default', user?: string) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'emulator', cluster: { server: apiUrl, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'emulator', user: { token: user === undefined ? token : tokenOf(user) } }],
      contexts: [{ name: 'emulator', context: { cluster: 'emulator', user: 'emulator', namespace } }],
      'current-context': 'emulator',
      preferences: {},
    });

  return {
    apiUrl,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    localGatewayUrl: `http://127.0.0.1:${localGatewayPort}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    domain,
    token,
    store,
    faults,
    gateway,
    localGateway,
    metrics,
    reconciler,
    backends,
    api,
    kubeconfig,
    tokenOf,
    writeKubeconfig: (path, namespace) => writeFile(path, kubeconfig(namespace), { mode: 0o600 }),
    async close() {
      reconciler.stop();
      api.closeWatches();
      backends.stopAll();
      await Promise.all([
        closeServer(api.server),
        closeServer(gateway.server),
        closeServer(localGateway.server),
        closeServer(metricsServer),
      ]);
    },
  };
}
