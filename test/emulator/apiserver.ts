// The Kubernetes API server for serving.knative.dev/v1: discovery, CRUD, patch, watch, the status subresource,
// server-side Tables for kubectl, and Status error bodies.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  ApiError,
  API_VERSION,
  alreadyExists,
  GROUP,
  VERSION,
  badRequest,
  conflict,
  methodNotAllowed,
  unsupportedMediaType,
} from './errors.ts';
import type { Faults } from './faults.ts';
import { PLURALS, type Plural, type Store, type StoreEvent } from './store.ts';
import { openapiV2, openapiV3Index, openapiV3Group } from './openapi.ts';
import {
  PatchError,
  SelectorError,
  clone,
  deepEqual,
  fieldValues,
  humanDuration,
  isPlainObject,
  jsonPatch,
  matchesRequirements,
  mergePatch,
  parseFieldSelector,
  parseLabelSelector,
  type KObject,
} from './util.ts';
import { defaultService, validateApiMetadata, validateService } from './webhook.ts';

export interface ResourceInfo {
  plural: Plural;
  kind: string;
  singular: string;
  shortNames: string[];
  /** Users may write it (create/update/patch); everything may be read and revisions deleted. */
  writable: boolean;
  deletable: boolean;
  columns: { name: string; type: string; description: string; value: (o: KObject) => unknown }[];
}

const readyCol = (o: KObject) => o.status?.conditions?.find((c: KObject) => c.type === 'Ready');
const COL_READY = {
  name: 'Ready',
  type: 'string',
  description: '',
  value: (o: KObject) => readyCol(o)?.status,
};
const COL_REASON = {
  name: 'Reason',
  type: 'string',
  description: '',
  value: (o: KObject) => readyCol(o)?.reason,
};
const COL_URL = { name: 'URL', type: 'string', description: '', value: (o: KObject) => o.status?.url };
const COL_LATEST_CREATED = {
  name: 'LatestCreated',
  type: 'string',
  description: '',
  value: (o: KObject) => o.status?.latestCreatedRevisionName,
};
const COL_LATEST_READY = {
  name: 'LatestReady',
  type: 'string',
  description: '',
  value: (o: KObject) => o.status?.latestReadyRevisionName,
};

/** The CRDs' names and additionalPrinterColumns, as in knative/serving config/core/300-resources. */
export const RESOURCES: Record<Plural, ResourceInfo> = {
  services: {
    plural: 'services',
    kind: 'Service',
    singular: 'service',
    shortNames: ['kservice', 'ksvc'],
    writable: true,
    deletable: true,
    columns: [COL_URL, COL_LATEST_CREATED, COL_LATEST_READY, COL_READY, COL_REASON],
  },
  configurations: {
    plural: 'configurations',
    kind: 'Configuration',
    singular: 'configuration',
    shortNames: ['config', 'cfg'],
    writable: false,
    deletable: false,
    columns: [COL_LATEST_CREATED, COL_LATEST_READY, COL_READY, COL_REASON],
  },
  revisions: {
    plural: 'revisions',
    kind: 'Revision',
    singular: 'revision',
    shortNames: ['rev'],
    writable: false,
    deletable: true,
    columns: [
      {
        name: 'Config Name',
        type: 'string',
        description: '',
        value: (o) => o.metadata.labels?.['serving.knative.dev/configuration'],
      },
      {
        name: 'Generation',
        type: 'string',
        description: '',
        value: (o) => o.metadata.labels?.['serving.knative.dev/configurationGeneration'],
      },
      COL_READY,
      COL_REASON,
      { name: 'Actual Replicas', type: 'integer', description: '', value: (o) => o.status?.actualReplicas },
      { name: 'Desired Replicas', type: 'integer', description: '', value: (o) => o.status?.desiredReplicas },
    ],
  },
  routes: {
    plural: 'routes',
    kind: 'Route',
    singular: 'route',
    shortNames: ['rt'],
    writable: false,
    deletable: false,
    columns: [COL_URL, COL_READY, COL_REASON],
  },
};

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-knative-emulator',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export interface ApiServerOptions {
  store: Store;
  faults: Faults;
  /** Bearer token -> username. A request with an unknown token gets 401. */
  tokens: Map<string, string>;
  /** The user of requests that carry no token. */
  anonymousUser: string;
  bookmarkIntervalMs: number;
  /** Handles /emulator/... control requests. */
  control: (req: IncomingMessage, res: ServerResponse, body: string) => Promise<void> | void;
}

