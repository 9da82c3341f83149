// Bundles the action into dist/ (ESM, Node 24; the runner loads dist/index.js). dist/ is committed; CI checks
// that it matches a fresh build.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { bundleOptions } from './esbuild-options.mjs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
// Split at the entry's one dynamic import: dist/index.js is a few lines that install the signal handlers, and
// the action (dist/main-<hash>.js) is loaded only after them, so a cancel in its first moments is caught too.
await build({
  ...bundleOptions,
  entryPoints: ['src/index.ts'],
  outdir: 'dist',
  splitting: true,
  chunkNames: '[name]-[hash]',
});
