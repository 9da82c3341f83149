// Users' traffic from raw counters: increases per revision, errors by label, latency at bucket edges.

import { describe, expect, it } from 'vitest';
import type { Sample } from '../../src/health/increase.ts';
import { KNATIVE_OPENCENSUS, KNATIVE_OTEL } from '../../src/health/metrics-schema.ts';
import { countsByRevision, describeCounts, edgeAt, UsersTraffic } from '../../src/health/users.ts';

const OPENCENSUS = KNATIVE_OPENCENSUS;
const SECONDS: typeof OPENCENSUS = { ...OPENCENSUS, unit: 's', error: { label: 'code', pattern: '5..' } };

const req = (rev: string, cls: string, value: number, pod = 'p0'): Sample => ({
  labels: {
    revision_name: rev,
    response_code_class: cls,
    code: cls === '5xx' ? '503' : '200',
    pod_name: pod,
  },
  value,
});
/** Cumulative buckets for `rev` from per-bucket counts at edges 100, 200, 500 ms, and +Inf. */
function buckets(
  rev: string,
  counts: [number, number, number, number],
  unit: 'ms' | 's' = 'ms',
  pod = 'p0',
): Sample[] {
  const edges = unit === 'ms' ? ['100', '200', '500', '+Inf'] : ['0.1', '0.2', '0.5', '+Inf'];
  let cum = 0;
  return edges.map((le, i) => {
    cum += counts[i]!;
    return { labels: { revision_name: rev, le, pod_name: pod }, value: cum };
  });
}

describe('countsByRevision', () => {
  it('sums requests and errors per revision, and turns `le` in seconds into milliseconds', () => {
    const c = countsByRevision(
      [req('a', '2xx', 90), req('a', '5xx', 10), req('b', '2xx', 5)],
      buckets('a', [50, 30, 15, 5], 's'),
      SECONDS,
    );
    expect(c.get('a')).toMatchObject({ requests: 100, errors: 10 });
    expect(c.get('b')).toMatchObject({ requests: 5, errors: 0 });
    expect([...c.get('a')!.buckets]).toEqual([
      [100, 50],
      [200, 80],
      [500, 95],
      [Infinity, 100],
    ]);
  });
});

describe('edgeAt', () => {
  it('is the first edge with at least that share at or below it', () => {
    const b = new Map([
      [100, 50],
      [200, 80],
      [500, 99],
      [Infinity, 100],
    ]);
    expect(edgeAt(b, 0.5)).toBe(100);
    expect(edgeAt(b, 0.51)).toBe(200);
    expect(edgeAt(b, 0.99)).toBe(500);
    expect(edgeAt(b, 1)).toBe(500);
    expect(edgeAt(new Map(), 0.5)).toBeUndefined();
  });
});

describe('describeCounts', () => {
  it('says the requests, errors and the bucket edges p50 and p99 fall under', () => {
    const c = countsByRevision(
      [req('a', '2xx', 90), req('a', '5xx', 10)],
      buckets('a', [60, 30, 9, 1]),
      OPENCENSUS,
    );
    expect(describeCounts('a', c.get('a')!)).toBe('a 100 req, 10 err (10.0%), p50 ≤ 100 ms, p99 ≤ 500 ms');
    expect(describeCounts('b', { requests: 0, errors: 0, buckets: new Map() })).toBe(
      'b 0 req, 0 err (0.0%), p50 ?, p99 ?',
    );
  });
});

describe('UsersTraffic', () => {
  it('gives no evidence at the first read, then the increase of each arm, thresholds from the stable before it', () => {
    const u = new UsersTraffic(OPENCENSUS, 'hello-v2', ['hello-v1'], 400);
    const first = u.look(
      [req('hello-v1', '2xx', 1000), req('hello-v2', '2xx', 100)],
      [...buckets('hello-v1', [500, 300, 190, 10]), ...buckets('hello-v2', [50, 30, 19, 1])],
      0,
    );
    expect(first.candidate).toMatchObject({ requests: 0, errors: 0, timed: 0 });
    expect(first.p50Ms).toBeUndefined();

    // 100 stable requests (none slow), 20 of the candidate's: 10 errors, 10 over 500 ms.
    const second = u.look(
      [req('hello-v1', '2xx', 1100), req('hello-v2', '2xx', 110), req('hello-v2', '5xx', 10)],
      [...buckets('hello-v1', [550, 330, 210, 10]), ...buckets('hello-v2', [55, 30, 19, 16])],
      15_000,
    );
    expect(second.stable).toMatchObject({ requests: 100, errors: 0, timed: 100 });
    expect(second.candidate).toMatchObject({ requests: 20, errors: 10, timed: 20 });
    // No stable answers were known before this read: no latency thresholds yet.
    expect(second.candidate.overP50).toBe(0);

    // Thresholds now: the stable's p50 at 100 ms, p99 at 500 ms; the 500 ms edge is also the one over the limit.
    const third = u.look(
      [req('hello-v1', '2xx', 1200), req('hello-v2', '2xx', 120), req('hello-v2', '5xx', 10)],
      [...buckets('hello-v1', [600, 360, 230, 10]), ...buckets('hello-v2', [55, 30, 19, 26])],
      30_000,
    );
    expect(third.p50Ms).toBe(100);
    expect(third.p99Ms).toBe(500);
    expect(third.candidate).toMatchObject({
      requests: 10,
      timed: 10,
      overP50: 10,
      overP99: 10,
      overLimit: 10,
    });
    expect(third.stable).toMatchObject({ requests: 100, overP50: 50, overP99: 0 });
    expect(u.run.get('hello-v2')).toMatchObject({ requests: 30, errors: 10 });
    expect(u.describe()).toMatch(
      /^hello-v2 30 req, 10 err \(33\.3%\), p50 ≤ 500 ms, p99 ≤ 500 ms; hello-v1 200 req, 0 err/,
    );
  });

  it('counts a pod restart (a reset) and a new pod without inventing or losing requests', () => {
    const u = new UsersTraffic(OPENCENSUS, 'hello-v2', ['hello-v1'], undefined);
    u.look([req('hello-v2', '2xx', 100)], buckets('hello-v2', [100, 0, 0, 0]), 0);
    const l = u.look(
      [req('hello-v2', '2xx', 7), req('hello-v2', '2xx', 3, 'p1')],
      [...buckets('hello-v2', [7, 0, 0, 0]), ...buckets('hello-v2', [3, 0, 0, 0], 'ms', 'p1')],
      15_000,
    );
    expect(l.candidate).toMatchObject({ requests: 10, timed: 10 });
  });

  it("joins target_info where the revision is a label of it only (Knative 1.19+), copying the revision's label", () => {
    const u = new UsersTraffic(KNATIVE_OTEL, 'hello-v2', ['hello-v1'], undefined);
    expect(u.selector('default', KNATIVE_OTEL.requests)).toBe(
      'kn_serving_invocation_duration_seconds_count * on(job, instance) group_left(kn_revision_name) ' +
        'target_info{k8s_namespace_name="default",kn_revision_name=~"hello-v2|hello-v1"}',
    );
  });

  it('selects the revisions of the rollout in its namespace, escaped', () => {
    const u = new UsersTraffic(OPENCENSUS, 'hello-v2', ['hello-v1'], undefined);
    expect(u.selector('default', 'revision_request_count')).toBe(
      'revision_request_count{namespace_name="default",revision_name=~"hello-v2|hello-v1"}',
    );
  });
});
