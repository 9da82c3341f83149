// npm run demo: the action itself (dist/index.js, run as the runner runs it) against the built-in Knative
// Serving emulator. A healthy release goes out 10% → 50% → 100%; then a faulty one (it answers 30% of requests
// with 503) is caught at its first step and rolled back. The log is rendered as a workflow log would show it.

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { startEmulator } from '../test/emulator/emulator.ts';
import { inputEnv, DIST, parseOutputFile } from '../test/e2e/runner.ts';
import { WorkflowLog } from './workflow-log.ts';

const interval = process.env.DEMO_INTERVAL ?? '3s';
const emulator = await startEmulator({ seed: 7, ingressDelayMs: 50 });
const kc = new KubeConfig();
kc.loadFromString(emulator.kubeconfig());
const api = kc.makeApiClient(CustomObjectsApi);
const say = (s = '') => process.stdout.write(`${s}\n`);
const banner = (s: string) => say(`\n${'━'.repeat(4)} ${s} ${'━'.repeat(Math.max(4, 100 - s.length))}`);

// Each step's outputs and job summary, in the project's .tmp/demo (git-ignored), emptied at the start of each demo:
// nothing is left behind in the system's temporary folder.
const demoDir = join(dirname(fileURLToPath(import.meta.url)), '..', '.tmp', 'demo');
rmSync(demoDir, { recursive: true, force: true });
let steps = 0;

async function step(title: string, inputs: Record<string, string>): Promise<Record<string, string>> {
  banner(title);
  const dir = join(demoDir, String(++steps));
  mkdirSync(dir, { recursive: true });
  const files = { GITHUB_OUTPUT: join(dir, 'out'), GITHUB_STEP_SUMMARY: join(dir, 'summary.md') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const log = new WorkflowLog();
  const env = {
    PATH: process.env.PATH ?? '',
    GITHUB_ACTIONS: 'true',
    GITHUB_SHA: '3f6c1d2a9b8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a',
    ...files,
    ...inputEnv({ kubeconfig: emulator.kubeconfig(), gateway: emulator.gatewayUrl, ...inputs }),
  };
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [DIST], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d: Buffer) => log.feed(d.toString()));
    child.on('close', (c) => {
      log.end();
      resolve(c);
    });
  });
  const outputs = parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8'));
  say(
    `\n→ exit code ${code}; outputs: status=${outputs.status} revision=${outputs.revision} stable-revision=${outputs['stable-revision']} percent=${outputs.percent}`,
  );
  say(`→ job summary (Markdown with a Mermaid chart): ${files.GITHUB_STEP_SUMMARY}`);
  return outputs;
}

try {
  banner('kubectl apply: Service hello, image ghcr.io/example/hello:v1');
  await api.createNamespacedCustomObject({
    group: 'serving.knative.dev',
    version: 'v1',
    namespace: 'default',
    plural: 'services',
    body: {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'hello' },
      spec: {
        template: {
          metadata: { name: 'hello-v1' },
          spec: { containers: [{ image: 'ghcr.io/example/hello:v1' }] },
        },
      },
    },
  });
  say('service.serving.knative.dev/hello created');

  const common = { service: 'hello', steps: '10,50,100', interval, 'probe-rps': '20', timeout: '30s' };
  const good = await step('uses: knative-canary-action: a healthy release (v2)', {
    ...common,
    image: 'ghcr.io/example/hello:v2',
    'revision-name': 'hello-v2',
  });
  const bad = await step(
    'uses: knative-canary-action: a faulty release (v3 answers 30% of requests with 503)',
    {
      ...common,
      image: 'ghcr.io/example/hello:v3',
      'revision-name': 'hello-v3',
      env: 'EMULATOR_ERROR_RATE=0.3\nEMULATOR_ERROR_STATUS=503',
      'smoke-tests': '- path: /\n  retries: 10',
    },
  );
  const svc = (await api.getNamespacedCustomObject({
    group: 'serving.knative.dev',
    version: 'v1',
    namespace: 'default',
    plural: 'services',
    name: 'hello',
  })) as { status: { traffic: { revisionName: string; percent: number; tag?: string }[] } };
  banner('kubectl get ksvc hello: where traffic is now');
  for (const t of svc.status.traffic)
    say(`  ${t.revisionName.padEnd(10)} ${String(t.percent).padStart(3)}%  ${t.tag ? `tag ${t.tag}` : ''}`);
  const ok = good.status === 'promoted' && bad.status === 'rolled-back';
  say(ok ? '\nDemo finished: v2 promoted, v3 rolled back automatically.' : '\nDemo did not go as expected.');
  process.exitCode = ok ? 0 : 1;
} finally {
  await emulator.close();
}
