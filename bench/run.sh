#!/usr/bin/env bash
# make bench: tsrun beside runc and crun, in one hyperfine run per figure, as
# ratios. Everything runs in one private mount namespace where an empty file
# covers /sys/fs/cgroup/unified/cgroup.controllers: crun 1.8.1 refuses this
# host's hybrid layout otherwise, and all three runtimes then see the same host.
#
#   bench/run.sh [--quick]      (as root; writes bench/results/*.json and prints the table)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RUNS=${BENCH_RUNS:-20}
[ "${1:-}" = "--quick" ] && RUNS=5
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
for t in hyperfine runc crun /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (make bench installs it)" >&2; exit 1; }
done

if [ -z "${TSRUN_BENCH_INNER:-}" ]; then
  # enter the private mount namespace once, for the whole run
  exec unshare -m --propagation private env TSRUN_BENCH_INNER=1 bash "$0" "$@"
fi
empty=$(mktemp /tmp/tsrun-bench-empty.XXXXXX)
mount --bind "$empty" /sys/fs/cgroup/unified/cgroup.controllers

work=$(mktemp -d /tmp/tsrun-bench.XXXXXX)
out=$REPO/bench/results
mkdir -p "$out"
cleanup() {
  for rt in tsrun runc crun; do
    for id in $(ls "$work/root-$rt" 2>/dev/null); do "$(bin "$rt")" --root "$work/root-$rt" delete --force "$id" >/dev/null 2>&1 || true; done
  done
  rm -rf "$work" "$empty"
}
trap cleanup EXIT

bin() { case $1 in tsrun) echo "$REPO/bin/tsrun" ;; *) command -v "$1" ;; esac; }

bash scripts/busybox-rootfs.sh "$work/rootfs" >/dev/null
# one bundle per program: runc's default config, no terminal
mkbundle() { # name args...
  local dir=$work/bundle-$1; shift
  mkdir -p "$dir"
  (cd "$dir" && runc spec)
  node -e '
    const fs = require("fs");
    const [dir, rootfs, ...args] = process.argv.slice(1);
    const f = dir + "/config.json";
    const c = JSON.parse(fs.readFileSync(f, "utf8"));
    c.root.path = rootfs;
    c.process.terminal = false;
    c.process.args = args;
    fs.writeFileSync(f, JSON.stringify(c, null, 2));
  ' "$dir" "$work/rootfs" "$@"
  echo "$dir"
}
TRUE=$(mkbundle true /bin/true)
SLEEP=$(mkbundle sleep /bin/sleep 1000)

# hyperfine times one runtime's whole series, then the next: the kernel's
# deferred work after a series (network namespaces and cgroups torn down in
# the background) would land on whichever runtime comes next, always tsrun
# first. A pause before each series (--setup, not timed) lets it drain.
hf() { # name, then hyperfine arguments
  local name=$1; shift
  hyperfine -N --style basic --setup "sleep ${BENCH_SETTLE:-1}" --warmup "${HF_WARMUP:-2}" --runs "${HF_RUNS:-$RUNS}" --export-json "$out/$name.json" "$@" >/dev/null
  echo "bench: $name done" >&2
}

