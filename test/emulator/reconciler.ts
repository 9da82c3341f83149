// Knative's controllers, folded into one: Service -> Configuration + Route, Configuration -> Revisions,
// Revision status from its backend, Route -> gateway programming, and the statuses and conditions of each.

import { API_VERSION } from './errors.ts';
import {
  configurationConditions,
  revisionConditions,
  routeConditions,
  serviceConditions,
  type Condition,
  type ConditionManager,
} from './conditions.ts';
import type { Backends, BackendState } from './backends.ts';
import { ERROR_CONFIG, ingressHosts, routeUrl, setTagUrls, type DomainConfig } from './domains.ts';
import type { Gateway, HostRoute, Target } from './gateway.ts';
import type { Store, StoreEvent } from './store.ts';
import { clone, deepEqual, type KObject } from './util.ts';

export const L_SERVICE = 'serving.knative.dev/service';
export const L_SERVICE_UID = 'serving.knative.dev/serviceUID';
export const L_CONFIG = 'serving.knative.dev/configuration';
export const L_CONFIG_UID = 'serving.knative.dev/configurationUID';
export const L_CONFIG_GEN = 'serving.knative.dev/configurationGeneration';

export interface ReconcilerOptions extends DomainConfig {
  /** Delay between a change and the controllers acting on it. */
  delayMs: () => number;
  /** How long the gateway takes to program a traffic change (IngressReady Unknown meanwhile). */
  ingressDelayMs: () => number;
  now: () => Date;
}

