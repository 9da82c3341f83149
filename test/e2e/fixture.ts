// An emulator with one Service at a stable revision, and helpers to run the built action against it.

import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { service, startHarness, type Harness } from '../emulator/helpers.ts';
import type { EmulatorOptions } from '../emulator/emulator.ts';
import type { KObject } from '../emulator/util.ts';
import { runAction, type RunActionOptions, type RunResult } from './runner.ts';
import { decodeState, STATE_ANNOTATION, type RolloutState } from '../../src/rollout/state.ts';

export interface Fixture {
  h: Harness;
  dir: string;
  /** Runs dist/index.js with the kubeconfig, gateway and short timings filled in. */
  run(inputs: Record<string, string>, extra?: Omit<RunActionOptions, 'inputs'>): Promise<RunResult>;
  svc(): Promise<KObject>;
  state(): Promise<RolloutState | undefined>;
  /** Resolved percent per revision in status.traffic. */
  percents(): Promise<Record<string, number>>;
  /** Highest percent each revision was routed, over the fixture's life. */
  maxPercent: Map<string, number>;
  /** API requests that were not reads. */
  writes(): { method: string; url: string }[];
  /** Writes that took effect: not answered 409 Conflict (a write the action then re-read and retried). */
  landed(): { method: string; url: string }[];
  revisions(): Promise<string[]>;
  close(): Promise<void>;
}

export const FAST = { interval: '600ms', 'probe-rps': '25', timeout: '10s' };

export async function fixture(
  opts: {
    name?: string;
    traffic?: KObject[];
    revisionName?: string;
    labels?: Record<string, string>;
    emulator?: EmulatorOptions;
  } = {},
): Promise<Fixture> {
  const name = opts.name ?? 'hello';
  const h = await startHarness({ seed: 7, ...opts.emulator });
  const dir = mkdtempSync(join(tmpdir(), 'e2e-'));
  const maxPercent = new Map<string, number>();
  h.emulator.store.subscribe((e) => {
    if (e.plural !== 'services') return;
    for (const t of (e.object.status?.traffic ?? []) as { revisionName?: string; percent?: number }[]) {
      if (t.revisionName)
        maxPercent.set(t.revisionName, Math.max(maxPercent.get(t.revisionName) ?? 0, t.percent ?? 0));
    }
  });
  await h.create(
    service(name, {
      image: 'ghcr.io/example/hello:v1',
      revisionName: opts.revisionName,
      traffic: opts.traffic,
      labels: opts.labels,
    }),
  );
  await h.settled(name);
  h.emulator.api.requests.length = 0;
  const f: Fixture = {
    h,
    dir,
    maxPercent,
    run: (inputs, extra) =>
      runAction({
        inputs: {
          service: name,
          kubeconfig: h.emulator.kubeconfig(),
          gateway: h.emulator.gatewayUrl,
          ...FAST,
          ...inputs,
        },
        ...extra,
      }),
    svc: () => h.get('services', name),
    state: async () =>
      decodeState((await h.get('services', name)).metadata.annotations?.[STATE_ANNOTATION]).state,
    percents: async () => {
      const svc = await h.get('services', name);
      const out: Record<string, number> = {};
      for (const t of svc.status?.traffic ?? [])
        if (t.percent) out[t.revisionName] = (out[t.revisionName] ?? 0) + t.percent;
      return out;
    },
    writes: () =>
      h.emulator.api.requests.filter((r) => r.method !== 'GET').map(({ method, url }) => ({ method, url })),
    landed: () =>
      h.emulator.api.requests
        .filter((r) => r.method !== 'GET' && r.status !== 409)
        .map(({ method, url }) => ({ method, url })),
    revisions: async () => {
      const list = (await h.api.listNamespacedCustomObject({
        group: 'serving.knative.dev',
        version: 'v1',
        namespace: 'default',
        plural: 'revisions',
      })) as { items: KObject[] };
      return list.items.map((r) => r.metadata.name as string).sort();
    },
    close: () => h.close(),
  };
  return f;
}

export function writeManifest(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Resolves when a version of a Service in the emulator's store first satisfies `check`. */
export function whenService(fx: Fixture, check: (svc: KObject) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = fx.h.emulator.store.subscribe((e) => {
      if (e.plural !== 'services' || !check(e.object)) return;
      off();
      resolve();
    });
  });
}

/** A Service's status routes `percent` to `revision`. */
export const routes =
  (revision: string, percent: number) =>
  (svc: KObject): boolean =>
    ((svc.status?.traffic ?? []) as { revisionName?: string; percent?: number }[]).some(
      (t) => t.revisionName === revision && t.percent === percent,
    );

/** A Service's rollout state satisfies `check`. */
export const stateIs =
  (check: (s: RolloutState) => boolean) =>
  (svc: KObject): boolean => {
    const s = decodeState(svc.metadata.annotations?.[STATE_ANNOTATION]).state;
    return s !== undefined && check(s);
  };
