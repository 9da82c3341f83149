// The action's run: decides the command from the inputs and the event, answers comment commands (permissions,
// reactions, reply), and runs the command on each Service through the shell in shell.ts.

import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { GitHub } from './github/api.ts';
import { dispatch, type Dispatch } from './github/commands.ts';
import { canonical, Conversation, replies } from './github/conversation.ts';
import { Deployments } from './github/deployments.ts';
import { closeAgent } from './health/http.ts';
import {
  parseGitHubInputs,
  parseInputs,
  type GetInput,
  type GitHubInputs,
  type Inputs,
  type ParseContext,
} from './inputs.ts';
import { hardStopOf } from './cancellation.ts';
import { ConcurrentChange, InputError, isExpected } from './errors.ts';
import { KnativeClient } from './knative/client.ts';
import { loadKubeConfig } from './knative/kubeconfig.ts';
import { previewTag, reportedStatus, STATE_ANNOTATION } from './rollout/state.ts';
import { commentOutput, earlyOutputs, runOutputs } from './report/outputs.ts';
import { commentBody, newReport, type RunReport } from './report/report.ts';
import { secretHeaderValues, secretUrlValues } from './report/secrets.ts';
import { Shell, type RunOptions } from './shell/index.ts';

export type { RunOptions } from './shell/index.ts';

