#!/usr/bin/env bash
# The end of make test: any cgroup of a test container (the harness's ids,
# tsrun-it-*) made since the run began is a test that did not clean up, or
# a delete that missed something. Containers without an id of their own
# sit under the caller's cgroup in every hierarchy (as runc's do), so the
# whole tree is searched, not only each hierarchy's top.
#
#   scripts/check-leftovers.sh SINCE_EPOCH_SECONDS
set -euo pipefail
since=$1
left=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -type d -name 'tsrun-it-*' -newermt "@$since" 2>/dev/null || true)
if [ -n "$left" ]; then
  echo "make test: test containers left cgroups behind:" >&2
  echo "$left" >&2
  exit 1
fi
echo "make test: no test container left a cgroup"
