// The emulator's etcd: objects by kind, one global resourceVersion counter, a bounded event history for
// watches that resume from a resourceVersion, and live watchers.

import { randomUUID } from 'node:crypto';
import { clone, type KObject } from './util.ts';
import { alreadyExists, conflict, gone, notFound } from './errors.ts';

export type Plural = 'services' | 'configurations' | 'revisions' | 'routes';
export const PLURALS: Plural[] = ['services', 'configurations', 'revisions', 'routes'];

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  plural: Plural;
  rv: number;
  object: KObject;
  /** The object before this event (MODIFIED and DELETED), so filtered watches can see it leave their set. */
  previous?: KObject;
}

export type Listener = (event: StoreEvent) => void;

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

export class Store {
  private rv = 1;
  private readonly objects = new Map<Plural, Map<string, KObject>>(PLURALS.map((p) => [p, new Map()]));
  private history: StoreEvent[] = [];
  /** Events with rv <= compactedThrough are no longer replayable. */
  private compactedThrough = 1;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly historyLimit = 2000,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get(plural: Plural, namespace: string, name: string): KObject | undefined {
    const obj = this.objects.get(plural)!.get(keyOf(namespace, name));
    return obj && clone(obj);
  }

  mustGet(plural: Plural, namespace: string, name: string): KObject {
    const obj = this.get(plural, namespace, name);
    if (!obj) throw notFound(plural, name);
    return obj;
  }

  list(plural: Plural, namespace?: string, filter?: (o: KObject) => boolean): KObject[] {
    const out: KObject[] = [];
    for (const obj of this.objects.get(plural)!.values()) {
      if (namespace && obj.metadata.namespace !== namespace) continue;
      if (filter && !filter(obj)) continue;
      out.push(clone(obj));
    }
    return out.sort((a, b) =>
      keyOf(a.metadata.namespace, a.metadata.name) < keyOf(b.metadata.namespace, b.metadata.name) ? -1 : 1,
    );
  }

  /** Stores a new object, filling uid, creationTimestamp, generation and resourceVersion. */
  create(plural: Plural, obj: KObject): KObject {
    const { namespace, name } = obj.metadata;
    const map = this.objects.get(plural)!;
    if (map.has(keyOf(namespace, name))) throw alreadyExists(plural, name);
    const stored = clone(obj);
    stored.metadata.uid = randomUUID();
    stored.metadata.creationTimestamp = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    stored.metadata.generation = 1;
    stored.metadata.resourceVersion = String(++this.rv);
    delete stored.metadata.deletionTimestamp;
    map.set(keyOf(namespace, name), stored);
    this.emit({ type: 'ADDED', plural, rv: this.rv, object: clone(stored) });
    return clone(stored);
  }

  /**
   * Replaces a stored object. With `expectedRV`, a different stored resourceVersion is a 409 Conflict.
   * Returns the stored object; an update that changes nothing is not written and keeps its resourceVersion.
   */
  update(plural: Plural, obj: KObject, expectedRV?: string): KObject {
    const { namespace, name } = obj.metadata;
    const map = this.objects.get(plural)!;
    const key = keyOf(namespace, name);
    const current = map.get(key);
    if (!current) throw notFound(plural, name);
    if (expectedRV !== undefined && expectedRV !== current.metadata.resourceVersion)
      throw conflict(plural, name);
    const next = clone(obj);
    // Server-owned metadata cannot be changed by writers.
    for (const field of ['uid', 'creationTimestamp', 'namespace', 'name'])
      next.metadata[field] = current.metadata[field];
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (JSON.stringify(next) === JSON.stringify(current)) return clone(current);
    next.metadata.resourceVersion = String(++this.rv);
    map.set(key, next);
    this.emit({ type: 'MODIFIED', plural, rv: this.rv, object: clone(next), previous: clone(current) });
    return clone(next);
  }

  delete(plural: Plural, namespace: string, name: string): KObject {
    const map = this.objects.get(plural)!;
    const key = keyOf(namespace, name);
    const current = map.get(key);
    if (!current) throw notFound(plural, name);
    map.delete(key);
    const deleted = clone(current);
    deleted.metadata.resourceVersion = String(++this.rv);
    this.emit({ type: 'DELETED', plural, rv: this.rv, object: clone(deleted), previous: clone(current) });
    return deleted;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Events after `rv`, for a watch that resumes there. Throws 410 Gone when some of them are no longer kept.
   */
  eventsSince(rv: number, requested: string): StoreEvent[] {
    if (rv < this.compactedThrough) throw gone(requested, this.rv);
    return this.history.filter((e) => e.rv > rv).map((e) => ({ ...e, object: clone(e.object) }));
  }

  /** Forgets the event history, as etcd compaction does: watches from an older resourceVersion get 410. */
  compact(): void {
    this.history = [];
    this.compactedThrough = this.rv;
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedThrough = dropped[dropped.length - 1].rv;
    }
    for (const l of [...this.listeners]) l(event);
  }
}
