// Knative Serving's admission webhooks for Services: defaulting (webhook.serving.knative.dev) then validation
// (validation.webhook.serving.knative.dev), with Knative's messages and field paths.

import { FieldErrors, fe, invalid, webhookDenied, type ApiError } from './errors.ts';
import {
  clone,
  deepEqual,
  goList,
  isDNS1035Label,
  isDNS1123Subdomain,
  isPlainObject,
  parseProgressDeadline,
  PROGRESS_DEADLINE,
  type KObject,
} from './util.ts';

export const CREATOR = 'serving.knative.dev/creator';
export const LAST_MODIFIER = 'serving.knative.dev/lastModifier';
export const VALIDATION_WEBHOOK = 'validation.webhook.serving.knative.dev';

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const MAX_TIMEOUT_SECONDS = 600;
export const DEFAULT_USER_CONTAINER = 'user-container';

/** Knative's SetDefaults for a Service, including the creator and lastModifier annotations. */
export function defaultService(obj: KObject, old: KObject | undefined, username: string): KObject {
  const svc = clone(obj);
  svc.metadata ??= {};
  svc.spec ??= {};
  const spec = svc.spec;
  spec.template ??= {};
  spec.template.spec ??= {};
  const podSpec = spec.template.spec;
  podSpec.containers ??= [];
  if (Array.isArray(podSpec.containers)) {
    podSpec.containers.forEach((c: KObject, i: number) => {
      if (!isPlainObject(c)) return;
      if (!c.name)
        c.name = podSpec.containers.length === 1 ? DEFAULT_USER_CONTAINER : `${DEFAULT_USER_CONTAINER}-${i}`;
      c.resources ??= {};
      if (c.readinessProbe === undefined || c.readinessProbe === null) c.readinessProbe = {};
      const probe = c.readinessProbe;
      if (isPlainObject(probe)) {
        if (!probe.httpGet && !probe.tcpSocket && !probe.exec && !probe.grpc) probe.tcpSocket = { port: 0 };
        probe.successThreshold ??= 1;
      }
    });
  }
  podSpec.enableServiceLinks ??= false;
  if (podSpec.timeoutSeconds === undefined) podSpec.timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  if (podSpec.containerConcurrency === undefined) podSpec.containerConcurrency = 0;

  // RouteSpec.SetDefaults: no traffic, or an empty list, follows the latest revision.
  if (
    spec.traffic === undefined ||
    spec.traffic === null ||
    (Array.isArray(spec.traffic) && spec.traffic.length === 0)
  ) {
    spec.traffic = [{ percent: 100, latestRevision: true }];
  } else if (Array.isArray(spec.traffic)) {
    for (const t of spec.traffic) {
      if (!isPlainObject(t)) continue;
      if (t.latestRevision === undefined || t.latestRevision === null) t.latestRevision = !t.revisionName;
      if (t.percent === undefined || t.percent === null) t.percent = 0;
    }
  }

  // SetUserInfo: creator and lastModifier on create; lastModifier when an update changes the spec.
  const annotations = (svc.metadata.annotations ??= {});
  if (!old) {
    annotations[CREATOR] = username;
    annotations[LAST_MODIFIER] = username;
  } else if (!deepEqual(old.spec, svc.spec)) {
    annotations[LAST_MODIFIER] = username;
  }
  return svc;
}

