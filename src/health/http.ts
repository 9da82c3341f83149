// HTTP requests to a Knative route: straight to its URL, or through an ingress gateway with the route's host in
// the Host header (fetch() would drop a Host header, so this uses undici's request()).

import { Agent, request, type Dispatcher } from 'undici';

export interface RouteTarget {
  /** The route's URL, e.g. http://latest-hello.default.example.com */
  url: string;
  /** Base URL of the ingress gateway; requests go there with the route's host as Host. */
  gateway?: URL;
}

export interface HttpResult {
  status: number;
  latencyMs: number;
  body?: string;
  /** Transport error (connection refused, timeout); status is 0. */
  error?: string;
}

export interface HttpRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  readBody?: boolean;
  signal?: AbortSignal;
}

let shared: Agent | undefined;
export function agent(): Agent {
  shared ??= new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  return shared;
}

export async function closeAgent(): Promise<void> {
  const a = shared;
  shared = undefined;
  await a?.close();
}

export function requestTarget(target: RouteTarget, path: string): { url: string; host?: string } {
  const route = new URL(target.url);
  if (!target.gateway) return { url: new URL(path, route).toString() };
  const base = target.gateway.toString().replace(/\/$/, '');
  return { url: base + path, host: route.host };
}

export async function send(
  target: RouteTarget,
  req: HttpRequest,
  dispatcher: Dispatcher = agent(),
  now: () => number = () => performance.now(),
): Promise<HttpResult> {
  const { url, host } = requestTarget(target, req.path);
  const headers: Record<string, string> = { 'user-agent': 'knative-canary-action', ...(req.headers ?? {}) };
  if (host) headers.host = host;
  const started = now();
  const timeout = AbortSignal.timeout(req.timeoutMs ?? 10_000);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  try {
    const res = await request(url, {
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: req.body,
      dispatcher,
      signal,
    });
    const body = req.readBody ? await res.body.text() : (await res.body.dump(), undefined);
    return { status: res.statusCode, latencyMs: now() - started, body };
  } catch (e) {
    const err = e as Error & { code?: string; cause?: { code?: string } };
    const code = err.code ?? err.cause?.code;
    const reason = timeout.aborted
      ? `timed out after ${req.timeoutMs ?? 10_000} ms`
      : code === 'EAI_AGAIN' || code === 'ENOTFOUND'
        ? `${new URL(url).hostname} did not resolve (${code})` +
          (target.gateway
            ? ''
            : ": the runner cannot resolve the Service's domain; give 'gateway' (your ingress gateway's address), and requests go there with this host in the Host header")
        : code
          ? `${code}`
          : err.message;
    return { status: 0, latencyMs: now() - started, error: reason };
  }
}
