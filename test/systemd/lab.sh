#!/usr/bin/env bash
# test/systemd/lab.sh — a real systemd booted as PID 1 of its own pid, mount, cgroup, uts and ipc namespaces,
# for tests of tsrun's --systemd-cgroup (and engines configured for systemd cgroups) on a host whose own PID 1
# is not systemd.
#
#   lab.sh start DIR [--bind PATH]... [--owner PID]
#                                       boot; returns once `systemctl is-system-running` says running/degraded;
#                                       with --owner, a watchdog stops the lab when process PID ends first
#   lab.sh exec DIR [--cwd D] -- CMD... run CMD inside the lab (its namespaces, the lab-exec cgroup); exit = CMD's
#   lab.sh stop DIR                     poweroff (SIGRTMIN+4), SIGKILL after LAB_STOP_TIMEOUT (default 20) s,
#                                       kill whatever is left in the lab's cgroups, remove them; 1 if leftovers
#   lab.sh leftovers DIR                print what of the lab remains on the host (nothing: exit 0)
#   lab.sh info DIR                     pid=HOSTPID, one cgroup=MOUNTPOINT HOSTPATH per hierarchy, boot-ms=N
#
# Isolation (systemd at boot empties /tmp, writes /etc and /var, and makes init.scope, system.slice and
# user.slice in every cgroup hierarchy it sees): its root is an overlay of the host's / with a private tmpfs
# upper dir, private /run, /tmp, /dev, /proc (/proc/sys read-only), a read-only /sys; its cgroups live under
# HOSTCG/tsrun-systemd-lab-N (HOSTCG: the caller's cgroup in every hierarchy), which is the root of its cgroup
# namespace; the hierarchies are mounted again inside with the host's options. Shared with the host at the
# same paths, read-write: this repository, DIR, and every --bind PATH. Units that touch the kernel or host
# state (sysctl, modules, binfmt, udev, clock) or that the tests do not need are masked; the lab boots
# tsrun-lab.target: basic.target + dbus + logind. DIR/.lab holds the state and console.log (systemd's output).
set -euo pipefail

SELF=$(readlink -f "$0")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
STOP_TIMEOUT=${LAB_STOP_TIMEOUT:-20}
BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-90}
MASK=(
  systemd-sysctl.service systemd-modules-load.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
  proc-sys-fs-binfmt_misc.mount modprobe@.service kmod-static-nodes.service systemd-timesyncd.service
  systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service systemd-udevd-control.socket
  systemd-udevd-kernel.socket systemd-hwdb-update.service systemd-random-seed.service systemd-pstore.service
  systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer
  systemd-tmpfiles-clean.service timers.target systemd-journal-flush.service systemd-journald-audit.socket
  systemd-firstboot.service systemd-machine-id-commit.service systemd-repart.service systemd-pcrphase.service
  systemd-pcrphase-sysinit.service systemd-update-utmp.service systemd-remount-fs.service systemd-sysusers.service
  systemd-ask-password-console.path systemd-ask-password-wall.path systemd-initctl.socket
  dev-hugepages.mount sys-fs-fuse-connections.mount sys-kernel-config.mount
  sys-kernel-debug.mount sys-kernel-tracing.mount ldconfig.service e2scrub_reap.service
  getty.target console-getty.service getty@.service serial-getty@.service network.target networking.service
  systemd-networkd.service systemd-resolved.service docker.socket docker.service podman.socket podman.service podman-restart.service podman-auto-update.service
  containerd.service postgresql.service cron.service ssh.service
)

die() { echo "lab.sh: $*" >&2; exit 1; }
usage() { sed -n '6,13s/^# \{0,1\}//p' "$SELF" >&2; exit 2; }
state() { echo "$1/.lab"; }