interface Parsed {
  namespace?: string;
  plural: Plural;
  name?: string;
  subresource?: string;
}

function parsePath(pathname: string): Parsed | undefined {
  const prefix = `/apis/${GROUP}/${VERSION}/`;
  if (!pathname.startsWith(prefix)) return undefined;
  const parts = pathname.slice(prefix.length).split('/').filter(Boolean);
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    namespace = parts[1];
    parts.splice(0, 2);
  }
  const plural = parts[0] as Plural;
  if (!PLURALS.includes(plural) || parts.length > 3) return undefined;
  return { namespace, plural, name: parts[1], subresource: parts[2] };
}

function send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: ApiError): void {
  const headers: Record<string, string> = {};
  if (err.code === 429) headers['retry-after'] = '1';
  const text = JSON.stringify(err.toStatus());
  res.writeHead(err.code, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`error decoding request body: ${(e as Error).message}`);
  }
}

const withKind = (o: KObject, plural: Plural): KObject => ({
  apiVersion: API_VERSION,
  kind: RESOURCES[plural].kind,
  ...o,
});

/** One API request as the server received it (control requests under /emulator/ excluded). */
export interface RequestRecord {
  method: string;
  /** Path and query string. */
  url: string;
  /** Wall-clock milliseconds when the request arrived. */
  at: number;
  userAgent: string;
  /** The user of the request's token, once authenticated. */
  user?: string;
  /** The answer's status code, once sent. */
  status?: number;
}

export class ApiServer {
  readonly server: Server;
  /** Every API request received, in order: tests count requests and assert that nothing was written. */
  readonly requests: RequestRecord[] = [];
  private readonly watches = new Set<() => void>();

