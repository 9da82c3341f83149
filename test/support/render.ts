// Renders job summaries the way a person sees them on GitHub: the Markdown converted by `marked` (GFM), in a page
// styled by github-markdown-css, each ```mermaid block drawn by Mermaid's own bundle, in Debian's headless
// Chromium driven by playwright-core. No network: the page and its scripts are local files.

import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { marked } from 'marked';
import { chromium, type Browser, type Page } from 'playwright-core';
import { IN_CI } from './prometheus.ts';

// The page's globals, for the functions that run in the page: the project's types are Node's, without the DOM's
// (which would let src/ use them unnoticed), so the little used here is declared, for this module only.
interface PageElement {
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { x: number; y: number; width: number; height: number };
  querySelector(selectors: string): PageElement | null;
  querySelectorAll(selectors: string): Iterable<PageElement>;
  getScreenCTM(): unknown;
  textContent: string | null;
}
declare const document: {
  body: { innerText: string };
  querySelector(selectors: string): PageElement | null;
  querySelectorAll(selectors: string): Iterable<PageElement> & { length: number };
};
declare const window: { scrollX: number; scrollY: number };
declare const DOMPoint: new (
  x: number,
  y: number,
) => { matrixTransform(m: unknown): { x: number; y: number } };

export const CHROMIUM = '/usr/bin/chromium';

export const INSTALL_HINT =
  "install Debian's Chromium with `apt-get update && apt-get install -y --no-install-recommends chromium` " +
  '(the test drives /usr/bin/chromium with playwright-core; never `npx playwright install`), as .ci/run does';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const HAVE_CHROMIUM = executable(CHROMIUM);
/** Outside CI a missing Chromium skips the tests; in CI they run, and fail (see launch). */
export const SKIP = !HAVE_CHROMIUM && !IN_CI;

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the pages and their screenshots go (git-ignored), for a person to look at. */
export const OUT = join(ROOT, '.tmp', 'render');
const MERMAID = require.resolve('mermaid/dist/mermaid.min.js');
const CSS = (theme: Theme) =>
  require.resolve(`github-markdown-css/github-markdown-${theme === 'dark' ? 'dark' : 'light'}.css`);

export type Theme = 'light' | 'dark';

export async function launch(): Promise<Browser> {
  if (!HAVE_CHROMIUM) throw new Error(`${CHROMIUM} not found: ${INSTALL_HINT}`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const unescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The page GitHub would show for a summary: GFM, GitHub's Markdown styles, Mermaid blocks drawn by Mermaid. */
export function summaryPage(markdown: string, theme: Theme): string {
  const body = (marked.parse(markdown, { gfm: true, async: false }) as string).replace(
    /<pre><code class="language-mermaid">([\s\S]*?)<\/code><\/pre>/g,
    (_, code: string) => `<pre class="mermaid">${escapeHtml(unescape(code))}</pre>`,
  );
  const bg = theme === 'dark' ? '#0d1117' : '#ffffff';
  return `<!doctype html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="${pathToFileURL(CSS(theme)).href}">
<style>body { background: ${bg}; margin: 0; } .markdown-body { box-sizing: border-box; max-width: 1012px; margin: 0 auto; padding: 32px; }</style>
<script src="${pathToFileURL(MERMAID).href}"></script>
<script>mermaid.initialize({ startOnLoad: true, theme: ${JSON.stringify(theme === 'dark' ? 'dark' : 'default')} });</script>
</head><body><article class="markdown-body">
${body}
</article></body></html>
`;
}

export interface Rendered {
  page: Page;
  png: string;
}

/**
 * Renders a summary in a new page of the browser, waits for every Mermaid block to be drawn (or to fail), and
 * screenshots the whole page to .tmp/render/<name>.png (the page itself is .tmp/render/<name>.html).
 */
export async function render(
  browser: Browser,
  name: string,
  markdown: string,
  theme: Theme,
): Promise<Rendered> {
  mkdirSync(OUT, { recursive: true });
  const html = join(OUT, `${name}.html`);
  writeFileSync(html, summaryPage(markdown, theme));
  const page = await browser.newPage({ viewport: { width: 1080, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(html).href);
  await page.waitForFunction(
    () => [...document.querySelectorAll('pre.mermaid')].every((e) => e.querySelector('svg')),
    null,
    {
      timeout: 15_000,
    },
  );
  const png = join(OUT, `${name}.png`);
  await page.screenshot({ path: png, fullPage: true });
  return { page, png };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Drawn {
  text: string;
  svgs: number;
  /** The x axis' tick labels: value and the label's centre, in page pixels. */
  ticks: { value: number; x: number }[];
  chart?: Box;
  background?: string;
  /** In the order Mermaid numbered the series (bars and lines share the numbering). */
  lines: { index: number; stroke: string; points: [number, number][] }[];
  bars: { index: number; fill: string; rects: Box[] }[];
}

/** What Mermaid drew on the page, read from its SVG, in page pixels. */
export function drawn(page: Page): Promise<Drawn> {
  return page.evaluate(() => {
    const box = (e: PageElement) => {
      const b = e.getBoundingClientRect();
      return { x: b.x + window.scrollX, y: b.y + window.scrollY, width: b.width, height: b.height };
    };
    const svg = document.querySelector('pre.mermaid svg');
    const index = (g: PageElement, kind: string) => Number(g.getAttribute('class')!.slice(kind.length + 1));
    const lines = [...document.querySelectorAll('g.plot > g[class^="line-plot-"]')].map((g) => {
      const path = g.querySelector('path')!;
      const ctm = path.getScreenCTM()!;
      const nums = (path.getAttribute('d') ?? '').match(/-?\d+(\.\d+)?(e-?\d+)?/g)!.map(Number);
      const points: [number, number][] = [];
      for (let i = 0; i + 1 < nums.length; i += 2) {
        const p = new DOMPoint(nums[i], nums[i + 1]).matrixTransform(ctm);
        points.push([p.x + window.scrollX, p.y + window.scrollY]);
      }
      return { index: index(g, 'line-plot'), stroke: path.getAttribute('stroke') ?? '', points };
    });
    const bars = [...document.querySelectorAll('g.plot > g[class^="bar-plot-"]')].map((g) => {
      const rects = [...g.querySelectorAll('rect')];
      return {
        index: index(g, 'bar-plot'),
        fill: rects[0]?.getAttribute('fill') ?? '',
        rects: rects.filter((r) => Number(r.getAttribute('height')) > 0.01).map(box),
      };
    });
    const ticks = [...document.querySelectorAll('g.bottom-axis g.label text')].map((t) => {
      const b = box(t);
      return { value: Number(t.textContent), x: b.x + b.width / 2 };
    });
    return {
      text: document.body.innerText,
      svgs: document.querySelectorAll('pre.mermaid svg').length,
      ticks,
      chart: svg ? box(svg) : undefined,
      background: svg?.querySelector('rect.background')?.getAttribute('fill') ?? undefined,
      lines,
      bars,
    };
  });
}
