// Kubernetes `Status` error bodies and Knative's FieldError, reproduced with their exact wording.

export const GROUP = 'serving.knative.dev';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: unknown[]; retryAfterSeconds?: number };
  code: number;
}

/** An error the API server answers with a Status body. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusBody['details'],
  ) {
    super(message);
  }

  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) body.details = this.details;
    return body;
  }
}

export const qualified = (plural: string) => `${plural}.${GROUP}`;

export const notFound = (plural: string, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(plural)} "${name}" not found`, {
    name,
    group: GROUP,
    kind: plural,
  });

export const alreadyExists = (plural: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(plural)} "${name}" already exists`, {
    name,
    group: GROUP,
    kind: plural,
  });

export const conflict = (plural: string, name: string) =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(plural)} "${name}": the object has been modified; ` +
      'please apply your changes to the latest version and try again',
    { name, group: GROUP, kind: plural },
  );

export const gone = (requested: string, current: number) =>
  new ApiError(410, 'Expired', `too old resource version: ${requested} (${current})`);

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

export const unsupportedMediaType = () =>
  new ApiError(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: ' +
      'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
  );

export const methodNotAllowed = (
  message = 'the server does not allow this method on the requested resource',
) => new ApiError(405, 'MethodNotAllowed', message);

/** 422 from the API server's own object validation (before Knative's webhook sees the object). */
export const invalid = (kind: string, name: string, causes: { field: string; message: string }[]) =>
  new ApiError(
    422,
    'Invalid',
    `${kind}.${GROUP} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    {
      name,
      group: GROUP,
      kind,
      causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
    },
  );

export const webhookDenied = (webhook: string, message: string) =>
  new ApiError(400, 'BadRequest', `admission webhook "${webhook}" denied the request: ${message}`);

// ---- Knative's apis.FieldError ---------------------------------------------------------------------------

interface Leaf {
  message: string;
  paths: string[];
  details: string;
}

const isIndex = (p: string) => p.startsWith('[') && p.endsWith(']');

function flatten(parts: string[]): string {
  const out: string[] = [];
  for (const part of parts) {
    for (const p of part.split('.')) {
      if (p === '') continue;
      if (out.length > 0 && isIndex(p)) out[out.length - 1] += p;
      else out.push(p);
    }
  }
  return out.join('.');
}

/**
 * knative.dev/pkg/apis.FieldError: errors collected with also(), paths prefixed with via()/viaIndex(),
 * rendered by error() merged by message and sorted exactly as Knative does.
 */
export class FieldErrors {
  private leaves: Leaf[] = [];

  static of(message: string, paths: string[] = [''], details = ''): FieldErrors {
    const fe = new FieldErrors();
    fe.leaves.push({ message, paths, details });
    return fe;
  }

  get empty(): boolean {
    return this.leaves.length === 0;
  }

  also(...others: (FieldErrors | undefined | null)[]): this {
    for (const o of others) if (o) this.leaves.push(...o.leaves.map((l) => ({ ...l, paths: [...l.paths] })));
    return this;
  }

  via(...prefix: string[]): FieldErrors {
    const fe = new FieldErrors();
    fe.leaves = this.leaves.map((l) => ({ ...l, paths: l.paths.map((p) => flatten([...prefix, p])) }));
    return fe;
  }

  viaIndex(i: number): FieldErrors {
    return this.via(`[${i}]`);
  }

  error(): string {
    const merged = new Map<string, Leaf>();
    for (const l of this.leaves) {
      const key = `${l.message}-${l.details}`;
      const cur = merged.get(key);
      if (cur) {
        for (const p of l.paths) if (!cur.paths.includes(p)) cur.paths.push(p);
      } else merged.set(key, { ...l, paths: [...l.paths] });
    }
    const list = [...merged.values()];
    for (const l of list) l.paths.sort(goLess);
    list.sort((a, b) =>
      a.message === b.message ? goLess(a.details, b.details) : goLess(a.message, b.message),
    );
    return list
      .map((l) => `${l.message}: ${l.paths.join(', ')}${l.details === '' ? '' : `\n${l.details}`}`)
      .join('\n');
  }
}

/** Go compares strings bytewise; so does this, for ASCII. */
function goLess(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const fe = {
  missingField: (...paths: string[]) => FieldErrors.of('missing field(s)', paths),
  disallowed: (...paths: string[]) => FieldErrors.of('must not set the field(s)', paths),
  invalidValue: (value: unknown, path: string, details = '') =>
    FieldErrors.of(`invalid value: ${String(value)}`, [path], details),
  generic: (message: string, ...paths: string[]) => FieldErrors.of(message, paths.length ? paths : ['']),
  /** A FieldError with no Paths at all (Go's `&apis.FieldError{Message: ...}`): rendered `message: `. */
  pathless: (message: string) => FieldErrors.of(message, []),
  missingOneOf: (...paths: string[]) => FieldErrors.of('expected exactly one, got neither', paths),
  multipleOneOf: (...paths: string[]) => FieldErrors.of('expected exactly one, got both', paths),
  outOfBounds: (value: unknown, lower: unknown, upper: unknown, path: string) =>
    FieldErrors.of(`expected ${String(lower)} <= ${String(value)} <= ${String(upper)}`, [path]),
  invalidKeyName: (key: string, path: string, details = '') =>
    FieldErrors.of(`invalid key name ${JSON.stringify(key)}`, [path], details),
};
