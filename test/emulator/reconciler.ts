// Knative's controllers, folded into one: Service -> Configuration + Route, Configuration -> Revisions,
// Revision status from its backend, Route -> gateway programming, and the statuses and conditions of each.

import { API_VERSION } from './errors.ts';
import type { Backends, BackendState } from './backends.ts';
import type { Gateway, HostRoute, Target } from './gateway.ts';
import type { Store, StoreEvent } from './store.ts';
import { clone, deepEqual, type KObject } from './util.ts';

export const L_SERVICE = 'serving.knative.dev/service';
export const L_SERVICE_UID = 'serving.knative.dev/serviceUID';
export const L_CONFIG = 'serving.knative.dev/configuration';
export const L_CONFIG_UID = 'serving.knative.dev/configurationUID';
export const L_CONFIG_GEN = 'serving.knative.dev/configurationGeneration';

type Status = 'True' | 'False' | 'Unknown';

interface Condition {
  type: string;
  status: Status;
  reason?: string;
  message?: string;
  severity?: string;
  lastTransitionTime?: string;
}

export interface ReconcilerOptions {
  domain: string;
  /** Delay between a change and the controllers acting on it. */
  delayMs: () => number;
  /** How long the gateway takes to program a traffic change (IngressReady Unknown meanwhile). */
  ingressDelayMs: () => number;
  now: () => Date;
}

const timestamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Sets one condition, keeping lastTransitionTime when its status does not change. */
function setCondition(conds: Condition[], c: Condition, now: Date): Condition[] {
  const prev = conds.find((x) => x.type === c.type);
  const next: Condition = { type: c.type, status: c.status };
  if (c.reason) next.reason = c.reason;
  if (c.message) next.message = c.message;
  if (c.severity) next.severity = c.severity;
  next.lastTransitionTime =
    prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : timestamp(now);
  return [...conds.filter((x) => x.type !== c.type), next].sort((a, b) => (a.type < b.type ? -1 : 1));
}

/** Ready follows its dependents: the first False wins, then the first Unknown; else True. */
function deriveReady(conds: Condition[], deps: string[], now: Date): Condition[] {
  const ds = deps.map((d) => conds.find((c) => c.type === d) ?? { type: d, status: 'Unknown' as Status });
  const bad = ds.find((c) => c.status === 'False') ?? ds.find((c) => c.status === 'Unknown');
  const ready: Condition = bad
    ? { type: 'Ready', status: bad.status, reason: bad.reason, message: bad.message }
    : { type: 'Ready', status: 'True' };
  return setCondition(conds, ready, now);
}

