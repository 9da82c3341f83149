// Knative Serving's admission webhooks for Services: defaulting (webhook.serving.knative.dev) then validation
// (validation.webhook.serving.knative.dev), with Knative's messages and field paths.

import { FieldErrors, fe, invalid, webhookDenied, type ApiError } from './errors.ts';
import {
  clone,
  deepEqual,
  goDurationString,
  goList,
  goQuote,
  imageReferenceError,
  isDNS1035Label,
  isDNS1123Subdomain,
  isPlainObject,
  NS_PER_SECOND,
  parseGoDuration,
  PROGRESS_DEADLINE,
  type KObject,
} from './util.ts';

export const CREATOR = 'serving.knative.dev/creator';
export const LAST_MODIFIER = 'serving.knative.dev/lastModifier';
export const VALIDATION_WEBHOOK = 'validation.webhook.serving.knative.dev';
export const ROLLOUT_DURATION = 'serving.knative.dev/rollout-duration';

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const MAX_TIMEOUT_SECONDS = 600;
export const DEFAULT_USER_CONTAINER = 'user-container';
export const DEFAULT_INIT_CONTAINER = 'init-container';
export const DEFAULT_RESPONSE_START_TIMEOUT_SECONDS = 300;

/** Knative's SetDefaults for a Service, including the creator and lastModifier annotations. */
export function defaultService(obj: KObject, old: KObject | undefined, username: string): KObject {
  const svc = clone(obj);
  svc.metadata ??= {};
  svc.spec ??= {};
  const spec = svc.spec;
  spec.template ??= {};
  spec.template.spec ??= {};

  // ConfigurationSpec.SetDefaults (configuration_defaults.go): on an update that keeps a BYO template name, the
  // template is not defaulted at all, "to avoid suggesting changes that would conflict with BYO RevisionName";
  // VerifyNameChange then compares it, undefaulted, with the stored template.
  const newName = spec.template.metadata?.name ?? '';
  const keepsName =
    old !== undefined && newName !== '' && newName === (old.spec?.template?.metadata?.name ?? '');
  if (!keepsName && isPlainObject(spec.template.spec)) defaultRevisionSpec(spec.template.spec, !old);

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

const unset = (v: unknown) => v === undefined || v === null;

/** pkg/apis/serving/v1/revision_defaults.go RevisionSpec.SetDefaults with config-defaults left at its defaults. */
function defaultRevisionSpec(podSpec: KObject, inCreate: boolean): void {
  if (unset(podSpec.timeoutSeconds) || podSpec.timeoutSeconds === 0)
    podSpec.timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  // revision-idle-timeout-seconds defaults to 0: idleTimeoutSeconds is never defaulted.
  // revision-response-start-timeout-seconds defaults to revision-timeout-seconds (300), set only when smaller
  // than this revision's timeout.
  const timeout = Number(podSpec.timeoutSeconds);
  if (unset(podSpec.responseStartTimeoutSeconds) && DEFAULT_RESPONSE_START_TIMEOUT_SECONDS < timeout) {
    podSpec.responseStartTimeoutSeconds = DEFAULT_RESPONSE_START_TIMEOUT_SECONDS;
  }
  if (unset(podSpec.containerConcurrency)) podSpec.containerConcurrency = 0;

  const containers: unknown[] = Array.isArray(podSpec.containers) ? podSpec.containers : [];
  const initContainers: unknown[] = Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [];
  const taken = new Set<string>();
  for (const c of [...containers, ...initContainers])
    if (isPlainObject(c) && c.name) taken.add(String(c.name));
  applyDefaultContainerNames(containers, taken, DEFAULT_USER_CONTAINER);
  applyDefaultContainerNames(initContainers, taken, DEFAULT_INIT_CONTAINER);

  const volumes: unknown[] = Array.isArray(podSpec.volumes) ? podSpec.volumes : [];
  const writable = new Set(
    volumes
      .filter(
        (v): v is KObject => isPlainObject(v) && !!(v.emptyDir || v.persistentVolumeClaim || v.ephemeral),
      )
      .map((v) => String(v.name)),
  );
  for (const c of containers) {
    if (!isPlainObject(c)) continue;
    // applyDefault: resources (requests and limits are empty maps, which JSON omits), probes, volume mounts.
    c.resources ??= {};
    // The default readiness probe goes on the only container, or on the one with a port.
    if (containers.length === 1 || (Array.isArray(c.ports) && c.ports.length > 0)) {
      if (unset(c.readinessProbe)) c.readinessProbe = {};
      const probe = c.readinessProbe;
      if (isPlainObject(probe) && !probe.tcpSocket && !probe.httpGet && !probe.exec && !probe.grpc) {
        probe.tcpSocket = { port: 0 };
      }
    }
    // applyReadinessProbeDefaults: any container's readiness probe, the user's or a sidecar's.
    const rp = c.readinessProbe;
    if (isPlainObject(rp)) {
      if (unset(rp.successThreshold) || rp.successThreshold === 0) rp.successThreshold = 1;
      if (!unset(rp.periodSeconds) && rp.periodSeconds !== 0) {
        if (unset(rp.failureThreshold) || rp.failureThreshold === 0) rp.failureThreshold = 3;
        if (unset(rp.timeoutSeconds) || rp.timeoutSeconds === 0) rp.timeoutSeconds = 1;
      }
    }
    // applyGRPCProbeDefaults
    for (const p of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      if (isPlainObject(p) && isPlainObject(p.grpc) && unset(p.grpc.service)) p.grpc.service = '';
    }
    // enableServiceLinks is defaulted on create only.
    if (unset(podSpec.enableServiceLinks) && inCreate) podSpec.enableServiceLinks = false;
    if (Array.isArray(c.volumeMounts)) {
      for (const vm of c.volumeMounts)
        if (isPlainObject(vm) && !writable.has(String(vm.name))) vm.readOnly = true;
    }
  }
}

/** applyDefaultContainerNames: a numeric suffix when there are several containers or the name is taken. */
function applyDefaultContainerNames(containers: unknown[], taken: Set<string>, base: string): void {
  let next = 0;
  for (const c of containers) {
    if (!isPlainObject(c) || c.name) continue;
    let name = base;
    if (containers.length > 1 || taken.has(name)) {
      do name = `${base}-${next++}`;
      while (taken.has(name));
    }
    c.name = name;
  }
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
  errs.also(
    validateObjectMetadata(svc.metadata)
      .also(validateHasNoAutoscalingAnnotation(svc.metadata?.annotations).via('annotations'))
      .also(validateRolloutDuration(svc.metadata?.annotations).via('annotations'))
      .via('metadata'),
  );
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

/** RevisionTemplateSpec.Validate (pkg/apis/serving/v1/revision_validation.go). */
function validateTemplate(template: unknown, serviceName: string): FieldErrors {
  const errs = new FieldErrors();
  if (!isPlainObject(template)) return fe.missingField('');
  const meta = isPlainObject(template.metadata) ? template.metadata : {};
  const spec = isPlainObject(template.spec) ? template.spec : {};
  const annotations = stringMap(meta.annotations);
  // RevisionSpec.Validate
  errs.also(validatePodSpec(spec).via('spec'));
  // validateTimeoutSeconds
  if (!unset(spec.timeoutSeconds) && spec.timeoutSeconds !== 0) {
    const t = Number(spec.timeoutSeconds);
    if (!Number.isInteger(t) || t < 0 || t > MAX_TIMEOUT_SECONDS) {
      errs.also(fe.outOfBounds(spec.timeoutSeconds, 0, MAX_TIMEOUT_SECONDS, 'spec.timeoutSeconds'));
    }
  }
  // ValidateContainerConcurrency (metadata_validation.go), container-concurrency-max-limit 1000
  if (!unset(spec.containerConcurrency)) {
    const cc = Number(spec.containerConcurrency);
    if (!Number.isInteger(cc) || cc < 0 || cc > 1000) {
      errs.also(fe.outOfBounds(spec.containerConcurrency, 0, 1000, 'spec.containerConcurrency'));
    }
  }
  errs.also(validateAutoscalingAnnotations(annotations).via('metadata.annotations'));
  errs.also(validateNetworkingAnnotations(annotations).via('metadata.annotations'));
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
  errs.also(validateProgressDeadline(annotations).via('metadata.annotations'));
  return errs;
}

/** Annotations as Go decodes them into map[string]string (the API server's schema keeps only strings). */
function stringMap(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

/** kmap.KeyPriority.Get: the first of the keys present, with its value. */
function lookup(m: Record<string, string>, ...keys: string[]): [string, string] | undefined {
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(m, k)) return [k, m[k]];
  return undefined;
}

/** A positive, whole-second Go duration annotation: rollout-duration and progress-deadline share the rules. */
function validateDurationAnnotation(annotations: unknown, what: string, ...keys: string[]): FieldErrors {
  const found = lookup(stringMap(annotations), ...keys);
  if (!found || found[1] === '') return new FieldErrors();
  const [k, v] = found;
  const d = parseGoDuration(v);
  if (d === undefined) return fe.invalidValue(v, k);
  if (d % NS_PER_SECOND !== 0) return fe.generic(`${what}=${v} is not at second precision`, k);
  if (d < 0) return fe.generic(`${what}=${v} must be positive`, k);
  return new FieldErrors();
}

/** metadata_validation.go ValidateRolloutDurationAnnotation. */
function validateRolloutDuration(annotations: unknown): FieldErrors {
  return validateDurationAnnotation(
    annotations,
    'rollout-duration',
    ROLLOUT_DURATION,
    'serving.knative.dev/rolloutDuration',
  );
}

/** revision_validation.go validateProgressDeadlineAnnotation. */
function validateProgressDeadline(annotations: unknown): FieldErrors {
  return validateDurationAnnotation(annotations, 'progress-deadline', PROGRESS_DEADLINE);
}

/** metadata_validation.go ValidateHasNoAutoscalingAnnotation: Services and Configurations carry none. */
function validateHasNoAutoscalingAnnotation(annotations: unknown): FieldErrors {
  const errs = new FieldErrors();
  for (const key of Object.keys(stringMap(annotations))) {
    if (key.startsWith(AUTOSCALING)) {
      errs.also(
        fe.invalidKeyName(
          key,
          '',
          'autoscaling annotations must be put under "spec.template.metadata.annotations" to work',
        ),
      );
    }
  }
  return errs;
}

const NETWORKING_ALLOWED = new Set(
  [
    'ingress.class',
    'certificate.class',
    'disableAutoTLS',
    'disable-external-domain-tls',
    'httpOption',
    'ingress-class',
    'certificate-class',
    'disable-auto-tls',
    'http-protocol',
  ].map((k) => `networking.knative.dev/${k}`),
);

/** knative/networking pkg/apis/networking/metadata_validation.go ValidateAnnotations. */
function validateNetworkingAnnotations(annotations: Record<string, string>): FieldErrors {
  const errs = new FieldErrors();
  for (const key of Object.keys(annotations)) {
    if (!NETWORKING_ALLOWED.has(key) && key.startsWith('networking.knative.dev'))
      errs.also(fe.invalidKeyName(key, ''));
  }
  return errs;
}

const AUTOSCALING = 'autoscaling.knative.dev';
const A = (k: string) => `${AUTOSCALING}/${k}`;
const KPA = 'kpa.autoscaling.knative.dev';
const HPA = 'hpa.autoscaling.knative.dev';
const MAX_INT32 = 2147483647;
const WINDOW_MIN = 6 * NS_PER_SECOND;
const WINDOW_MAX = 3600 * NS_PER_SECOND;

/** Go's strconv.ParseInt(v, 10, 32): 'range' when out of int32, 'syntax' when not an integer. */
function parseInt32(v: string): number | 'syntax' | 'range' {
  if (!/^[+-]?\d+$/.test(v)) return 'syntax';
  const n = Number(v);
  return n < -2147483648 || n > MAX_INT32 ? 'range' : n;
}

/** Go's strconv.ParseFloat(v, 64), undefined on a syntax error (Go accepts Inf, NaN, hex and underscores too). */
function parseFloat64(v: string): number | undefined {
  const t = v.replace(/_/g, '');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  return undefined;
}

/** Go's %g of a float64, for the bounds and values Knative prints. */
const goFloat = (n: number) => String(n);

/** pkg/apis/autoscaling/annotation_validation.go ValidateAnnotations, with config-autoscaler at its defaults. */
function validateAutoscalingAnnotations(m: Record<string, string>): FieldErrors {
  const errs = new FieldErrors();
  // validateClass
  const cls = lookup(m, A('class'));
  if (cls && cls[1].endsWith('.knative.dev') && cls[1] !== KPA && cls[1] !== HPA)
    errs.also(fe.invalidValue(cls[1], cls[0]));

  // validateMinMaxScale (max-scale-limit 0: no limit)
  const intGE0 = (...keys: string[]): [number, FieldErrors] => {
    const found = lookup(m, ...keys);
    if (!found) return [0, new FieldErrors()];
    const [k, v] = found;
    const i = parseInt32(v);
    if (i === 'range') return [0, fe.outOfBounds(v, 0, MAX_INT32, k)];
    if (i === 'syntax') return [0, fe.invalidValue(v, k)];
    if (i < 0) return [0, fe.outOfBounds(v, 0, MAX_INT32, k)];
    return [i, new FieldErrors()];
  };
  const [min, minErr] = intGE0(A('min-scale'), A('minScale'));
  const [max, maxErr] = intGE0(A('max-scale'), A('maxScale'));
  errs.also(minErr, maxErr);
  if (max !== 0 && max < min) {
    errs.also(
      FieldErrors.of(`max-scale=${max} is less than min-scale=${min}`, [A('max-scale'), A('min-scale')]),
    );
  }
  const act = lookup(m, A('activation-scale'));
  if (act) {
    const [k, v] = act;
    const nz = parseInt32(v);
    if (typeof nz !== 'number') errs.also(fe.invalidValue(v, k));
    else if (min > nz) errs.also(fe.generic(`min-scale=${min} is greater than activation-scale=${nz}`, k));
    else if (max < nz && max !== 0)
      errs.also(fe.generic(`max-scale=${max} is less than activation-scale=${nz}`, k));
    else if (nz < 2) errs.also(fe.generic(`activation-scale=${nz} must be greater than 1`, k));
  }

  // validateFloats
  const float = (keys: string[], check: (f: number, k: string, v: string) => FieldErrors | undefined) => {
    const found = lookup(m, ...keys);
    if (!found) return;
    const [k, v] = found;
    const f = parseFloat64(v);
    if (f === undefined) errs.also(fe.invalidValue(v, k));
    else errs.also(check(f, k, v));
  };
  float([A('panic-window-percentage'), A('panicWindowPercentage')], (f, k, v) =>
    f < 1 || f > 100 ? fe.outOfBounds(v, 1, 100, k) : undefined,
  );
  float([A('panic-threshold-percentage'), A('panicThresholdPercentage')], (f, k, v) =>
    f < 110 || f > 1000 ? fe.outOfBounds(v, 110, 1000, k) : undefined,
  );
  float([A('target')], (f, k, v) =>
    f < 0.01 ? fe.generic(`target ${v} should be at least ${goFloat(0.01)}`, k) : undefined,
  );
  float([A('target-utilization-percentage'), A('targetUtilizationPercentage')], (f, k, v) =>
    f < 1 || f > 100 ? fe.outOfBounds(v, 1, 100, k) : undefined,
  );
  const tbc = lookup(m, A('target-burst-capacity'), A('targetBurstCapacity'));
  if (tbc) {
    const f = parseFloat64(tbc[1]);
    if (f === undefined || (f < 0 && f !== -1)) errs.also(fe.invalidValue(tbc[1], tbc[0]));
  }

  // validateWindow (the key in its messages is always the new one)
  const win = lookup(m, A('window'));
  if (win) {
    const d = parseGoDuration(win[1]);
    if (d === undefined) errs.also(fe.invalidValue(win[1], A('window')));
    else if (d < WINDOW_MIN || d > WINDOW_MAX) {
      errs.also(
        fe.outOfBounds(win[1], goDurationString(WINDOW_MIN), goDurationString(WINDOW_MAX), A('window')),
      );
    } else if (d % NS_PER_SECOND !== 0)
      errs.also(fe.generic('must be specified with at most second precision', A('window')));
  }
  // validateLastPodRetention
  const retention = lookup(m, A('scale-to-zero-pod-retention-period'), A('scaleToZeroPodRetentionPeriod'));
  if (retention) {
    const d = parseGoDuration(retention[1]);
    if (d === undefined) errs.also(fe.invalidValue(retention[1], retention[0]));
    else if (d < 0 || d > WINDOW_MAX)
      errs.also(fe.outOfBounds(retention[1], '0s', goDurationString(WINDOW_MAX), retention[0]));
  }
  // validateScaleDownDelay
  const delay = lookup(m, A('scale-down-delay'), A('scaleDownDelay'));
  if (delay) {
    const d = parseGoDuration(delay[1]);
    if (d === undefined) errs.also(fe.invalidValue(delay[1], delay[0]));
    else if (d < 0 || d > WINDOW_MAX)
      errs.also(fe.outOfBounds(delay[1], '0s', goDurationString(WINDOW_MAX), delay[0]));
    else if (d % NS_PER_SECOND !== 0)
      errs.also(fe.generic('must be specified with at most second precision', delay[0]));
  }
  // validateMetric (pod-autoscaler-class kpa by default)
  const metric = lookup(m, A('metric'));
  if (metric) {
    const classValue = cls ? cls[1] : KPA;
    const bad =
      (classValue === KPA && metric[1] !== 'concurrency' && metric[1] !== 'rps') ||
      (classValue === HPA && metric[1] === '');
    if (bad) errs.also(fe.invalidValue(metric[1], A('metric')));
  }
  // validateAlgorithm: only for an explicit KPA class
  if (cls?.[1] === KPA) {
    const alg = lookup(m, A('metric-aggregation-algorithm'), A('metricAggregationAlgorithm'));
    if (alg && alg[1] !== '' && !['linear', 'weighted-exponential', 'weightedExponential'].includes(alg[1])) {
      errs.also(fe.invalidValue(alg[1], alg[0]));
    }
  }
  // validateInitialScale (allow-zero-initial-scale false)
  const initial = lookup(m, A('initial-scale'), A('initialScale'));
  if (initial) {
    const [k, v] = initial;
    const n = /^[+-]?\d+$/.test(v) ? Number(v) : undefined; // strconv.Atoi
    if (n === undefined) errs.also(fe.invalidValue(v, k));
    else if (n < 0) errs.also(fe.invalidValue(v, `${k} must be greater than 0`));
    else if (n === 0) errs.also(fe.invalidValue(v, `${k}=0 not allowed by cluster`));
  }
  return errs;
}

// ---- pod spec: pkg/apis/serving/k8s_validation.go ---------------------------------------------------------

const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);
const RESERVED_SIDECAR_ENV = new Set(['K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);
/** networking.BackendHTTPPort, BackendHTTP2Port, QueueAdminPort, AutoscalingQueueMetricsPort,
 * UserQueueMetricsPort and knative.dev/pkg's runtime.ProfilingDefaultPort. */
export const RESERVED_PORTS = new Set([8012, 8013, 8022, 9090, 9091, 8008]);
const VALID_PORT_NAMES = new Set(['h2c', 'http1', '']);

type Kind = 'user' | 'sidecar' | 'init';

/** The port the queue-proxy sends requests to (validateContainersPorts), with its defaults. */
interface ServingPort {
  name: string;
  containerPort: number;
}

/** ValidatePodSpec, with config-features at its defaults (multi-container on, init containers off). */
function validatePodSpec(spec: KObject): FieldErrors {
  const errs = new FieldErrors();
  const containers: unknown[] = Array.isArray(spec.containers) ? spec.containers : [];
  const initContainers: unknown[] = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  // validateInitContainers: pod-spec-init-containers is Disabled by default.
  if (initContainers.length > 0) {
    errs.also(
      fe.pathless(
        `pod spec support for init-containers is off, but found ${initContainers.length} init containers`,
      ),
    );
  }
  const [port, portErrs] = validateContainersPorts(containers);
  errs.also(portErrs.via('containers[*]'));
  if (containers.length === 0) errs.also(fe.missingField('containers'));
  else if (containers.length === 1) {
    errs.also(validateUserContainer(containers[0], port).via('containers[0]'));
  } else {
    // validateContainers (multi-container is Enabled by default)
    const names = new Set<string>();
    containers.forEach((c, i) => {
      const one = new FieldErrors();
      const name = isPlainObject(c) ? String(c.name ?? '') : '';
      if (names.has(name)) one.also(fe.generic(`duplicate container name ${JSON.stringify(name)}`, 'name'));
      else names.add(name);
      const hasPorts = isPlainObject(c) && Array.isArray(c.ports) && c.ports.length > 0;
      one.also(hasPorts ? validateUserContainer(c, port) : validateSidecarContainer(c));
      errs.also(one.via(`containers[${i}]`));
    });
  }
  if (spec.serviceAccountName) {
    const sa = String(spec.serviceAccountName);
    for (const msg of isDNS1123Subdomain(sa)) errs.also(fe.invalidValue(sa, 'serviceAccountName', msg));
  }
  return errs;
}

/** validateContainersPorts: one port across all containers; a multi-container spec must name one. */
function validateContainersPorts(containers: unknown[]): [ServingPort, FieldErrors] {
  let count = 0;
  let first: KObject = {};
  for (const c of containers) {
    if (isPlainObject(c) && Array.isArray(c.ports) && c.ports.length > 0) {
      count += c.ports.length;
      first = isPlainObject(c.ports[0]) ? c.ports[0] : {};
    }
  }
  const port: ServingPort = {
    name: first.name ? String(first.name) : 'http',
    containerPort: first.containerPort ? Number(first.containerPort) : 8080,
  };
  if (count === 0 && containers.length > 1) return [port, fe.missingField('ports')];
  if (count > 1) {
    return [
      port,
      FieldErrors.of(
        'more than one container port is set',
        ['ports'],
        'Only a single port is allowed across all containers',
      ),
    ];
  }
  return [port, new FieldErrors()];
}

/** ValidateUserContainer: the serving container's probes must use its port. */
function validateUserContainer(c: unknown, port: ServingPort): FieldErrors {
  if (!isPlainObject(c)) return fe.missingField('');
  const errs = new FieldErrors();
  errs.also(validateProbe(c.livenessProbe, port).via('livenessProbe'));
  errs.also(validateReadinessProbe(c.readinessProbe, port).via('readinessProbe'));
  errs.also(validateProbe(c.startupProbe, port).via('startupProbe'));
  return errs.also(validateContainer(c, 'user'));
}

/** validateSidecarContainer: multi-container-probing is Disabled by default, so a sidecar may set no probe field. */
function validateSidecarContainer(c: unknown): FieldErrors {
  if (!isPlainObject(c)) return fe.missingField('');
  const errs = new FieldErrors();
  for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    if (!isPlainObject(c[key])) continue;
    errs.also(disallowedProbeFields(c[key]).via(key));
  }
  return errs.also(validateContainer(c, 'sidecar'));
}

const PROBE_FIELDS = [
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
  'terminationGracePeriodSeconds',
];

/**
 * CheckDisallowedFields(probe, ProbeMask(&corev1.Probe{})): every set field. kmp's field list names fields by
 * their JSON tag, and the inlined ProbeHandler's tag (`json:",inline"`) names it "": so a set handler is reported
 * at the probe's own path.
 */
function disallowedProbeFields(p: KObject): FieldErrors {
  const fields: string[] = [];
  if (['exec', 'httpGet', 'tcpSocket', 'grpc'].some((h) => !unset(p[h]))) fields.push('');
  for (const f of PROBE_FIELDS) if (!unset(p[f]) && p[f] !== 0) fields.push(f);
  return fields.length ? fe.disallowed(...fields) : new FieldErrors();
}

/** validate(): what every container kind shares. */
function validateContainer(c: KObject, kind: Kind): FieldErrors {
  const errs = new FieldErrors();
  if (c.name === 'queue-proxy') {
    errs.also(fe.generic(`${JSON.stringify(c.name)} is a reserved container name`, 'name'));
  }
  // validateEnv
  if (Array.isArray(c.env)) {
    const reserved = kind === 'user' ? RESERVED_ENV : RESERVED_SIDECAR_ENV;
    c.env.forEach((e: unknown, i: number) => {
      const name = isPlainObject(e) && e.name ? String(e.name) : '';
      if (!name) errs.also(fe.missingField('name').via(`env[${i}]`));
      else if (reserved.has(name)) {
        errs.also(
          fe.generic(`${JSON.stringify(name)} is a reserved environment variable`, 'name').via(`env[${i}]`),
        );
      }
    });
  }
  // validateEnvFrom (the one-of errors carry no index, as in Knative)
  if (Array.isArray(c.envFrom)) {
    for (const ef of c.envFrom) {
      const cm = isPlainObject(ef) && !unset(ef.configMapRef);
      const sm = isPlainObject(ef) && !unset(ef.secretRef);
      if (cm && sm) errs.also(fe.multipleOneOf('configMapRef', 'secretRef').via('envFrom'));
      else if (!cm && !sm) errs.also(fe.missingOneOf('configMapRef', 'secretRef').via('envFrom'));
    }
  }
  // Image: go-containerregistry's name.ParseReference(image, name.WeakValidation)
  const image = unset(c.image) ? '' : String(c.image);
  if (image === '') errs.also(fe.missingField('image'));
  else {
    const err = imageReferenceError(image);
    if (err) {
      errs.also(
        FieldErrors.of(
          'Failed to parse image reference',
          ['image'],
          `image: ${goQuote(image)}, error: ${err}`,
        ),
      );
    }
  }
  // Ports
  if (Array.isArray(c.ports) && c.ports.length > 0) errs.also(validateContainerPorts(c.ports).via('ports'));
  // TerminationMessagePolicy
  const tmp = c.terminationMessagePolicy;
  if (!unset(tmp) && tmp !== '' && tmp !== 'File' && tmp !== 'FallbackToLogsOnError') {
    errs.also(fe.invalidValue(tmp, 'terminationMessagePolicy'));
  }
  return errs;
}

/** validateContainerPorts: only the first port is looked at (validateContainersPorts allows no second one). */
function validateContainerPorts(ports: unknown[]): FieldErrors {
  const p = isPlainObject(ports[0]) ? ports[0] : {};
  const errs = validateContainerPortBasic(p);
  if (!unset(p.protocol) && p.protocol !== '' && p.protocol !== 'TCP')
    errs.also(fe.invalidValue(p.protocol, 'protocol'));
  const name = unset(p.name) ? '' : String(p.name);
  if (!VALID_PORT_NAMES.has(name)) {
    errs.also(
      FieldErrors.of(
        `Port name ${name} is not allowed`,
        [''],
        "Name must be empty, or one of: 'h2c', 'http1'",
      ),
    );
  }
  return errs;
}

function validateContainerPortBasic(p: KObject): FieldErrors {
  const errs = new FieldErrors();
  // ContainerPortMask keeps containerPort, name and protocol.
  const disallowed = ['hostIP', 'hostPort'].filter((f) => !unset(p[f]) && p[f] !== '' && p[f] !== 0);
  if (disallowed.length) errs.also(fe.disallowed(...disallowed));
  const n = unset(p.containerPort) ? 0 : Number(p.containerPort);
  if (RESERVED_PORTS.has(n)) {
    errs.also(
      fe.invalidValue(
        `${n} is a reserved port`,
        'containerPort',
        `${n} is a reserved port, please use a different value`,
      ),
    );
  }
  if (n < 0 || n > 65535) errs.also(fe.outOfBounds(n, 0, 65535, 'containerPort'));
  return errs;
}

/** validateReadinessProbe: validateProbe plus the bounds; periodSeconds 0 is Knative's aggressive probe. */
function validateReadinessProbe(p: unknown, port: ServingPort): FieldErrors {
  if (!isPlainObject(p)) return new FieldErrors();
  const errs = validateProbe(p, port);
  const num = (k: string) => (unset(p[k]) ? 0 : Number(p[k]));
  const period = num('periodSeconds');
  if (period < 0) errs.also(fe.outOfBounds(period, 0, MAX_INT32, 'periodSeconds'));
  if (num('initialDelaySeconds') < 0)
    errs.also(fe.outOfBounds(num('initialDelaySeconds'), 0, MAX_INT32, 'initialDelaySeconds'));
  if (num('successThreshold') < 1)
    errs.also(fe.outOfBounds(num('successThreshold'), 1, MAX_INT32, 'successThreshold'));
  if (period === 0) {
    if (num('failureThreshold') !== 0) {
      errs.also(fe.generic('failureThreshold is disallowed when periodSeconds is zero', 'failureThreshold'));
    }
    if (num('timeoutSeconds') !== 0) {
      errs.also(fe.generic('timeoutSeconds is disallowed when periodSeconds is zero', 'timeoutSeconds'));
    }
  } else {
    if (num('timeoutSeconds') < 1)
      errs.also(fe.outOfBounds(num('timeoutSeconds'), 1, MAX_INT32, 'timeoutSeconds'));
    if (num('failureThreshold') < 1)
      errs.also(fe.outOfBounds(num('failureThreshold'), 1, MAX_INT32, 'failureThreshold'));
  }
  return errs;
}

/** An IntOrString's StrVal: a JSON string (even "8080"); a number has none. */
const strVal = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * validateProbe for the serving container: exactly one handler; a named port must be the container's port.
 * Each handler's ViaField applies to every error gathered before it, as Knative's chained Also().ViaField() does.
 */
function validateProbe(p: unknown, port: ServingPort): FieldErrors {
  if (!isPlainObject(p)) return new FieldErrors();
  let errs = new FieldErrors();
  const handlers: string[] = [];
  for (const [key, label] of [
    ['httpGet', 'httpGet'],
    ['tcpSocket', 'tcpSocket'],
  ] as const) {
    if (unset(p[key])) continue;
    handlers.push(label);
    errs = errs.via(key);
    const s = isPlainObject(p[key]) ? strVal(p[key].port) : '';
    if (s !== '' && s !== port.name)
      errs.also(fe.invalidValue(s, `${key}.port`, 'Probe port must match container port'));
  }
  if (!unset(p.exec)) {
    handlers.push('exec');
    errs = errs.via('exec');
  }
  if (!unset(p.grpc)) {
    handlers.push('gRPC');
    errs = errs.via('grpc');
  }
  if (handlers.length === 0) errs.also(fe.missingOneOf('httpGet', 'tcpSocket', 'exec', 'grpc'));
  else if (handlers.length > 1) errs.also(fe.multipleOneOf(...handlers));
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

// ---- kmp.ShortDiff of two RevisionTemplateSpecs ------------------------------------------------------------

/** JSON names whose Go field name is not the JSON name capitalised. */
const GO_FIELD: Record<string, string> = {
  httpGet: 'HTTPGet',
  tcpSocket: 'TCPSocket',
  grpc: 'GRPC',
  hostIP: 'HostIP',
  httpHeaders: 'HTTPHeaders',
  tty: 'TTY',
  uid: 'UID',
  fsGroup: 'FSGroup',
  apiVersion: 'APIVersion',
  hostIPC: 'HostIPC',
  hostPID: 'HostPID',
  dnsPolicy: 'DNSPolicy',
  dnsConfig: 'DNSConfig',
};
const goField = (k: string) => GO_FIELD[k] ?? k.charAt(0).toUpperCase() + k.slice(1);

/** Go types of list elements, which cmp's reporter prints before a struct value. */
const ELEMENT_TYPE: Record<string, string> = {
  containers: 'v1.Container',
  initContainers: 'v1.Container',
  env: 'v1.EnvVar',
  envFrom: 'v1.EnvFromSource',
  ports: 'v1.ContainerPort',
  volumeMounts: 'v1.VolumeMount',
  volumes: 'v1.Volume',
  imagePullSecrets: 'v1.LocalObjectReference',
  httpHeaders: 'v1.HTTPHeader',
};
/** RevisionSpec's own fields; every other field of the template's spec belongs to the inlined corev1.PodSpec. */
const REVISION_SPEC_FIELDS = new Set([
  'containerConcurrency',
  'timeoutSeconds',
  'responseStartTimeoutSeconds',
  'idleTimeoutSeconds',
]);
/** Pointer-typed scalar fields (a difference inside one is printed `*path`); timeoutSeconds only in RevisionSpec. */
const POINTER_FIELDS = new Set([
  'containerConcurrency',
  'responseStartTimeoutSeconds',
  'idleTimeoutSeconds',
  'enableServiceLinks',
  'automountServiceAccountToken',
  'shareProcessNamespace',
  'terminationGracePeriodSeconds',
  'service',
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'readOnlyRootFilesystem',
  'allowPrivilegeEscalation',
  'privileged',
  'optional',
]);
const PROBE_HANDLERS = new Set(['exec', 'httpGet', 'tcpSocket', 'grpc']);
const PROBES = new Set(['readinessProbe', 'livenessProbe', 'startupProbe']);

/** Go struct field order, which go-cmp follows; fields not listed keep their JSON order, after the listed ones. */
const STRUCT_ORDER: Record<string, string[]> = {
  '': ['metadata', 'spec'],
  metadata: [
    'name',
    'generateName',
    'namespace',
    'uid',
    'resourceVersion',
    'generation',
    'labels',
    'annotations',
  ],
  // RevisionSpec: the inlined PodSpec first, then its own fields.
  spec: [
    'volumes',
    'initContainers',
    'containers',
    'restartPolicy',
    'terminationGracePeriodSeconds',
    'activeDeadlineSeconds',
    'dnsPolicy',
    'nodeSelector',
    'serviceAccountName',
    'automountServiceAccountToken',
    'securityContext',
    'imagePullSecrets',
    'affinity',
    'schedulerName',
    'tolerations',
    'priorityClassName',
    'runtimeClassName',
    'enableServiceLinks',
    'containerConcurrency',
    'timeoutSeconds',
    'responseStartTimeoutSeconds',
    'idleTimeoutSeconds',
  ],
  containers: [
    'name',
    'image',
    'command',
    'args',
    'workingDir',
    'ports',
    'envFrom',
    'env',
    'resources',
    'volumeMounts',
    'livenessProbe',
    'readinessProbe',
    'startupProbe',
    'lifecycle',
    'terminationMessagePath',
    'terminationMessagePolicy',
    'imagePullPolicy',
    'securityContext',
  ],
  probe: [
    'exec',
    'httpGet',
    'tcpSocket',
    'grpc',
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
    'terminationGracePeriodSeconds',
  ],
  ports: ['name', 'hostPort', 'containerPort', 'protocol', 'hostIP'],
  env: ['name', 'value', 'valueFrom'],
};

function goOrder(keys: string[], field: string, parent: string): string[] {
  const which =
    field === '' && parent === ''
      ? ''
      : field === 'metadata' && parent === ''
        ? 'metadata'
        : field === 'spec' && parent === ''
          ? 'spec'
          : PROBES.has(field)
            ? 'probe'
            : field === 'containers' || field === 'initContainers'
              ? 'containers'
              : field;
  const order = STRUCT_ORDER[which];
  if (!order) return keys;
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  return [...keys].sort((a, b) => rank(a) - rank(b));
}

/** fmt's %+v of a decoded JSON value, near enough: structs as {Field:value}, lists as [a b], maps as map[k:v]. */
function goValue(v: unknown, asMap = false): string {
  if (Array.isArray(v)) return `[${v.map((x) => goValue(x)).join(' ')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (asMap)
      return `map[${keys
        .sort()
        .map((k) => `${k}:${goValue(v[k])}`)
        .join(' ')}]`;
    return `{${keys.map((k) => `${goField(k)}:${goValue(v[k])}`).join(' ')}}`;
  }
  if (v === undefined || v === null) return '<nil>';
  return String(v);
}

const MAP_FIELDS = new Set(['annotations', 'labels', 'nodeSelector', 'limits', 'requests']);

/**
 * knative.dev/pkg kmp.ShortDiff(old, new) of two RevisionTemplateSpecs, as VerifyNameChange prints it: one entry
 * per differing leaf, with go-cmp's path of Go field names (`{*v1.RevisionTemplateSpec}.Spec.PodSpec.Containers[0]
 * .Image`) and `-`/`+` values. Approximations: a missing scalar counts as Go's zero value of its JSON kind; pointer
 * fields missing on one side print the value (Go prints an address); lists of different lengths are aligned by
 * their longest common subsequence, not go-cmp's edit script.
 */
export function shortDiff(a: unknown, b: unknown): string {
  const out: string[] = [];
  const ROOT = '{*v1.RevisionTemplateSpec}';
  const emit = (path: string, x: unknown, y: unknown, type?: string, ptr = false) => {
    const both = x !== undefined && y !== undefined;
    const shown = (v: unknown) => (type && isPlainObject(v) ? `${type}: "${goValue(v)}"` : `"${goValue(v)}"`);
    let text = `${ptr && both ? '*' : ''}${ROOT}${path}:\n`;
    if (x !== undefined) text += `\t-: ${shown(x)}\n`;
    if (y !== undefined) text += `\t+: ${shown(y)}\n`;
    out.push(text);
  };
  const zeroOf = (v: unknown) =>
    typeof v === 'string' ? '' : typeof v === 'number' ? 0 : typeof v === 'boolean' ? false : undefined;
  const walk = (x: unknown, y: unknown, path: string, field: string, parent: string, elemType?: string) => {
    if (deepEqual(x, y)) return;
    const isMap = MAP_FIELDS.has(field);
    if (isPlainObject(x) && isPlainObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])];
      if (isMap) {
        for (const k of keys.sort()) {
          if (deepEqual(x[k], y[k])) continue;
          emit(`${path}[${goQuote(k)}]`, x[k], y[k]);
        }
        return;
      }
      for (const k of goOrder(keys, field, parent)) {
        let step = `.${goField(k)}`;
        if (path === '' && k === 'metadata') step = '.ObjectMeta';
        else if (field === 'spec' && parent === '' && !REVISION_SPEC_FIELDS.has(k))
          step = `.PodSpec.${goField(k)}`;
        else if (PROBES.has(field) && PROBE_HANDLERS.has(k)) step = `.ProbeHandler.${goField(k)}`;
        walk(x[k], y[k], path + step, k, field, ELEMENT_TYPE[k]);
      }
      return;
    }
    if (Array.isArray(x) && Array.isArray(y) && x.length > 0 && y.length > 0) {
      if (x.length === y.length) {
        x.forEach((v, i) => walk(v, y[i], `${path}[${i}]`, field, parent, elemType));
        return;
      }
      // Align equal elements (LCS); what is left is removed ([i->?]) or inserted ([?->j]).
      const n = x.length;
      const m = y.length;
      const L = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
      for (let i = n - 1; i >= 0; i--) {
        for (let j = m - 1; j >= 0; j--) {
          L[i][j] = deepEqual(x[i], y[j]) ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
        }
      }
      let i = 0;
      let j = 0;
      while (i < n || j < m) {
        if (i < n && j < m && deepEqual(x[i], y[j])) {
          i++;
          j++;
        } else if (j >= m || (i < n && L[i + 1][j] >= L[i][j + 1])) {
          emit(`${path}[${i}->?]`, x[i], undefined, elemType);
          i++;
        } else {
          emit(`${path}[?->${j}]`, undefined, y[j], elemType);
          j++;
        }
      }
      return;
    }
    const scalar = (v: unknown) => v === undefined || !(isPlainObject(v) || Array.isArray(v));
    const ptr = POINTER_FIELDS.has(field) || (field === 'timeoutSeconds' && parent === 'spec');
    if (scalar(x) && scalar(y) && !ptr) {
      // A non-pointer Go field is never absent: its zero value stands in.
      emit(path, x ?? zeroOf(y), y ?? zeroOf(x), elemType);
      return;
    }
    if (isMap) {
      emit(path, goValue(x ?? {}, true), goValue(y ?? {}, true));
      return;
    }
    emit(
      path,
      x === undefined && Array.isArray(y) ? [] : x,
      y === undefined && Array.isArray(x) ? [] : y,
      elemType,
      ptr,
    );
  };
  walk(a, b, '', '', '');
  return out.join('');
}
