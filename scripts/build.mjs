// Bundles the action into dist/index.js (ESM, Node 24), as the runner loads it. dist/ is committed; CI checks
// that it matches a fresh build.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { bundleOptions } from './esbuild-options.mjs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({ ...bundleOptions, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
