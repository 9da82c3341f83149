#!/usr/bin/env bash
# Fails when dist/ is not what `npm run build` makes from the committed sources.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! grep -q '"build"' package.json; then
  echo "no build script yet: the action's sources arrive with issue 3, so there is no dist/ to check"
  exit 0
fi
npm run --silent build
if [ -n "$(git status --porcelain -- dist)" ]; then
  echo "dist/ is stale: run 'npm run build' and commit dist/"
  git status --porcelain -- dist
  exit 1
fi
echo "dist/ is up to date"