  constructor(private readonly opts: ApiServerOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (err instanceof ApiError) sendError(res, err);
        else {
          console.error('emulator: internal error', err);
          sendError(
            res,
            new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`),
          );
        }
      });
    });
  }

  /** Ends every open watch, as a restarting API server would. */
  closeWatches(): void {
    for (const close of [...this.watches]) close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await readBody(req);
    if (url.pathname.startsWith('/emulator/')) return this.opts.control(req, res, body);
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      at: Date.now(),
      userAgent: req.headers['user-agent'] ?? '',
    };
    this.requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));

    // client-go (kubectl) sends no bearer token over plain HTTP, so a request without one is the default user;
    // a token that is present must be one the emulator issued.
    const auth = req.headers.authorization ?? '';
    const user = auth
      ? this.opts.tokens.get(auth.replace(/^Bearer\s+/i, '').trim())
      : this.opts.anonymousUser;
    if (!user) {
      return sendError(res, new ApiError(401, 'Unauthorized', 'Unauthorized'));
    }
    record.user = user;

    const fault = await this.opts.faults.apiFault(req.method ?? 'GET', url.pathname, user);
    if (fault === 'cut') {
      req.socket.destroy();
      return;
    }
    if (fault === 'lose-answer') {
      // The request is handled in full; its answer never leaves: the connection is cut instead.
      res.writeHead = (() => res) as unknown as typeof res.writeHead;
      res.end = (() => {
        req.socket.destroy();
        return res;
      }) as unknown as typeof res.end;
    } else if (fault) return sendError(res, fault);

    switch (url.pathname) {
      case '/version':
        return send(res, 200, SERVER_VERSION);
      case '/api':
        return send(res, 200, {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.headers.host ?? '' }],
        });
      case '/api/v1':
        return send(res, 200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [] });
      case '/apis':
        return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [this.group()] });
      case `/apis/${GROUP}`:
        return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...this.group() });
      case `/apis/${GROUP}/${VERSION}`:
        return send(res, 200, this.resourceList());
      case '/openapi/v2':
        return send(res, 200, openapiV2());
      case '/openapi/v3':
        return send(res, 200, openapiV3Index());
      case `/openapi/v3/apis/${GROUP}/${VERSION}`:
        return send(res, 200, openapiV3Group());
    }

    const parsed = parsePath(url.pathname);
    if (!parsed) {
      return sendError(
        res,
        new ApiError(404, 'NotFound', 'the server could not find the requested resource'),
      );
    }
    const method = req.method ?? 'GET';
    const { plural, namespace, name, subresource } = parsed;
    const info = RESOURCES[plural];
    if (subresource && subresource !== 'status') {
      return sendError(
        res,
        new ApiError(404, 'NotFound', 'the server could not find the requested resource'),
      );
    }

    if (!name) {
      if (method === 'GET') {
        const watch = url.searchParams.get('watch');
        if (watch === 'true' || watch === '1') return this.watch(req, res, parsed, url);
        return this.list(req, res, parsed, url);
      }
      if (method === 'POST') {
        if (!namespace) throw methodNotAllowed();
        if (!info.writable) throw this.readOnly(plural, method);
        return this.create(res, parsed, parseJson(body), user, url);
      }
      throw methodNotAllowed();
    }
    if (!namespace) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');

    switch (method) {
      case 'GET': {
        const obj = withKind(this.opts.store.mustGet(plural, namespace, name), plural);
        if (wantsTable(req)) return send(res, 200, this.table(plural, [obj], url));
        return send(res, 200, obj);
      }
      case 'PUT':
        if (!info.writable && !subresource) throw this.readOnly(plural, method);
        return this.update(res, parsed as Required<Parsed>, parseJson(body), user, url);
      case 'PATCH':
        if (!info.writable && !subresource) throw this.readOnly(plural, method);
        return this.patch(req, res, parsed as Required<Parsed>, body, user, url);
      case 'DELETE': {
        if (!info.deletable || subresource) throw this.readOnly(plural, method);
        if (url.searchParams.get('dryRun') === 'All') {
          return send(res, 200, withKind(this.opts.store.mustGet(plural, namespace, name), plural));
        }
        const deleted = this.opts.store.delete(plural, namespace, name);
        return send(res, 200, withKind(deleted, plural));
      }
    }
    throw methodNotAllowed();
  }

  private readOnly(plural: Plural, method: string): ApiError {
    return new ApiError(
      405,
      'MethodNotAllowed',
      `${plural}.${GROUP} are managed by Knative's controllers in this emulator: ${method} is not allowed` +
        (plural === 'revisions' ? ' (revisions may only be deleted)' : ''),
    );
  }

  private group() {
    const gv = { groupVersion: `${GROUP}/${VERSION}`, version: VERSION };
    return { name: GROUP, versions: [gv], preferredVersion: gv };
  }

  private resourceList() {
    const resources: KObject[] = [];
    for (const info of Object.values(RESOURCES)) {
      const verbs = ['get', 'list', 'watch'];
      if (info.writable) verbs.push('create', 'update', 'patch', 'delete', 'deletecollection');
      else if (info.deletable) verbs.push('delete');
      resources.push({
        name: info.plural,
        singularName: info.singular,
        namespaced: true,
        kind: info.kind,
        verbs: verbs.sort(),
        shortNames: info.shortNames,
        categories: ['all', 'knative', 'serving'],
        storageVersionHash: Buffer.from(info.plural).toString('base64').slice(0, 11),
      });
      resources.push({
        name: `${info.plural}/status`,
        singularName: '',
        namespaced: true,
        kind: info.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${GROUP}/${VERSION}`, resources };
  }

  private filter(url: URL): (o: KObject) => boolean {
    try {
      const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
      const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
      return (o) =>
        matchesRequirements(o.metadata.labels ?? {}, labels) && matchesRequirements(fieldValues(o), fields);
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(`unable to parse requirement: ${e.message}`);
      throw e;
    }
  }

  private list(req: IncomingMessage, res: ServerResponse, p: Parsed, url: URL): void {
    const filter = this.filter(url);
    const items = this.opts.store.list(p.plural, p.namespace, filter).map((o) => withKind(o, p.plural));
    if (wantsTable(req)) return send(res, 200, this.table(p.plural, items, url));
    send(res, 200, {
      apiVersion: API_VERSION,
      kind: `${RESOURCES[p.plural].kind}List`,
      metadata: { resourceVersion: String(this.opts.store.resourceVersion) },
      items,
    });
  }

  /** A meta.k8s.io/v1 Table with the CRD's printer columns, as kubectl get asks for. */
  private table(plural: Plural, items: KObject[], url: URL): KObject {
    const info = RESOURCES[plural];
    const include = url.searchParams.get('includeObject') ?? 'Metadata';
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: String(this.opts.store.resourceVersion) },
      columnDefinitions: [
        {
          name: 'Name',
          type: 'string',
          format: 'name',
          description: 'Name must be unique within a namespace.',
          priority: 0,
        },
        ...info.columns.map((c) => ({
          name: c.name,
          type: c.type,
          format: '',
          description: c.description,
          priority: 0,
        })),
        { name: 'Age', type: 'date', format: '', description: 'CreationTimestamp', priority: 0 },
      ],
      rows: items.map((o) => ({
        cells: [o.metadata.name, ...info.columns.map((c) => c.value(o) ?? null), age(o)],
        object:
          include === 'None'
            ? undefined
            : include === 'Object'
              ? o
              : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
      })),
    };
  }

  private create(res: ServerResponse, p: Parsed, raw: unknown, user: string, url: URL): void {
    if (!isPlainObject(raw)) throw badRequest('the body of the request was not a JSON object');
    const obj = clone(raw);
    obj.metadata ??= {};
    if (obj.metadata.namespace && obj.metadata.namespace !== p.namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = `${obj.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
    }
    obj.metadata.namespace = p.namespace;
    delete obj.metadata.resourceVersion;
    const apiErr = validateApiMetadata(obj);
    if (apiErr) throw apiErr;
    const defaulted = defaultService(obj, undefined, user);
    const denied = validateService(defaulted, undefined);
    if (denied) throw denied;
    defaulted.apiVersion = API_VERSION;
    defaulted.kind = 'Service';
    // PrepareForCreate of a resource with a status subresource drops status.
    delete defaulted.status;
    if (url.searchParams.get('dryRun') === 'All') {
      if (this.opts.store.get(p.plural, p.namespace!, obj.metadata.name)) {
        throw alreadyExists(p.plural, obj.metadata.name);
      }
      return send(res, 201, defaulted);
    }
    const created = this.opts.store.create(p.plural, defaulted);
    send(res, 201, created);
  }

  /** Applies a write to the main resource or to status, with generation, defaulting and validation. */
  private commit(
    p: Required<Parsed>,
    current: KObject,
    next: KObject,
    user: string,
    expectedRV: string | undefined,
    url: URL,
  ): KObject {
    const store = this.opts.store;
    if (p.subresource === 'status' && next.metadata?.resourceVersion !== undefined) {
      expectedRV = String(next.metadata.resourceVersion);
    }
    // The resourceVersion precondition is checked before admission, as the API server's storage layer does.
    if (expectedRV !== undefined && expectedRV !== current.metadata.resourceVersion) {
      throw conflict(p.plural, p.name);
    }
    let result: KObject;
    if (p.subresource === 'status') {
      // Writes to status change status only.
      result = { ...current, status: next.status ?? {} };
    } else {
      // Writes to the main resource ignore status.
      const incoming: KObject = { ...next, status: current.status };
      incoming.metadata = { ...(incoming.metadata ?? {}) };
      if (incoming.metadata.name !== undefined && incoming.metadata.name !== p.name) {
        throw badRequest(
          `the name of the object (${incoming.metadata.name}) does not match the name on the URL (${p.name})`,
        );
      }
      incoming.metadata.name = p.name;
      incoming.metadata.namespace = p.namespace;
      const defaulted = defaultService(incoming, current, user);
      const denied = validateService(defaulted, current);
      if (denied) throw denied;
      defaulted.metadata.generation =
        current.metadata.generation + (deepEqual(current.spec, defaulted.spec) ? 0 : 1);
      defaulted.apiVersion = API_VERSION;
      defaulted.kind = 'Service';
      result = defaulted;
    }
    if (url.searchParams.get('dryRun') === 'All')
      return withKind(
        { ...result, metadata: { ...result.metadata, resourceVersion: current.metadata.resourceVersion } },
        p.plural,
      );
    return withKind(store.update(p.plural, result), p.plural);
  }

  private update(res: ServerResponse, p: Required<Parsed>, raw: unknown, user: string, url: URL): void {
    if (!isPlainObject(raw)) throw badRequest('the body of the request was not a JSON object');
    const current = this.opts.store.mustGet(p.plural, p.namespace, p.name);
    const rv = raw.metadata?.resourceVersion;
    if (rv === undefined || rv === '') {
      throw new ApiError(
        422,
        'Invalid',
        `${p.plural}.${GROUP} "${p.name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
        {
          name: p.name,
          group: GROUP,
          kind: p.plural,
          causes: [
            {
              reason: 'FieldValueInvalid',
              message: 'Invalid value: 0x0: must be specified for an update',
              field: 'metadata.resourceVersion',
            },
          ],
        },
      );
    }
    send(res, 200, this.commit(p, current, raw, user, String(rv), url));
  }

  private patch(
    req: IncomingMessage,
    res: ServerResponse,
    p: Required<Parsed>,
    body: string,
    user: string,
    url: URL,
  ): void {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const current = this.opts.store.mustGet(p.plural, p.namespace, p.name);
    let next: unknown;
    try {
      if (contentType === 'application/merge-patch+json')
        next = mergePatch(withKind(current, p.plural), parseJson(body));
      else if (contentType === 'application/json-patch+json')
        next = jsonPatch(withKind(current, p.plural), parseJson(body));
      else if (contentType === 'application/apply-patch+yaml') {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          'server-side apply (application/apply-patch+yaml) is not emulated; use a merge patch, a JSON patch or an update',
        );
      } else throw unsupportedMediaType();
    } catch (e) {
      if (e instanceof PatchError) throw new ApiError(422, 'Invalid', e.message);
      throw e;
    }
    if (!isPlainObject(next)) throw badRequest('the patch did not produce an object');
    // A resourceVersion in the patched object is a precondition.
    const rv = next.metadata?.resourceVersion;
    const expected = rv !== undefined && rv !== current.metadata.resourceVersion ? String(rv) : undefined;
    send(res, 200, this.commit(p, current, next, user, expected, url));
  }

  private watch(req: IncomingMessage, res: ServerResponse, p: Parsed, url: URL): void {
    const store = this.opts.store;
    const filter = this.filter(url);
    const inScope = (o: KObject | undefined) =>
      !!o && (!p.namespace || o.metadata.namespace === p.namespace) && filter(o);
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const asTable = wantsTable(req);

    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const write = (type: string, object: KObject) => {
      const out =
        asTable && type !== 'BOOKMARK' && type !== 'ERROR' ? this.table(p.plural, [object], url) : object;
      res.write(`${JSON.stringify({ type, object: out })}\n`);
    };
    const toWatchEvent = (e: StoreEvent): [string, KObject] | undefined => {
      if (e.plural !== p.plural) return undefined;
      const now = inScope(e.object);
      const before = inScope(e.previous);
      const obj = withKind(e.object, p.plural);
      if (e.type === 'ADDED') return now ? ['ADDED', obj] : undefined;
      if (e.type === 'DELETED') return before || now ? ['DELETED', obj] : undefined;
      if (now && before) return ['MODIFIED', obj];
      if (now) return ['ADDED', obj];
      if (before) return ['DELETED', obj];
      return undefined;
    };

    let closed = false;
    const cleanups: (() => void)[] = [];
    const close = () => {
      if (closed) return;
      closed = true;
      for (const c of cleanups) c();
      this.watches.delete(close);
      res.end();
    };
    this.watches.add(close);
    req.on('close', close);
    res.on('close', close);

    const emit = (e: StoreEvent) => {
      if (closed) return;
      const ev = toWatchEvent(e);
      if (ev) write(ev[0], ev[1]);
    };

    // Replay, then subscribe: both happen in this one synchronous turn, so no store event falls in between.
    if (rvParam === '' || rvParam === '0') {
      for (const o of store.list(p.plural, p.namespace, filter)) write('ADDED', withKind(o, p.plural));
    } else {
      let events: StoreEvent[];
      try {
        events = store.eventsSince(Number(rvParam), rvParam);
      } catch (err) {
        if (err instanceof ApiError) {
          write('ERROR', err.toStatus() as unknown as KObject);
          close();
          return;
        }
        throw err;
      }
      for (const e of events) emit(e);
    }
    cleanups.push(store.subscribe(emit));

    if (bookmarks) {
      const timer = setInterval(() => {
        if (closed) return;
        write('BOOKMARK', {
          kind: RESOURCES[p.plural].kind,
          apiVersion: API_VERSION,
          // Every event up to the store's current resourceVersion has been delivered (or filtered out).
          metadata: { resourceVersion: String(store.resourceVersion) },
        });
      }, this.opts.bookmarkIntervalMs);
      cleanups.push(() => clearInterval(timer));
    }
    if (timeoutSeconds > 0) {
      const t = setTimeout(close, timeoutSeconds * 1000);
      cleanups.push(() => clearTimeout(t));
    }
  }
}

const age = (o: KObject) =>
  o.metadata.creationTimestamp
    ? humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp))
    : '<unknown>';

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? '');
}
