// The smallest action that does what the cold-start benchmark times: start, read an input with @actions/core,
// make one HTTP request to the API server. cold-start.ts bundles it the way scripts/build.mjs bundles the action.

import * as core from '@actions/core';

const api = core.getInput('api-url', { required: true });
const res = await fetch(new URL('/version', api));
const version = (await res.json()) as { gitVersion?: string };
core.setOutput('git-version', version.gitVersion ?? '');