export const condition = (obj: KObject | undefined, type: string): Condition | undefined =>
  (obj?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

/** Revision.IsReady (pkg/apis/serving/v1/revision_lifecycle.go): the latest spec observed and Ready True. */
const isReady = (rev: KObject | undefined): boolean =>
  rev !== undefined &&
  rev.status?.observedGeneration === rev.metadata.generation &&
  condition(rev, 'Ready')?.status === 'True';

const configGeneration = (rev: KObject): number => Number(rev.metadata.labels?.[L_CONFIG_GEN] ?? NaN);

/** A traffic target that cannot be routed (pkg/reconciler/route/traffic/errors.go): a TargetError. */
interface TargetError {
  /** IsFailure: a true failure (False) rather than a wait (Unknown). */
  failure: boolean;
  reason: string;
  message: string;
}

const NEW_GEN = ['NewObservedGenFailure', 'unsuccessfully observed a new generation'] as const;
const INGRESS_NOT_CONFIGURED = ['IngressNotConfigured', 'Ingress has not yet been reconciled.'] as const;

/** Propagates a child's Ready onto a parent's condition as PropagateConfigurationStatus/PropagateRouteStatus do. */
function propagate(m: ConditionManager, type: string, c: Condition | undefined): void {
  if (!c) return;
  if (c.status === 'True') m.markTrue(type);
  else if (c.status === 'False') m.markFalse(type, c.reason ?? '', c.message ?? '');
  else m.markUnknown(type, c.reason ?? '', c.message ?? '');
}

const ownerRef = (o: KObject) => ({
  apiVersion: API_VERSION,
  kind: o.kind,
  name: o.metadata.name,
  uid: o.metadata.uid,
  controller: true,
  blockOwnerDeletion: true,
});

export class Reconciler {
  private readonly queue = new Map<string, NodeJS.Timeout>();
  /** Traffic changes the gateway is still programming, per Route. */
  private readonly pendingIngress = new Map<string, { traffic: KObject[]; timer: NodeJS.Timeout }>();
  /** What the gateway serves per Route: the resolved status.traffic it was programmed with. */
  private readonly programmed = new Map<string, KObject[]>();
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly backends: Backends,
    private readonly gateway: Gateway,
    private readonly opts: ReconcilerOptions,
    /** The cluster-local gateway (knative-local-gateway, kourier-internal): the ClusterLocal rules' hosts. */
    private readonly localGateway: Gateway,
  ) {
    this.unsubscribe = store.subscribe((e) => this.onEvent(e));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const t of this.queue.values()) clearTimeout(t);
    for (const t of this.pendingIngress.values()) clearTimeout(t.timer);
    this.queue.clear();
    this.pendingIngress.clear();
  }

  /** Schedules a reconcile of one Service, coalescing bursts as a workqueue does. */
  enqueue(namespace: string, name: string): void {
    if (this.stopped) return;
    const key = `${namespace}/${name}`;
    if (this.queue.has(key)) return;
    this.queue.set(
      key,
      setTimeout(() => {
        this.queue.delete(key);
        try {
          this.reconcile(namespace, name);
        } catch (err) {
          // An object deleted mid-reconcile needs no more work; anything else is an emulator bug, so say so.
          if ((err as { code?: number }).code !== 404)
            console.error(`emulator: reconcile ${key} failed:`, err);
        }
      }, this.opts.delayMs()),
    );
  }

  /** The backend of a revision changed state: record it on the Revision and reconcile its Service. */
  onBackendState(namespace: string, name: string, state: BackendState): void {
    const rev = this.store.get('revisions', namespace, name);
    if (!rev) return;
    this.store.update('revisions', this.revisionStatus(rev, state));
    const svc = rev.metadata.labels?.[L_SERVICE];
    if (svc) this.enqueue(namespace, svc);
  }

  private onEvent(e: StoreEvent): void {
    const { namespace, name } = e.object.metadata;
    if (e.plural === 'services') {
      if (e.type === 'DELETED') this.deleteService(namespace, name);
      else if (
        e.type === 'ADDED' ||
        !deepEqual(e.previous?.spec, e.object.spec) ||
        // Labels reach the Route (`kubectl label ksvc hello networking.knative.dev/visibility=cluster-local`).
        !deepEqual(e.previous?.metadata.labels, e.object.metadata.labels)
      )
        this.enqueue(namespace, name);
    } else if (e.plural === 'revisions' && e.type === 'DELETED') {
      this.backends.stop(namespace, name);
      const svc = e.object.metadata.labels?.[L_SERVICE];
      if (svc) this.enqueue(namespace, svc);
    }
  }

  /** Owner-reference garbage collection of everything a Service made. */
  private deleteService(namespace: string, name: string): void {
    const routeKey = `${namespace}/${name}`;
    clearTimeout(this.pendingIngress.get(routeKey)?.timer);
    this.pendingIngress.delete(routeKey);
    this.programmed.delete(routeKey);
    this.gateway.unprogram(routeKey);
    this.localGateway.unprogram(routeKey);
    for (const plural of ['configurations', 'routes'] as const) {
      if (this.store.get(plural, namespace, name)) this.store.delete(plural, namespace, name);
    }
    for (const rev of this.store.list(
      'revisions',
      namespace,
      (r) => r.metadata.labels?.[L_SERVICE] === name,
    )) {
      this.store.delete('revisions', namespace, rev.metadata.name);
    }
  }

  /**
   * The Service reconciler (pkg/reconciler/service/service.go ReconcileKind) with the Configuration and Route
   * reconcilers run in line: the Configuration first, then, unless its BYO revision name is taken by a conflicting
   * revision, the Route; their Ready conditions are propagated as pkg/apis/serving/v1/service_lifecycle.go does.
   */
  reconcile(namespace: string, name: string): void {
    const svc = this.store.get('services', namespace, name);
    if (!svc) return;
    const now = this.opts.now();
    const m = serviceConditions.manage(svc.status?.conditions, now);
    // PreProcessReconcile (knative/pkg reconciler/reconcile_common.go).
    m.initialize();
    if (svc.status?.observedGeneration !== svc.metadata.generation) m.markUnknown('Ready', ...NEW_GEN);
    const status: KObject = { ...(svc.status ?? {}) };

    const { config, nameTaken } = this.reconcileConfiguration(svc, now);
    // PropagateConfigurationStatus: the ConfigurationStatusFields, and Ready onto ConfigurationsReady.
    status.latestCreatedRevisionName = config.status?.latestCreatedRevisionName;
    status.latestReadyRevisionName = config.status?.latestReadyRevisionName;
    if (!status.latestReadyRevisionName) delete status.latestReadyRevisionName;
    if (!status.latestCreatedRevisionName) delete status.latestCreatedRevisionName;
    propagate(m, 'ConfigurationsReady', condition(config, 'Ready'));

    const templateName: string | undefined = svc.spec.template?.metadata?.name;
    if (nameTaken) {
      // MarkRevisionNameTaken, and the Route is left as it is: no traffic migrates to a conflicting revision.
      m.markFalse(
        'RoutesReady',
        'RevisionNameTaken',
        `The revision name "${templateName}" is taken by a conflicting Revision, so traffic will not be migrated`,
      );
    } else {
      const route = this.reconcileRoute(svc, config, now);
      // PropagateRouteStatus: the RouteStatusFields (url, address, traffic), and Ready onto RoutesReady.
      for (const k of ['url', 'address', 'traffic'] as const) {
        if (route.status?.[k] !== undefined) status[k] = route.status[k];
        else delete status[k];
      }
      propagate(m, 'RoutesReady', condition(route, 'Ready'));
      this.checkRoutesNotReady(m, config, route);
    }
    status.observedGeneration = svc.metadata.generation;
    status.conditions = m.conditions;
    const fresh = this.store.get('services', namespace, name);
    if (!fresh || fresh.metadata.generation !== svc.metadata.generation) {
      this.enqueue(namespace, name);
      return;
    }
    this.store.update('services', { ...fresh, status });
  }

  /** checkRoutesNotReady (service.go): a ready Route whose status.traffic is not yet the spec's, resolved. */
  private checkRoutesNotReady(m: ConditionManager, config: KObject, route: KObject): void {
    if (m.get('RoutesReady')?.status !== 'True') return;
    const want: KObject[] = route.spec.traffic ?? [];
    const got: KObject[] = route.status?.traffic ?? [];
    const notYet = () =>
      m.markUnknown(
        'RoutesReady',
        'TrafficNotMigrated',
        'Traffic is not yet migrated to the latest revision.',
      );
    if (want.length !== got.length) return notYet();
    // Compared ignoring URL and LatestRevision, configuration targets replaced by the latest ready revision.
    const key = (t: KObject) =>
      JSON.stringify([t.tag ?? '', t.revisionName ?? '', t.configurationName ?? '', t.percent ?? null]);
    const resolved = want.map((t) =>
      t.configurationName === config.metadata.name
        ? { ...t, configurationName: undefined, revisionName: config.status?.latestReadyRevisionName }
        : t,
    );
    if (resolved.some((t, i) => key(t) !== key(got[i]!))) notYet();
  }

  /** Creates or updates a Configuration or Route the Service owns; its generation grows on spec changes. */
  private ensureChild(svc: KObject, plural: 'configurations' | 'routes', spec: KObject): KObject {
    const { namespace, name } = svc.metadata;
    const labels = { ...(svc.metadata.labels ?? {}), [L_SERVICE]: name, [L_SERVICE_UID]: svc.metadata.uid };
    const current = this.store.get(plural, namespace, name);
    if (!current) {
      return this.store.create(plural, {
        apiVersion: API_VERSION,
        kind: plural === 'routes' ? 'Route' : 'Configuration',
        metadata: {
          name,
          namespace,
          labels,
          annotations: pickAnnotations(svc),
          ownerReferences: [ownerRef(svc)],
        },
        spec,
        status: {},
      });
    }
    const specChanged = !deepEqual(current.spec, spec);
    if (!specChanged && deepEqual(current.metadata.labels, labels)) return current;
    const generation = current.metadata.generation + (specChanged ? 1 : 0);
    return this.store.update(plural, {
      ...current,
      metadata: { ...current.metadata, labels, generation },
      spec,
    });
  }

  /**
   * The Configuration reconciler (pkg/reconciler/configuration/configuration.go ReconcileKind): the revision of
   * this generation (a BYO name checked by CheckNameAvailability, else found by its generation label, else
   * created), latestCreatedRevisionName, the latest created revision's failure, and the latest ready revision
   * searched upward from the current one (findAndSetLatestReadyRevision).
   */
  private reconcileConfiguration(svc: KObject, now: Date): { config: KObject; nameTaken: boolean } {
    const { namespace, name } = svc.metadata;
    const template = clone(svc.spec.template);
    const cfg = this.ensureChild(svc, 'configurations', { template });
    const gen: number = cfg.metadata.generation;
    const st: KObject = { ...(cfg.status ?? {}) };
    const m = configurationConditions.manage(st.conditions, now);
    m.initialize();
    if (st.observedGeneration !== gen) m.markUnknown('Ready', ...NEW_GEN);
    const save = (nameTaken: boolean) => {
      st.observedGeneration = gen;
      st.conditions = m.conditions;
      return { config: this.store.update('configurations', { ...cfg, status: st }), nameTaken };
    };

    const byo: string | undefined = template.metadata?.name || undefined;
    let lcr: KObject | undefined;
    if (byo) {
      const existing = this.store.get('revisions', namespace, byo);
      if (existing) {
        // CheckNameAvailability: ours at this generation, or ours with the same spec; anything else conflicts.
        const owned = existing.metadata.ownerReferences?.some(
          (o: KObject) => o.controller && o.uid === cfg.metadata.uid,
        );
        const sameGen = existing.metadata.labels?.[L_CONFIG_GEN] === String(gen);
        if (owned && (sameGen || deepEqual(template.spec, existing.spec))) lcr = existing;
        else {
          m.markFalse(
            'Ready',
            'RevisionFailed',
            `Revision creation failed with message: revisions.serving.knative.dev "${byo}" already exists.`,
          );
          return save(true);
        }
      }
    }
    lcr ??= this.store
      .list(
        'revisions',
        namespace,
        (r) => r.metadata.labels?.[L_CONFIG] === name && r.metadata.labels?.[L_CONFIG_GEN] === String(gen),
      )
      .at(0);
    lcr ??= this.createRevision(cfg, byo ?? `${name}-${String(gen).padStart(5, '0')}`, template, gen);

    // SetLatestCreatedRevisionName.
    st.latestCreatedRevisionName = lcr.metadata.name;
    if (st.latestReadyRevisionName !== lcr.metadata.name) m.markUnknown('Ready', '', '');
    const rc = condition(lcr, 'Ready');
    if (rc?.status === 'False') {
      m.markFalse(
        'Ready',
        'RevisionFailed',
        `Revision "${lcr.metadata.name}" failed with message: ${rc.message ?? ''}.`,
      );
    }

    // findAndSetLatestReadyRevision over getSortedCreatedRevisions: from the latest ready revision's generation up
    // to the Configuration's (and a BYO revision's own), the BYO name first, then newest first.
    let candidates = this.store.list('revisions', namespace, (r) => r.metadata.labels?.[L_CONFIG] === name);
    const lrr =
      st.latestReadyRevisionName && this.store.get('revisions', namespace, st.latestReadyRevisionName);
    if (lrr) {
      const from = Number.isFinite(configGeneration(lrr)) ? configGeneration(lrr) : gen;
      const gens = new Set<number>();
      for (let g = from; g <= gen; g++) gens.add(g);
      if (byo && Number.isFinite(configGeneration(lcr))) gens.add(configGeneration(lcr));
      candidates = candidates.filter((r) => gens.has(configGeneration(r)));
    }
    candidates.sort((a, b) =>
      a.metadata.name === byo ? -1 : b.metadata.name === byo ? 1 : configGeneration(b) - configGeneration(a),
    );
    const ready = candidates.find(isReady);
    if (ready) {
      // SetLatestReadyRevisionName: Ready once the latest ready revision is the latest created one.
      st.latestReadyRevisionName = ready.metadata.name;
      if (ready.metadata.name === st.latestCreatedRevisionName) m.markTrue('Ready');
    }
    return save(false);
  }

  private createRevision(config: KObject, revName: string, template: KObject, gen: number): KObject {
    const { namespace, name } = config.metadata;
    const tmeta = template.metadata ?? {};
    const rev = this.store.create('revisions', {
      apiVersion: API_VERSION,
      kind: 'Revision',
      metadata: {
        name: revName,
        namespace,
        labels: {
          ...(tmeta.labels ?? {}),
          [L_CONFIG]: name,
          [L_CONFIG_UID]: config.metadata.uid,
          [L_CONFIG_GEN]: String(gen),
          [L_SERVICE]: config.metadata.labels?.[L_SERVICE] ?? '',
          [L_SERVICE_UID]: config.metadata.labels?.[L_SERVICE_UID] ?? '',
        },
        annotations: { ...(tmeta.annotations ?? {}), ...pickAnnotations(config) },
        ownerReferences: [ownerRef(config)],
      },
      spec: clone(template.spec),
      status: {},
    });
    const stored = this.store.update(
      'revisions',
      this.revisionStatus(rev, { ready: false, progressed: false }),
    );
    this.backends.ensure(rev);
    return stored;
  }

  /**
   * Revision status from its pod and Deployment, in the order of pkg/reconciler/revision/reconcile_resources.go
   * (reconcileDeployment: PropagateDeploymentStatus, a crashed container's exit code, a ready replica) and
   * PropagateAutoscalerStatus in pkg/apis/serving/v1/revision_lifecycle.go (Active from the autoscaler: kpa.go).
   */
  private revisionStatus(rev: KObject, state: BackendState): KObject {
    const now = this.opts.now();
    const m = revisionConditions.manage(rev.status?.conditions, now);
    m.initialize();
    const containers: KObject[] = Array.isArray(rev.spec?.containers) ? rev.spec.containers : [];
    const status: KObject = {
      ...(rev.status ?? {}),
      observedGeneration: rev.metadata.generation,
      containerStatuses: containers.map((c, i) => ({
        name: c.name ?? (i === 0 ? 'user-container' : `user-container-${i}`),
        imageDigest: digestOf(String(c.image ?? '')),
      })),
    };
    // A new Deployment: both Unknown, Deploying.
    if (m.get('ContainerHealthy')?.status === 'Unknown' && !m.get('ContainerHealthy')?.reason)
      m.markUnknown('ContainerHealthy', 'Deploying', '');
    // PropagateDeploymentStatus: ResourcesAvailable follows the Deployment's Progressing condition, which stays
    // True once a replica was available, so a later crash leaves it True.
    if (state.progressed) m.markTrue('ResourcesAvailable');
    else if (state.deadlineExceeded)
      m.markFalse('ResourcesAvailable', 'ProgressDeadlineExceeded', 'Initial scale was never achieved');
    else m.markUnknown('ResourcesAvailable', 'Deploying', '');
    // No available replica and a container that terminated: ExitCode<N>, marked after, so Ready carries it.
    if (!state.ready && state.terminated) {
      const { exitCode, message } = state.terminated;
      m.markFalse(
        'ContainerHealthy',
        `ExitCode${exitCode}`,
        `Container failed with: ${exitCode === 0 && !message ? 'container exited with no error' : message}`,
      );
    }
    if (state.ready) m.markTrue('ContainerHealthy');
    // PropagateAutoscalerStatus.
    if (state.ready) {
      if (state.idle) m.markFalse('Active', 'NoTraffic', 'The target is not receiving traffic.');
      else m.markTrue('Active');
    } else if (state.progressed) {
      m.markUnknown(
        'Active',
        'Queued',
        'Requests to the target are being buffered as resources are provisioned.',
      );
    } else if (state.deadlineExceeded) {
      m.markFalse('Active', 'TimedOut', 'The target could not be activated.');
    } else m.markUnknown('Active', 'Deploying', '');
    status.actualReplicas = state.ready && !state.idle ? 1 : 0;
    status.desiredReplicas = state.idle ? 0 : 1;
    status.conditions = m.conditions;
    return { ...rev, status };
  }

  private reconcileRoute(svc: KObject, config: KObject, now: Date): KObject {
    const { name } = svc.metadata;
    const traffic = (svc.spec.traffic ?? []).map((t: KObject) => {
      const out: KObject = {};
      if (t.tag) out.tag = t.tag;
      if (t.latestRevision) out.configurationName = name;
      else out.revisionName = t.revisionName;
      out.latestRevision = Boolean(t.latestRevision);
      out.percent = t.percent ?? 0;
      return out;
    });
    const labelsBefore = this.store.get('routes', svc.metadata.namespace, name)?.metadata.labels;
    const route = this.ensureChild(svc, 'routes', { traffic });
    // The hosts follow the Route's labels (its visibility): what the gateways serve moves with them, unless a
    // host is no DNS name (then the ingress is left alone, as below).
    const programmed = this.programmed.get(`${svc.metadata.namespace}/${name}`);
    if (
      programmed &&
      labelsBefore &&
      !deepEqual(labelsBefore, route.metadata.labels) &&
      !('error' in routeUrl(this.opts, route.metadata)) &&
      !setTagUrls(this.opts, route.metadata, clone(programmed))
    )
      this.programGateway(route, programmed);
    return this.reconcileRouteStatus(route, config, now);
  }

  /**
   * The Route reconciler (pkg/reconciler/route/route.go ReconcileKind): a new generation marks the ingress not
   * configured; configureTraffic resolves every target or marks the deferred target error and stops, leaving
   * status.traffic and the ingress as they were; a resolved block is written to status.traffic at once, and
   * IngressReady stays Unknown (IngressNotConfigured) until the gateway serves it.
   */
  private reconcileRouteStatus(route: KObject, config: KObject, now: Date): KObject {
    const { namespace, name } = route.metadata;
    const routeKey = `${namespace}/${name}`;
    const st: KObject = { ...(route.status ?? {}) };
    const m = routeConditions.manage(st.conditions, now);
    m.initialize();
    const save = () => {
      st.observedGeneration = route.metadata.generation;
      st.conditions = m.conditions;
      return this.store.update('routes', { ...route, status: st });
    };
    if (st.observedGeneration !== route.metadata.generation) {
      m.markUnknown('Ready', ...NEW_GEN);
      m.markUnknown('IngressReady', ...INGRESS_NOT_CONFIGURED);
    }

    // updateRouteStatusURL runs before the targets are looked at: a host that is no DNS name (domains.ts) fails
    // the Route with ErrorConfig, status.url, status.traffic and the ingress as they were.
    const url = routeUrl(this.opts, route.metadata);
    if ('error' in url) {
      m.markFalse('AllTrafficAssigned', ERROR_CONFIG, url.error.message);
      return save();
    }
    st.url = url.url;
    const resolved = this.resolveTraffic(route, config);
    if ('error' in resolved) {
      // MarkBadTrafficTarget; "Traffic targets aren't ready, no need to configure Route."
      const { failure, reason, message } = resolved.error;
      if (failure) m.markFalse('AllTrafficAssigned', reason, message);
      else m.markUnknown('AllTrafficAssigned', reason, message);
      return save();
    }
    const badTag = setTagUrls(this.opts, route.metadata, resolved.traffic);
    if (badTag) {
      // GetRevisionTrafficTargets failed: its nil is status.traffic; the ingress is left as it was.
      delete st.traffic;
      m.markFalse('AllTrafficAssigned', ERROR_CONFIG, badTag.message);
      return save();
    }
    st.traffic = resolved.traffic;
    m.markTrue('AllTrafficAssigned');
    st.address = { url: `http://${name}.${namespace}.svc.cluster.local` };
    m.markTrue('CertificateProvisioned', 'TLSNotEnabled', 'external-domain-tls is not enabled');

    // reconcileIngress: the gateway takes ingressDelayMs to serve a changed split; until then it is not ready.
    if (deepEqual(this.programmed.get(routeKey), resolved.traffic) && !this.pendingIngress.has(routeKey)) {
      m.markTrue('IngressReady');
      return save();
    }
    m.markUnknown('IngressReady', ...INGRESS_NOT_CONFIGURED);
    const pending = this.pendingIngress.get(routeKey);
    if (!pending || !deepEqual(pending.traffic, resolved.traffic)) {
      clearTimeout(pending?.timer);
      const desired = clone(resolved.traffic);
      const program = () => {
        this.pendingIngress.delete(routeKey);
        const latest = this.store.get('routes', namespace, name);
        if (!latest || this.stopped) return;
        this.programGateway(latest, desired);
        this.enqueue(namespace, latest.metadata.labels?.[L_SERVICE] ?? name);
      };
      this.pendingIngress.set(routeKey, {
        traffic: desired,
        timer: setTimeout(program, this.opts.ingressDelayMs()),
      });
    }
    return save();
  }

  private programGateway(route: KObject, traffic: KObject[]): void {
    const { namespace, name } = route.metadata;
    const service = route.metadata.labels?.[L_SERVICE] ?? name;
    const toTarget = (t: KObject): Target => ({
      namespace,
      service,
      configuration:
        this.store.get('revisions', namespace, t.revisionName)?.metadata.labels?.[L_CONFIG] ?? name,
      revision: t.revisionName,
      percent: t.percent,
    });
    // The service host splits by percent over all targets, merged by revision (Knative's consolidate()).
    const merged = new Map<string, Target>();
    for (const t of traffic) {
      const cur = merged.get(t.revisionName);
      if (cur) cur.percent += t.percent;
      else merged.set(t.revisionName, toTarget(t));
    }
    const byName = new Map<string, HostRoute>([['', { tag: 'DEFAULT', targets: [...merged.values()] }]]);
    for (const t of traffic) {
      if (t.tag) byName.set(t.tag, { tag: t.tag, targets: [{ ...toTarget(t), percent: 100 }] });
    }
    // The ExternalIP rules' hosts go to the external gateway, the ClusterLocal rules' to the local one.
    const external = new Map<string, HostRoute>();
    const local = new Map<string, HostRoute>();
    for (const [tag, hostRoute] of byName) {
      const hosts = ingressHosts(this.opts, route.metadata, tag);
      for (const h of hosts.external) external.set(h, hostRoute);
      for (const h of hosts.local) local.set(h, hostRoute);
    }
    this.gateway.program(`${namespace}/${name}`, external);
    this.localGateway.program(`${namespace}/${name}`, local);
    this.programmed.set(`${namespace}/${name}`, clone(traffic));
  }

  /**
   * BuildTrafficConfiguration (pkg/reconciler/route/traffic/traffic.go): every target is resolved to a Ready
   * revision, a configuration target through its latest ready revision (addConfigurationTarget), a revision
   * target by name and owner (addRevisionTarget). Every bad target is looked at; the error kept is the first one
   * unless a later one is a failure, which always takes its place (deferTargetError). Merged as mergeIfNecessary.
   */
  private resolveTraffic(route: KObject, config: KObject): { traffic: KObject[] } | { error: TargetError } {
    const { namespace } = route.metadata;
    const out: KObject[] = [];
    const owner: string | undefined = route.metadata.labels?.[L_SERVICE];
    let deferred: TargetError | undefined;
    const fail = (e: TargetError) => {
      if (!deferred || e.failure) deferred = e;
    };
    const revisionError = (rev: KObject): TargetError =>
      condition(rev, 'Ready')?.status === 'False'
        ? {
            failure: true,
            reason: 'RevisionMissing',
            message: `Revision "${rev.metadata.name}" failed to become ready.`,
          }
        : {
            failure: false,
            reason: 'RevisionMissing',
            message: `Revision "${rev.metadata.name}" is not yet ready.`,
          };
    const missing = (kind: string, n: string): TargetError => ({
      failure: true,
      reason: `${kind}Missing`,
      message: `${kind} "${n}" referenced in traffic not found.`,
    });
    const configurationNamed = (n: string) =>
      n === config.metadata.name ? config : this.store.get('configurations', namespace, n);

    for (const t of route.spec.traffic as KObject[]) {
      let rev: KObject | undefined;
      if (t.revisionName) {
        rev = this.store.get('revisions', namespace, t.revisionName);
        if (!rev) {
          fail(missing('Revision', t.revisionName));
          continue;
        }
        const revOwner: string = rev.metadata.labels?.[L_SERVICE] ?? '';
        if (owner && revOwner !== owner) {
          fail({
            failure: true,
            reason: 'RevisionNotOwned',
            message: revOwner
              ? `Revision "${t.revisionName}" belongs to Service "${revOwner}", not Service "${owner}".`
              : `Revision "${t.revisionName}" does not belong to Service "${owner}".`,
          });
          continue;
        }
        if (!isReady(rev)) {
          fail(revisionError(rev));
          continue;
        }
        const cfgName = rev.metadata.labels?.[L_CONFIG];
        if (cfgName && !configurationNamed(cfgName)) {
          fail(missing('Configuration', cfgName));
          continue;
        }
      } else if (t.configurationName) {
        const cfg = configurationNamed(t.configurationName);
        if (!cfg) {
          fail(missing('Configuration', t.configurationName));
          continue;
        }
        const lrr: string | undefined = cfg.status?.latestReadyRevisionName;
        if (!lrr) {
          fail(
            condition(cfg, 'Ready')?.status === 'False'
              ? {
                  failure: true,
                  reason: 'RevisionMissing',
                  message: `Configuration "${t.configurationName}" does not have any ready Revision.`,
                }
              : {
                  failure: false,
                  reason: 'RevisionMissing',
                  message: `Configuration "${t.configurationName}" is waiting for a Revision to become ready.`,
                },
          );
          continue;
        }
        rev = this.store.get('revisions', namespace, lrr);
        if (!rev) {
          fail(missing('Revision', lrr));
          continue;
        }
        if (!isReady(rev)) {
          fail(revisionError(rev));
          continue;
        }
      } else continue;
      const revName: string = rev.metadata.name;
      const entry: KObject = {};
      if (t.tag) entry.tag = t.tag;
      entry.revisionName = revName;
      entry.percent = t.percent ?? 0;
      entry.latestRevision = Boolean(t.latestRevision);
      const same = out.find(
        (o) =>
          (o.tag ?? '') === (entry.tag ?? '') &&
          o.revisionName === revName &&
          o.latestRevision === entry.latestRevision,
      );
      if (same) same.percent += entry.percent;
      else out.push(entry);
    }
    return deferred ? { error: deferred } : { traffic: out };
  }
}

function pickAnnotations(o: KObject): Record<string, string> {
  const a = o.metadata.annotations ?? {};
  const out: Record<string, string> = {};
  for (const k of ['serving.knative.dev/creator', 'serving.knative.dev/lastModifier'])
    if (a[k]) out[k] = a[k];
  return out;
}

/** A stable fake digest so containerStatuses look like a resolved image. */
function digestOf(image: string): string {
  if (image.includes('@sha256:')) return image;
  let h = 0n;
  for (const ch of image) h = (h * 131n + BigInt(ch.codePointAt(0)!)) % (1n << 256n);
  return `${image.split(':')[0]}@sha256:${h.toString(16).padStart(64, '0')}`;
}
