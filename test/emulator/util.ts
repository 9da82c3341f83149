// Small, dependency-free helpers shared by the emulator: JSON object handling, RFC 7386 merge patch,
// RFC 6902 JSON patch, Kubernetes label and field selectors, and a seedable random source.

// Kubernetes objects are schemaless JSON here; the emulator validates what it reads explicitly.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KObject = Record<string, any>;

export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function isPlainObject(value: unknown): value is KObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with object keys sorted, so that two equal documents always print the same. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v ?? null)).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const result: KObject = isPlainObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export class PatchError extends Error {}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, path: string[], op: string): { parent: KObject | unknown[]; key: string } {
  let node: unknown = doc;
  for (const part of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isPlainObject(node)) node = node[part];
    else node = undefined;
    if (node === undefined) {
      throw new PatchError(`${op} operation does not apply: doc is missing path: /${path.join('/')}`);
    }
  }
  if (!Array.isArray(node) && !isPlainObject(node)) {
    throw new PatchError(`${op} operation does not apply: doc is missing path: /${path.join('/')}`);
  }
  return { parent: node, key: path[path.length - 1] };
}

function getAt(doc: unknown, path: string[]): unknown {
  let node = doc;
  for (const part of path) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isPlainObject(node)) node = node[part];
    else return undefined;
  }
  return node;
}

function arrayIndex(arr: unknown[], key: string, allowEnd: boolean, op: string): number {
  if (key === '-' && allowEnd) return arr.length;
  const index = Number(key);
  if (!/^\d+$/.test(key) || index > arr.length || (!allowEnd && index === arr.length)) {
    throw new PatchError(`${op} operation does not apply: index ${key} out of bounds`);
  }
  return index;
}

