#!/bin/bash
# Unpacks Debian 13's criu 4.1 (with its own libc) into DIR, beside Debian 12's,
# without changing the system: Debian 12's criu 3.17 stops at start-up on Linux
# 6.13 and later ("vdso: Unexpected rt vDSO area bounds": the kernel split the
# vvar mapping into [vvar] and [vvar_vclock], which CRIU handles from 4.1 on).
# DIR/criu is a wrapper that runs it through its own ld.so; pass it to tsrun
# (and runc) as `--criu DIR/criu`, or put DIR first on PATH.
# Usage: criu-private.sh DIR
set -euo pipefail
dir=${1:?usage: criu-private.sh DIR}
want=4.1.1
if [ -x "$dir/criu" ] && "$dir/criu" --version 2>/dev/null | grep -q "Version: $want"; then exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs" "$tmp/root"
echo 'deb http://deb.debian.org/debian trixie main' >"$tmp/sources.list"
apt_opts=(-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=/nonexistent
  -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o Debug::NoLocking=1 -q)
echo "==> criu $want from Debian 13 into $dir (a private copy; the system is not changed)"
apt-get "${apt_opts[@]}" update >/dev/null
# apt-get download writes to the current directory; as root it warns that _apt cannot reach it
(cd "$tmp/debs" && apt-get "${apt_opts[@]}" download "criu=$want-*" "libcompel1=$want-*" libc6/trixie 2>&1 | grep -v 'unsandboxed' || true)
for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done

rm -rf "$dir"
mkdir -p "$dir/sbin"
cp -a "$tmp/root/usr/lib/x86_64-linux-gnu" "$dir/lib"
cp "$tmp/root/usr/sbin/criu" "$dir/sbin/criu"
cat >"$dir/criu" <<'EOF'
#!/bin/sh
# criu 4.1 from Debian 13, run with its own libc (scripts/criu-private.sh); the
# other libraries are Debian 12's. CRIU_FAULT=130 is CRIU's "no breakpoints"
# switch: on this VM a hardware breakpoint set through ptrace never fires, and
# CRIU would wait for it forever when it takes its parasite out of a process.
d=$(dirname "$(readlink -f "$0")")
export CRIU_FAULT="${CRIU_FAULT-130}"
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" "$d/sbin/criu" "$@"
EOF
chmod 755 "$dir/criu"
"$dir/criu" --version | grep -q "Version: $want"
