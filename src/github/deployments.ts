// GitHub Deployments that follow a rollout: one deployment per candidate, its status moved with every write of
// the rollout's state (in_progress while stepping, success once promoted, failure when rolled back, inactive for
// the deployment it replaced). GitHub being unreachable never stops a rollout: a warning says what was missed.

import * as core from '@actions/core';
import { tagUrl, type Service } from '../knative/types.ts';
import type { RolloutState } from '../rollout/state.ts';
import type { DeploymentState, GitHub } from './api.ts';

export interface DeploymentStatus {
  state: DeploymentState;
  description: string;
  environmentUrl?: string;
}

/** The status a rollout's state shows on its deployment; `before` is the phase the state had before this write. */
export function statusFor(
  state: RolloutState,
  svc: Service,
  before?: RolloutState['phase'],
): DeploymentStatus {
  const url = svc.status?.url;
  const steps = state.steps.length;
  switch (state.phase) {
    case 'deploying':
      return {
        state: 'in_progress',
        description: `Deploying ${state.candidate} at 0% under tag ${state.tag}`,
      };
    case 'stepping':
      if (state.paused?.reason === 'preview')
        return {
          state: 'in_progress',
          description: `Preview of ${state.candidate} at 0% under tag ${state.tag}`,
          environmentUrl: tagUrl(svc, state.tag),
        };
      if (state.paused)
        return {
          state: 'in_progress',
          description: `Paused at ${state.percent}% by ${state.paused.by}`,
          environmentUrl: url,
        };
      return {
        state: 'in_progress',
        description:
          state.step >= 0
            ? `${state.percent}% of traffic (step ${state.step + 1} of ${steps})`
            : `${state.percent}% of traffic`,
        environmentUrl: url,
      };
    case 'promoted':
      return {
        state: 'success',
        description: `Promoted ${state.candidate}: 100% of traffic`,
        environmentUrl: url,
      };
    case 'rolled-back': {
      const last = state.history.at(-1);
      const why = last?.detail ?? 'rolled back';
      // A preview whose pull request was closed did not fail: it is over.
      if (last?.action === 'close') return { state: 'inactive', description: `Closed: ${why}` };
      // A release that had been promoted is replaced; one that never got there failed.
      return before === 'promoted'
        ? { state: 'inactive', description: `Rolled back: ${why}` }
        : { state: 'failure', description: `Rolled back: ${why}` };
    }
  }
}

export class Deployments {
  /** Status last posted per deployment, so that a state written twice posts once. */
  private readonly last = new Map<number, string>();

  constructor(
    private readonly gh: GitHub,
    readonly environment: string,
    private readonly logUrl?: string,
    /** `production_environment` for deployments that are not previews; undefined: GitHub's default. */
    private readonly production?: boolean,
  ) {}

  /**
   * Creates the deployment of a new rollout, for the commit `ref`. `previous` is the rollout found on the
   * Service: its deployment, if promoted, is the one this one replaces.
   */
  async create(o: {
    ref: string;
    service: string;
    namespace: string;
    candidate: string;
    previous?: RolloutState;
    pr?: number;
  }): Promise<RolloutState['deployment'] | undefined> {
    const prev = o.previous?.deployment;
    const replaces =
      prev && prev.environment === this.environment && o.previous?.phase === 'promoted' ? prev.id : undefined;
    try {
      const id = await this.gh.createDeployment({
        ref: o.ref,
        environment: this.environment,
        description: `${o.candidate} to ${o.namespace}/${o.service}${o.pr ? ` (preview of #${o.pr})` : ''}`,
        payload: {
          service: o.service,
          namespace: o.namespace,
          revision: o.candidate,
          ...(o.pr ? { pr: o.pr } : {}),
        },
        // A preview lasts as long as its pull request, and is never production.
        transient: o.pr !== undefined,
        ...(this.production !== undefined ? { production: this.production } : {}),
      });
      core.info(`GitHub Deployment ${id} to ${this.environment} created for ${o.candidate}.`);
      return { id, environment: this.environment, ...(replaces !== undefined ? { replaces } : {}) };
    } catch (e) {
      core.warning(`Could not create a GitHub Deployment to ${this.environment}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Posts the status the state calls for, once; after a promotion, marks the replaced deployment inactive. */
  async follow(state: RolloutState, svc: Service, before?: RolloutState['phase']): Promise<void> {
    const d = state.deployment;
    if (!d || d.environment !== this.environment) return;
    const s = statusFor(state, svc, before);
    await this.post(d.id, s);
    if (state.phase === 'promoted' && d.replaces !== undefined)
      await this.post(d.replaces, { state: 'inactive', description: `Replaced by ${state.candidate}` });
  }

  /** A deployment whose rollout was never written (the Service could not be patched). */
  async abandon(d: NonNullable<RolloutState['deployment']>, why: string): Promise<void> {
    await this.post(d.id, { state: 'error', description: `Not deployed: ${why}` });
  }

  /** A rollout that another deploy replaced before it finished. */
  async superseded(old: RolloutState, by: string): Promise<void> {
    const d = old.deployment;
    if (!d || d.environment !== this.environment) return;
    await this.post(d.id, { state: 'inactive', description: `Superseded by ${by}` });
  }

  private async post(id: number, s: DeploymentStatus): Promise<void> {
    const key = `${s.state} ${s.description}`;
    if (this.last.get(id) === key) return;
    try {
      await this.gh.deploymentStatus(id, { ...s, logUrl: this.logUrl });
      this.last.set(id, key);
    } catch (e) {
      core.warning(`Could not set GitHub Deployment ${id} to ${s.state}: ${(e as Error).message}`);
    }
  }
}
