#!/usr/bin/env bash
# Captures the config.json that Docker (dockerd 20.10) and podman (4.3) give their runtime, with their default
# seccomp profiles and capabilities, for bench/engine-seccomp.sh. Each engine runs privately (its own paths, no
# network, the cgroupfs driver) with a "runtime" that copies the bundle's config.json and refuses to create;
# everything it starts is stopped by pid and removed. Nothing of the engines' text is kept in the repository.
#
#   bench/capture-engine-configs.sh OUTDIR     (as root; writes OUTDIR/docker.json and OUTDIR/podman.json)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
out=${1:?usage: capture-engine-configs.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ "$(id -u)" = 0 ] || { echo "capture: needs root" >&2; exit 1; }
DOCKER=/usr/bin/docker # Debian's client: /usr/local/bin may hold another one
for t in dockerd containerd podman conmon $DOCKER; do
  command -v "$t" >/dev/null || { echo "capture: $t is missing (make engines-deps installs it)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/tsrun-capture.XXXXXX)
chmod 755 "$work"
dpid=
had_run_containerd=$([ -e /run/containerd ] && echo 1 || true)
had_run_containers=$([ -e /run/containers ] && echo 1 || true)
had_run_libpod=$([ -e /run/libpod ] && echo 1 || true)
had_blob_cache=$([ -e /var/lib/containers ] && echo 1 || true)
had_run_docker=$([ -e /run/docker ] && echo 1 || true)
had_etc_docker=$([ -e /etc/docker ] && echo 1 || true)
cleanup() {
  set +e
  if [ -n "$dpid" ]; then
    kill "$dpid" 2>/dev/null || true
    for _ in $(seq 100); do [ -e "/proc/$dpid" ] || break; sleep 0.1; done
    kill -9 "$dpid" 2>/dev/null || true
  fi
  # dockerd's own containerd and any shim it started name the work dir on their command line
  for p in $(pgrep -f "$work" || true); do kill -9 "$p" 2>/dev/null || true; done
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
  for h in /sys/fs/cgroup/*/tsrun-capture /sys/fs/cgroup/*/tsrun-capture-pm /sys/fs/cgroup/unified/tsrun-capture*; do
    [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  [ -n "$had_run_containerd" ] || rm -rf /run/containerd
  [ -n "$had_run_containers" ] || rm -rf /run/containers
  [ -n "$had_run_libpod" ] || rm -rf /run/libpod
  [ -n "$had_blob_cache" ] || rm -rf /var/lib/containers
  [ -n "$had_run_docker" ] || rm -rf /run/docker
  [ -n "$had_etc_docker" ] || rm -rf /etc/docker
}
trap cleanup EXIT

# the capturing runtime: create copies the config and fails; every other call says the container is not there
cat > "$work/capture" <<EOF
#!/bin/bash
bundle= prev=
for a in "\$@"; do
  [ "\$prev" = --bundle ] || [ "\$prev" = -b ] && bundle=\$a
  case "\$a" in --bundle=*) bundle=\${a#--bundle=} ;; esac
  prev=\$a
done
for a in "\$@"; do
  if [ "\$a" = create ] && [ -n "\$bundle" ]; then cp "\$bundle/config.json" "\$CAPTURE_TO"; echo "captured" >&2; exit 1; fi
  [ "\$a" = features ] && exec $REPO/bin/tsrun features
done
echo "container does not exist" >&2
exit 1
EOF
chmod 755 "$work/capture"
bash scripts/busybox-rootfs.sh "$work/rootfs" >/dev/null

# ---- Docker
mkdir -p "$work/docker" "$work/docker-client"
cat > "$work/docker/daemon.json" <<EOF
{"iptables": false, "ip-masq": false, "bridge": "none", "exec-opts": ["native.cgroupdriver=cgroupfs"],
 "cgroup-parent": "/tsrun-capture", "deprecated-key-path": "$work/docker/key.json", "runtimes": {"capture": {"path": "$work/capture-docker"}}}
EOF
printf '#!/bin/bash\nCAPTURE_TO=%s/docker.json exec %s/capture "$@"\n' "$out" "$work" > "$work/capture-docker"
chmod 755 "$work/capture-docker"
sock=$work/docker/docker.sock
dockerd --config-file "$work/docker/daemon.json" --data-root "$work/docker/data" --exec-root "$work/docker/exec" \
  --pidfile "$work/docker/docker.pid" -H "unix://$sock" --containerd-namespace tsrun-capture \
  --containerd-plugins-namespace tsrun-capture-plugins > "$work/docker/dockerd.log" 2>&1 &
dpid=$!
for _ in $(seq 200); do DOCKER_CONFIG=$work/docker-client $DOCKER -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
tar -C "$work/rootfs" -c . | DOCKER_CONFIG=$work/docker-client $DOCKER -H "unix://$sock" import - tsrun-capture:busybox >/dev/null
rm -f "$out/docker.json"
DOCKER_CONFIG=$work/docker-client $DOCKER -H "unix://$sock" run --rm --runtime capture --network none tsrun-capture:busybox /bin/true >/dev/null 2>&1 || true
[ -s "$out/docker.json" ] || { echo "capture: dockerd gave the runtime no config:" >&2; tail -20 "$work/docker/dockerd.log" >&2; exit 1; }
kill "$dpid"
for _ in $(seq 100); do [ -e "/proc/$dpid" ] || break; sleep 0.1; done
dpid=

# ---- podman (its runtime is named after the file, so the wrapper is called tsrun for the JSON log)
pm=$work/podman
mkdir -p "$pm/bin" "$pm/tmp"
printf '#!/bin/bash\nCAPTURE_TO=%s/podman.json exec %s/capture "$@"\n' "$out" "$work" > "$pm/bin/tsrun"
chmod 755 "$pm/bin/tsrun"
n=$(ulimit -Hn)
cat > "$pm/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$n:$n", "nproc=32768:32768"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$pm/events.log"
lock_type = "file"
tmp_dir = "$pm/libpod-tmp"
[network]
network_config_dir = "$pm/networks"
EOF
rm -f "$out/podman.json"
CONTAINERS_CONF=$pm/containers.conf TMPDIR=$pm/tmp podman --root "$pm/graph" --runroot "$pm/runroot" \
  --tmpdir "$pm/libpod-tmp" --storage-driver vfs --runtime "$pm/bin/tsrun" run --rm --network none \
  --cgroup-parent /tsrun-capture-pm --rootfs "$work/rootfs" /bin/true >"$pm/run.log" 2>&1 || true
CONTAINERS_CONF=$pm/containers.conf TMPDIR=$pm/tmp podman --root "$pm/graph" --runroot "$pm/runroot" \
  --tmpdir "$pm/libpod-tmp" --storage-driver vfs rm --all --force >/dev/null 2>&1 || true
[ -s "$out/podman.json" ] || { echo "capture: podman gave the runtime no config:" >&2; cat "$pm/run.log" >&2; exit 1; }
echo "capture: $out/docker.json $out/podman.json" >&2
