// Shared test helpers: an emulator with a real @kubernetes/client-node client pointed at it.

import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startEmulator, type Emulator, type EmulatorOptions } from './emulator.ts';
import { condition } from './reconciler.ts';
import type { KObject } from './util.ts';

export const GROUP = 'serving.knative.dev';
export const VERSION = 'v1';

export interface Harness {
  emulator: Emulator;
  kc: KubeConfig;
  api: CustomObjectsApi;
  ns: string;
  get(plural: string, name: string): Promise<KObject>;
  create(body: KObject, plural?: string): Promise<KObject>;
  mergePatch(name: string, patch: unknown, plural?: string): Promise<KObject>;
  /** Polls `read` until `check` holds; fails with the last value after `timeoutMs`. */
  waitFor<T>(read: () => Promise<T> | T, check: (v: T) => boolean, timeoutMs?: number): Promise<T>;
  waitForService(name: string, check: (svc: KObject) => boolean, timeoutMs?: number): Promise<KObject>;
  /** Waits until the Service has settled (observedGeneration current, Ready True or False). */
  settled(name: string, timeoutMs?: number): Promise<KObject>;
  close(): Promise<void>;
}

export async function startHarness(options: EmulatorOptions = {}, ns = 'default'): Promise<Harness> {
  const emulator = await startEmulator(options);
  const kc = new KubeConfig();
  kc.loadFromString(emulator.kubeconfig(ns));
  const api = kc.makeApiClient(CustomObjectsApi);
  const h: Harness = {
    emulator,
    kc,
    api,
    ns,
    get: (plural, name) =>
      api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural,
        name,
      }) as Promise<KObject>,
    create: (body, plural = 'services') =>
      api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural,
        body,
      }) as Promise<KObject>,
    mergePatch: (name, patch, plural = 'services') =>
      api.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: ns, plural, name, body: patch as object },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ) as Promise<KObject>,
    async waitFor(read, check, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Awaited<ReturnType<typeof read>>;
      for (;;) {
        last = await read();
        if (check(last)) return last;
        if (Date.now() > deadline) {
          throw new Error(
            `condition not met after ${timeoutMs} ms; last value: ${JSON.stringify(last, null, 2)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    waitForService: (name, check, timeoutMs) => h.waitFor(() => h.get('services', name), check, timeoutMs),
    settled: (name, timeoutMs) =>
      h.waitForService(
        name,
        (s) =>
          s.status?.observedGeneration === s.metadata.generation &&
          ['True', 'False'].includes(readyStatus(s) ?? ''),
        timeoutMs,
      ),
    close: () => emulator.close(),
  };
  return h;
}

export { condition } from './reconciler.ts';

export const readyStatus = (obj: KObject): string | undefined => condition(obj, 'Ready')?.status;

/** A minimal Knative Service manifest. */
export function service(
  name: string,
  opts: {
    image?: string;
    env?: Record<string, string>;
    revisionName?: string;
    traffic?: KObject[];
    labels?: Record<string, string>;
  } = {},
): KObject {
  const container: KObject = { image: opts.image ?? 'ghcr.io/example/hello:v1' };
  if (opts.env) container.env = Object.entries(opts.env).map(([k, v]) => ({ name: k, value: v }));
  const template: KObject = { spec: { containers: [container] } };
  if (opts.revisionName) template.metadata = { name: opts.revisionName };
  const svc: KObject = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Service',
    metadata: opts.labels ? { name, labels: opts.labels } : { name },
    spec: { template },
  };
  if (opts.traffic) svc.spec.traffic = opts.traffic;
  return svc;
}

/** The API's answer to a call expected to fail: status code and the Status body. */
export async function apiError(call: Promise<unknown>): Promise<{ code: number; body: KObject }> {
  try {
    await call;
  } catch (e) {
    if (e instanceof ApiException) {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      return { code: e.code, body };
    }
    throw e;
  }
  throw new Error('expected the API call to fail, but it succeeded');
}

/** Sends `n` requests through the gateway with the given Host, returning the responses' revisions and codes. */
export async function sendRequests(
  gatewayUrl: string,
  host: string,
  n: number,
  concurrency = 16,
): Promise<{ revision: string; status: number }[]> {
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connections: concurrency });
  const out: { revision: string; status: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const res = await request(gatewayUrl, { headers: { host }, dispatcher });
      const text = await res.body.text();
      let revision: string;
      try {
        revision = JSON.parse(text).revision ?? '';
      } catch {
        revision = '';
      }
      out.push({ revision, status: res.statusCode });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await dispatcher.close();
  return out;
}
