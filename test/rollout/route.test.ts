import { describe, expect, it } from 'vitest';
import type { Condition, Service } from '../../src/knative/types.ts';
import { namedInMessage, refusalOutlastsReady, routeVerdict } from '../../src/rollout/route.ts';

function svc(
  generation: number,
  observed: number,
  routes: Partial<Condition> | undefined,
  traffic: { revisionName: string; percent: number }[],
): Service {
  return {
    metadata: { name: 'hello', generation },
    spec: { template: { spec: { containers: [{ image: 'x' }] } } },
    status: {
      observedGeneration: observed,
      latestReadyRevisionName: 'hello-v1',
      conditions: routes ? [{ type: 'RoutesReady', status: 'Unknown', ...routes } as Condition] : [],
      traffic,
    },
  };
}

const wanted = new Map([
  ['hello-v1', 90],
  ['hello-v2', 10],
]);
const split = [
  { revisionName: 'hello-v1', percent: 90 },
  { revisionName: 'hello-v2', percent: 10 },
];

describe('routeVerdict', () => {
  it('is served only at the observed generation, with the split asked and RoutesReady True', () => {
    expect(routeVerdict(svc(3, 3, { status: 'True' }, split), 3, wanted)).toEqual({ kind: 'served' });
    expect(routeVerdict(svc(3, 2, { status: 'True' }, split), 3, wanted).kind).toBe('pending');
    // status.traffic is written before the ingress serves it: RoutesReady Unknown, IngressNotConfigured.
    expect(
      routeVerdict(svc(3, 3, { status: 'Unknown', reason: 'IngressNotConfigured' }, split), 3, wanted),
    ).toEqual({ kind: 'pending', reason: 'IngressNotConfigured', message: undefined });
    expect(
      routeVerdict(svc(3, 3, { status: 'True' }, [{ revisionName: 'hello-v1', percent: 100 }]), 3, wanted)
        .kind,
    ).toBe('pending');
  });

  it('is refused at once when RoutesReady is False at the observed generation', () => {
    const refused = svc(
      3,
      3,
      { status: 'False', reason: 'RevisionMissing', message: 'Revision "hello-v2" failed to become ready.' },
      [{ revisionName: 'hello-v1', percent: 100 }],
    );
    expect(routeVerdict(refused, 3, wanted)).toEqual({
      kind: 'refused',
      reason: 'RevisionMissing',
      message: 'Revision "hello-v2" failed to become ready.',
    });
    // A refusal of an older generation is not this block's.
    expect(routeVerdict(refused, 4, wanted).kind).toBe('pending');
  });
});

describe('refusalOutlastsReady', () => {
  const s = svc(3, 3, undefined, split);
  const refused = (reason: string, message: string) => ({ kind: 'refused' as const, reason, message });

  it('waits on a refusal that names the candidate or the latest ready revision', () => {
    expect(
      refusalOutlastsReady(
        refused('RevisionMissing', 'Revision "hello-v2" is not yet ready.'),
        s,
        'hello-v2',
      ),
    ).toBe(false);
    expect(
      refusalOutlastsReady(
        refused('RevisionMissing', 'Revision "hello-v1" failed to become ready.'),
        s,
        'hello-v2',
      ),
    ).toBe(false);
    expect(
      refusalOutlastsReady(
        refused('RevisionMissing', 'Configuration "hello" does not have any ready Revision.'),
        s,
        'hello-v2',
      ),
    ).toBe(false);
  });

  it('does not wait on anything else: another revision missing, a host too long, a revision not owned', () => {
    expect(
      refusalOutlastsReady(
        refused('RevisionMissing', 'Revision "hello-v0" referenced in traffic not found.'),
        s,
        'hello-v2',
      ),
    ).toBe(true);
    expect(refusalOutlastsReady(refused('ErrorConfig', 'domain name error'), s, 'hello-v2')).toBe(true);
    expect(
      refusalOutlastsReady(refused('RevisionNotOwned', 'Revision "x" belongs to Service "y"'), s, 'hello-v2'),
    ).toBe(true);
  });

  it('reads the quoted name', () => {
    expect(namedInMessage('Revision "a-1" is not yet ready.')).toBe('a-1');
    expect(namedInMessage(undefined)).toBeUndefined();
  });
});
