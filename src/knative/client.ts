// A thin client for Knative Services over @kubernetes/client-node: reads, merge patches that carry the
// resourceVersion they were computed from (a 409 is re-read and recomputed), and watches that wait for a state.

import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  Watch,
  Observable,
  setHeaderOptions,
  type ConfigurationOptions,
} from '@kubernetes/client-node';
import { AbortedError, KubeError, TimeoutError } from '../errors.ts';
import { GROUP, VERSION, type Revision, type Service } from './types.ts';

/** What a 401 or 403 means for the action, and what to do (README: RBAC). */
function authHint(code: number): string {
  return code === 401
    ? ": the API server refused the kubeconfig's credentials (an expired or revoked token, or one of another " +
        "cluster): give 'kubeconfig' a current one"
    : ": the kubeconfig's user lacks that permission: grant it the Role in the README's RBAC section " +
        "(get, list, watch and patch on services, get on revisions, in the Service's namespace)";
}

/** Turns client-node's ApiException (body: the API's Status object, as text) into a readable error. */
export function toKubeError(err: unknown, what: string, server?: string): Error {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException && (err.code === 401 || err.code === 403)) {
    let message = err.code === 401 ? 'Unauthorized' : 'Forbidden';
    try {
      const status = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as { message?: string };
      if (status?.message) message = status.message;
    } catch {
      /* no Status object (an API server answers a bad token with a bare 401) */
    }
    return new KubeError(err.code, `${what}: ${message} (HTTP ${err.code})${authHint(err.code)}`);
  }
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
  if (e.name === 'TimeoutError') return new KubeError(0, `${what}: the API did not answer in time`);
  if (e.name === 'AbortError')
    return new KubeError(0, `${what}: abandoned, the run's time is up`, 'Abandoned');
  const code = e.cause?.code;
  if (server && code && UNREACHABLE.test(code)) {
    return new KubeError(
      0,
      `${what}: cannot reach the API server at ${server} (${code}): check the kubeconfig's server address, and ` +
        'that the runner can reach it (a private cluster needs a self-hosted runner in its network)',
    );
  }
  const detail = code ? `${e.message} (${code})` : e.message;
  return new KubeError(0, `${what}: ${detail}`);
}

const UNREACHABLE = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET)$/;

/** API answers worth another try: throttling, a server or gateway error, or no answer at all. */
export function isTransient(e: unknown): boolean {
  return (
    e instanceof KubeError &&
    e.reason !== 'Abandoned' &&
    (e.code === 0 || e.code === 429 || (e.code >= 500 && e.code <= 504))
  );
}

/** How long one request may take, and until when a call keeps trying. */
export interface RequestOptions {
  /**
   * A deadline (epoch ms, real time): the call keeps trying transient failures until then, however many
   * attempts that takes, and no request outlives it. Without one, a call makes `retry.attempts` attempts.
   */
  until?: number;
}

