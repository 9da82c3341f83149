// Revision backends: what stands behind a Revision's pods. An image mapped with `--run IMAGE=COMMAND` runs
// COMMAND as a real process; any other image runs the built-in app, a real HTTP server on a loopback port
// whose behaviour is set by fault knobs in the container's env.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import {
  PROGRESS_DEADLINE,
  isPlainObject,
  parseProgressDeadline,
  seededRandom,
  type KObject,
} from './util.ts';

/** The fault knobs of the built-in app, read from the container's env. Documented in the README. */
export const KNOBS = {
  errorRate: 'EMULATOR_ERROR_RATE',
  errorStatus: 'EMULATOR_ERROR_STATUS',
  latencyMs: 'EMULATOR_LATENCY_MS',
  jitterMs: 'EMULATOR_LATENCY_JITTER_MS',
  slowRate: 'EMULATOR_SLOW_RATE',
  slowMs: 'EMULATOR_SLOW_MS',
  readyDelayMs: 'EMULATOR_READY_DELAY_MS',
  neverReady: 'EMULATOR_NEVER_READY',
  crashOnStart: 'EMULATOR_CRASH_ON_START',
  seed: 'EMULATOR_SEED',
} as const;

export type BackendPhase = 'Deploying' | 'Ready' | 'Failed';

export interface BackendState {
  phase: BackendPhase;
  /** For Failed: which condition failed and why, in Knative's words. */
  condition?: 'ContainerHealthy' | 'ResourcesAvailable';
  reason?: string;
  message?: string;
}

export interface BackendOptions {
  /** IMAGE -> shell COMMAND, from `--run`. */
  run: Map<string, string>;
  /** How long a revision may take to become ready, unless its template annotation says otherwise. */
  progressDeadlineMs: number;
  probeIntervalMs: number;
  /** Revisions held not ready whatever their probe says (fault injection), as `namespace/name`. */
  isStuck: (key: string) => boolean;
  onState: (namespace: string, name: string, state: BackendState) => void;
  random: () => number;
}

interface Backend {
  key: string;
  port?: number;
  state: BackendState;
  stop: () => void;
}

const revKey = (ns: string, name: string) => `${ns}/${name}`;

export function containerEnv(rev: KObject): Record<string, string> {
  const env: Record<string, string> = {};
  const container = rev.spec?.containers?.[0] ?? {};
  for (const e of Array.isArray(container.env) ? container.env : []) {
    if (isPlainObject(e) && e.name) env[String(e.name)] = e.value === undefined ? '' : String(e.value);
  }
  const labels = rev.metadata.labels ?? {};
  env.K_SERVICE = labels['serving.knative.dev/service'] ?? '';
  env.K_CONFIGURATION = labels['serving.knative.dev/configuration'] ?? '';
  env.K_REVISION = rev.metadata.name;
  return env;
}

function parseDeadline(rev: KObject, fallback: number): number {
  const v = rev.metadata.annotations?.[PROGRESS_DEADLINE];
  return (typeof v === 'string' ? parseProgressDeadline(v) : undefined) ?? fallback;
}

export class Backends {
  private readonly backends = new Map<string, Backend>();

  constructor(private readonly opts: BackendOptions) {}

  endpoint(namespace: string, name: string): number | undefined {
    const b = this.backends.get(revKey(namespace, name));
    return b?.state.phase === 'Ready' ? b.port : undefined;
  }

  /** Starts the revision's backend once; later calls for the same revision do nothing. */
  ensure(rev: KObject): void {
    const key = revKey(rev.metadata.namespace, rev.metadata.name);
    if (this.backends.has(key)) return;
    const container = rev.spec?.containers?.[0] ?? {};
    const image = String(container.image ?? '');
    const env = containerEnv(rev);
    const backend: Backend = { key, state: { phase: 'Deploying' }, stop: () => {} };
    this.backends.set(key, backend);
    const command = this.opts.run.get(image);
    if (command !== undefined) this.startProcess(backend, rev, command, env);
    else this.startBuiltin(backend, rev, env);
  }

  stop(namespace: string, name: string): void {
    const key = revKey(namespace, name);
    const b = this.backends.get(key);
    if (!b) return;
    this.backends.delete(key);
    b.stop();
  }

  stopAll(): void {
    for (const b of [...this.backends.values()]) {
      this.backends.delete(b.key);
      b.stop();
    }
  }

  private setState(backend: Backend, state: BackendState): void {
    if (this.backends.get(backend.key) !== backend) return; // stopped meanwhile
    if (backend.state.phase === 'Failed') return; // failure is final, as for a revision
    if (backend.state.phase === state.phase && backend.state.reason === state.reason) return;
    backend.state = state;
    const [ns, name] = backend.key.split('/');
    this.opts.onState(ns, name, state);
  }

