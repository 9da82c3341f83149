// Revision backends: what stands behind a Revision's pod. An image mapped with `--run IMAGE=COMMAND` runs
// COMMAND as a real process; any other image runs the built-in app, a real HTTP server on a loopback port
// whose behaviour is set by fault knobs in the container's env.
//
// A backend reports what Kubernetes would about its pod and Deployment, not a verdict: whether the pod passes its
// readiness probe, whether the Deployment ever progressed (it stays progressed after a later crash, which is why a
// crash after Ready keeps ResourcesAvailable True), the container's last termination, a progress deadline that
// passed, and whether the revision has gone idle. The reconciler turns these into Knative's conditions. A container
// that exits is restarted by the kubelet after a back-off (10 s doubling to 5 min, kubelet's
// pkg/kubelet/kuberuntime crash-loop back-off), so a revision that crashes under load flaps between Ready and not.

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
  slowPath: 'EMULATOR_SLOW_PATH',
  errorPath: 'EMULATOR_ERROR_PATH',
  readyDelayMs: 'EMULATOR_READY_DELAY_MS',
  neverReady: 'EMULATOR_NEVER_READY',
  crashOnStart: 'EMULATOR_CRASH_ON_START',
  crashAfterRequests: 'EMULATOR_CRASH_AFTER_REQUESTS',
  crashAfterMs: 'EMULATOR_CRASH_AFTER_MS',
  seed: 'EMULATOR_SEED',
} as const;

/** What Kubernetes knows of a revision's pod and Deployment. */
export interface BackendState {
  /** The pod passes its readiness probe (the Deployment has a ready replica). */
  ready: boolean;
  /** The Deployment progressed once (a replica became available): its Progressing condition stays True. */
  progressed: boolean;
  /** The progress deadline passed before any replica became available. */
  deadlineExceeded?: boolean;
  /** The container's last termination (LastTerminationState.Terminated), while no replica is ready. */
  terminated?: { exitCode: number; message: string };
  /** No request for Knative's stable window plus the scale-to-zero grace period: the PA marks it inactive. */
  idle?: boolean;
}

export interface BackendOptions {
  /** IMAGE -> shell COMMAND, from `--run`. */
  run: Map<string, string>;
  /** How long a revision may take to become ready, unless its template annotation says otherwise. */
  progressDeadlineMs: number;
  probeIntervalMs: number;
  /** The kubelet's first restart back-off after a container exits; it doubles up to 5 minutes (default 10 s). */
  restartBackoffMs?: number;
  /** How long without requests until a revision is inactive (Knative: stable window 60 s + grace 30 s). */
  idleAfterMs?: number;
  /** Revisions held not ready whatever their probe says (fault injection), as `namespace/name`. */
  isStuck: (key: string) => boolean;
  onState: (namespace: string, name: string, state: BackendState) => void;
  random: () => number;
}

/** One running container: its port and how to stop it. */
interface Container {
  port?: number;
  stop: () => void;
}

interface Backend {
  key: string;
  rev: KObject;
  state: BackendState;
  container?: Container;
  restarts: number;
  restartTimer?: NodeJS.Timeout;
  deadlineTimer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
  lastRequest: number;
  stopped: boolean;
}

const MAX_BACKOFF_MS = 300_000;
const revKey = (ns: string, name: string) => `${ns}/${name}`;

/** The container that serves: the one with a port, else the only (first) one. */
export function servingContainer(rev: KObject): KObject {
  const containers: KObject[] = Array.isArray(rev.spec?.containers) ? rev.spec.containers : [];
  return containers.find((c) => Array.isArray(c?.ports) && c.ports.length > 0) ?? containers[0] ?? {};
}

