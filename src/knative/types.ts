// The parts of Knative Serving v1 objects the action reads and writes.

export const GROUP = 'serving.knative.dev';
export const VERSION = 'v1';

export interface Container {
  image?: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  [key: string]: unknown;
}

/** A Service's `spec.template`: the revision to create. */
export interface Template {
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { containers: Container[]; [key: string]: unknown };
}

export interface TrafficTarget {
  tag?: string;
  revisionName?: string;
  latestRevision?: boolean;
  percent?: number;
  url?: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  generation?: number;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

export interface Service {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: { template: Template; traffic?: TrafficTarget[] };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    url?: string;
    traffic?: TrafficTarget[];
  };
}

export interface Revision {
  metadata: ObjectMeta;
  spec: Template['spec'];
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

export function condition(
  obj: { status?: { conditions?: Condition[] } },
  type: string,
): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/** Whether a Revision (or any object with conditions) is Ready: its Ready condition True. */
export function isReady(obj: { status?: { conditions?: Condition[] } } | undefined): boolean {
  return obj !== undefined && condition(obj, 'Ready')?.status === 'True';
}

/** Percent per revision over traffic targets, duplicate entries summed; `revisionOf` names each target's revision. */
export function percentsByRevision(
  targets: TrafficTarget[],
  revisionOf: (t: TrafficTarget) => string | undefined = (t) => t.revisionName,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of targets) {
    const rev = revisionOf(t);
    if (!rev || !t.percent) continue;
    out.set(rev, (out.get(rev) ?? 0) + t.percent);
  }
  return out;
}

/** Where the Service's traffic goes now, by revision, from `status.traffic` (where every target is resolved). */
export function resolvedPercents(svc: Service): Map<string, number> {
  return percentsByRevision(svc.status?.traffic ?? []);
}

/** The host a tag gets: `<tag>-<service>.<namespace>.<domain>`, taken from the Service's own URL. */
export function tagUrl(svc: Service, tag: string): string | undefined {
  const fromStatus = svc.status?.traffic?.find((t) => t.tag === tag)?.url;
  if (fromStatus) return fromStatus;
  const url = svc.status?.url;
  if (!url) return undefined;
  const u = new URL(url);
  u.hostname = `${tag}-${u.hostname}`;
  return u.toString().replace(/\/$/, '');
}