# alive PID STARTTIME: the process exists, is not a zombie, and is the one we started (not a reused pid)
alive() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  set -- "$2" $s
  [ "$2" != Z ] && [ "$2" != X ] && [ "${21}" = "$1" ]   # field 22 of stat: start time
}
starttime() { local s; s=$(cat "/proc/$1/stat") && s=${s##*) } && set -- $s && echo "${20}"; }

# The caller's hierarchies, one per line: FSTYPE MOUNTPOINT SUPEROPTS CGROUP (the caller's cgroup in it)
hierarchies() {
  local line fields mp fstype sopts ctl cg
  while read -r line; do
    read -ra fields <<<"$line"
    mp=${fields[4]}
    local i=6; while [ "${fields[$i]}" != - ]; do i=$((i + 1)); done
    fstype=${fields[$((i + 1))]} sopts=${fields[$((i + 3))]}
    case $fstype in cgroup|cgroup2) ;; *) continue ;; esac
    if [ "$fstype" = cgroup2 ]; then
      cg=$(sed -n 's/^0:://p' /proc/self/cgroup)
    else   # the controllers (or name=) of this v1 mount, as /proc/self/cgroup lists them
      ctl=$(tr , '\n' <<<"$sopts" | grep -vxE 'rw|ro|clone_children|noprefix|xattr|cpuset_v2_mode|release_agent=.*' | paste -sd,)
      cg=$(awk -F: -v c="$ctl" '$1 != 0 { n = split($2, a, ","); split(c, b, ","); if (n == length(b)) { ok = 1; for (k in a) { f = 0; for (j in b) if (a[k] == b[j]) f = 1; if (!f) ok = 0 } if (ok) print $3 } }' /proc/self/cgroup)
    fi
    [ -n "$cg" ] || die "no cgroup of this process in $mp"
    echo "$fstype $mp $sopts $cg"
  done </proc/self/mountinfo
}