/** Client-node options that give a request its abort signal (the generated clients take it from middleware). */
function withSignal(signal: AbortSignal, opt?: ConfigurationOptions): ConfigurationOptions {
  return {
    ...opt,
    middleware: [
      ...(opt?.middleware ?? []),
      {
        pre: (ctx) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (res) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
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
  /** The API server's address, for errors that cannot reach it. */
  private readonly server?: string;

  constructor(
    readonly kc: KubeConfig,
    readonly namespace: string,
    /**
     * Attempts for a request that meets a transient error, the first backoff (doubled each time, at most 1 s),
     * and how long one request may take before it counts as a transient failure.
     */
    private readonly retry = { attempts: 3, backoffMs: 200, requestTimeoutMs: 20_000 },
    /** Aborts every request in flight, and every later one: the run's time is up (see RunContext.hardStop). */
    private readonly stop?: AbortSignal,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(kc);
    this.server = kc.getCurrentCluster()?.server;
  }

  /** The signal of one request: its own time limit, the caller's deadline and the run's hard stop. */
  private signal(until?: number): AbortSignal {
    const left = until === undefined ? Infinity : Math.max(1, until - Date.now());
    const signals = [AbortSignal.timeout(Math.min(this.retry.requestTimeoutMs, left))];
    if (this.stop) signals.push(this.stop);
    return AbortSignal.any(signals);
  }

  /**
   * Runs `call`, trying again after a transient error (each try is a whole request, safe to repeat): a given
   * number of attempts, or, with a deadline, as many as fit before it.
   */
  private async retrying<T>(
    call: (signal: AbortSignal) => Promise<T>,
    opts: RequestOptions = {},
  ): Promise<T> {
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.stop?.aborted)
          throw last ?? new KubeError(0, "abandoned, the run's time is up", 'Abandoned');
        return await call(this.signal(opts.until));
      } catch (e) {
        last = e;
        const wait = Math.min(1000, this.retry.backoffMs * 2 ** (attempt - 1));
        const more =
          opts.until === undefined ? attempt < this.retry.attempts : Date.now() + wait < opts.until;
        if (!isTransient(e) || !more) throw e;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private params(plural: string) {
    return { group: GROUP, version: VERSION, namespace: this.namespace, plural };
  }

  getService(name: string, opts?: RequestOptions): Promise<Service | undefined> {
    return this.retrying(async (signal) => {
      this.requests++;
      try {
        return (await this.api.getNamespacedCustomObject(
          { ...this.params('services'), name },
          withSignal(signal),
        )) as Service;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw toKubeError(e, `reading Service ${this.namespace}/${name}`, this.server);
      }
    }, opts);
  }

  /** The namespace's Services (a scheduled advance run looks for the ones carrying a rollout). */
  listServices(): Promise<Service[]> {
    return this.retrying(async (signal) => {
      this.requests++;
      try {
        const list = (await this.api.listNamespacedCustomObject(
          this.params('services'),
          withSignal(signal),
        )) as {
          items?: Service[];
        };
        return list.items ?? [];
      } catch (e) {
        throw toKubeError(e, `listing Services in ${this.namespace}`, this.server);
      }
    });
  }

  getRevision(name: string, opts?: RequestOptions): Promise<Revision | undefined> {
    return this.retrying(async (signal) => {
      this.requests++;
      try {
        return (await this.api.getNamespacedCustomObject(
          { ...this.params('revisions'), name },
          withSignal(signal),
        )) as Revision;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw toKubeError(e, `reading Revision ${this.namespace}/${name}`, this.server);
      }
    }, opts);
  }

  /** A merge patch; when it carries metadata.resourceVersion the API answers 409 if the Service changed since. */
  patchService(name: string, patch: object, dryRun = false, opts?: RequestOptions): Promise<Service> {
    return this.retrying(async (signal) => {
      this.requests++;
      try {
        return (await this.api.patchNamespacedCustomObject(
          { ...this.params('services'), name, body: patch, dryRun: dryRun ? 'All' : undefined },
          withSignal(signal, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
        )) as Service;
      } catch (e) {
        throw toKubeError(e, `patching Service ${this.namespace}/${name}`, this.server);
      }
    }, opts);
  }

  /**
   * Read-modify-write: `build` computes the patch from the Service as read (with its resourceVersion); on a 409
   * the Service is read again and the patch recomputed, so a concurrent change is never overwritten. A build that
   * returns no patch finds the Service as it wants it (its own earlier attempt landed): nothing is sent.
   */
  async update<T>(
    name: string,
    build: (svc: Service) => { patch: object | undefined; result: T },
    /** The Service as last seen (e.g. by a watch): the first attempt builds on it without reading again. */
    known?: Service,
    opts: RequestOptions & { attempts?: number } = {},
  ): Promise<{ service: Service; result: T }> {
    const attempts = opts.attempts ?? 5;
    for (let i = 1; ; i++) {
      const svc = i === 1 && known ? known : await this.getService(name, opts);
      if (!svc) throw new KubeError(404, `Service ${this.namespace}/${name} disappeared during the rollout`);
      const { patch, result } = build(svc);
      if (!patch) return { service: svc, result };
      try {
        return { service: await this.patchService(name, patch, false, opts), result };
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