  /** Probes until ready, failing with ProgressDeadlineExceeded after the deadline. */
  private watchReadiness(backend: Backend, rev: KObject, probe: () => Promise<boolean>): () => void {
    const deadline = Date.now() + parseDeadline(rev, this.opts.progressDeadlineMs);
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async () => {
      if (stopped || backend.state.phase !== 'Deploying') return;
      const ok = await probe().catch(() => false);
      if (stopped || backend.state.phase !== 'Deploying') return;
      if (ok && !this.opts.isStuck(backend.key)) {
        this.setState(backend, { phase: 'Ready' });
        return;
      }
      if (Date.now() >= deadline) {
        this.setState(backend, {
          phase: 'Failed',
          condition: 'ResourcesAvailable',
          reason: 'ProgressDeadlineExceeded',
          message: 'Initial scale was never achieved',
        });
        return;
      }
      timer = setTimeout(tick, this.opts.probeIntervalMs);
    };
    timer = setTimeout(tick, 0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /** The kubelet's readiness probe: the container's httpGet path, else a TCP connect. */
  private probeFor(rev: KObject, port: () => number | undefined): () => Promise<boolean> {
    const probe = rev.spec?.containers?.[0]?.readinessProbe ?? {};
    const path = isPlainObject(probe.httpGet) ? String(probe.httpGet.path ?? '/') : undefined;
    return async () => {
      const p = port();
      if (!p) return false;
      return path === undefined ? tcpProbe(p) : httpProbe(p, path);
    };
  }

  private startProcess(backend: Backend, rev: KObject, command: string, env: Record<string, string>): void {
    // A free port for the process: bind one, release it, hand it over.
    const probeServer = createServer();
    probeServer.listen(0, '127.0.0.1', () => {
      const port = (probeServer.address() as AddressInfo).port;
      probeServer.close(() => {
        if (this.backends.get(backend.key) !== backend) return;
        backend.port = port;
        let stderr = '';
        const child: ChildProcess = spawn('sh', ['-c', command], {
          env: { ...process.env, ...env, PORT: String(port) },
          stdio: ['ignore', 'ignore', 'pipe'],
          detached: true,
        });
        child.stderr?.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-2000);
        });
        const stopProbe = this.watchReadiness(
          backend,
          rev,
          this.probeFor(rev, () => backend.port),
        );
        let exited = false;
        // 'close' comes after stderr is drained, so the failure message keeps the process's last words.
        child.on('close', (code, signal) => {
          exited = true;
          stopProbe();
          const exitCode = code ?? (signal ? 128 + 9 : 1);
          const message = stderr.trim().split('\n').slice(-3).join('\n') || `exited with code ${exitCode}`;
          this.setState(backend, {
            phase: 'Failed',
            condition: 'ContainerHealthy',
            reason: `ExitCode${exitCode}`,
            message: `Container failed with: ${message}`,
          });
        });
        backend.stop = () => {
          stopProbe();
          if (!exited && child.pid) {
            try {
              process.kill(-child.pid, 'SIGTERM');
            } catch {
              child.kill('SIGTERM');
            }
          }
        };
      });
    });
  }

  private startBuiltin(backend: Backend, rev: KObject, env: Record<string, string>): void {
    const num = (k: string, d = 0) => {
      const v = Number(env[k]);
      return Number.isFinite(v) && env[k] !== undefined && env[k] !== '' ? v : d;
    };
    const crash = env[KNOBS.crashOnStart];
    if (crash && crash !== 'false' && crash !== '0') {
      const code = /^\d+$/.test(crash) ? Number(crash) : 1;
      setTimeout(
        () =>
          this.setState(backend, {
            phase: 'Failed',
            condition: 'ContainerHealthy',
            reason: `ExitCode${code}`,
            message: `Container failed with: ${KNOBS.crashOnStart} is set: crashing at start`,
          }),
        5,
      );
      return;
    }
    const random = env[KNOBS.seed] ? seededRandom(Number(env[KNOBS.seed])) : this.opts.random;
    const errorRate = num(KNOBS.errorRate);
    const errorStatus = num(KNOBS.errorStatus, 500);
    const latencyMs = num(KNOBS.latencyMs);
    const jitterMs = num(KNOBS.jitterMs);
    const slowRate = num(KNOBS.slowRate);
    const slowMs = num(KNOBS.slowMs);
    const readyAt = Date.now() + num(KNOBS.readyDelayMs);
    const neverReady = env[KNOBS.neverReady] === 'true' || env[KNOBS.neverReady] === '1';
    const probe = rev.spec?.containers?.[0]?.readinessProbe ?? {};
    const probePath = isPlainObject(probe.httpGet) ? String(probe.httpGet.path ?? '/') : undefined;
    const name = rev.metadata.name;
    const userEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('EMULATOR_')));

    const server: Server = createServer((req, res) => {
      req.resume();
      const url = req.url ?? '/';
      // Readiness probes from the kubelet are answered by the readiness rules, not the fault knobs.
      if (req.headers['user-agent']?.startsWith('kube-probe/')) {
        const ready = !neverReady && Date.now() >= readyAt;
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'not ready');
        return;
      }
      let delay = latencyMs + (jitterMs ? random() * jitterMs : 0);
      if (slowRate > 0 && random() < slowRate) delay += slowMs;
      const fail = errorRate > 0 && random() < errorRate;
      const respond = () => {
        const status = fail ? errorStatus : 200;
        const body = JSON.stringify({ revision: name, env: userEnv, path: url, status });
        res.writeHead(status, { 'content-type': 'application/json', 'x-revision': name }).end(`${body}\n`);
      };
      if (delay > 0) setTimeout(respond, delay);
      else respond();
    });
    server.keepAliveTimeout = 5000;
    server.listen(0, '127.0.0.1', () => {
      if (this.backends.get(backend.key) !== backend) {
        server.close();
        return;
      }
      backend.port = (server.address() as AddressInfo).port;
      // The built-in app always answers its readiness over HTTP, so that never-ready can be expressed.
      const stopProbe = this.watchReadiness(backend, rev, () => httpProbe(backend.port!, probePath ?? '/'));
      backend.stop = () => {
        stopProbe();
        server.closeAllConnections();
        server.close();
      };
    });
  }
}

function httpProbe(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        timeout: 1000,
        headers: { 'user-agent': 'kube-probe/1.32' },
      },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function tcpProbe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}