export function containerEnv(rev: KObject): Record<string, string> {
  const env: Record<string, string> = {};
  const container = servingContainer(rev);
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

const truthy = (v: string | undefined) => v !== undefined && v !== '' && v !== 'false' && v !== '0';

export class Backends {
  private readonly backends = new Map<string, Backend>();

  constructor(private readonly opts: BackendOptions) {}

  /** The port a request to the revision goes to, while its pod is ready; counts as traffic for the autoscaler. */
  endpoint(namespace: string, name: string): number | undefined {
    const b = this.backends.get(revKey(namespace, name));
    if (!b?.state.ready) return undefined;
    this.touch(b);
    return b.container?.port;
  }

  /** The backend's state as last reported, for tests. */
  state(namespace: string, name: string): BackendState | undefined {
    return this.backends.get(revKey(namespace, name))?.state;
  }

  /** Starts the revision's backend once; later calls for the same revision do nothing. */
  ensure(rev: KObject): void {
    const key = revKey(rev.metadata.namespace, rev.metadata.name);
    if (this.backends.has(key)) return;
    const backend: Backend = {
      key,
      rev,
      state: { ready: false, progressed: false },
      restarts: 0,
      lastRequest: Date.now(),
      stopped: false,
    };
    this.backends.set(key, backend);
    this.startContainer(backend);
    this.watchDeadline(backend);
  }

  /**
   * The revision's container exits now, as one killed by the kernel or crashing under load would (exit code 137
   * for a SIGKILL by default); the kubelet restarts it after its back-off. For tests and the soak.
   */
  kill(namespace: string, name: string, exitCode = 137, message = 'killed'): boolean {
    const b = this.backends.get(revKey(namespace, name));
    if (!b?.container) return false;
    this.exited(b, exitCode, message);
    return true;
  }

  stop(namespace: string, name: string): void {
    const key = revKey(namespace, name);
    const b = this.backends.get(key);
    if (!b) return;
    this.backends.delete(key);
    this.halt(b);
  }

  stopAll(): void {
    for (const b of [...this.backends.values()]) {
      this.backends.delete(b.key);
      this.halt(b);
    }
  }

  private halt(b: Backend): void {
    b.stopped = true;
    clearTimeout(b.restartTimer);
    clearTimeout(b.deadlineTimer);
    clearTimeout(b.idleTimer);
    b.container?.stop();
    b.container = undefined;
  }

  private report(backend: Backend, change: Partial<BackendState>): void {
    if (backend.stopped) return;
    const next = { ...backend.state, ...change };
    if (JSON.stringify(next) === JSON.stringify(backend.state)) return;
    backend.state = next;
    const [ns, name] = backend.key.split('/');
    this.opts.onState(ns!, name!, next);
  }

  private startContainer(backend: Backend): void {
    const image = String(servingContainer(backend.rev).image ?? '');
    const command = this.opts.run.get(image);
    const onExit = (exitCode: number, message: string) => this.exited(backend, exitCode, message);
    const onReady = () => this.becameReady(backend);
    backend.container =
      command !== undefined
        ? this.startProcess(backend, command, onReady, onExit)
        : this.startBuiltin(backend, onReady, onExit);
  }

  private becameReady(backend: Backend): void {
    if (backend.stopped) return;
    backend.lastRequest = Date.now();
    this.report(backend, { ready: true, progressed: true, terminated: undefined, idle: false });
    this.armIdle(backend);
  }

  /** The container exited: not ready, its last termination recorded, restarted after the kubelet's back-off. */
  private exited(backend: Backend, exitCode: number, message: string): void {
    if (backend.stopped) return;
    backend.container?.stop();
    backend.container = undefined;
    this.report(backend, { ready: false, terminated: { exitCode, message } });
    const base = this.opts.restartBackoffMs ?? 10_000;
    const delay = Math.min(base * 2 ** backend.restarts, MAX_BACKOFF_MS);
    backend.restarts += 1;
    clearTimeout(backend.restartTimer);
    backend.restartTimer = setTimeout(() => {
      if (!backend.stopped) this.startContainer(backend);
    }, delay);
  }

  /** The Deployment's progress deadline: no replica available by then fails the revision. */
  private watchDeadline(backend: Backend): void {
    const ms = parseDeadline(backend.rev, this.opts.progressDeadlineMs);
    backend.deadlineTimer = setTimeout(() => {
      if (!backend.state.progressed) this.report(backend, { deadlineExceeded: true });
    }, ms);
  }

  private armIdle(backend: Backend): void {
    const idleAfter = this.opts.idleAfterMs ?? 90_000;
    clearTimeout(backend.idleTimer);
    const check = () => {
      const quiet = Date.now() - backend.lastRequest;
      if (quiet >= idleAfter) this.report(backend, { idle: true });
      else backend.idleTimer = setTimeout(check, idleAfter - quiet);
    };
    backend.idleTimer = setTimeout(check, idleAfter);
    backend.idleTimer.unref();
  }

  private touch(backend: Backend): void {
    backend.lastRequest = Date.now();
    if (backend.state.idle) {
      this.report(backend, { idle: false });
      this.armIdle(backend);
    }
  }

  /** Probes until ready (unless held stuck); stops at the first pass. */
  private probeUntilReady(backend: Backend, probe: () => Promise<boolean>, onReady: () => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      const ok = await probe().catch(() => false);
      if (stopped) return;
      if (ok && !this.opts.isStuck(backend.key)) {
        onReady();
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
    const probe = servingContainer(rev).readinessProbe ?? {};
    const path = isPlainObject(probe.httpGet) ? String(probe.httpGet.path ?? '/') : undefined;
    return async () => {
      const p = port();
      if (!p) return false;
      return path === undefined ? tcpProbe(p) : httpProbe(p, path);
    };
  }

  private startProcess(
    backend: Backend,
    command: string,
    onReady: () => void,
    onExit: (code: number, message: string) => void,
  ): Container {
    const container: Container = { stop: () => {} };
    const env = containerEnv(backend.rev);
    // A free port for the process: bind one, release it, hand it over.
    const probeServer = createServer();
    probeServer.listen(0, '127.0.0.1', () => {
      const port = (probeServer.address() as AddressInfo).port;
      probeServer.close(() => {
        if (backend.stopped || backend.container !== container) return;
        container.port = port;
        let stderr = '';
        const child: ChildProcess = spawn('sh', ['-c', command], {
          env: { ...process.env, ...env, PORT: String(port) },
          stdio: ['ignore', 'ignore', 'pipe'],
          detached: true,
        });
        child.stderr?.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-2000);
        });
        const stopProbe = this.probeUntilReady(
          backend,
          this.probeFor(backend.rev, () => container.port),
          onReady,
        );
        let exited = false;
        // 'close' comes after stderr is drained, so the failure message keeps the process's last words.
        child.on('close', (code, signal) => {
          exited = true;
          stopProbe();
          if (backend.container !== container) return;
          const exitCode = code ?? (signal ? 128 + 9 : 1);
          const message = stderr.trim().split('\n').slice(-3).join('\n') || `exited with code ${exitCode}`;
          onExit(exitCode, message);
        });
        container.stop = () => {
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
    return container;
  }

  private startBuiltin(
    backend: Backend,
    onReady: () => void,
    onExit: (code: number, message: string) => void,
  ): Container {
    const rev = backend.rev;
    const env = containerEnv(rev);
    const num = (k: string, d = 0) => {
      const v = Number(env[k]);
      return Number.isFinite(v) && env[k] !== undefined && env[k] !== '' ? v : d;
    };
    const container: Container = { stop: () => {} };
    const crash = env[KNOBS.crashOnStart];
    if (truthy(crash)) {
      const code = /^\d+$/.test(crash!) ? Number(crash) : 1;
      const t = setTimeout(() => onExit(code, `${KNOBS.crashOnStart} is set: crashing at start`), 5);
      container.stop = () => clearTimeout(t);
      return container;
    }
    const random = env[KNOBS.seed] ? seededRandom(Number(env[KNOBS.seed])) : this.opts.random;
    const errorRate = num(KNOBS.errorRate);
    const errorStatus = num(KNOBS.errorStatus, 500);
    const errorPath = env[KNOBS.errorPath] || undefined;
    const latencyMs = num(KNOBS.latencyMs);
    const jitterMs = num(KNOBS.jitterMs);
    const slowRate = num(KNOBS.slowRate);
    const slowMs = num(KNOBS.slowMs);
    const slowPath = env[KNOBS.slowPath] || undefined;
    const readyAt = Date.now() + num(KNOBS.readyDelayMs);
    const neverReady = env[KNOBS.neverReady] === 'true' || env[KNOBS.neverReady] === '1';
    const crashAfterRequests = num(KNOBS.crashAfterRequests);
    const crashAfterMs = num(KNOBS.crashAfterMs);
    const probe = servingContainer(rev).readinessProbe ?? {};
    const probePath = isPlainObject(probe.httpGet) ? String(probe.httpGet.path ?? '/') : undefined;
    const name = rev.metadata.name;
    const userEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('EMULATOR_')));
    const onPath = (path: string | undefined, url: string) =>
      path === undefined || url === path || url.startsWith(`${path}?`) || url.startsWith(`${path}/`);

    let served = 0;
    let crashed = false;
    let crashTimer: NodeJS.Timeout | undefined;
    const crashNow = (why: string) => {
      if (crashed) return;
      crashed = true;
      clearTimeout(crashTimer);
      server.closeAllConnections();
      server.close();
      onExit(1, why);
    };

    const server: Server = createServer((req, res) => {
      req.resume();
      const url = req.url ?? '/';
      // Readiness probes from the kubelet are answered by the readiness rules, not the fault knobs.
      if (req.headers['user-agent']?.startsWith('kube-probe/')) {
        const ready = !neverReady && Date.now() >= readyAt;
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'not ready');
        return;
      }
      if (crashAfterRequests > 0 && ++served > crashAfterRequests) {
        // The request that finds the process dying gets its connection cut, as a crash does.
        res.destroy();
        crashNow(`${KNOBS.crashAfterRequests}=${crashAfterRequests}: crashed under load`);
        return;
      }
      let delay = latencyMs + (jitterMs ? random() * jitterMs : 0);
      if (slowRate > 0 && onPath(slowPath, url) && random() < slowRate) delay += slowMs;
      const fail = errorRate > 0 && onPath(errorPath, url) && random() < errorRate;
      const respond = () => {
        const status = fail ? errorStatus : 200;
        const body = JSON.stringify({ revision: name, env: userEnv, path: url, status });
        res.writeHead(status, { 'content-type': 'application/json', 'x-revision': name }).end(`${body}\n`);
      };
      if (delay > 0) setTimeout(respond, delay);
      else respond();
    });
    server.keepAliveTimeout = 5000;
    let stopProbe = () => {};
    container.stop = () => {
      crashed = true;
      clearTimeout(crashTimer);
      stopProbe();
      server.closeAllConnections();
      server.close();
    };
    server.listen(0, '127.0.0.1', () => {
      if (backend.stopped || backend.container !== container || crashed) {
        server.close();
        return;
      }
      container.port = (server.address() as AddressInfo).port;
      // The built-in app always answers its readiness over HTTP, so that never-ready can be expressed.
      stopProbe = this.probeUntilReady(
        backend,
        () => httpProbe(container.port!, probePath ?? '/'),
        () => {
          onReady();
          if (crashAfterMs > 0)
            crashTimer = setTimeout(
              () => crashNow(`${KNOBS.crashAfterMs}=${crashAfterMs}: crashed after it was ready`),
              crashAfterMs,
            );
        },
      );
    });
    return container;
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
