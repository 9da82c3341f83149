// examples/service.yaml, the Service users start from, is one Knative accepts and that becomes Ready (its readiness
// probe served), in the emulator that the README's "Run the action against it" uses.

import { readFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KObject } from './emulator/util.ts';
import { readyStatus, startHarness, type Harness } from './emulator/helpers.ts';

let h: Harness | undefined;
afterAll(() => h?.close());

it('examples/service.yaml is accepted and becomes Ready, with a readiness probe', async () => {
  const svc = parse(readFileSync('examples/service.yaml', 'utf8')) as KObject & {
    spec: {
      template: {
        spec: { containers: { image: string; readinessProbe?: { httpGet?: { path?: string } } }[] };
      };
    };
  };
  expect(svc.spec.template.spec.containers[0]?.readinessProbe?.httpGet?.path).toBe('/healthz');
  h = await startHarness();
  await h.create(svc);
  const ready = await h.settled('hello');
  expect(readyStatus(ready)).toBe('True');
  expect((ready.status as { latestReadyRevisionName?: string }).latestReadyRevisionName).toBe('hello-v1');
});
