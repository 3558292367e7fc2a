#!/usr/bin/env bash
# make test: every test, unit first (no root needed), then integration (root,
# real containers, one file at a time since they share the host).
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)
if [ "$(id -u)" != 0 ]; then
  if [ -n "${CI:-}" ]; then echo "make test: integration tests must run as root under CI" >&2; exit 1; fi
  echo "make test: not root: the integration tests will be skipped" >&2
fi
npx vitest run --project unit
npx vitest run --project integration
# containerd and podman driving bin/tsrun (private daemons and configuration), ~30 s
[ "$(id -u)" = 0 ] && make -s engines-deps
npx vitest run --project engines
# a real systemd in its own namespaces (test/systemd/lab.sh): transient scopes, runc --systemd-cgroup, ~15 s
[ "$(id -u)" = 0 ] && make -s systemd-lab-deps
npx vitest run --project systemd
# rootless: a real user made by the tests (useradd, /etc/subuid ranges), tsrun beside runc as that user, ~1 min
[ "$(id -u)" = 0 ] && make -s rootless-deps
npx vitest run --project rootless
# the spec-derived conformance suite: runc as a report, then tsrun, which must pass (~50 s)
[ "$(id -u)" = 0 ] && bash conformance/ci.sh
# the cgroup tests (kernel and real containers) again on a pure cgroup v2 kernel (../shared/lab), 1.5-3 min
bash test/cgv2/run-cgroups-v2.sh
# the systemd lab, the driver's tests and the rootless ones (a user's own systemd) again on the pure cgroup v2 kernel (PID 1 in the lab's init.scope, controllers delegated), 12-15 min
bash test/systemd/run-v2.sh
# the rootless checks whose cgroups differ, again on the pure cgroup v2 kernel (a v2 subtree delegated to the user), ~2.5 min
bash test/rootless/run-v2.sh
# and nothing left: every test cleans up after itself, even when it fails
if [ "$(id -u)" = 0 ]; then bash scripts/check-leftovers.sh "$began"; fi
