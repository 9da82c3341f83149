// Durations as users write them in workflow inputs: `30s`, `5m`, `1h`, `1m30s`, `500ms`; a bare number is seconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration into milliseconds, or returns undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return undefined;
  let total = 0;
  for (const [, n, , unit] of t.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) total += Number(n) * UNIT_MS[unit!]!;
  return Math.round(total);
}

/** Formats milliseconds for people, in a form the parser reads back: `1m30s`, `1.5s`, `250ms`, `2h` (rounded). */
export function formatDuration(ms: number): string {
  const r = Math.round(ms);
  if (r < 1000) return `${r}ms`;
  if (r < 60_000 && r % 1000 !== 0) {
    const tenths = Math.round(r / 100) / 10;
    if (tenths < 60) return `${tenths}s`;
  }
  const parts: string[] = [];
  let rest = Math.round(r / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s || parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}
