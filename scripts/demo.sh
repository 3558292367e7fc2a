#!/usr/bin/env bash
# make demo: build a busybox bundle and run real containers through tsrun,
# showing each command and what it printed.
set -euo pipefail
cd "$(dirname "$0")/.."
tsrun="$PWD/bin/tsrun"
work=$(mktemp -d /tmp/tsrun-demo.XXXXXX)
root="$work/state"
id="tsrun-demo-$$"
cleanup() {
  "$tsrun" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "tsrun itself"
show "$tsrun" --version

step "a bundle: a busybox root filesystem and runc's default config from 'tsrun spec'"
bash scripts/busybox-rootfs.sh "$work/bundle/rootfs"
(cd "$work/bundle" && show "$tsrun" spec)
# not interactive, and a command that shows the container from inside
node -e '
  const fs = require("fs"); const f = process.argv[1];
  const c = JSON.parse(fs.readFileSync(f, "utf8"));
  c.process.terminal = false;
  c.process.args = ["sh", "-c", "echo \"hello from $(hostname), I am pid $$ as $(id -un)\"; echo \"my root is read-only:\"; touch /x 2>&1; echo \"my namespaces:\"; ls -l /proc/self/ns | awk \"NR>1 {print \\\"  \\\" \\$9, \\$11}\"; echo \"my mounts:\"; awk \"{print \\\"  \\\" \\$5, \\$9}\" /proc/self/mountinfo | head -8"];
  fs.writeFileSync(f, JSON.stringify(c, null, 2));
' "$work/bundle/config.json"
echo "bundle at $work/bundle ($(ls "$work/bundle/rootfs/bin" | wc -l) busybox applets)"

step "run: create + start + wait + delete, in the foreground"
show "$tsrun" --root "$root" run --bundle "$work/bundle" "$id"
echo "(exit status $?)"

step "the lifecycle one step at a time: create, state, start, kill, delete"
node -e '
  const fs = require("fs"); const f = process.argv[1];
  const c = JSON.parse(fs.readFileSync(f, "utf8"));
  c.process.args = ["sleep", "1000"];
  fs.writeFileSync(f, JSON.stringify(c, null, 2));
' "$work/bundle/config.json"
show "$tsrun" --root "$root" create --bundle "$work/bundle" "$id"
show "$tsrun" --root "$root" state "$id"
pid=$("$tsrun" --root "$root" state "$id" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).pid)')
echo "the process waiting in 'created' is $(readlink /proc/$pid/exe) (pid $pid)"
show "$tsrun" --root "$root" start "$id"
show "$tsrun" --root "$root" list
echo "inside, pid 1 runs: $(tr '\0' ' ' < /proc/$pid/cmdline)"
show "$tsrun" --root "$root" kill "$id" KILL
sleep 0.2
show "$tsrun" --root "$root" state "$id"
show "$tsrun" --root "$root" delete "$id"
echo "state directory left: $(ls "$root" | wc -l) entries; cgroups named $id left: $(find /sys/fs/cgroup -name "$id" | wc -l)"

step "exit statuses pass through: /bin/true and /bin/false"
set +e
for prog in /bin/true /bin/false; do
  node -e '
    const fs = require("fs"); const f = process.argv[1];
    const c = JSON.parse(fs.readFileSync(f, "utf8"));
    c.process.args = [process.argv[2]];
    fs.writeFileSync(f, JSON.stringify(c, null, 2));
  ' "$work/bundle/config.json" "$prog"
  "$tsrun" --root "$root" run --bundle "$work/bundle" "$id"
  echo "tsrun run ... $prog exited $?"
done
set -e

step "a broken bundle gets a clear error"
cp "$work/bundle/config.json" "$work/config.good"
node -e '
  const fs = require("fs"); const f = process.argv[1];
  const c = JSON.parse(fs.readFileSync(f, "utf8"));
  c.process.cwd = "relative/dir"; c.linux.namespaces.push({type: "pid"});
  fs.writeFileSync(f, JSON.stringify(c, null, 2));
' "$work/bundle/config.json"
show "$tsrun" check --bundle "$work/bundle" || true
printf '\ndone: every container deleted, %s removed.\n' "$work"
