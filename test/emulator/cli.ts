// npm run --silent emulator -- --kubeconfig PATH [--domain example.com] [--domain-template T] [--tag-template T]
//     [--api-port N] [--gateway-port N] [--local-gateway-port N] [--metrics-port N] [--run IMAGE=COMMAND]...
//     [--progress-deadline 10s] [--restart-backoff 10s] [--idle-after 90s] [--seed N] [--tag-header-routing]
//     [--metrics otel|opencensus]
// Prints one JSON line {"api", "gateway", "localGateway", "metrics", "kubeconfig"} when ready and runs until
// SIGINT/SIGTERM.

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkTemplates } from './domains.ts';
import { startEmulator } from './emulator.ts';
import { parseDuration } from './util.ts';
import { GENERATIONS, type MetricsGeneration } from './metrics.ts';

const USAGE =
  'usage: npm run --silent emulator -- --kubeconfig PATH [--domain example.com] [--domain-template T] ' +
  '[--tag-template T] [--api-port N] [--gateway-port N] [--local-gateway-port N] [--metrics-port N] ' +
  '[--run IMAGE=COMMAND]... [--progress-deadline 10s] [--restart-backoff 10s] [--idle-after 90s] [--seed N] [--tag-header-routing] ' +
  '[--metrics otel|opencensus]';

function fail(message: string): never {
  process.stderr.write(`emulator: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function port(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    fail(`--${name}: expected a port number, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        kubeconfig: { type: 'string' },
        domain: { type: 'string' },
        'domain-template': { type: 'string' },
        'tag-template': { type: 'string' },
        'api-port': { type: 'string' },
        'gateway-port': { type: 'string' },
        'local-gateway-port': { type: 'string' },
        'metrics-port': { type: 'string' },
        run: { type: 'string', multiple: true },
        'progress-deadline': { type: 'string' },
        'restart-backoff': { type: 'string' },
        'idle-after': { type: 'string' },
        seed: { type: 'string' },
        'tag-header-routing': { type: 'boolean' },
        metrics: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!args.kubeconfig) fail('--kubeconfig PATH is required: the emulator writes its kubeconfig there');
  const run = new Map<string, string>();
  for (const r of args.run ?? []) {
    const i = r.indexOf('=');
    if (i <= 0 || i === r.length - 1) fail(`--run: expected IMAGE=COMMAND, got ${JSON.stringify(r)}`);
    run.set(r.slice(0, i), r.slice(i + 1));
  }
  const duration = (flag: 'progress-deadline' | 'restart-backoff' | 'idle-after'): number | undefined => {
    const v = args[flag];
    if (!v) return undefined;
    try {
      return parseDuration(v);
    } catch (e) {
      fail(`--${flag}: ${(e as Error).message}`);
    }
  };
  const progressDeadlineMs = duration('progress-deadline');
  const restartBackoffMs = duration('restart-backoff');
  const idleAfterMs = duration('idle-after');
  const seed = args.seed === undefined ? undefined : Number(args.seed);
  if (seed !== undefined && !Number.isInteger(seed)) fail(`--seed: expected an integer, got ${args.seed}`);

  const templates = { domainTemplate: args['domain-template'], tagTemplate: args['tag-template'] };
  try {
    checkTemplates({ domain: args.domain ?? 'example.com', ...templates });
  } catch (e) {
    fail(`--domain-template/--tag-template: ${(e as Error).message}`);
  }
  const metrics = args.metrics ?? 'opencensus';
  if (!(GENERATIONS as string[]).includes(metrics)) {
    fail(`--metrics: expected ${GENERATIONS.join(' or ')}, got ${JSON.stringify(metrics)}`);
  }
  const emulator = await startEmulator({
    metrics: metrics as MetricsGeneration,
    domain: args.domain,
    ...templates,
    apiPort: port('api-port', args['api-port']),
    gatewayPort: port('gateway-port', args['gateway-port']),
    localGatewayPort: port('local-gateway-port', args['local-gateway-port']),
    metricsPort: port('metrics-port', args['metrics-port']),
    run,
    progressDeadlineMs,
    restartBackoffMs,
    idleAfterMs,
    seed,
    tagHeaderRouting: args['tag-header-routing'],
  });
  const kubeconfig = resolve(args.kubeconfig);
  await emulator.writeKubeconfig(kubeconfig);
  process.stdout.write(
    `${JSON.stringify({
      api: emulator.apiUrl,
      gateway: emulator.gatewayUrl,
      localGateway: emulator.localGatewayUrl,
      metrics: emulator.metricsUrl,
      kubeconfig,
    })}\n`,
  );
  const stop = () => {
    emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`emulator: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