cmd_start() {
  local dir st binds=() cg owner=
  dir=$(readlink -f "${1:?DIR}"); shift
  while [ $# -gt 0 ]; do
    case $1 in
      --bind) binds+=("$(readlink -f "${2:?}")"); shift 2 ;;
      --owner) owner=${2:?}; shift 2 ;;
      *) usage ;;
    esac
  done
  [ "$(id -u)" = 0 ] || die "needs root"
  [ -x /lib/systemd/systemd ] || die "systemd is not installed"
  command -v dbus-daemon >/dev/null || die "dbus-daemon is not installed"
  st=$(state "$dir")
  [ ! -e "$st/pid" ] || die "$dir: a lab is already running there (lab.sh stop $dir)"
  mkdir -p "$st/fs"; rm -f "$st/cgroup-ready"
  : >"$st/console.log"
  printf '%s\n' "$REPO" "$dir" "${binds[@]}" | sort -u >"$st/binds"
  hierarchies >"$st/hierarchies"
  local name=tsrun-systemd-lab-$$ fstype mp sopts path
  : >"$st/cgroups"; : >"$st/roots-before"
  while read -r fstype mp sopts path; do
    cg=$mp${path%/}/$name
    mkdir "$cg"
    echo "$cg" >>"$st/cgroups"
    # systemd must not create these beside the lab's cgroup: remember which already exist there
    for u in {"$mp","${cg%/*}"}/{init.scope,system.slice,user.slice}; do [ -e "$u" ] && echo "$u" >>"$st/roots-before"; done
    if [ -e "$cg/cpuset.cpus" ]; then   # a v1 cpuset takes no task until it has cpus and mems
      local f; for f in cpuset.cpus cpuset.mems; do
        cat "${cg%/*}/$f" >"$cg/$f"; done
    fi
  done <"$st/hierarchies"
  local t0 upid pid
  t0=$(date +%s%N)
  (
    while read -r cg; do echo "$BASHPID" >"$cg/cgroup.procs"; done <"$st/cgroups"
    exec setsid unshare --pid --fork --mount --cgroup --uts --ipc --propagation private --kill-child \
      -- bash "$SELF" _init "$dir"
  ) </dev/null >>"$st/console.log" 2>&1 &
  upid=$!
  echo "$upid $(starttime "$upid")" >"$st/unshare.pid"
  for _ in $(seq 200); do
    pid=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null || true); pid=${pid%% *}
    [ -n "$pid" ] && break
    alive "$upid" "$(cut -d' ' -f2 "$st/unshare.pid")" || break
    sleep 0.05
  done
  [ -n "$pid" ] || { cat "$st/console.log" >&2; cmd_stop "$dir" >&2 || true; die "the lab did not start"; }
  echo "$pid $(starttime "$pid")" >"$st/pid"
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    # pure v2: a cgroup with processes takes no controllers for its children, and the root of a cgroup
    # namespace cannot delegate them from inside: PID 1 goes to init.scope (systemd takes the parent as
    # its root), unshare back to the caller's cgroup, and the lab's root gets every controller it has
    # The lab's init polls with sleep(1) until cgroup-ready: a sleep forked just before the move stays in the lab's
    # root, and the controllers are then refused (EBUSY). So move whatever is there, and try again.
    read -r fstype mp sopts path <"$st/hierarchies"; cg=$(cat "$st/cgroups")
    mkdir "$cg/init.scope"
    local c p ok=0
    for _ in $(seq 100); do
      for p in $(cat "$cg/cgroup.procs"); do
        if [ "$p" = "$upid" ]; then echo "$p" >"$mp$path/cgroup.procs"; else echo "$p" >"$cg/init.scope/cgroup.procs" 2>/dev/null || true; fi
      done
      ok=1
      for c in $(cat "$cg/cgroup.controllers"); do echo "+$c" 2>/dev/null >"$cg/cgroup.subtree_control" || { ok=0; break; }; done
      [ "$ok" = 1 ] && break
      sleep 0.02
    done
    [ "$ok" = 1 ] || { cmd_stop "$dir" >&2 || true; die "the lab's cgroup took no controllers: $(cat "$cg/cgroup.procs" | tr '\n' ' ')"; }
  fi
  touch "$st/cgroup-ready"
  # wait for systemd's private bus (seen through /proc/PID/root), then for the end of boot
  local deadline=$((SECONDS + BOOT_TIMEOUT)) out=
  while [ $SECONDS -lt $deadline ] && [ ! -S "/proc/$pid/root/run/systemd/private" ]; do
    alive $(cat "$st/pid") || break
    sleep 0.02
  done
  while [ $SECONDS -lt $deadline ]; do
    alive $(cat "$st/pid") || break
    out=$(timeout $((deadline - SECONDS + 1)) bash "$SELF" exec "$dir" --cwd / -- systemctl is-system-running --wait 2>>"$st/console.log") || true
    case $out in running|degraded) break ;; esac
    sleep 0.1
  done
  case $out in
    running) ;;
    degraded) echo "lab.sh: the lab is degraded:" >&2; bash "$SELF" exec "$dir" --cwd / -- systemctl --failed --no-pager >&2 || true ;;
    *) tail -40 "$st/console.log" >&2; cmd_stop "$dir" >&2 || true; die "boot did not finish (state: ${out:-none})" ;;
  esac
  echo "$(( ($(date +%s%N) - t0) / 1000000 ))" >"$st/boot-ms"
  if [ -n "$owner" ]; then   # a watchdog: the lab powers off when its owner dies without stopping it
    local ost; ost=$(starttime "$owner")
    (
      exec </dev/null >>"$st/console.log" 2>&1
      rm -f "$st/watchdog.fifo"; mkfifo "$st/watchdog.fifo"; exec 9<>"$st/watchdog.fifo"; rm -f "$st/watchdog.fifo"
      # read -t on a fifo nobody writes: a one-second sleep that forks nothing and a kill ends at once
      while alive "$owner" "$ost" && alive $(cat "$st/pid" 2>/dev/null || echo 0 0); do read -r -t 1 -u 9 || true; done
      [ -e "$st/pid" ] && alive $(cat "$st/pid") && { echo "lab.sh: owner $owner is gone: stopping the lab"; rm -f "$st/watchdog.pid"; cmd_stop "$dir"; }
    ) &
    echo "$! $(starttime $!)" >"$st/watchdog.pid"
  fi
  echo "lab.sh: systemd is up in $dir (host pid $pid, ${out}) after $(cat "$st/boot-ms") ms" >&2
}