/** The API server's own checks of object metadata, answered as 422 Invalid before the webhook runs. */
export function validateApiMetadata(obj: KObject): ApiError | undefined {
  const name: string = obj.metadata?.name ?? '';
  if (!name) {
    return invalid('services', '', [
      { field: 'metadata.name', message: 'Required value: name or generateName is required' },
    ]);
  }
  const errs = isDNS1123Subdomain(name);
  if (errs.length) {
    return invalid('Service', name, [
      { field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: ${errs.join(', ')}` },
    ]);
  }
  return undefined;
}

/** Knative's Service.Validate. Returns the webhook's denial, or undefined when the Service is valid. */
export function validateService(svc: KObject, old: KObject | undefined): ApiError | undefined {
  const errs = new FieldErrors();
  errs.also(validateObjectMetadata(svc.metadata).via('metadata'));
  const spec = isPlainObject(svc.spec) ? svc.spec : {};
  errs.also(validateTemplate(spec.template, svc.metadata?.name ?? '').via('spec', 'template'));
  errs.also(validateTraffic(spec.traffic).via('spec', 'traffic'));
  if (old) {
    errs.also(validateCreatorAndModifier(old, svc).via('metadata.annotations'));
    errs.also(verifyNameChange(spec.template, old.spec?.template).via('spec.template'));
  }
  if (errs.empty) return undefined;
  return webhookDenied(VALIDATION_WEBHOOK, `validation failed: ${errs.error()}`);
}

function validateObjectMetadata(meta: KObject | undefined): FieldErrors {
  const name: string = meta?.name ?? '';
  const generateName: string = meta?.generateName ?? '';
  if (generateName) {
    const msgs = isDNS1035Label(generateName.replace(/-$/, 'a'));
    if (msgs.length) return fe.generic(`not a DNS 1035 label prefix: ${goList(msgs)}`, 'generateName');
  }
  if (name) {
    const msgs = isDNS1035Label(name);
    if (msgs.length) return fe.generic(`not a DNS 1035 label: ${goList(msgs)}`, 'name');
  }
  if (!name && !generateName) return fe.generic('name or generateName is required', 'name');
  return new FieldErrors();
}

function validateTemplate(template: unknown, serviceName: string): FieldErrors {
  const errs = new FieldErrors();
  if (!isPlainObject(template)) return fe.missingField('');
  const meta = isPlainObject(template.metadata) ? template.metadata : {};
  const spec = isPlainObject(template.spec) ? template.spec : {};
  errs.also(validatePodSpec(spec).via('spec'));
  if (spec.timeoutSeconds !== undefined && spec.timeoutSeconds !== 0) {
    const t = Number(spec.timeoutSeconds);
    if (!Number.isInteger(t) || t < 0 || t > MAX_TIMEOUT_SECONDS) {
      errs.also(fe.outOfBounds(spec.timeoutSeconds, 0, MAX_TIMEOUT_SECONDS, 'spec.timeoutSeconds'));
    }
  }
  if (spec.containerConcurrency !== undefined) {
    const cc = Number(spec.containerConcurrency);
    if (!Number.isInteger(cc) || cc < 0 || cc > 1000) {
      errs.also(fe.outOfBounds(spec.containerConcurrency, 0, 1000, 'spec.containerConcurrency'));
    }
  }
  errs.also(validateProgressDeadline(meta.annotations).via('metadata.annotations'));
  // validateRevisionName
  const name: string = meta.name ?? '';
  if (name) {
    const msgs = isDNS1035Label(name);
    if (msgs.length) errs.also(fe.invalidValue(`not a DNS 1035 label: ${goList(msgs)}`, 'metadata.name'));
    else if (!name.startsWith(`${serviceName}-`)) {
      errs.also(
        fe.invalidValue(`${JSON.stringify(name)} must have prefix "${serviceName}-"`, 'metadata.name'),
      );
    }
  }
  return errs;
}

function validateProgressDeadline(annotations: unknown): FieldErrors {
  if (!isPlainObject(annotations) || !annotations[PROGRESS_DEADLINE]) return new FieldErrors();
  const v = String(annotations[PROGRESS_DEADLINE]);
  return parseProgressDeadline(v) === undefined ? fe.invalidValue(v, PROGRESS_DEADLINE) : new FieldErrors();
}

function validatePodSpec(spec: KObject): FieldErrors {
  const errs = new FieldErrors();
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) return fe.missingField('containers');
  if (containers.length > 1) {
    return fe.generic(`multi-container is off, but found ${containers.length} containers`);
  }
  const c = containers[0];
  if (!isPlainObject(c)) return fe.missingField('').via('containers[0]');
  const cErrs = new FieldErrors();
  if (!c.image) cErrs.also(fe.missingField('image'));
  else if (!/^[a-z0-9]+([._\-/:@][a-zA-Z0-9_.-]+)*$/i.test(String(c.image)) || /\s/.test(String(c.image))) {
    cErrs.also(
      FieldErrors.of(
        'Failed to parse image reference',
        ['image'],
        `image: ${JSON.stringify(c.image)}, error: could not parse reference`,
      ),
    );
  }
  if (c.env !== undefined) {
    if (!Array.isArray(c.env)) cErrs.also(fe.invalidValue(JSON.stringify(c.env), 'env'));
    else {
      c.env.forEach((e: unknown, i: number) => {
        if (!isPlainObject(e) || !e.name) cErrs.also(fe.missingField('name').via(`env[${i}]`));
      });
    }
  }
  if (c.ports !== undefined && Array.isArray(c.ports) && c.ports.length > 1) {
    cErrs.also(fe.generic('more than one container port is set', 'ports'));
  }
  if (isPlainObject(c.readinessProbe)) {
    const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => c.readinessProbe[h]);
    if (handlers.length > 1) cErrs.also(fe.multipleOneOf(...handlers).via('readinessProbe'));
  }
  errs.also(cErrs.via('containers[0]'));
  return errs;
}

function validateTraffic(traffic: unknown): FieldErrors {
  const errs = new FieldErrors();
  if (!Array.isArray(traffic)) return errs;
  const seen = new Map<string, number>();
  let sum = 0;
  traffic.forEach((raw, i) => {
    const tt = isPlainObject(raw) ? raw : {};
    const one = new FieldErrors();
    // validateLatestRevision (only in a spec, only when set)
    if (tt.latestRevision !== undefined && tt.latestRevision !== null) {
      const lr = Boolean(tt.latestRevision);
      const pinned = Boolean(tt.revisionName);
      if (pinned === lr) {
        one.also(
          fe.generic(
            `may not set revisionName ${JSON.stringify(tt.revisionName ?? '')} when latestRevision is ${lr}`,
            'latestRevision',
          ),
        );
      }
    }
    // validateRevisionAndConfiguration, within a Service (which has a default configurationName)
    if (tt.configurationName) one.also(fe.disallowed('configurationName'));
    else if (tt.revisionName) {
      const msgs = qualifiedNameErrors(String(tt.revisionName));
      if (msgs.length) one.also(fe.invalidKeyName(String(tt.revisionName), 'revisionName', msgs.join(', ')));
    }
    // validateTrafficPercentage
    if (tt.percent !== undefined && tt.percent !== null) {
      const p = Number(tt.percent);
      if (p < 0 || p > 100) one.also(fe.outOfBounds(tt.percent, 0, 100, 'percent'));
      sum += p;
    }
    // validateURL
    if (tt.url) {
      one.also(fe.disallowed('url'));
      if (!tt.tag) one.also(fe.disallowed('url'));
    }
    errs.also(one.viaIndex(i));
    if (!tt.tag) return;
    const tag = String(tt.tag);
    const msgs = isDNS1035Label(tag);
    if (msgs.length)
      errs.also(
        fe
          .invalidValue(`not a DNS 1035 label: ${goList(msgs)}`, '')
          .viaIndex(i)
          .via('tag'),
      );
    const first = seen.get(tag);
    if (first !== undefined) {
      errs.also(
        FieldErrors.of(`Multiple definitions for ${JSON.stringify(tag)}`, [`[${i}].tag`, `[${first}].tag`]),
      );
    } else seen.set(tag, i);
  });
  if (sum !== 100) errs.also(FieldErrors.of(`Traffic targets sum to ${sum}, want 100`, ['']));
  return errs;
}

/** k8s IsQualifiedName, reduced to the name part's rules (revision names never carry a prefix). */
function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('name part must be no more than 63 characters');
  if (!/^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/.test(value)) {
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
        "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " +
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  }
  return errs;
}

function validateCreatorAndModifier(old: KObject, svc: KObject): FieldErrors {
  const errs = new FieldErrors();
  const oldA = old.metadata?.annotations ?? {};
  const newA = svc.metadata?.annotations ?? {};
  if (oldA[CREATOR] !== newA[CREATOR]) errs.also(fe.generic('annotation value is immutable', CREATOR));
  if (deepEqual(old.spec, svc.spec) && oldA[LAST_MODIFIER] !== newA[LAST_MODIFIER]) {
    // knative.dev/pkg words this one as an invalid value, not as an immutable annotation.
    errs.also(fe.invalidValue(newA[LAST_MODIFIER] ?? '', LAST_MODIFIER));
  }
  return errs;
}

/** RevisionTemplateSpec.VerifyNameChange: a named template cannot change without a new name. */
function verifyNameChange(template: unknown, oldTemplate: unknown): FieldErrors {
  if (!isPlainObject(template) || !isPlainObject(oldTemplate)) return new FieldErrors();
  const name = template.metadata?.name ?? '';
  if (!name || name !== (oldTemplate.metadata?.name ?? '')) return new FieldErrors();
  const diff = shortDiff(oldTemplate, template);
  if (!diff) return new FieldErrors();
  return FieldErrors.of(
    'Saw the following changes without a name change (-old +new)',
    ['metadata.name'],
    diff,
  );
}

/** A compact `-old +new` diff of two JSON documents, one line per changed leaf, in the spirit of kmp.ShortDiff. */
export function shortDiff(a: unknown, b: unknown): string {
  const lines: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (deepEqual(x, y)) return;
    if (isPlainObject(x) && isPlainObject(y)) {
      for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort())
        walk(x[k], y[k], `${path}.${k}`);
      return;
    }
    if (Array.isArray(x) && Array.isArray(y) && x.length === y.length) {
      x.forEach((v, i) => walk(v, y[i], `${path}[${i}]`));
      return;
    }
    lines.push(`{*v1.RevisionTemplateSpec}${path}:`);
    if (x !== undefined) lines.push(`\t-: ${JSON.stringify(x)}`);
    if (y !== undefined) lines.push(`\t+: ${JSON.stringify(y)}`);
  };
  walk(a, b, '');
  return lines.join('\n');
}
