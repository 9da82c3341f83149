// The inputs' vocabulary: what the parsers in this folder produce, and how they read the runner's inputs.

import type { AnalysisConfig } from '../health/analysis-config.ts';
import type { SmokeTest } from '../health/smoke.ts';
import type { Webhook } from '../health/webhooks.ts';
import type { Role } from '../github/api.ts';
import type { Template } from '../knative/types.ts';
import type { Step } from '../rollout/state.ts';

export type Command =
  'deploy' | 'promote' | 'rollback' | 'advance' | 'pause' | 'resume' | 'close' | 'status' | 'help';
export const COMMANDS: readonly Command[] = [
  'deploy',
  'promote',
  'rollback',
  'advance',
  'pause',
  'resume',
  'close',
  'status',
  'help',
];
export type Progression = 'inline' | 'scheduled';

export interface Inputs {
  command: Command;
  /** The Service of this run; with `services`, the first of them. Empty only for `advance` by annotation. */
  service: string;
  /** Every Service the command acts on, in order; empty for `advance` of every annotated Service. */
  services: string[];
  /** `promote`: the percent to send now (100 when not given). */
  percent?: number;
  progression: Progression;
  /** GitHub environment for Deployments; undefined: none. */
  environment?: string;
  namespace: string;
  /** The new image, or undefined when a manifest supplies the template. */
  image?: string;
  /** The template from `manifest`, when given. */
  manifestTemplate?: Template;
  manifestPath?: string;
  env: { name: string; value: string }[];
  revisionName: string;
  /** Whether `revision-name` was given (rollback then targets it). */
  revisionNameGiven: boolean;
  tag: string;
  /** Empty string: no stable tag. */
  stableTag: string;
  steps: Step[];
  intervalMs: number;
  timeoutMs: number;
  gateway?: URL;
  /** The cluster-local gateway, for the hosts of cluster-local Services. */
  localGateway?: URL;
  smokeTests: SmokeTest[];
  maxErrorRate: number;
  /** undefined: no latency limit. */
  maxLatencyP99Ms?: number;
  probeRps: number;
  /** Bound on the chance that the sequential judge rolls back a candidate no worse than the stable revision. */
  alpha: number;
  /** A step may pass before its dwell is over once this much of it has passed and the evidence is conclusive. */
  minIntervalMs: number;
  /** Latency evidence from the candidate's first warmupMs of probes is ignored (cold start). */
  warmupMs: number;
  /** How often Prometheus queries and rollout/rollback webhooks are checked during a step. */
  checkEveryMs: number;
  /** Failed checks (queries, webhooks) that roll back. */
  failureThreshold: number;
  analysis: AnalysisConfig;
  webhooks: Webhook[];
  kubeconfig?: string;
  context?: string;
  dryRun: boolean;
  /** Take a traffic split found on the Service as the baseline instead of stopping. */
  acceptSplit: boolean;
}

/** Reads one input; the runner passes them as INPUT_<NAME> (upper-cased, hyphens kept). */
export type GetInput = (name: string) => string;

export interface ParseContext {
  /** The commit being deployed: the default revision name, and `{{ sha }}` in the image. */
  sha: string;
  readFile?: (path: string) => string;
  /** The command, when the event chose it (a comment command); otherwise the `command` input. */
  command?: Command;
  /** Arguments of a comment command, in place of the `percent` and `revision-name` inputs. */
  percent?: string;
  revision?: string;
  /** The candidate's tag in place of the `tag` input (a pull request's preview: `pr-<number>`). */
  tag?: string;
}

/** The inputs that say how the action talks to GitHub, read before the event decides the command. */
export interface GitHubInputs {
  /** `auto` or a command. */
  command: Command | 'auto';
  token: string;
  commandPrefix: string;
  permissions: Role[];
  allowForks: boolean;
  /**
   * `production_environment` of the Deployments that are not previews; undefined (`auto`): GitHub's default,
   * true only for an environment named production.
   */
  productionEnvironment?: boolean;
}