/** Masks the kubeconfig's credentials (the whole text is not registered: a multi-line secret masks nothing). */
function maskKubeconfig(text: string): void {
  for (const line of text.split(/\r?\n/)) {
    const m =
      /^\s*(token|client-key-data|client-certificate-data|password|id-token|refresh-token)\s*:\s*(.+)$/.exec(
        line,
      );
    if (m) core.setSecret(m[2]!.trim().replace(/^["']|["']$/g, ''));
  }
}

/** A failure before the cluster was touched: the job summary says so too, where users look first. */
async function failBeforeStart(message: string): Promise<void> {
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary
      .addRaw(`## ❌ Failed before touching the cluster\n\n${message}\n`, true)
      .write()
      .catch(() => undefined);
  }
  core.setFailed(message);
}

function readEvent(): unknown {
  const path = process.env.GITHUB_EVENT_PATH;
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
}

function repository(): { owner: string; repo: string } | undefined {
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/');
  return owner && repo ? { owner, repo } : undefined;
}

/** The credentials among the inputs' request headers and URLs (smoke tests, webhooks, Prometheus), and only those. */
function maskInputs(inputs: Inputs): void {
  const secrets = [
    ...inputs.smokeTests.flatMap((t) => secretHeaderValues(t.headers)),
    ...inputs.webhooks.flatMap((h) => [...secretHeaderValues(h.headers), ...secretUrlValues(h.url)]),
    ...secretHeaderValues(inputs.analysis.headers),
    ...secretUrlValues(inputs.analysis.url),
  ];
  for (const v of secrets) core.setSecret(v);
}

export async function run(opts: RunOptions = {}): Promise<void> {
  const now = opts.now ?? Date.now;
  const runUrl =
    process.env.GITHUB_RUN_ID && process.env.GITHUB_REPOSITORY
      ? `${process.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
      : undefined;
  // Through @actions/core, so that tools that stand in for it (@github/local-action) supply action.yml's defaults.
  const get: GetInput = (name) => core.getInput(name, { trimWhitespace: true });
  const kubeconfigRaw = get('kubeconfig');
  if (kubeconfigRaw) maskKubeconfig(kubeconfigRaw);
  let gh: GitHubInputs;
  let d: Dispatch;
  try {
    gh = parseGitHubInputs(get);
    if (gh.token) core.setSecret(gh.token);
    d = dispatch(process.env.GITHUB_EVENT_NAME ?? '', readEvent(), gh);
  } catch (e) {
    return failBeforeStart((e as Error).message);
  }
  if (d.kind === 'ignore') {
    core.info(`Nothing to do: ${d.reason}.`);
    return earlyOutputs('ignored', '');
  }
  const repo = repository();
  const github = gh.token && repo ? new GitHub(gh.token, repo) : undefined;

  // ---- what to run, and whether the commenter may --------------------------------------------------------
  const ctx: ParseContext = { sha: process.env.GITHUB_SHA ?? '' };
  let actor = process.env.GITHUB_ACTOR ? `@${process.env.GITHUB_ACTOR}` : 'the workflow';
  let preview: { pr: number; sha: string } | undefined;
  /** A pull request that was closed: `close` removes its preview. */
  let pullRequest: number | undefined;
  let conversation: Conversation | undefined;
  let commandLine: string | undefined;
  /** A failure before the cluster was touched; a comment command is answered with it. */
  const refuse = async (message: string): Promise<void> => {
    if (conversation) {
      await conversation.reply(`❌ @${conversation.comment.user}, ${message}. Nothing was done.`);
      await conversation.react('-1');
    }
    return failBeforeStart(message);
  };
  if (d.kind === 'comment') {
    if (!github) {
      return failBeforeStart(
        "Input 'github-token': is required to answer comment commands (the default, ${{ github.token }}, will do)",
      );
    }
    conversation = new Conversation(github, d.comment, gh);
    actor = `@${d.comment.user}`;
    core.info(`Comment command by ${actor} on #${d.comment.issue}: ${d.parsed.line}`);
    await conversation.react('eyes');
    let auth;
    try {
      auth = await conversation.authorize(d.parsed);
    } catch (e) {
      return refuse(`Could not check the command: ${(e as Error).message}`);
    }
    if (!auth.ok) {
      core.info(`Refused: ${auth.reply}`);
      const url = await conversation.reply(auth.reply);
      await conversation.react('-1');
      return earlyOutputs('refused', '', url ?? '');
    }
    commandLine = canonical(gh.commandPrefix, auth.parsed);
    if (auth.parsed.command === 'help') {
      const url = await conversation.reply(replies.help(gh.commandPrefix));
      await conversation.react('rocket');
      return earlyOutputs('unchanged', 'help', url ?? '');
    }
    Object.assign(ctx, {
      command: auth.parsed.command,
      percent: auth.parsed.percent,
      revision: auth.parsed.revision,
    });
    if (auth.preview) {
      preview = auth.preview;
      Object.assign(ctx, { sha: auth.preview.sha, tag: `pr-${auth.preview.pr}` });
    }
  } else {
    Object.assign(ctx, { command: d.command, percent: d.percent, revision: d.revision });
    if (d.command === 'close' && d.pr !== undefined) {
      pullRequest = d.pr;
      ctx.tag = previewTag(d.pr);
    }
    const why =
      d.source === 'input'
        ? "the 'command' input"
        : d.source === 'local'
          ? 'no event: a local run'
          : d.source === 'pull_request'
            ? `pull request #${d.pr} was closed`
            : `the ${d.source} event`;
    core.info(`Command: ${d.command} (${why}).`);
  }

  // ---- inputs, per Service -----------------------------------------------------------------------------
  let first: Inputs;
  try {
    first = parseInputs(get, ctx);
    maskInputs(first);
  } catch (e) {
    return refuse((e as Error).message);
  }
  if (first.command === 'help') {
    core.info(replies.help(gh.commandPrefix));
    return earlyOutputs('unchanged', 'help');
  }
  // Aborts at the cancellation's deadline: requests and a rollback's wait end there, before the runner's SIGKILL.
  const hardStop = hardStopOf(opts.signal);
  let client: KnativeClient;
  try {
    const kc = loadKubeConfig(first.kubeconfig, first.context);
    client = new KnativeClient(kc, first.namespace, undefined, hardStop);
  } catch (e) {
    return refuse((e as Error).message);
  }
  let names = first.services;
  if (names.length === 0) {
    // advance without services: every Service of the namespace that carries a rollout of this action.
    try {
      names = (await client.listServices())
        .filter((s) => s.metadata.annotations?.[STATE_ANNOTATION] !== undefined)
        .map((s) => s.metadata.name);
    } catch (e) {
      return refuse((e as Error).message);
    }
    core.info(
      names.length
        ? `Services with a rollout of this action in ${first.namespace}: ${names.join(', ')}`
        : `No Service in namespace ${first.namespace} carries a rollout of this action: nothing to advance.`,
    );
  }
  const perService: Inputs[] = [];
  try {
    for (const name of names) {
      const forName: GetInput = (n) => (n === 'service' ? name : n === 'services' ? '' : get(n));
      perService.push(
        name === first.service && first.services.length <= 1 ? first : parseInputs(forName, ctx),
      );
    }
  } catch (e) {
    return refuse((e as Error).message);
  }
  const deployments =
    first.environment && github
      ? new Deployments(github, first.environment, runUrl, gh.productionEnvironment)
      : undefined;
  if (first.environment && !github)
    core.warning(
      `Input 'environment' is set, but there is no github-token: no GitHub Deployment is recorded.`,
    );

  // ---- run ---------------------------------------------------------------------------------------------
  const reports: RunReport[] = [];
  const failures: Error[] = [];
  for (const inputs of perService) {
    if (opts.signal?.aborted) break;
    const report = newReport(inputs.command, inputs.service, inputs.namespace, now());
    reports.push(report);
    const shell = new Shell(inputs, client, report, {
      ...opts,
      hardStop,
      now,
      runUrl,
      actor,
      preview,
      pullRequest,
      sha: ctx.sha,
      deployments,
    });
    if (perService.length > 1) core.startGroup(`${inputs.namespace}/${inputs.service}`);
    let failure: Error | undefined;
    try {
      await shell.execute();
    } catch (e) {
      if (e instanceof ConcurrentChange && e.benign) {
        // Another run moved this same rollout on (a step, a pause, a promotion); it reports for itself.
        core.warning(`${inputs.service}: ${e.message}`);
        report.status ||= reportedStatus(e.found);
        report.message = e.message;
      } else {
        failure = e as Error;
        report.message ||= failure.message;
        // A run refused before it touched the Service (bad input) sets no status; any later failure is `failed`.
        if (!(failure instanceof InputError)) report.status ||= 'failed';
        if (!isExpected(failure)) core.debug(failure.stack ?? '');
        failures.push(failure);
      }
    }
    if (perService.length > 1) core.endGroup();
    // The table and summary first, then the verdict as the log's last word.
    await shell.finish(failure === undefined);
  }
  core.info(
    `API requests: ${client.requests} to Kubernetes${github ? `, ${github.requests} to GitHub` : ''}`,
  );
  runOutputs(reports, first.command);
  if (conversation) {
    const ok = failures.length === 0;
    const url = await conversation.reply(commentBody(reports, { command: commandLine!, actor, runUrl }));
    await conversation.react(ok ? 'rocket' : '-1');
    commentOutput(url);
  }
  await closeAgent();
  if (failures.length) core.setFailed(failures.map((f) => f.message).join('\n'));
}
