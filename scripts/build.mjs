// Bundles the action into dist/index.js (ESM, Node 24), as the runner loads it. dist/ is committed; CI checks
// that it matches a fresh build.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

// @actions/core pulls in @actions/http-client, which brings its own undici 6 (400 KB of the bundle) for one
// class, ProxyAgent, used only when an HTTP proxy is configured. undici 8, which the action and
// @kubernetes/client-node already use, has the same ProxyAgent: one copy loads faster.
const undici = createRequire(import.meta.url).resolve('undici');
const oneUndici = {
  name: 'one-undici',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: undici }));
  },
};

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  legalComments: 'linked',
  // Some dependencies call require('node:...') at run time, which an ESM bundle lacks.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  plugins: [oneUndici],
  logLevel: 'warning',
});
