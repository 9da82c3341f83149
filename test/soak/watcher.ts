// A Kubernetes watch on the namespace's Services through @kubernetes/client-node, as a user would follow them:
// every version in order, resumed from the last resourceVersion when the stream ends, re-listed on 410 Gone (a
// gap: versions in between are not seen, and the report counts it).

import { CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import type { KObject } from '../emulator/util.ts';

export type OnVersion = (type: 'ADDED' | 'MODIFIED' | 'DELETED', svc: KObject) => void;

const GROUP = 'serving.knative.dev';
const VERSION = 'v1';

export class ServiceWatcher {
  /** Re-lists after 410 Gone: versions may have been missed. */
  gaps = 0;
  reconnects = 0;
  events = 0;
  private rv: string | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  private readonly api: CustomObjectsApi;
  private readonly watch: Watch;

  constructor(
    kubeconfig: string,
    private readonly namespace: string,
    private readonly onVersion: OnVersion,
  ) {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.watch = new Watch(kc);
  }

  /** Lists, then watches from the list's resourceVersion; resolves once the watch is open. */
  async start(): Promise<void> {
    await this.list();
    await this.open();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  /** The Service as it is now, read through the watcher's own user (no faults). */
  get(name: string): Promise<KObject> {
    return this.api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: 'services',
      name,
    }) as Promise<KObject>;
  }

  private async list(): Promise<void> {
    const list = (await this.api.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: 'services',
    })) as { items: KObject[]; metadata: { resourceVersion: string } };
    for (const svc of list.items) this.onVersion('ADDED', svc);
    this.rv = list.metadata.resourceVersion;
  }

  private async open(): Promise<void> {
    let expired = false;
    this.abort = await this.watch.watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/services`,
      { allowWatchBookmarks: true, resourceVersion: this.rv },
      (phase: string, obj: KObject) => {
        if (this.stopped) return;
        if (phase === 'ERROR') {
          expired = obj.code === 410;
          return;
        }
        this.rv = obj.metadata?.resourceVersion ?? this.rv;
        if (phase === 'BOOKMARK') return;
        this.events++;
        this.onVersion(phase as 'ADDED' | 'MODIFIED' | 'DELETED', obj);
      },
      () => {
        if (this.stopped) return;
        this.reconnects++;
        setTimeout(() => void this.resume(expired), 50);
      },
    );
  }

  private async resume(expired: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      if (expired) {
        this.gaps++;
        await this.list();
      }
      await this.open();
    } catch {
      setTimeout(() => void this.resume(true), 250);
    }
  }
}
