// A real Prometheus server for tests: Debian's `prometheus` binary, started on a free port with a temporary
// config that scrapes one metrics URL every second (honor_labels: the emulator's per-pod `instance`), and
// temporary storage.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';

export const INSTALL_HINT =
  "install Debian's Prometheus with `apt-get update && apt-get install -y prometheus` (the test runs " +
  '/usr/bin/prometheus itself; the prometheus service need not run), as .ci/run does';

export function findPrometheus(): string | undefined {
  const dirs = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const d of dirs) {
    const p = join(d, 'prometheus');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const PROMETHEUS = findPrometheus();
export const IN_CI = !!process.env.CI && !['false', '0'].includes(process.env.CI.toLowerCase());
/** Outside CI a missing binary skips the tests; in CI they run, and fail (see startPrometheus). */
export const SKIP = !PROMETHEUS && !IN_CI;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrometheusServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The scrape job's name, for `up{job="…"}`. */
  job: string;
  /**
   * Waits until a scrape that started after this call is stored and queryable, and returns that scrape's
   * timestamp in ms (the timestamp its samples carry).
   */
  waitForScrape(timeoutMs?: number): Promise<number>;
  /** An instant query; throws unless Prometheus answers success. */
  query(promql: string, at?: Date): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** The last lines Prometheus logged. */
  log(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts Prometheus scraping `metricsUrl` every second; resolves once the target is up. */
export async function startPrometheus(
  metricsUrl: string,
  opts: { job?: string; readyTimeoutMs?: number } = {},
): Promise<PrometheusServer> {
  if (!PROMETHEUS) throw new Error(`prometheus binary not found in /usr/bin or on PATH: ${INSTALL_HINT}`);
  const job = opts.job ?? 'knative-emulator';
  const metrics = new URL(metricsUrl);
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-test-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s' },
      scrape_configs: [
        {
          job_name: job,
          scheme: metrics.protocol.replace(':', ''),
          metrics_path: metrics.pathname,
          scrape_interval: '1s',
          scrape_timeout: '1s',
          // The emulator serves every pod on one endpoint, each pod's series with the `instance` Prometheus would
          // give them scraping that pod: they are kept (target_info joins on job and instance).
          honor_labels: true,
          static_configs: [{ targets: [metrics.host] }],
        },
      ],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exited = `prometheus exited (${code ?? signal}):\n${log}`;
      resolve();
    }),
  );

  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const api = async <T>(path: string, params?: URLSearchParams): Promise<T> => {
    const res = await fetch(`${url}${path}`, params ? { method: 'POST', body: params } : undefined);
    const body = (await res.json()) as { status: string; data: T };
    if (body.status !== 'success') throw new Error(`${path} failed: ${JSON.stringify(body)}`);
    return body.data;
  };
  const query: PrometheusServer['query'] = async (promql, at) => {
    const params = new URLSearchParams({ query: promql });
    if (at) params.set('time', (at.getTime() / 1000).toFixed(3));
    const data = await api<{ resultType: string; result: unknown }>('/api/v1/query', params);
    if (data.resultType !== 'vector') throw new Error(`${promql} gave a ${data.resultType}, not a vector`);
    return data.result as { metric: Record<string, string>; value: [number, string] }[];
  };

  /** Polls until `check` gives a value; fails with Prometheus's log after the deadline. */
  const until = async <T>(
    what: string,
    timeoutMs: number,
    check: () => Promise<T | undefined>,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited) throw new Error(exited);
      const v = await check().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`${what} after ${timeoutMs} ms:\n${log}`);
      await sleep(50);
    }
  };

  try {
    const readyTimeout = opts.readyTimeoutMs ?? 15_000;
    await until('prometheus not ready', readyTimeout, async () =>
      (await fetch(`${url}/-/ready`)).ok ? true : undefined,
    );
    await until(`target ${metricsUrl} not up`, readyTimeout, async () => {
      const data = await api<{ activeTargets: { labels: { job: string }; health: string }[] }>(
        '/api/v1/targets?state=active',
      );
      return data.activeTargets.some((t) => t.labels.job === job && t.health === 'up') ? true : undefined;
    });
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    url,
    job,
    query,
    log: () => log,
    stop,
    // The `up` sample of a scrape is committed with the scrape's samples, and carries the scrape's start time:
    // once an `up` = 1 newer than `since` is queryable, so is everything the target exported before `since`.
    waitForScrape: (timeoutMs = 10_000) => {
      const since = Date.now();
      return until('no new successful scrape', timeoutMs, async () => {
        const r = await query(`timestamp(up{job="${job}"}) and up{job="${job}"} == 1`);
        const ts = r.length ? Number(r[0]!.value[1]) * 1000 : 0;
        return ts > since ? ts : undefined;
      });
    },
  };
}