# PID 1 of the new namespaces: build the lab's root, check it is private, then become systemd.
cmd_init() {
  local dir=$1 st fs r src
  st=$(state "$dir"); fs=$st/fs; r=$fs/root
  local t=$SECONDS   # cmd_start places this process in its cgroups first
  while [ ! -e "$st/cgroup-ready" ]; do [ $((SECONDS - t)) -lt 30 ] || exit 1; sleep 0.01; done
  mount -t tmpfs -o mode=700 tsrun-lab "$fs"
  mkdir "$fs/upper" "$fs/work" "$r"
  mount -t overlay -o "lowerdir=/,upperdir=$fs/upper,workdir=$fs/work" tsrun-lab-root "$r"
  mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
  for src in sys sysrq-trigger; do
    [ -e "$r/proc/$src" ] && mount --bind "$r/proc/$src" "$r/proc/$src" && mount -o remount,bind,ro "$r/proc/$src"
  done
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$r/sys"
  local fstype mp sopts path
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    mount -t cgroup2 -o "$(sed -n 's|^cgroup2 /sys/fs/cgroup \([^ ]*\) .*|\1|p' "$st/hierarchies")" cgroup2 "$r/sys/fs/cgroup"
  else
    mount -t tmpfs -o mode=755,nosuid,nodev,noexec tsrun-lab-cgroup "$r/sys/fs/cgroup"
    while read -r fstype mp sopts path; do
      mkdir -p "$r$mp"; mount -t "$fstype" -o "$sopts" "$fstype" "$r$mp"
    done <"$st/hierarchies"
    for src in /sys/fs/cgroup/*; do [ -L "$src" ] && cp -P "$src" "$r$src"; done
    mount -o remount,ro,nosuid,nodev,noexec tsrun-lab-cgroup "$r/sys/fs/cgroup"
  fi
  mount -t tmpfs -o mode=755,nosuid tsrun-lab-dev "$r/dev"
  for src in null zero full random urandom tty net/tun fuse; do
    [ -c "/dev/$src" ] || continue
    mkdir -p "$(dirname "$r/dev/$src")"; touch "$r/dev/$src"; mount --bind "/dev/$src" "$r/dev/$src"
  done
  touch "$r/dev/console" "$st/dev-console.log"; mount --bind "$st/dev-console.log" "$r/dev/console"
  mkdir "$r/dev/pts" "$r/dev/shm" "$r/dev/mqueue"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$r/dev/pts"
  ln -s pts/ptmx "$r/dev/ptmx"
  mount -t tmpfs -o mode=1777,nosuid,nodev tsrun-lab-shm "$r/dev/shm"
  mount -t mqueue mqueue "$r/dev/mqueue"
  ln -s /proc/self/fd "$r/dev/fd"; ln -s /proc/self/fd/0 "$r/dev/stdin"
  ln -s /proc/self/fd/1 "$r/dev/stdout"; ln -s /proc/self/fd/2 "$r/dev/stderr"
  mount -t tmpfs -o mode=755,nosuid,nodev tsrun-lab-run "$r/run"
  mkdir -m 1777 "$r/run/lock"
  mount -t tmpfs -o mode=1777,nosuid,nodev tsrun-lab-tmp "$r/tmp"
  while read -r src; do mkdir -p "$r$src"; mount --bind "$src" "$r$src"; done <"$st/binds"
  # the lab's own configuration, in the overlay's upper dir only
  local e=$r/etc/systemd/system u
  mkdir -p "$r/etc/systemd/system-generators" "$r/etc/tmpfiles.d"
  # masks: units, every generator, tmpfiles' /tmp cleaning (one perl, not a fork per link)
  perl -e 'for (@ARGV) { unlink; symlink("/dev/null", $_) or die "$_: $!\n" }' \
    "${MASK[@]/#/$e/}" "$r/etc/tmpfiles.d/tmp.conf" \
    $(for u in /lib/systemd/system-generators/*; do echo "$r/etc/systemd/system-generators/${u##*/}"; done)
  cat >"$e/tsrun-lab.target" <<'EOF'
