// The job summary as a person sees it: real summaries rendered in headless Chromium (Debian's), with GitHub's
// Markdown styles and Mermaid's own bundle, then checked from the drawn SVG and from the screenshot's pixels.
// Screenshots: .tmp/render/*.png.

import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownSummary, newReport, type RunReport } from '../../src/report/report.ts';
import { IN_CI } from '../support/prometheus.ts';
import {
  CHROMIUM,
  drawn,
  HAVE_CHROMIUM,
  INSTALL_HINT,
  launch,
  render,
  SKIP,
  type Box,
  type Drawn,
  type Theme,
} from '../support/render.ts';

const BLUE = '#0969da';
const GREY = '#6e7781';
const GREEN = '#1a7f37';
const RED = '#cf222e';

const S = 1000;
const M = 60_000;

/** `npm run demo`'s second rollout: ready and smoke pass, the 10% step fails after 504 ms at +1.2 s, rolled back. */
function shortFailed(): RunReport {
  const r = newReport('deploy', 'hello', 'default', 0);
  r.status = 'rolled-back';
  r.hadTraffic = true;
  r.candidate = 'hello-v3';
  r.stable = 'hello-v2';
  r.message = 'Rolled back hello-v3: 10% step failed.';
  r.steps = [
    { label: 'ready', percent: 0, startedAt: 1000, endedAt: 1086, verdict: 'pass', detail: 'Ready' },
    { label: 'smoke', percent: 0, startedAt: 1086, endedAt: 1100, verdict: 'pass', detail: '1 passed' },
    { label: 'step 1', percent: 10, startedAt: 1200, endedAt: 1704, verdict: 'fail', detail: 'error rate' },
  ];
  r.timeline = [
    { at: 0, percent: 0 },
    { at: 1200, percent: 10 },
    { at: 1760, percent: 0 },
  ];
  r.traffic = [{ revisionName: 'hello-v2', percent: 100, tag: 'stable', latestRevision: false }];
  return r;
}

/** Three steps over two hours, promoted. */
function longPromoted(): RunReport {
  const r = newReport('deploy', 'hello', 'default', 0);
  r.status = 'promoted';
  r.hadTraffic = true;
  r.candidate = 'hello-v2';
  r.stable = 'hello-v1';
  r.message = 'Promoted hello-v2.';
  r.steps = [
    { label: 'ready', percent: 0, startedAt: 0, endedAt: 50 * S, verdict: 'pass', detail: 'Ready' },
    { label: 'smoke', percent: 0, startedAt: 50 * S, endedAt: 60 * S, verdict: 'pass', detail: '1 passed' },
    { label: 'step 1', percent: 10, startedAt: 60 * S, endedAt: 40 * M, verdict: 'pass', detail: 'ok' },
    { label: 'step 2', percent: 50, startedAt: 40 * M, endedAt: 80 * M, verdict: 'pass', detail: 'ok' },
    { label: 'step 3', percent: 80, startedAt: 80 * M, endedAt: 120 * M, verdict: 'pass', detail: 'ok' },
  ];
  r.timeline = [
    { at: 0, percent: 0 },
    { at: 60 * S, percent: 10 },
    { at: 40 * M, percent: 50 },
    { at: 80 * M, percent: 80 },
    { at: 120 * M + 2 * S, percent: 100 },
  ];
  r.traffic = [{ revisionName: 'hello-v2', percent: 100, tag: 'stable', latestRevision: false }];
  return r;
}

/** A step passed, the next failed: both kinds of mark. */
function passThenFail(): RunReport {
  const r = newReport('deploy', 'hello', 'default', 0);
  r.status = 'rolled-back';
  r.hadTraffic = true;
  r.candidate = 'hello-v2';
  r.stable = 'hello-v1';
  r.message = 'Rolled back hello-v2: 50% step failed.';
  r.steps = [
    { label: 'smoke', percent: 0, startedAt: 1000, endedAt: 1500, verdict: 'pass', detail: '1 passed' },
    { label: 'step 1', percent: 10, startedAt: 2 * S, endedAt: 62 * S, verdict: 'pass', detail: 'ok' },
    {
      label: 'step 2',
      percent: 50,
      startedAt: 62 * S,
      endedAt: 75 * S,
      verdict: 'fail',
      detail: 'error rate',
    },
  ];
  r.timeline = [
    { at: 0, percent: 0 },
    { at: 2 * S, percent: 10 },
    { at: 62 * S, percent: 50 },
    { at: 75 * S + 300, percent: 0 },
  ];
  return r;
}