fill() { # template runtime -> the command for that runtime
  local c=${1//@RT@/$(bin "$2")}
  c=${c//@ROOT@/$work/root-$2}
  printf '%s' "${c//@NAME@/$2}"
}
run3() { # name template
  local name=$1 tpl=$2
  hf "$name" -n tsrun "$(fill "$tpl" tsrun)" -n runc "$(fill "$tpl" runc)" -n crun "$(fill "$tpl" crun)"
}
sh3() { # name template (a shell script)
  local name=$1 tpl=$2 rt args=()
  for rt in tsrun runc crun; do args+=(-n "$rt" "sh -c '$(fill "$tpl" "$rt")'"); done
  hf "$name" "${args[@]}"
}

export TRUE SLEEP
# recipes (on by default): Bun's first create of a config marks it, the second leaves the recipe that the launcher
# replays from then on. Each root's two configs are seeded so, before anything is timed, in the bench's own recipe dir.
export TSRUN_RECIPE_DIR=$work/recipes
for b in "$TRUE" "$SLEEP"; do
  for i in 1 2; do
    "$(bin tsrun)" --root "$work/root-tsrun" create --bundle "$b" bench-seed </dev/null >/dev/null 2>&1
    "$(bin tsrun)" --root "$work/root-tsrun" delete --force bench-seed >/dev/null 2>&1
  done
done
[ "$(ls "$TSRUN_RECIPE_DIR" | grep -c -- '-create$')" = 2 ] || { echo "bench: tsrun left no recipe for the bench's configs" >&2; exit 1; }
WAIT='p=$(cat @ROOT@.pid); while [ -e /proc/$p ] && ! grep -q ") Z" /proc/$p/stat 2>/dev/null; do :; done'

run3 run-true "@RT@ --root @ROOT@ run --bundle $TRUE bench-run"
sh3 lifecycle "@RT@ --root @ROOT@ create --bundle $TRUE --pid-file @ROOT@.pid bench-cycle && @RT@ --root @ROOT@ start bench-cycle && $WAIT; @RT@ --root @ROOT@ delete bench-cycle"
for rt in tsrun runc crun; do "$(bin $rt)" --root "$work/root-$rt" create --bundle "$SLEEP" bench-state </dev/null >/dev/null 2>&1; done
run3 state "@RT@ --root @ROOT@ state bench-state"
# the same for tsrun alone, with NODE_EXTRA_CA_CERTS set and unset (it costs Node ~50 ms a start)
hyperfine -N --style basic --warmup 2 --runs "$RUNS" --export-json "$out/state-env.json" \
  -n "tsrun, NODE_EXTRA_CA_CERTS set" "env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt $(bin tsrun) --root $work/root-tsrun state bench-state" \
  -n "tsrun, NODE_EXTRA_CA_CERTS unset" "env -u NODE_EXTRA_CA_CERTS $(bin tsrun) --root $work/root-tsrun state bench-state" \
  -n "tsrun on Node, set" "env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt node $REPO/build/tsrun.js --root $work/root-tsrun state bench-state" \
  -n "tsrun on Node, unset" "env -u NODE_EXTRA_CA_CERTS node $REPO/build/tsrun.js --root $work/root-tsrun state bench-state" >/dev/null
echo "bench: state-env done" >&2
# memory: the runtime process (peak RSS), and the process left while a container is created
mem=$out/memory.txt
: > "$mem"
for rt in tsrun runc crun; do
  /usr/bin/time -o "$work/time.out" -f %M "$(bin $rt)" --root "$work/root-$rt" state bench-state >/dev/null 2>&1
  rss=$(tail -1 "$work/time.out")
  pid=$("$(bin $rt)" --root "$work/root-$rt" state bench-state | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).pid)')
  init=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
  # the created container keeps its creator's stdio: no pipe here, or this would wait for it
  /usr/bin/time -o "$work/time.out" -f %M "$(bin $rt)" --root "$work/root-$rt" create --bundle "$SLEEP" bench-mem </dev/null >/dev/null 2>&1
  crss=$(tail -1 "$work/time.out")
  "$(bin $rt)" --root "$work/root-$rt" delete --force bench-mem >/dev/null 2>&1 || true
  echo "$rt state_peak_kb=$rss create_peak_kb=$crss created_init_kb=$init" >> "$mem"
done
for rt in tsrun runc crun; do "$(bin $rt)" --root "$work/root-$rt" delete --force bench-state >/dev/null 2>&1 || true; done
# kill + delete --force of a running container: each run gets a fresh one
kd=()
for rt in tsrun runc crun; do
  kd+=(--prepare "$(bin $rt) --root $work/root-$rt run -d --bundle $SLEEP bench-kd")
done
for rt in tsrun runc crun; do
  kd+=(-n "$rt" "sh -c '$(bin $rt) --root $work/root-$rt kill bench-kd KILL; $(bin $rt) --root $work/root-$rt delete --force bench-kd'")
done
HF_RUNS=$RUNS hf kill-delete "${kd[@]}"
# start, kill and delete alone, each on a container made for it (not timed)
one() { # name, prepare template, command template
  local name=$1 prep=$2 cmd=$3 rt args=()
  for rt in tsrun runc crun; do args+=(--prepare "sh -c '$(fill "$prep" "$rt")'" -n "$rt" "$(fill "$cmd" "$rt")"); done
  hf "$name" "${args[@]}"
}
GONE='@RT@ --root @ROOT@ delete --force bench-one >/dev/null 2>&1; '
one start "$GONE@RT@ --root @ROOT@ create --bundle $TRUE bench-one </dev/null >/dev/null 2>&1" "@RT@ --root @ROOT@ start bench-one"
one kill "$GONE@RT@ --root @ROOT@ run -d --bundle $SLEEP bench-one </dev/null >/dev/null 2>&1" "@RT@ --root @ROOT@ kill bench-one KILL"
one delete "$GONE@RT@ --root @ROOT@ run -d --bundle $TRUE bench-one </dev/null >/dev/null 2>&1; until @RT@ --root @ROOT@ state bench-one | grep -q stopped; do :; done" "@RT@ --root @ROOT@ delete bench-one"
for rt in tsrun runc crun; do "$(bin $rt)" --root "$work/root-$rt" delete --force bench-one >/dev/null 2>&1 || true; done
run3 version "@RT@ --version"
# create alone, each run on an id removed before it (not timed): tsrun replays the recipe its seeding left
# (src/recipe/, native/replay.c); then the same with TSRUN_RECIPES=0, Bun's create every time, and the lifecycle so.
# `env` before each runtime, so that the three start alike; runc and crun ignore the variable.
GONEC='@RT@ --root @ROOT@ delete --force bench-c >/dev/null 2>&1; true'
one create "$GONEC" "env @RT@ --root @ROOT@ create --bundle $TRUE bench-c"
one create-bun "$GONEC" "env TSRUN_RECIPES=0 @RT@ --root @ROOT@ create --bundle $TRUE bench-c"
sh3 lifecycle-bun "env TSRUN_RECIPES=0 @RT@ --root @ROOT@ create --bundle $TRUE --pid-file @ROOT@.pid bench-cycle && @RT@ --root @ROOT@ start bench-cycle && $WAIT; @RT@ --root @ROOT@ delete bench-cycle"
for rt in tsrun runc crun; do "$(bin $rt)" --root "$work/root-$rt" delete --force bench-c >/dev/null 2>&1 || true; done
# the floor under every tsrun command: an empty program, built and started the way tsrun is (no .env or
# bunfig.toml autoload; the launcher, then Bun)
mkdir -p "$work/floor"
echo 'process.exit(0);' > "$work/floor/empty.js"
"$REPO/node_modules/bun/bin/bun.exe" build --compile --no-compile-autoload-dotenv --no-compile-autoload-bunfig --bytecode --minify --format=esm "$work/floor/empty.js" --outfile "$work/floor/tsrun-bun" >/dev/null
cp "$REPO/build/tsrun" "$work/floor/tsrun"
hf floor -n "empty Bun program, through tsrun's launcher" "$work/floor/tsrun" -n "tsrun --version" "$(bin tsrun) --version" \
  -n "runc --version" "$(bin runc) --version" -n "/bin/true" /bin/true
HF_WARMUP=0 HF_RUNS=3 sh3 fifty "i=0; while [ \$i -lt 50 ]; do @RT@ --root @ROOT@ create --bundle $SLEEP b50-\$i </dev/null >/dev/null && @RT@ --root @ROOT@ start b50-\$i; i=\$((i+1)); done; i=0; while [ \$i -lt 50 ]; do @RT@ --root @ROOT@ kill b50-\$i KILL; @RT@ --root @ROOT@ delete --force b50-\$i; i=\$((i+1)); done"
# parallel load: 1 to 8 workers creating, starting and deleting; list and state with 500 present
node "$REPO/bench/parallel.mjs" "$work" "$TRUE" "$SLEEP" "$out/parallel.json" "tsrun=$(bin tsrun)" "runc=$(bin runc)" "crun=$(bin crun)" \
  "tsrun+bun=$(bin tsrun)"
node "$REPO/bench/report.mjs" "$out"
# the engines' default seccomp profiles (captured from Docker and podman here), first compile and cached
bash "$REPO/bench/engine-seccomp.sh" "$RUNS"