export const condition = (obj: KObject | undefined, type: string): Condition | undefined =>
  (obj?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

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
  private readonly pendingIngress = new Map<string, NodeJS.Timeout>();
  /** What the gateway serves per Route: the resolved status.traffic it was programmed with. */
  private readonly programmed = new Map<string, KObject[]>();
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly backends: Backends,
    private readonly gateway: Gateway,
    private readonly opts: ReconcilerOptions,
  ) {
    this.unsubscribe = store.subscribe((e) => this.onEvent(e));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const t of this.queue.values()) clearTimeout(t);
    for (const t of this.pendingIngress.values()) clearTimeout(t);
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
      else if (e.type === 'ADDED' || !deepEqual(e.previous?.spec, e.object.spec))
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
    clearTimeout(this.pendingIngress.get(routeKey));
    this.pendingIngress.delete(routeKey);
    this.programmed.delete(routeKey);
    this.gateway.unprogram(routeKey);
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

  reconcile(namespace: string, name: string): void {
    const svc = this.store.get('services', namespace, name);
    if (!svc) return;
    const now = this.opts.now();
    let conds: Condition[] = svc.status?.conditions ?? [];
    const status: KObject = { ...(svc.status ?? {}), observedGeneration: svc.metadata.generation };

    const { config, nameTaken } = this.reconcileConfiguration(svc, now);
    const cReady = condition(config, 'Ready');
    status.latestCreatedRevisionName = config.status?.latestCreatedRevisionName;
    status.latestReadyRevisionName = config.status?.latestReadyRevisionName;
    if (!status.latestReadyRevisionName) delete status.latestReadyRevisionName;
    if (!status.latestCreatedRevisionName) delete status.latestCreatedRevisionName;
    conds = setCondition(
      conds,
      {
        type: 'ConfigurationsReady',
        status: cReady?.status ?? 'Unknown',
        reason: cReady?.reason,
        message: cReady?.message,
      },
      now,
    );

    const templateName: string | undefined = svc.spec.template?.metadata?.name;
    if (nameTaken) {
      conds = setCondition(
        conds,
        {
          type: 'RoutesReady',
          status: 'False',
          reason: 'RevisionNameTaken',
          message: `The revision name "${templateName}" is taken by a conflicting Revision, so traffic will not be migrated`,
        },
        now,
      );
    } else {
      const route = this.reconcileRoute(svc, config, now);
      const rReady = condition(route, 'Ready');
      const assigned = condition(route, 'AllTrafficAssigned');
      let routes: Condition = {
        type: 'RoutesReady',
        status: rReady?.status ?? 'Unknown',
        reason: rReady?.reason,
        message: rReady?.message,
      };
      if (assigned?.status === 'True' && this.pendingIngress.has(`${namespace}/${name}`)) {
        routes = {
          type: 'RoutesReady',
          status: 'Unknown',
          reason: 'TrafficNotMigrated',
          message: 'Traffic is not yet migrated to the latest revision.',
        };
      }
      conds = setCondition(conds, routes, now);
      if (route.status?.url) status.url = route.status.url;
      if (route.status?.address) status.address = route.status.address;
      if (route.status?.traffic) status.traffic = route.status.traffic;
    }
    status.conditions = deriveReady(conds, ['ConfigurationsReady', 'RoutesReady'], now);
    const fresh = this.store.get('services', namespace, name);
    if (!fresh || fresh.metadata.generation !== svc.metadata.generation) {
      this.enqueue(namespace, name);
      return;
    }
    this.store.update('services', { ...fresh, status });
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

  private reconcileConfiguration(svc: KObject, now: Date): { config: KObject; nameTaken: boolean } {
    const { namespace, name } = svc.metadata;
    const template = clone(svc.spec.template);
    const cfg = this.ensureChild(svc, 'configurations', { template });
    const gen: number = cfg.metadata.generation;
    const st: KObject = { ...(cfg.status ?? {}) };
    let conds: Condition[] = st.conditions ?? [];

    const revName: string = template.metadata?.name || `${name}-${String(gen).padStart(5, '0')}`;
    const existing = this.store.get('revisions', namespace, revName);
    if (
      existing &&
      !(existing.metadata.labels?.[L_CONFIG] === name && deepEqual(existing.spec, template.spec))
    ) {
      conds = setCondition(
        conds,
        {
          type: 'Ready',
          status: 'False',
          reason: 'RevisionFailed',
          message: `Revision creation failed with message: revisions.serving.knative.dev "${revName}" already exists.`,
        },
        now,
      );
      st.observedGeneration = gen;
      st.conditions = conds;
      return { config: this.store.update('configurations', { ...cfg, status: st }), nameTaken: true };
    }
    if (st.observedGeneration !== gen || !st.latestCreatedRevisionName) {
      if (!existing) this.createRevision(cfg, revName, template, gen);
      st.latestCreatedRevisionName = revName;
      st.observedGeneration = gen;
    }

    // The latest created revision decides the Configuration's readiness.
    const latest = this.store.get('revisions', namespace, st.latestCreatedRevisionName);
    const lr = condition(latest, 'Ready');
    if (latest && lr?.status === 'True') {
      st.latestReadyRevisionName = latest.metadata.name;
      conds = setCondition(conds, { type: 'Ready', status: 'True' }, now);
    } else if (latest && lr?.status === 'False') {
      conds = setCondition(
        conds,
        {
          type: 'Ready',
          status: 'False',
          reason: 'RevisionFailed',
          message: `Revision "${latest.metadata.name}" failed with message: ${lr.message ?? ''}.`,
        },
        now,
      );
    } else if (
      !latest &&
      st.latestReadyRevisionName === st.latestCreatedRevisionName &&
      st.latestReadyRevisionName
    ) {
      conds = setCondition(
        conds,
        {
          type: 'Ready',
          status: 'False',
          reason: 'RevisionDeleted',
          message: `Revision "${st.latestReadyRevisionName}" was deleted.`,
        },
        now,
      );
    } else {
      conds = setCondition(conds, { type: 'Ready', status: 'Unknown' }, now);
    }
    if (st.latestReadyRevisionName && !this.store.get('revisions', namespace, st.latestReadyRevisionName)) {
      delete st.latestReadyRevisionName;
    }
    st.conditions = conds;
    return { config: this.store.update('configurations', { ...cfg, status: st }), nameTaken: false };
  }

  private createRevision(config: KObject, revName: string, template: KObject, gen: number): void {
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
    this.store.update('revisions', this.revisionStatus(rev, { phase: 'Deploying' }));
    this.backends.ensure(rev);
  }

  /** Revision status from its backend's state, with Knative's conditions. */
  private revisionStatus(rev: KObject, state: BackendState): KObject {
    const now = this.opts.now();
    let conds: Condition[] = rev.status?.conditions ?? [];
    const image = rev.spec?.containers?.[0]?.image ?? '';
    const status: KObject = {
      ...(rev.status ?? {}),
      observedGeneration: rev.metadata.generation,
      containerStatuses: [
        { name: rev.spec?.containers?.[0]?.name ?? 'user-container', imageDigest: digestOf(image) },
      ],
    };
    if (state.phase === 'Ready') {
      conds = setCondition(conds, { type: 'ResourcesAvailable', status: 'True' }, now);
      conds = setCondition(conds, { type: 'ContainerHealthy', status: 'True' }, now);
      conds = setCondition(conds, { type: 'Active', status: 'True', severity: 'Info' }, now);
      status.actualReplicas = 1;
      status.desiredReplicas = 1;
    } else if (state.phase === 'Failed') {
      const failed = state.condition ?? 'ContainerHealthy';
      conds = setCondition(
        conds,
        { type: failed, status: 'False', reason: state.reason, message: state.message },
        now,
      );
      if (
        failed === 'ResourcesAvailable' &&
        !condition({ status: { conditions: conds } }, 'ContainerHealthy')
      ) {
        conds = setCondition(
          conds,
          { type: 'ContainerHealthy', status: 'Unknown', reason: 'Deploying' },
          now,
        );
      }
      if (failed === 'ContainerHealthy') {
        conds = setCondition(
          conds,
          { type: 'ResourcesAvailable', status: 'False', reason: state.reason, message: state.message },
          now,
        );
      }
      conds = setCondition(
        conds,
        {
          type: 'Active',
          status: 'False',
          reason: 'NoTraffic',
          message: 'The target is not receiving traffic.',
          severity: 'Info',
        },
        now,
      );
      status.actualReplicas = 0;
      status.desiredReplicas = 0;
    } else {
      conds = setCondition(
        conds,
        { type: 'ResourcesAvailable', status: 'Unknown', reason: 'Deploying' },
        now,
      );
      conds = setCondition(conds, { type: 'ContainerHealthy', status: 'Unknown', reason: 'Deploying' }, now);
      conds = setCondition(
        conds,
        { type: 'Active', status: 'Unknown', reason: 'Deploying', severity: 'Info' },
        now,
      );
    }
    // ContainerHealthy is checked before ResourcesAvailable so a crash shows its exit code on Ready.
    status.conditions = deriveReady(conds, ['ContainerHealthy', 'ResourcesAvailable'], now);
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
    const route = this.ensureChild(svc, 'routes', { traffic });
    return this.reconcileRouteStatus(route, config, now);
  }

  private reconcileRouteStatus(route: KObject, config: KObject, now: Date): KObject {
    const { namespace, name } = route.metadata;
    const routeKey = `${namespace}/${name}`;
    const st: KObject = { ...(route.status ?? {}), observedGeneration: route.metadata.generation };
    let conds: Condition[] = st.conditions ?? [];
    st.url = `http://${name}.${namespace}.${this.opts.domain}`;
    st.address = { url: `http://${name}.${namespace}.svc.cluster.local` };

    const resolved = this.resolveTraffic(route, config);
    if ('error' in resolved) {
      conds = setCondition(conds, { type: 'AllTrafficAssigned', ...resolved.error }, now);
      // All or nothing: the previous status.traffic and routing stay in force.
    } else {
      conds = setCondition(conds, { type: 'AllTrafficAssigned', status: 'True' }, now);
      conds = setCondition(
        conds,
        {
          type: 'CertificateProvisioned',
          status: 'True',
          reason: 'TLSNotEnabled',
          message: 'external-domain-tls is not enabled',
        },
        now,
      );
      const current = this.programmed.get(routeKey);
      if (!current) {
        // First programming of a new Route: make it live at once.
        this.programGateway(route, resolved.traffic);
        st.traffic = resolved.traffic;
        conds = setCondition(conds, { type: 'IngressReady', status: 'True' }, now);
      } else if (!deepEqual(current, resolved.traffic)) {
        // Traffic is moving: the ingress takes a moment; status.traffic changes when the gateway does.
        conds = setCondition(
          conds,
          {
            type: 'IngressReady',
            status: 'Unknown',
            reason: 'Uninitialized',
            message: 'Waiting for load balancer to be ready',
          },
          now,
        );
        clearTimeout(this.pendingIngress.get(routeKey));
        const desired = resolved.traffic;
        this.pendingIngress.set(
          routeKey,
          setTimeout(() => {
            this.pendingIngress.delete(routeKey);
            const latest = this.store.get('routes', namespace, name);
            if (!latest || this.stopped) return;
            this.programGateway(latest, desired);
            this.enqueue(namespace, latest.metadata.labels?.[L_SERVICE] ?? name);
          }, this.opts.ingressDelayMs()),
        );
      } else {
        st.traffic = resolved.traffic;
        clearTimeout(this.pendingIngress.get(routeKey));
        this.pendingIngress.delete(routeKey);
        conds = setCondition(conds, { type: 'IngressReady', status: 'True' }, now);
      }
    }
    st.conditions = deriveReady(conds, ['AllTrafficAssigned', 'IngressReady', 'CertificateProvisioned'], now);
    return this.store.update('routes', { ...route, status: st });
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
    const main: HostRoute = { tag: 'DEFAULT', targets: [...merged.values()] };
    const hosts = new Map<string, HostRoute>();
    for (const h of [
      `${name}.${namespace}.${this.opts.domain}`,
      `${name}.${namespace}.svc.cluster.local`,
      `${name}.${namespace}.svc`,
      `${name}.${namespace}`,
    ]) {
      hosts.set(h, main);
    }
    for (const t of traffic) {
      if (!t.tag) continue;
      const tagRoute: HostRoute = { tag: t.tag, targets: [{ ...toTarget(t), percent: 100 }] };
      hosts.set(`${t.tag}-${name}.${namespace}.${this.opts.domain}`, tagRoute);
      hosts.set(`${t.tag}-${name}.${namespace}.svc.cluster.local`, tagRoute);
    }
    this.gateway.program(`${namespace}/${name}`, hosts);
    this.programmed.set(`${namespace}/${name}`, clone(traffic));
  }

  /** Resolves spec.traffic to revisions, or says which target is missing or not ready. */
  private resolveTraffic(
    route: KObject,
    config: KObject,
  ): { traffic: KObject[] } | { error: Omit<Condition, 'type'> } {
    const { namespace, name } = route.metadata;
    const out: KObject[] = [];
    const owner = route.metadata.labels?.[L_SERVICE];
    for (const t of route.spec.traffic as KObject[]) {
      let revName: string;
      if (t.configurationName) {
        const ready = config.status?.latestReadyRevisionName;
        if (!ready) {
          const failed = condition(config, 'Ready')?.status === 'False';
          return {
            error: failed
              ? {
                  status: 'False',
                  reason: 'RevisionMissing',
                  message: `Configuration "${t.configurationName}" does not have any ready Revision.`,
                }
              : {
                  status: 'Unknown',
                  reason: 'RevisionMissing',
                  message: `Configuration "${t.configurationName}" is waiting for a Revision to become ready.`,
                },
          };
        }
        revName = ready;
      } else {
        revName = t.revisionName;
        const rev = this.store.get('revisions', namespace, revName);
        if (!rev) {
          return {
            error: {
              status: 'False',
              reason: 'RevisionMissing',
              message: `Revision "${revName}" referenced in traffic not found.`,
            },
          };
        }
        const revOwner = rev.metadata.labels?.[L_SERVICE] ?? '';
        if (owner && revOwner !== owner) {
          return {
            error: {
              status: 'False',
              reason: 'RevisionNotOwned',
              message: revOwner
                ? `Revision "${revName}" belongs to Service "${revOwner}", not Service "${owner}".`
                : `Revision "${revName}" does not belong to Service "${owner}".`,
            },
          };
        }
        const rc = condition(rev, 'Ready');
        if (rc?.status === 'False') {
          return {
            error: {
              status: 'False',
              reason: 'RevisionMissing',
              message: `Revision "${revName}" failed to become ready.`,
            },
          };
        }
        if (rc?.status !== 'True') {
          return {
            error: {
              status: 'Unknown',
              reason: 'RevisionMissing',
              message: `Revision "${revName}" is not yet ready.`,
            },
          };
        }
      }
      const entry: KObject = {};
      if (t.tag) entry.tag = t.tag;
      entry.revisionName = revName;
      entry.percent = t.percent ?? 0;
      entry.latestRevision = Boolean(t.latestRevision);
      if (t.tag) entry.url = `http://${t.tag}-${name}.${namespace}.${this.opts.domain}`;
      // mergeIfNecessary: same tag, revision and latestRevision sense are summed.
      const same = out.find(
        (o) =>
          (o.tag ?? '') === (entry.tag ?? '') &&
          o.revisionName === revName &&
          o.latestRevision === entry.latestRevision,
      );
      if (same) same.percent += entry.percent;
      else out.push(entry);
    }
    return { traffic: out };
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
