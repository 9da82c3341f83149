// The increase of counters between two reads, per series, with exact counts: what users' requests each revision
// served since the judge last looked. Counters are read raw (an instant query of the series, no rate()), and the
// increase of each series is taken the way Prometheus's increase() treats a reset, without its extrapolation:
// - a value below the last one is a reset (the pod restarted and its counter began again from 0): all of it is new;
// - a series first seen after the first read (a new pod, a new status code) is new: all of it counts;
// - a series no longer returned (a pod gone) is forgotten; what it counted after the last read is not seen.
// So a reset, a series that appears or one that disappears neither invents a request nor counts one twice. Pure.

/** One sample of a counter series, as an instant query returns it. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The identity of a series: its labels, in a fixed order. */
export function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}

export class Increases {
  private last = new Map<string, number>();
  private primed = false;

  /**
   * The increase of each series since the previous read (the first read only sets where counting begins), for
   * the series with a positive increase.
   */
  next(samples: Sample[]): Sample[] {
    const seen = new Map<string, number>();
    const out: Sample[] = [];
    for (const s of samples) {
      if (!Number.isFinite(s.value) || s.value < 0) continue;
      const key = seriesKey(s.labels);
      // Duplicate samples of one series in one answer cannot happen in PromQL; keep the larger if they do.
      if ((seen.get(key) ?? -1) >= s.value) continue;
      seen.set(key, s.value);
    }
    if (this.primed) {
      for (const [key, value] of seen) {
        const prev = this.last.get(key);
        const delta = prev === undefined ? value : value >= prev ? value - prev : value;
        if (delta > 0)
          out.push({ labels: Object.fromEntries(JSON.parse(key) as [string, string][]), value: delta });
      }
    }
    this.last = seen;
    this.primed = true;
    return out;
  }
}
