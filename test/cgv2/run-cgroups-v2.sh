#!/usr/bin/env bash
# Run the cgroup integration tests on a pure cgroup v2 host: the User-Mode Linux
# guest of ../shared/lab/cgv2-run (Linux 6.1, or 7.x where scripts/cgv2-kernel.sh
# says 6.1 cannot boot; cgroup2 at /sys/fs/cgroup with cpu io memory pids; one
# CPU, no cpuset, no block devices):
#   test/integration/cgroups-host.test.ts       the cgroup library on the kernel
#   test/integration/cgroups-container.test.ts  real containers through bin/tsrun
#                                               (build first: make build)
#   test/integration/recipe.test.ts             creates and runs replayed there
# The guest sees the host's filesystem read-only with a tmpfs overlay: the
# tests' temp dirs, busybox rootfs and state roots live in its /tmp, vitest's
# cache writes just vanish at exit; nothing needs --rw.
#
# usage: test/cgv2/run-cgroups-v2.sh [extra vitest args]   (as root)
# env:   CGV2_RUN=path/to/cgv2-run   CGV2_TIMEOUT=seconds (default 900)
set -euo pipefail
cd "$(dirname "$0")/../.."
LAB=${CGV2_RUN:-../shared/lab/cgv2-run}
if [ ! -x "$LAB" ]; then
  echo "run-cgroups-v2.sh: $LAB is missing: the cgroup v2 lab run is SKIPPED" >&2
  [ -n "${CI:-}" ] && exit 1
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "run-cgroups-v2.sh: needs root (cgv2-run does)" >&2; exit 1; }
# a guest kernel that boots on this CPU (scripts/cgv2-kernel.sh: AMX hosts need a newer UML than the lab's)
eval "$(bash scripts/cgv2-kernel.sh "$LAB")"
start=$(date +%s.%N)
rc=0
"$LAB" --timeout "${CGV2_TIMEOUT:-900}" -e CI -- \
  node node_modules/vitest/vitest.mjs run --project integration \
    test/integration/cgroups-host.test.ts test/integration/cgroups-container.test.ts test/integration/recipe.test.ts "$@" || rc=$?
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v rc="$rc" 'BEGIN { printf "run-cgroups-v2.sh: cgroup v2 lab run took %.1f s (exit %d)\n", e - s, rc }' >&2
exit "$rc"
