#!/usr/bin/env bash
# Seccomp at engine scale: `run` of /bin/true under the default profiles Docker and podman give their runtime
# (captured from the engines on this machine by capture-engine-configs.sh), in runc's default config otherwise.
# tsrun with its filter cache emptied before each run (the first compile: libseccomp through koffi) and with the
# cache warm, beside runc and crun (which compile every time), and all three without seccomp, in one hyperfine
# run per profile.
#
#   bench/engine-seccomp.sh [RUNS]    (as root; bench/run.sh calls it inside its mount namespace)
#   writes bench/results/seccomp-{none,docker,podman}.json
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RUNS=${1:-${BENCH_RUNS:-20}}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
if [ -z "${TSRUN_BENCH_INNER:-}" ]; then
  # crun 1.8.1 refuses this hybrid layout unless cgroup.controllers of the cgroup2 mount reads empty (run.sh)
  exec unshare -m --propagation private env TSRUN_BENCH_INNER=1 TSRUN_BENCH_COVER=1 bash "$0" "$@"
fi
if [ -n "${TSRUN_BENCH_COVER:-}" ]; then
  empty=$(mktemp /tmp/tsrun-bench-empty.XXXXXX)
  mount --bind "$empty" /sys/fs/cgroup/unified/cgroup.controllers
  rm -f "$empty"
fi
out=$REPO/bench/results
mkdir -p "$out"
work=$(mktemp -d /tmp/tsrun-bench-seccomp.XXXXXX)
chmod 755 "$work"
cleanup() {
  set +e
  for rt in tsrun runc crun; do
    for id in $(ls "$work/root-$rt" 2>/dev/null); do "$(bin "$rt")" --root "$work/root-$rt" delete --force "$id" >/dev/null 2>&1 || true; done
  done
  rm -rf "$work"
}
trap cleanup EXIT
bin() { case $1 in tsrun) echo "$REPO/bin/tsrun" ;; *) command -v "$1" ;; esac; }

bash bench/capture-engine-configs.sh "$work/engines"
bash scripts/busybox-rootfs.sh "$work/rootfs" >/dev/null
# runc's default config running /bin/true, with the engine's seccomp (or none)
mkbundle() { # name [engine config]
  local dir=$work/bundle-$1
  mkdir -p "$dir"
  (cd "$dir" && runc spec)
  node -e '
    const fs = require("fs");
    const [dir, rootfs, engine] = process.argv.slice(1);
    const f = dir + "/config.json";
    const c = JSON.parse(fs.readFileSync(f, "utf8"));
    c.root.path = rootfs;
    c.process.terminal = false;
    c.process.args = ["/bin/true"];
    if (engine) c.linux.seccomp = JSON.parse(fs.readFileSync(engine, "utf8")).linux.seccomp;
    fs.writeFileSync(f, JSON.stringify(c, null, 2));
  ' "$dir" "$work/rootfs" "${2:-}"
  echo "$dir"
}

for profile in none docker podman; do
  b=$(mkbundle "$profile" "$([ "$profile" = none ] || echo "$work/engines/$profile.json")")
  run() { echo "$(bin "$1") --root $work/root-$1 run --bundle $b bench-sc"; }
  args=(-n "tsrun, cache emptied" --prepare "rm -rf $work/root-tsrun/.seccomp-cache" "$(run tsrun)")
  # the warm series: the cache entry made by the first run of its warm-up
  args+=(-n "tsrun, cache warm" --prepare true "$(run tsrun)")
  for rt in runc crun; do args+=(-n "$rt" --prepare true "$(run "$rt")"); done
  hyperfine -N --style basic --setup "sleep ${BENCH_SETTLE:-1}" --warmup 2 --runs "$RUNS" \
    --export-json "$out/seccomp-$profile.json" "${args[@]}" >/dev/null
  echo "bench: seccomp-$profile done" >&2
done
node -e '
  const fs = require("fs");
  const dir = process.argv[1];
  const ms = (r) => (r.mean * 1000).toFixed(1);
  const rows = ["none", "docker", "podman"].map((p) => {
    const res = JSON.parse(fs.readFileSync(`${dir}/seccomp-${p}.json`, "utf8")).results;
    const by = Object.fromEntries(res.map((r) => [r.command, r]));
    return `| ${p} | ${ms(by["tsrun, cache emptied"])} | ${ms(by["tsrun, cache warm"])} | ${ms(by.runc)} | ${ms(by.crun)} |`;
  });
  console.log(["| profile | tsrun, first compile | tsrun, cached | runc | crun |", "|---|---|---|---|---|", ...rows].join("\n"));
  console.log("(`run` of /bin/true in ms, mean; the profiles as the engines give them to their runtime)");
' "$out"