/** The candidate never became Ready: no traffic, no chart. */
function neverReady(): RunReport {
  const r = newReport('deploy', 'hello', 'default', 0);
  r.status = 'rolled-back';
  r.hadTraffic = false;
  r.candidate = 'hello-v2';
  r.stable = 'hello-v1';
  r.message = 'Stopped hello-v2: not Ready.';
  r.steps = [
    { label: 'ready', percent: 0, startedAt: 0, endedAt: 300 * S, verdict: 'fail', detail: 'not Ready' },
  ];
  r.timeline = [{ at: 0, percent: 0 }];
  return r;
}

// ---- pixels ----------------------------------------------------------------------------------------------------

const rgb = (hex: string): [number, number, number] => {
  const n = parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
};
const luminance = ([r, g, b]: [number, number, number]) => {
  const c = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  return 0.2126 * c(r) + 0.7152 * c(g) + 0.0722 * c(b);
};
/** WCAG contrast ratio: 3 is the least for graphics a person must see (WCAG 1.4.11). */
const contrast = (a: [number, number, number], b: [number, number, number]) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
};

/** The screenshot's pixels within a box: how many are within `near` of a colour, and the most common colour. */
function pixels(png: string, box: Box) {
  const img = PNG.sync.read(readFileSync(png));
  const at = (x: number, y: number): [number, number, number] => {
    const i = (img.width * y + x) << 2;
    return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
  };
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(img.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(img.height, Math.ceil(box.y + box.height));
  const counts = new Map<number, number>();
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const [r, g, b] = at(x, y);
      const k = (r << 16) | (g << 8) | b;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return {
    background: [(top >> 16) & 255, (top >> 8) & 255, top & 255] as [number, number, number],
    near(hex: string, within = 24): number {
      const [R, G, B] = rgb(hex);
      let n = 0;
      for (const [k, c] of counts) {
        const d = Math.hypot(((k >> 16) & 255) - R, ((k >> 8) & 255) - G, (k & 255) - B);
        if (d <= within) n += c;
      }
      return n;
    },
  };
}

// ---- checks ----------------------------------------------------------------------------------------------------

/** x in page pixels of a value on the x axis, through the axis as drawn (its first and last tick labels). */
function axisX(d: Drawn) {
  const first = d.ticks[0]!;
  const last = d.ticks.at(-1)!;
  return (value: number) =>
    first.x + ((value - first.value) * (last.x - first.x)) / (last.value - first.value);
}

function expectRenderedChart(d: Drawn) {
  expect(d.text, 'Mermaid drew its syntax-error picture: the chart is not valid Mermaid').not.toMatch(
    /Syntax error/i,
  );
  expect(d.svgs).toBe(1);
  expect(d.lines.length, 'the two line series').toBe(2);
  expect(d.ticks.length, 'the x axis has tick labels').toBeGreaterThanOrEqual(2);
  const [candidate, stable] = [...d.lines].sort((a, b) => a.index - b.index);
  expect(candidate!.stroke.toLowerCase(), "the candidate's line is GitHub's blue").toBe(BLUE);
  expect(stable!.stroke.toLowerCase(), "the stable revision's line is GitHub's grey").toBe(GREY);
  return { candidate: candidate!, stable: stable! };
}

/** The candidate's line rises from 0 between the samples either side of the step's start, on the drawn axis. */
function expectStepUpAt(d: Drawn, candidate: Drawn['lines'][number], at: number, unit: number) {
  const x = axisX(d)(at / unit);
  const base = candidate.points[0]![1];
  const i = candidate.points.findIndex((p) => p[1] < base - 1);
  expect(i, 'the candidate line rises somewhere').toBeGreaterThan(0);
  const before = candidate.points[i - 1]![0];
  const after = candidate.points[i]![0];
  expect(x, `step start at ${at} ms drawn between x=${before} and x=${after}`).toBeGreaterThanOrEqual(
    before - 3,
  );
  expect(x).toBeLessThanOrEqual(after + 3);
}

/** One mark of the colour per verdict time, centred at it within half a sample's spacing and 3 px. */
function expectMarks(d: Drawn, colour: string, verdictsAt: number[], unit: number, sampleMs: number) {
  const bars = d.bars.find((b) => b.fill.toLowerCase() === colour);
  expect(bars, `a bar series in ${colour}`).toBeDefined();
  const x = axisX(d);
  const centres = bars!.rects.map((r) => r.x + r.width / 2).sort((a, b) => a - b);
  expect(centres.length, `${verdictsAt.length} ${colour} marks`).toBe(verdictsAt.length);
  const halfSample = (x(sampleMs / unit) - x(0)) / 2;
  verdictsAt.forEach((t, i) => {
    expect(
      Math.abs(centres[i]! - x(t / unit)),
      `${colour} mark for the verdict at ${t} ms`,
    ).toBeLessThanOrEqual(halfSample + 3);
  });
}

/**
 * The colours are on the page, enough pixels of each, and stand out from the chart's background: by WCAG's 3:1
 * for graphics on the light theme. Mermaid's dark theme draws the chart on #333, on which GitHub's colours reach
 * only about 2.4:1 (see the dark screenshot), so there the check is only that they are not washed out (2:1).
 */
function expectVisible(png: string, d: Drawn, colours: string[], theme: Theme) {
  const p = pixels(png, d.chart!);
  for (const c of colours) {
    expect(p.near(c), `pixels of ${c} in the screenshot (${theme} theme)`).toBeGreaterThan(150);
    expect(
      contrast(rgb(c), p.background),
      `contrast of ${c} with the chart's background ${p.background}`,
    ).toBeGreaterThanOrEqual(theme === 'light' ? 3 : 2);
  }
}

if (SKIP) console.warn(`render.test.ts: skipped, no ${CHROMIUM}: ${INSTALL_HINT}`);

describe.skipIf(SKIP)(
  `the job summary rendered in Chromium${SKIP ? ` (skipped: ${INSTALL_HINT})` : ''}`,
  () => {
    let browser: Browser;
    beforeAll(async () => {
      if (!HAVE_CHROMIUM && IN_CI) throw new Error(`${CHROMIUM} not found and CI is set: ${INSTALL_HINT}`);
      browser = await launch();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('a short failed rollout: the step drawn at +1.2 s, a red mark where it failed, colours visible', async () => {
      const r = shortFailed();
      const { page, png } = await render(browser, 'short-failed-light', markdownSummary(r), 'light');
      const d = await drawn(page);
      await page.close();
      const { candidate } = expectRenderedChart(d);
      expect(d.bars.length, 'only the kinds of mark that occur').toBe(1);
      expectStepUpAt(d, candidate, 1200, S);
      // 81 samples over an axis to 2 s: 25 ms apart.
      expectMarks(d, RED, [1704], S, 25);
      expect(d.text).toContain('red, it failed');
      expect(d.text).not.toContain('green');
      expectVisible(png, d, [BLUE, GREY, RED], 'light');
    });

    it('a long promoted rollout: steps at their minutes, a green mark at each verdict', async () => {
      const r = longPromoted();
      const { page, png } = await render(browser, 'long-promoted-light', markdownSummary(r), 'light');
      const d = await drawn(page);
      await page.close();
      const { candidate } = expectRenderedChart(d);
      expect(d.bars.length).toBe(1);
      expectStepUpAt(d, candidate, 60 * S, M);
      // 81 samples over an axis to 121 minutes.
      expectMarks(d, GREEN, [40 * M, 80 * M, 120 * M], M, (121 * M) / 80);
      expect(d.text).toContain('green, it passed');
      expectVisible(png, d, [BLUE, GREY, GREEN], 'light');
    });

    for (const theme of ['light', 'dark'] as const) {
      it(`a step passed, the next failed: both marks, both colours visible (${theme} theme)`, async () => {
        const r = passThenFail();
        const { page, png } = await render(browser, `pass-then-fail-${theme}`, markdownSummary(r), theme);
        const d = await drawn(page);
        await page.close();
        const { candidate } = expectRenderedChart(d);
        expect(d.bars.map((b) => b.fill.toLowerCase()).sort()).toEqual([RED, GREEN].sort());
        // Bars first, lines over them.
        expect(Math.max(...d.bars.map((b) => b.index))).toBeLessThan(
          Math.min(...d.lines.map((l) => l.index)),
        );
        expectStepUpAt(d, candidate, 2 * S, S);
        // 81 samples over an axis to 76 s.
        expectMarks(d, GREEN, [62 * S], S, 76_000 / 80);
        expectMarks(d, RED, [75 * S], S, 76_000 / 80);
        expectVisible(png, d, [BLUE, GREY, GREEN, RED], theme);
      });
    }

    it('a run that never reached traffic renders no chart', async () => {
      const { page } = await render(browser, 'never-ready-light', markdownSummary(neverReady()), 'light');
      const d = await drawn(page);
      await page.close();
      expect(d.svgs).toBe(0);
      expect(d.text).toContain('Stopped before any traffic');
      expect(d.text).not.toMatch(/Syntax error/i);
    });
  },
);