[Unit]
Description=tsrun systemd lab
Requires=basic.target
Wants=dbus.service systemd-logind.service
After=basic.target dbus.service systemd-logind.service
AllowIsolate=yes
EOF
  echo tsrun-lab >"$r/etc/hostname"; echo tsrun-lab >/proc/sys/kernel/hostname
  tr -d - </proc/sys/kernel/random/uuid >"$r/etc/machine-id"
  cd "$r"; pivot_root . .; umount -l .; cd /
  # never boot systemd on the host's files or cgroups
  [ "$(stat -f -c %T /)" = overlayfs ] || { echo "lab: / is not the overlay" >&2; exit 1; }
  for src in /tmp /run; do [ "$(stat -f -c %T "$src")" = tmpfs ] || { echo "lab: $src is not private" >&2; exit 1; }; done
  if grep -qvE ':/(init\.scope)?$' /proc/self/cgroup; then echo "lab: not at the root of a cgroup namespace" >&2; exit 1; fi
  exec env -i container=tsrun-lab TERM=dumb /lib/systemd/systemd --unit=tsrun-lab.target --log-target=console --show-status=false
}

cmd_exec() {
  local dir st cwd=
  dir=$(readlink -f "${1:?DIR}"); shift
  st=$(state "$dir")
  while [ $# -gt 0 ]; do
    case $1 in --cwd) cwd=${2:?}; shift 2 ;; --) shift; break ;; *) usage ;; esac
  done
  [ $# -gt 0 ] || usage
  [ -e "$st/pid" ] || die "$dir: no lab is running there"
  local pid; read -r pid _ <"$st/pid"
  alive $(cat "$st/pid") || die "$dir: the lab's systemd (pid $pid) is gone"
  if [ -z "$cwd" ]; then cwd=$PWD; [ -d "/proc/$pid/root$cwd" ] || cwd=/; fi
  # systemd trims empty cgroups at its root when it starts: make lab-exec again where it is gone
  while read -r cg; do
    if [ ! -d "$cg/lab-exec" ]; then
      mkdir -p "$cg/lab-exec"
      [ -e "$cg/cpuset.cpus" ] && cat "$cg/cpuset.cpus" >"$cg/lab-exec/cpuset.cpus" && cat "$cg/cpuset.mems" >"$cg/lab-exec/cpuset.mems"
    fi
    echo "$BASHPID" >"$cg/lab-exec/cgroup.procs"
  done <"$st/cgroups"
  exec nsenter -t "$pid" -m -p -C -u -i -r "--wdns=$cwd" -- \
    env -u NOTIFY_SOCKET -u DBUS_SYSTEM_BUS_ADDRESS -u DBUS_SESSION_BUS_ADDRESS -u XDG_RUNTIME_DIR \
    -u INVOCATION_ID -u LISTEN_FDS -u LISTEN_PID PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "$@"
}

# the pids in a cgroup tree
tree_pids() { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null || true; }

