// The emulator's command line (`npm run emulator`): the ready line, the kubeconfig it writes, --domain, --run,
// flag errors and shutdown on SIGTERM.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sendRequests, service } from './helpers.ts';
import type { KObject } from './util.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join('test', 'emulator', 'cli.ts');
const RUN_IMAGE = 'ghcr.io/example/run-command:v1';
/** A real process behind RUN_IMAGE: records its pid, answers on $PORT with a marker and its revision. */
const runCommand = (pidFile: string) =>
  `echo $$ > '${pidFile}' && exec '${process.execPath}' -e "require('http').createServer((q, s) => ` +
  `s.end('from-run-command ' + process.env.K_REVISION)).listen(Number(process.env.PORT), '127.0.0.1')"`;

/** Whether `pid` runs; an exited process its new parent has not reaped yet (a zombie) does not. */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: kill(pid, 0) said it exists
  }
};

function startCli(args: string[]): ChildProcess {
  return spawn(TSX, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the CLI to its exit. */
function runCli(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = startCli(args);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`emulator ${args.join(' ')} still running after ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function createService(api: CustomObjectsApi, body: KObject): Promise<unknown> {
  return api.createNamespacedCustomObject({
    group: 'serving.knative.dev',
    version: 'v1',
    namespace: 'default',
    plural: 'services',
    body,
  });
}

async function waitReady(api: CustomObjectsApi, name: string, timeoutMs = 10_000): Promise<KObject> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const svc = (await api.getNamespacedCustomObject({
      group: 'serving.knative.dev',
      version: 'v1',
      namespace: 'default',
      plural: 'services',
      name,
    })) as KObject;
    const ready = svc.status?.conditions?.find((c: KObject) => c.type === 'Ready')?.status;
    if (svc.status?.observedGeneration === svc.metadata.generation && ready === 'True') return svc;
    if (Date.now() > deadline) throw new Error(`${name} not ready: ${JSON.stringify(svc.status)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('emulator CLI', () => {
  let dir: string;
  let child: ChildProcess;
  let stderr = '';
  let ready: Record<string, string>;
  let kubeconfigPath: string;
  let runPid = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
    kubeconfigPath = join(dir, 'kc.yaml');
    child = startCli([
      '--kubeconfig',
      kubeconfigPath,
      '--domain',
      'example.org',
      '--run',
      `${RUN_IMAGE}=${runCommand(join(dir, 'run.pid'))}`,
    ]);
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(
        () => reject(new Error(`no ready line after 20 s; stdout: ${buf}; stderr: ${stderr}`)),
        20_000,
      );
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        const i = buf.indexOf('\n');
        if (i >= 0) {
          clearTimeout(timer);
          resolve(buf.slice(0, i));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the emulator exited (${code}) before its ready line; stderr: ${stderr}`));
      });
    });
    ready = JSON.parse(line);
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints one JSON line with the api, gateway, local gateway and metrics URLs and the kubeconfig path', () => {
    expect(Object.keys(ready).sort()).toEqual(['api', 'gateway', 'kubeconfig', 'localGateway', 'metrics']);
    expect(ready.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.gateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.localGateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.localGateway).not.toBe(ready.gateway);
    expect(ready.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(ready.kubeconfig).toBe(kubeconfigPath);
  });

  it('writes a kubeconfig with context and cluster "emulator" and namespace default, readable only by its owner', async () => {
    const kc = parse(await readFile(kubeconfigPath, 'utf8'));
    expect(kc['current-context']).toBe('emulator');
    expect(kc.contexts).toEqual([
      { name: 'emulator', context: expect.objectContaining({ cluster: 'emulator', namespace: 'default' }) },
    ]);
    expect(kc.clusters).toEqual([
      { name: 'emulator', cluster: expect.objectContaining({ server: ready.api }) },
    ]);
    // It holds a bearer token.
    expect((await stat(kubeconfigPath)).mode & 0o777).toBe(0o600);
  });

  it('serves API calls through the kubeconfig, with route hosts on the given domain', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    expect(kc.getCurrentContext()).toBe('emulator');
    expect(kc.getCurrentCluster()?.server).toBe(ready.api);
    expect(kc.getContextObject('emulator')?.namespace).toBe('default');
    const api = kc.makeApiClient(CustomObjectsApi);
    await createService(
      api,
      service('cli-hello', { traffic: [{ latestRevision: true, percent: 100, tag: 'now' }] }),
    );
    const svc = await waitReady(api, 'cli-hello');
    expect(svc.status.url).toBe('http://cli-hello.default.example.org');
    expect(svc.status.traffic[0].url).toBe('http://now-cli-hello.default.example.org');
    const served = await sendRequests(ready.gateway, 'cli-hello.default.example.org', 5, 1);
    expect(served.map((r) => `${r.status} ${r.revision}`)).toEqual(Array(5).fill('200 cli-hello-00001'));
    const tagged = await sendRequests(ready.gateway, 'now-cli-hello.default.example.org', 2, 1);
    expect(tagged.map((r) => r.status)).toEqual([200, 200]);
    // Not on the default domain.
    const other = await sendRequests(ready.gateway, 'cli-hello.default.example.com', 2, 1);
    expect(other.map((r) => r.status)).toEqual([404, 404]);
    // The cluster-local hosts are the local gateway's (knative/serving resources/ingress.go makeIngressSpec).
    const local = await sendRequests(ready.localGateway, 'now-cli-hello.default.svc.cluster.local', 2, 1);
    expect(local.map((r) => r.status)).toEqual([200, 200]);
    const notExternal = await sendRequests(ready.gateway, 'cli-hello.default.svc.cluster.local', 2, 1);
    expect(notExternal.map((r) => r.status)).toEqual([404, 404]);
  });

  it('runs --run IMAGE=COMMAND as the revision behind that image', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const api = kc.makeApiClient(CustomObjectsApi);
    await createService(api, service('cli-run', { image: RUN_IMAGE }));
    await waitReady(api, 'cli-run');
    const res = await request(ready.gateway, { headers: { host: 'cli-run.default.example.org' } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('from-run-command cli-run-00001');
    runPid = Number(await readFile(join(dir, 'run.pid'), 'utf8'));
    expect(alive(runPid)).toBe(true);
  });

  it('exits 0 on SIGTERM and stops serving', async () => {
    child.kill('SIGTERM');
    const result = await Promise.race([
      exited(child),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no exit 10 s after SIGTERM; stderr: ${stderr}`)), 10_000),
      ),
    ]);
    expect(result).toEqual({ code: 0, signal: null });
    await expect(fetch(ready.api + '/version')).rejects.toThrow();
    await expect(fetch(ready.gateway)).rejects.toThrow();
    await expect(fetch(ready.localGateway)).rejects.toThrow();
    // The --run process went with it.
    expect(runPid).toBeGreaterThan(0);
    const deadline = Date.now() + 5000;
    while (alive(runPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(alive(runPid), `--run process ${runPid} still running`).toBe(false);
  });

  it('exits 2 naming the flag for bad flags, without starting', async () => {
    const bad = join(dir, 'bad.yaml');
    const cases: [string[], string][] = [
      [['--kubeconfig', bad, '--api-port', 'abc'], '--api-port'],
      [['--domain', 'example.org'], '--kubeconfig'],
      [['--kubeconfig', bad, '--run', 'foo'], '--run'],
      [['--kubeconfig', bad, '--gateway-port', '70000'], '--gateway-port'],
      [['--kubeconfig', bad, '--local-gateway-port', '65536'], '--local-gateway-port'],
      [['--kubeconfig', bad, '--tag-template', '{{.Tag | upper}}-{{.Name}}'], '--tag-template'],
      [['--kubeconfig', bad, '--restart-backoff', 'soon'], '--restart-backoff'],
      [['--kubeconfig', bad, '--idle-after', '-5s'], '--idle-after'],
      [['--kubeconfig', bad, '--no-such-flag'], '--no-such-flag'],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      const [args, flag] = cases[i];
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(flag);
      expect(r.stderr).toMatch(/^emulator: /);
      expect(r.stdout, args.join(' ')).toBe('');
    });
    expect(existsSync(bad)).toBe(false);
  });
});
