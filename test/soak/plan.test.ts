// The soak's plan is a function of the seed alone, and covers what the soak is for.

import { expect, it } from 'vitest';
import { planSoak } from './plan.ts';

it('plans the same soak from the same seed, and another from another seed', () => {
  expect(planSoak(7, 40, 3)).toEqual(planSoak(7, 40, 3));
  expect(planSoak(8, 40, 3).rollouts.map((r) => r.kind)).not.toEqual(
    planSoak(7, 40, 3).rollouts.map((r) => r.kind),
  );
  // A rollout's plan does not depend on how many are planned.
  expect(planSoak(7, 10, 3).rollouts).toEqual(planSoak(7, 40, 3).rollouts.slice(0, 10));
});

it('plans only the kinds asked for', () => {
  expect(new Set(planSoak(3, 30, 2, ['name-race', 'healthy']).rollouts.map((r) => r.kind))).toEqual(
    new Set(['name-race', 'healthy']),
  );
});

it('over a few hundred rollouts, plans every candidate kind, interrupt, fault profile and racing advances', () => {
  const { rollouts, services } = planSoak(1, 300, 3);
  const kinds = new Set(rollouts.map((r) => r.kind));
  expect(kinds.size).toBe(11);
  const interrupts = new Set(rollouts.map((r) => r.interrupt && `${r.interrupt.kind}@${r.interrupt.on}`));
  for (const on of ['time', 'deploy', 'ready-wait', 'smoke', 'dwell', 'check', 'step', 'promote', 'rollback'])
    expect(interrupts).toContain(`cancel@${on}`);
  for (const on of ['step-written', 'promotion-written']) {
    expect(interrupts).toContain(`cancel@${on}`);
    expect(interrupts).toContain(`kill@${on}`);
  }
  expect(new Set(rollouts.map((r) => r.interrupt?.during))).toEqual(
    new Set([undefined, 'reads-fail', 'slow-api']),
  );
  expect(new Set(rollouts.map((r) => r.faults)).size).toBe(6);
  expect(rollouts.some((r) => r.advances.some((g) => g.offsetsMs.length > 1))).toBe(true);
  expect(rollouts.some((r) => r.interrupted !== 'deploy')).toBe(true);
  for (const r of rollouts) {
    expect(r.revisionName.startsWith(`${r.service}-`)).toBe(true);
    expect(services.map((s) => s.name)).toContain(r.service);
  }
  // A taken name is that of an earlier rollout of the same Service (or its first revision), with another image.
  const taken = rollouts.filter((r) => r.kind === 'name-taken');
  expect(taken.length).toBeGreaterThan(0);
  for (const r of taken)
    expect(
      rollouts.some((o) => o.index < r.index && o.revisionName === r.revisionName && o.image !== r.image) ||
        r.revisionName.endsWith('-v0'),
    ).toBe(true);
});
