// A thin client for Knative Services over @kubernetes/client-node: reads, merge patches that carry the
// resourceVersion they were computed from (a 409 is re-read and recomputed), and watches that wait for a state.

import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { AbortedError, KubeError, TimeoutError } from '../errors.ts';
import { GROUP, VERSION, type Revision, type Service } from './types.ts';

/** Turns client-node's ApiException (body: the API's Status object, as text) into a readable error. */
export function toKubeError(err: unknown, what: string): Error {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) {
    let message = String(err.message);
    let reason: string | undefined;
    try {
      const status = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as {
        message?: string;
        reason?: string;
      };
      if (status?.message) message = status.message;
      reason = status?.reason;
    } catch {
      /* not a Status object: keep the exception's message */
    }
    return new KubeError(err.code, `${what}: ${message} (HTTP ${err.code})`, reason);
  }
  const e = err as Error & { cause?: { code?: string } };
  const detail = e.cause?.code ? `${e.message} (${e.cause.code})` : e.message;
  return new KubeError(0, `${what}: ${detail}`);
}

/** Loads the kubeconfig: the input's contents, else KUBECONFIG, ~/.kube/config or in-cluster; then the context. */
export function loadKubeConfig(contents?: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  if (contents) {
    try {
      kc.loadFromString(contents);
    } catch (e) {
      // The message of a YAML error may quote the file, so neither it nor the error (as cause) is passed on.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`Input 'kubeconfig': is not a valid kubeconfig (${(e as Error).name})`);
    }
  } else {
    kc.loadFromDefault();
  }
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      const names = kc.getContexts().map((c) => c.name);
      throw new Error(
        `Input 'context': no context "${context}" in the kubeconfig (it has: ${names.join(', ') || 'none'})`,
      );
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(
      "Input 'kubeconfig': no cluster to talk to: give 'kubeconfig', set KUBECONFIG, or run inside a cluster",
    );
  }
  return kc;
}

/** API answers worth another try: throttling, a server or gateway error, or no answer at all. */
export function isTransient(e: unknown): boolean {
  return e instanceof KubeError && (e.code === 0 || e.code === 429 || (e.code >= 500 && e.code <= 504));
}

export interface WatchOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export class KnativeClient {
  private readonly api: CustomObjectsApi;
  private readonly watcher: Watch;
  /** API requests made, for the log and the benchmarks. */
  requests = 0;

  constructor(
    readonly kc: KubeConfig,
    readonly namespace: string,
    /** Attempts for a request that meets a transient error, and the first backoff (doubled each time). */
    private readonly retry = { attempts: 3, backoffMs: 200 },
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(kc);
  }

