#!/usr/bin/env bash
# Run the systemd lab tests (test/systemd/*.test.ts) on a pure cgroup v2 kernel: the User-Mode Linux guest
# of ../shared/lab/cgv2-run (Linux 6.1, cgroup2 at /sys/fs/cgroup, nsdelegate; one CPU). There lab.sh boots
# systemd in its own namespaces exactly as on the host, with PID 1 in the lab's init.scope and the lab's
# controllers delegated to it. The guest sees the host's files read-only under a tmpfs overlay: the lab's
# temp dirs live in its /tmp, and nothing needs --rw.
#
# usage: test/systemd/run-v2.sh [extra vitest args]   (as root)
# env:   CGV2_RUN=path/to/cgv2-run   CGV2_TIMEOUT=seconds (default 900)
set -euo pipefail
cd "$(dirname "$0")/../.."
LAB=${CGV2_RUN:-../shared/lab/cgv2-run}
if [ ! -x "$LAB" ]; then
  echo "run-v2.sh: $LAB is missing: the systemd lab on cgroup v2 is SKIPPED" >&2
  [ -n "${CI:-}" ] && exit 1
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "run-v2.sh: needs root (cgv2-run does)" >&2; exit 1; }
# a guest kernel that boots on this CPU (scripts/cgv2-kernel.sh: AMX hosts need a newer UML than the lab's)
eval "$(bash scripts/cgv2-kernel.sh "$LAB")"
start=$(date +%s.%N)
# the busybox rootfs rootless-systemd.test.ts's user copies, made here: under UML it takes a minute
tpl=$(mktemp -d /tmp/tsrun-v2-rootfs.XXXXXX)
trap 'rm -rf "$tpl"' EXIT
bash scripts/busybox-rootfs.sh "$tpl/rootfs"
rc=0
"$LAB" --timeout "${CGV2_TIMEOUT:-900}" -e CI -e TSRUN_ROOTLESS_ROOTFS="$tpl/rootfs" -- \
  node node_modules/vitest/vitest.mjs run --project systemd "$@" || rc=$?
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v rc="$rc" 'BEGIN { printf "run-v2.sh: systemd lab on cgroup v2 took %.1f s (exit %d)\n", e - s, rc }' >&2
exit "$rc"
