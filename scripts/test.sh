#!/usr/bin/env bash
# make test: every test, unit first (no root needed), then integration (root,
# real containers, one file at a time since they share the host).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  if [ -n "${CI:-}" ]; then echo "make test: integration tests must run as root under CI" >&2; exit 1; fi
  echo "make test: not root: the integration tests will be skipped" >&2
fi
npx vitest run --project unit
npx vitest run --project integration
# the cgroup tests again on a pure cgroup v2 kernel (../shared/lab), ~30 s
bash test/cgv2/run-cgroups-v2.sh