cmd_stop() {
  local dir st pid stt cg n
  dir=$(readlink -f "${1:?DIR}"); st=$(state "$dir")
  [ -d "$st" ] || die "$dir: no lab there"
  local t0; t0=$(date +%s%N)
  if [ -e "$st/pid" ] && read -r pid stt <"$st/pid" && alive "$pid" "$stt"; then
    kill -s SIGRTMIN+4 "$pid" || true   # poweroff.target
    for _ in $(seq $((STOP_TIMEOUT * 20))); do alive "$pid" "$stt" || break; sleep 0.05; done
    if alive "$pid" "$stt"; then echo "lab.sh: systemd did not power off in ${STOP_TIMEOUT} s: SIGKILL" >&2; kill -9 "$pid"; fi
  fi
  # the watchdog, unless it is the one stopping
  if [ -e "$st/watchdog.pid" ] && read -r pid stt <"$st/watchdog.pid" && [ "$pid" != "$BASHPID" ] && alive "$pid" "$stt"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" "$stt" || break; sleep 0.02; done
  fi
  if [ -e "$st/unshare.pid" ] && read -r pid stt <"$st/unshare.pid"; then
    for _ in $(seq 100); do alive "$pid" "$stt" || break; sleep 0.05; done
    alive "$pid" "$stt" && kill -9 "$pid"
  fi
  # anything still in the lab's cgroups (an exec's nsenter outside the pid namespace, say), then the cgroups
  if [ -e "$st/cgroups" ]; then
    for n in $(seq 100); do
      local left=0
      while read -r cg; do
        [ -d "$cg" ] || continue
        for pid in $(tree_pids "$cg"); do kill -9 "$pid" 2>/dev/null || true; done
        find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [ -d "$cg" ] && left=1
      done <"$st/cgroups"
      [ $left = 0 ] && break
      sleep 0.05
    done
  fi
  echo "$(( ($(date +%s%N) - t0) / 1000000 ))" >"$st/stop-ms"
  rm -f "$st/pid"
  rmdir "$st/fs" 2>/dev/null || true
  local l; l=$(cmd_leftovers "$dir") || { echo "$l" >&2; return 1; }
  echo "lab.sh: stopped in $(cat "$st/stop-ms") ms, nothing left" >&2
}

cmd_leftovers() {
  local dir st pid stt cg f out=()
  dir=$(readlink -f "${1:?DIR}"); st=$(state "$dir")
  for f in pid unshare.pid watchdog.pid; do
    [ -e "$st/$f" ] && read -r pid stt <"$st/$f" && alive "$pid" "$stt" && out+=("process $pid ($f) is alive")
  done
  if [ -e "$st/cgroups" ]; then
    while read -r cg; do [ -e "$cg" ] && out+=("cgroup $cg ($(tree_pids "$cg" | wc -w) processes)"); done <"$st/cgroups"
    local fstype mp sopts path
    while read -r fstype mp sopts path; do
      for f in {"$mp","$mp${path%/}"}/{init.scope,system.slice,user.slice}; do
        [ -e "$f" ] && ! grep -qxF "$f" "$st/roots-before" && out+=("cgroup $f appeared on the host")
      done
    done <"$st/hierarchies"
  fi
  if grep -qF " $dir/" /proc/self/mountinfo; then out+=("mount under $dir on the host"); fi
  [ ${#out[@]} = 0 ] && return 0
  printf '%s\n' "${out[@]}"; return 1
}

cmd_info() {
  local st; st=$(state "$(readlink -f "${1:?DIR}")")
  [ -e "$st/pid" ] || die "no lab is running in $1"
  echo "pid=$(cut -d' ' -f1 "$st/pid")"
  paste -d' ' <(cut -d' ' -f2 "$st/hierarchies") "$st/cgroups" | sed 's/^/cgroup=/'
  echo "boot-ms=$(cat "$st/boot-ms")"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  _init) shift; cmd_init "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  leftovers) shift; cmd_leftovers "$@" ;;
  info) shift; cmd_info "$@" ;;
  *) usage ;;
esac
