// How the action is bundled: shared by scripts/build.mjs and the cold-start benchmark's bare action, so the two
// are bundled alike.
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

/** esbuild options for an ESM bundle that Node 24 runs as a GitHub Action; add entryPoints and outfile. */
export const bundleOptions = {
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
};
