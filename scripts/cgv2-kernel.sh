#!/bin/bash
# cgv2-kernel.sh LAB: prints `export CGV2_CACHE=DIR` when the cgroup v2 lab's own guest kernel (Debian 12's
# User-Mode Linux 6.1) cannot boot on this machine, DIR holding one that can; prints nothing when it can.
#
# Why: UML before 7.x restores a process's FPU state through ptrace with a buffer of a fixed size, and the kernel
# takes only the host's whole XSAVE area, which is larger on a CPU with AMX. The guest's init then dies at boot
# ("userspace - ptrace set fp regs failed, errno = 14"; 6.12 from Debian 13 does the same). Debian unstable's
# user-mode-linux (7.x) sizes it from the host. It is unpacked, never installed, with its own libc, its ELF
# interpreter set to that libc's (patchelf), as scripts/criu-private.sh does for criu. Nothing of the system changes.
#
# Usage (the lab scripts): eval "$(bash scripts/cgv2-kernel.sh "$LAB")"
set -euo pipefail
lab=${1:?usage: cgv2-kernel.sh LAB}
cd "$(dirname "$0")/.."
[ -n "${CGV2_CACHE:-}" ] && exit 0 # the caller chose
boots() { CGV2_CACHE=$1 "$lab" -v --timeout 120 -- true 2>&1; }
out=$(boots "${CGV2_DEFAULT_CACHE:-/var/cache/cgv2-lab}") && exit 0
if ! grep -q "ptrace set fp regs failed" <<<"$out"; then
  echo "cgv2-kernel.sh: the lab's guest did not boot, not for the known reason; its own error follows in the run" >&2
  exit 0
fi
dir=$PWD/build/cgv2-cache
if [ ! -x "$dir/uml/current/usr/bin/linux.uml" ]; then
  echo "cgv2-kernel.sh: Debian 12's User-Mode Linux cannot boot on this CPU (its XSAVE area: $(grep -o -m1 'amx_tile' /proc/cpuinfo || echo 'no AMX flag')); unpacking Debian unstable's into $dir" >&2
  command -v patchelf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends patchelf >/dev/null
  tmp=$(mktemp -d "$PWD/build/cgv2-dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs" "$tmp/libc"
  echo 'deb http://deb.debian.org/debian sid main' >"$tmp/sources.list"
  apt_opts=(-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=/nonexistent
    -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o Debug::NoLocking=1 -q)
  apt-get "${apt_opts[@]}" update >/dev/null 2>&1
  (cd "$tmp/debs" && apt-get "${apt_opts[@]}" download user-mode-linux libc6 2>&1 | grep -v 'unsandboxed' || true) >&2
  ver=$(dpkg-deb -f "$tmp"/debs/user-mode-linux_*.deb Version)
  rm -rf "$dir"
  mkdir -p "$dir/uml"
  dpkg-deb -x "$tmp"/debs/user-mode-linux_*.deb "$dir/uml/$ver"
  dpkg-deb -x "$tmp"/debs/libc6_*.deb "$tmp/libc"
  libc=$dir/uml/$ver/usr/lib/uml-libc
  mkdir -p "$libc"
  cp -a "$tmp/libc/usr/lib/x86_64-linux-gnu/." "$libc/"
  patchelf --set-interpreter "$libc/ld-linux-x86-64.so.2" --set-rpath "$libc" "$dir/uml/$ver/usr/bin/linux.uml"
  ln -sfn "$ver" "$dir/uml/current"
fi
if out=$(boots "$dir"); then
  echo "cgv2-kernel.sh: the lab runs Debian unstable's User-Mode Linux $(readlink "$dir/uml/current") from $dir" >&2
  echo "export CGV2_CACHE=$(printf '%q' "$dir")"
else
  echo "cgv2-kernel.sh: Debian unstable's User-Mode Linux did not boot either:" >&2
  tail -n 5 <<<"$out" >&2
fi