  /** Runs `call`, trying again after a transient error (each try is a whole request, safe to repeat). */
  private async retrying<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (!isTransient(e) || attempt >= this.retry.attempts) throw e;
        await new Promise((r) => setTimeout(r, this.retry.backoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  private params(plural: string) {
    return { group: GROUP, version: VERSION, namespace: this.namespace, plural };
  }

  getService(name: string): Promise<Service | undefined> {
    return this.retrying(async () => {
      this.requests++;
      try {
        return (await this.api.getNamespacedCustomObject({ ...this.params('services'), name })) as Service;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw toKubeError(e, `reading Service ${this.namespace}/${name}`);
      }
    });
  }

  /** The namespace's Services (a scheduled advance run looks for the ones carrying a rollout). */
  listServices(): Promise<Service[]> {
    return this.retrying(async () => {
      this.requests++;
      try {
        const list = (await this.api.listNamespacedCustomObject(this.params('services'))) as {
          items?: Service[];
        };
        return list.items ?? [];
      } catch (e) {
        throw toKubeError(e, `listing Services in ${this.namespace}`);
      }
    });
  }

  getRevision(name: string): Promise<Revision | undefined> {
    return this.retrying(async () => {
      this.requests++;
      try {
        return (await this.api.getNamespacedCustomObject({ ...this.params('revisions'), name })) as Revision;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw toKubeError(e, `reading Revision ${this.namespace}/${name}`);
      }
    });
  }

  /** A merge patch; when it carries metadata.resourceVersion the API answers 409 if the Service changed since. */
  patchService(name: string, patch: object, dryRun = false): Promise<Service> {
    return this.retrying(async () => {
      this.requests++;
      try {
        return (await this.api.patchNamespacedCustomObject(
          { ...this.params('services'), name, body: patch, dryRun: dryRun ? 'All' : undefined },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )) as Service;
      } catch (e) {
        throw toKubeError(e, `patching Service ${this.namespace}/${name}`);
      }
    });
  }

  /**
   * Read-modify-write: `build` computes the patch from the Service as read (with its resourceVersion); on a 409
   * the Service is read again and the patch recomputed, so a concurrent change is never overwritten.
   */
  async update<T>(
    name: string,
    build: (svc: Service) => { patch: object; result: T },
    /** The Service as last seen (e.g. by a watch): the first attempt builds on it without reading again. */
    known?: Service,
    attempts = 5,
  ): Promise<{ service: Service; result: T }> {
    for (let i = 1; ; i++) {
      const svc = i === 1 && known ? known : await this.getService(name);
      if (!svc) throw new KubeError(404, `Service ${this.namespace}/${name} disappeared during the rollout`);
      const { patch, result } = build(svc);
      try {
        return { service: await this.patchService(name, patch), result };
      } catch (e) {
        if (e instanceof KubeError && e.code === 409 && i < attempts) continue;
        throw e;
      }
    }
  }

  /**
   * Waits until `check` returns a value for the Service, using a watch (from the resourceVersion just read, with
   * bookmarks); a closed or expired watch is resumed or re-listed. Rejects with TimeoutError or AbortedError.
   */
  async waitForService<T>(
    name: string,
    check: (svc: Service) => T | undefined,
    opts: WatchOptions,
    /** The Service as just returned by a write: checked first, and the watch starts from its version. */
    initial?: Service,
  ): Promise<T> {
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/services`;
    return new Promise<T>((resolve, reject) => {
      let finished = false;
      let abortWatch: AbortController | undefined;
      let resourceVersion: string | undefined;
      let lastSeen: Service | undefined;
      const finish = (err: Error | undefined, value?: T) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        abortWatch?.abort();
        if (err) reject(err);
        else resolve(value as T);
      };
      const timer = setTimeout(() => {
        finish(new TimeoutError<Service>(`timed out after ${Math.round(opts.timeoutMs / 1000)}s`, lastSeen));
      }, opts.timeoutMs);
      const onAbort = () => finish(new AbortedError());
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort);

      const consider = (svc: Service) => {
        lastSeen = svc;
        resourceVersion = svc.metadata.resourceVersion;
        let v: T | undefined;
        try {
          v = check(svc);
        } catch (e) {
          return finish(e as Error);
        }
        if (v !== undefined) finish(undefined, v);
      };

      const relist = async () => {
        try {
          const svc = await this.getService(name);
          if (finished) return;
          if (!svc) return finish(new KubeError(404, `Service ${this.namespace}/${name} was deleted`));
          consider(svc);
          if (!finished) await start();
        } catch (e) {
          if (!finished) setTimeout(() => void relist(), 250);
          void e;
        }
      };

      const start = async () => {
        this.requests++;
        let expired = false;
        abortWatch = await this.watcher.watch(
          path,
          { fieldSelector: `metadata.name=${name}`, allowWatchBookmarks: true, resourceVersion },
          (phase, obj: Service & { code?: number }) => {
            if (finished) return;
            if (phase === 'ERROR') {
              expired = obj.code === 410;
              return;
            }
            if (phase === 'BOOKMARK') {
              resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
              return;
            }
            if (phase === 'DELETED')
              return finish(new KubeError(404, `Service ${this.namespace}/${name} was deleted`));
            consider(obj);
          },
          () => {
            if (finished) return;
            // The stream ended (server close, 30 s idle timeout, 410): resume from the last version, or re-list.
            if (expired) void relist();
            else void start().catch(() => setTimeout(() => void relist(), 250));
          },
        );
        if (finished) abortWatch.abort();
      };
      if (initial) {
        consider(initial);
        if (!finished) void start().catch(() => setTimeout(() => void relist(), 250));
      } else {
        void relist();
      }
    });
  }
}