/** RFC 6902 JSON patch, with the error wording of the Go library the API server uses where it matters. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('json patch must be an array of operations');
  let result = clone(doc);
  for (const raw of ops) {
    if (!isPlainObject(raw)) throw new PatchError('json patch operation must be an object');
    const op = String(raw.op);
    const path = decodePointer(String(raw.path ?? ''));
    const value = raw.value;
    switch (op) {
      case 'test': {
        if (!deepEqual(getAt(result, path), value)) {
          throw new PatchError(`testing value /${path.join('/')} failed: test failed`);
        }
        break;
      }
      case 'remove':
      case 'replace':
      case 'add': {
        if (path.length === 0) {
          if (op === 'remove') throw new PatchError('remove operation does not apply: cannot remove root');
          result = clone(value);
          break;
        }
        const { parent, key } = parentOf(result, path, op);
        if (Array.isArray(parent)) {
          const index = arrayIndex(parent, key, op === 'add', op);
          if (op === 'add') parent.splice(index, 0, clone(value));
          else if (op === 'replace') parent[index] = clone(value);
          else parent.splice(index, 1);
        } else {
          if (op !== 'add' && !(key in parent)) {
            throw new PatchError(`${op} operation does not apply: doc is missing key: /${path.join('/')}`);
          }
          if (op === 'remove') delete parent[key];
          else parent[key] = clone(value);
        }
        break;
      }
      case 'move':
      case 'copy': {
        const from = decodePointer(String(raw.from ?? ''));
        const moved = getAt(result, from);
        if (moved === undefined)
          throw new PatchError(`${op} operation does not apply: doc is missing from path`);
        if (op === 'move') result = jsonPatch(result, [{ op: 'remove', path: raw.from }]);
        result = jsonPatch(result, [{ op: 'add', path: raw.path, value: moved }]);
        break;
      }
      default:
        throw new PatchError(`Unexpected kind: ${op}`);
    }
  }
  return result;
}

// ---- selectors -------------------------------------------------------------------------------------------

export type Requirement =
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] };

export class SelectorError extends Error {}

/** Parses a Kubernetes label selector (`a=b,c!=d,e in (x,y),!f,g`). */
export function parseLabelSelector(selector: string | undefined | null): Requirement[] {
  if (!selector) return [];
  const reqs: Requirement[] = [];
  // Split on commas that are not inside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  for (const rawPart of parts) {
    const part = rawPart.trim();
    if (!part) throw new SelectorError(`unable to parse requirement: found '', expected: identifier`);
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^!\s*([A-Za-z0-9._/-]+)$/))) reqs.push({ key: m[1], op: '!exists' });
    else if ((m = part.match(/^([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      reqs.push({ key: m[1], op: m[2] as 'in' | 'notin', values });
    } else if ((m = part.match(/^([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/))) {
      reqs.push({ key: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3] });
    } else if ((m = part.match(/^([A-Za-z0-9._/-]+)$/))) reqs.push({ key: m[1], op: 'exists' });
    else throw new SelectorError(`unable to parse requirement: ${JSON.stringify(part)}`);
  }
  return reqs;
}

export function matchesRequirements(values: Record<string, string>, reqs: Requirement[]): boolean {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(values, r.key);
    const v = values[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return has && v === r.value;
      case '!=':
        return !has || v !== r.value;
      case 'in':
        return has && r.values.includes(v);
      case 'notin':
        return !has || !r.values.includes(v);
    }
  });
}

/** Field selectors the emulator supports on every kind: metadata.name and metadata.namespace. */
export function parseFieldSelector(selector: string | undefined | null): Requirement[] {
  const reqs = parseLabelSelector(selector);
  for (const r of reqs) {
    if (r.key !== 'metadata.name' && r.key !== 'metadata.namespace') {
      throw new SelectorError(`field label not supported: ${r.key}`);
    }
    if (r.op !== '=' && r.op !== '!=') throw new SelectorError(`invalid field selector: ${r.key}`);
  }
  return reqs;
}

export function fieldValues(obj: KObject): Record<string, string> {
  return { 'metadata.name': obj.metadata?.name ?? '', 'metadata.namespace': obj.metadata?.namespace ?? '' };
}

// ---- randomness ------------------------------------------------------------------------------------------

/** mulberry32: a small seedable PRNG, so tests can make fault injection and traffic splits repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration ${JSON.stringify(text)}: expected a number with ms, s, m or h`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export const PROGRESS_DEADLINE = 'serving.knative.dev/progress-deadline';

/**
 * The progress-deadline annotation in ms, or undefined when Knative's validateProgressDeadlineAnnotation refuses it
 * (not a Go duration, not whole seconds, or negative).
 */
export function parseProgressDeadline(value: string): number | undefined {
  const ns = parseGoDuration(value);
  if (ns === undefined || ns < 0 || ns % NS_PER_SECOND !== 0) return undefined;
  return ns / 1_000_000;
}

export const NS_PER_SECOND = 1_000_000_000;
const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3, // µs, U+00B5 micro sign
  '\u03bcs': 1e3, // μs, U+03BC Greek letter mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration, in nanoseconds; undefined where Go returns an error. (Overflow is not checked.) */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const intPart = m?.[1] ?? '';
    const fracPart = m?.[2];
    if (intPart === '' && !fracPart) return undefined; // no digits before or after the dot
    s = s.slice(m![0].length);
    let i = 0;
    while (i < s.length && s[i] !== '.' && !(s[i] >= '0' && s[i] <= '9')) i++;
    if (i === 0) return undefined; // missing unit
    const unit = GO_DURATION_UNITS[s.slice(0, i)];
    if (unit === undefined) return undefined; // unknown unit
    s = s.slice(i);
    total += Number(intPart || '0') * unit;
    if (fracPart) total += Math.floor(Number(`0.${fracPart}`) * unit);
  }
  return neg ? -total : total;
}

/** Go's time.Duration.String for whole seconds (the bounds Knative prints): `6s`, `1h0m0s`. */
export function goDurationString(ns: number): string {
  if (ns === 0) return '0s';
  let secs = Math.floor(ns / NS_PER_SECOND);
  const h = Math.floor(secs / 3600);
  secs -= h * 3600;
  const m = Math.floor(secs / 60);
  secs -= m * 60;
  if (h > 0) return `${h}h${m}m${secs}s`;
  if (m > 0) return `${m}m${secs}s`;
  return `${secs}s`;
}

