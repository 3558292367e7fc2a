#!/usr/bin/env bash
# The rootless tests whose cgroup behaviour differs on a pure cgroup v2 host, in the User-Mode Linux guest of
# ../shared/lab/cgv2-run (Linux 6.1, cgroup2 at /sys/fs/cgroup, every controller enabled at the root):
#   test/rootless/rootless.test.ts    no cgroup the user may make: the container's life there, limits refused as
#                                     runc refuses them, device rules skipped, a cgroupsPath refused
#   test/rootless/delegated.test.ts   a v2 subtree delegated to the user (as systemd's user@.service would
#                                     give one): limits, pause, ps, update, events there
# The guest sees the host's filesystem read-only with a tmpfs overlay, so the test users useradd makes there
# (and their /etc/subuid lines) vanish with it. Build first (make build).
#
# usage: test/rootless/run-v2.sh [extra vitest args]   (as root)
set -euo pipefail
cd "$(dirname "$0")/../.."
LAB=${CGV2_RUN:-../shared/lab/cgv2-run}
if [ ! -x "$LAB" ]; then
  echo "run-v2.sh: $LAB is missing: the rootless cgroup v2 run is SKIPPED" >&2
  [ -n "${CI:-}" ] && exit 1
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "run-v2.sh: needs root (cgv2-run does)" >&2; exit 1; }
# a guest kernel that boots on this CPU (scripts/cgv2-kernel.sh: AMX hosts need a newer UML than the lab's)
eval "$(bash scripts/cgv2-kernel.sh "$LAB")"
# the checks whose cgroups differ on v2 (each call costs ~1.5 s under UML: the rest runs on the host only)
TESTS='stays in its cgroups|no cgroup can carry|cgroupsPath|device rules|below the user|pids limit holds'
start=$(date +%s.%N)
# the busybox rootfs the test users copy, made here: under UML its hundreds of processes take a minute per user
tpl=$(mktemp -d /tmp/tsrun-v2-rootfs.XXXXXX)
trap 'rm -rf "$tpl"' EXIT
bash scripts/busybox-rootfs.sh "$tpl/rootfs"
rc=0
"$LAB" --timeout "${CGV2_TIMEOUT:-900}" -e CI -e TSRUN_ROOTLESS_ROOTFS="$tpl/rootfs" -- \
  node node_modules/vitest/vitest.mjs run --project rootless \
    test/rootless/rootless.test.ts test/rootless/delegated.test.ts -t "$TESTS" "$@" || rc=$?
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v rc="$rc" 'BEGIN { printf "run-v2.sh: rootless cgroup v2 lab run took %.1f s (exit %d)\n", e - s, rc }' >&2
exit "$rc"