/** Go's fmt %q of a string (strconv.Quote): ASCII escapes as Go writes them, printable Unicode kept. */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c === 0x07) out += '\\a';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0b) out += '\\v';
    else if (c < 0x80) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

// ---- image references: go-containerregistry pkg/name.ParseReference with WeakValidation -----------------

const TAG_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const REPOSITORY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789_-./';

function checkElement(element: string, allowed: string, min: number, max: number): boolean {
  const runes = [...element];
  return runes.length >= min && runes.length <= max && runes.every((r) => allowed.includes(r));
}

/** net/url's Parse("//" + name).Host == name, the check pkg/name applies to a registry. */
function validRegistry(name: string): boolean {
  if ([...name].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return false; // control character
  if (/[@/?#%]/.test(name)) return false; // userinfo, path, query or fragment: Host differs (or bad escape)
  let host = name;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return false; // missing ']' in host
    const port = host.slice(end + 1);
    if (!/^(:\d*)?$/.test(port)) return false;
    host = host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      if (!/^:\d*$/.test(host.slice(colon))) return false; // invalid port
      host = host.slice(0, colon);
    }
  }
  // url.shouldEscape in encodeHost mode refuses any other ASCII.
  return [...host].every((ch) => ch.codePointAt(0)! >= 0x80 || /[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/.test(ch));
}

function validRepository(name: string): boolean {
  if (name.length === 0) return false; // a repository name must be specified
  let registry = '';
  let repo = name;
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  if (first.includes('.') || first.includes(':')) {
    registry = first;
    repo = name.slice(slash + 1);
  }
  return checkElement(repo, REPOSITORY_CHARS, 2, 255) && validRegistry(registry);
}

function validTag(name: string): boolean {
  let base = name;
  const parts = name.split(':');
  if (parts.length > 1 && !parts[parts.length - 1].includes('/')) {
    base = parts.slice(0, -1).join(':');
    const tag = parts[parts.length - 1];
    if (tag !== '' && !checkElement(tag, TAG_CHARS, 1, 128)) return false;
  }
  return validRepository(base);
}

function validDigest(name: string): boolean {
  const parts = name.split('@');
  if (parts.length !== 2) return false;
  const [base, dig] = parts;
  if (!dig.startsWith('sha256:') || !/^[a-f0-9]{64}$/.test(dig.slice('sha256:'.length))) return false;
  // NewTag(base) succeeding means its repository parses; otherwise the base itself must be a repository.
  return validTag(base) || validRepository(base);
}

/**
 * go-containerregistry name.ParseReference(s, name.WeakValidation): undefined when it parses, else its error
 * (which is always "could not parse reference: <s>", whatever failed underneath).
 */
export function imageReferenceError(image: string): string | undefined {
  if (validTag(image) || validDigest(image)) return undefined;
  return `could not parse reference: ${image}`;
}

export const DNS1035_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_RE = new RegExp(`^${DNS1035_FMT}$`);

/** k8s.io/apimachinery IsDNS1035Label, with its messages. */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1035_RE.test(value)) {
    errs.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic " +
        "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for " +
        `validation is '${DNS1035_FMT}')`,
    );
  }
  return errs;
}

const DNS1123_SUBDOMAIN_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);

/** k8s.io/apimachinery IsDNS1123Subdomain, with its messages. */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must " +
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
        `'${DNS1123_SUBDOMAIN_FMT}')`,
    );
  }
  return errs;
}

/** Go's fmt.Sprint of a []string: `[a b]`. */
export function goList(items: string[]): string {
  return `[${items.join(' ')}]`;
}

/** k8s.io/apimachinery duration.HumanDuration, as the API server renders a Table's Age column. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}
