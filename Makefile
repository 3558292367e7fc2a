# tsrun: `make demo` and `make test` install what is missing, build, and run.
SHELL := /bin/bash
CC ?= gcc
CFLAGS ?= -O2 -g
NATIVE_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $(CFLAGS)
NATIVE_SRC := $(filter-out native/launcher%.c,$(wildcard native/*.c))
NATIVE_HDR := $(wildcard native/*.h)
TS_SRC := $(shell find src schemas -type f 2>/dev/null)
APT_PACKAGES := gcc make busybox-static libseccomp2 hyperfine strace iproute2
ENGINE_PACKAGES := containerd podman conmon docker.io buildah
BENCH_PACKAGES := hyperfine runc crun time
SYSTEMD_LAB_PACKAGES := systemd dbus dbus-user-session runc busybox-static util-linux
# checkpoint/restore: Debian 12's criu, and Debian 13's criu 4.1 unpacked into build/criu (scripts/criu-private.sh)
CRIU_PACKAGES := criu
# the rootless tests: newuidmap/newgidmap, slirp4netns for podman's rootless network, runc as the reference
ROOTLESS_PACKAGES := uidmap slirp4netns runc util-linux

.PHONY: all deps apt criu-deps engines-deps npm build native ts demo test test-unit test-integration test-engines test-systemd systemd-lab-deps rootless-deps test-rootless typecheck bench clean

all: build

deps: apt npm

# Debian packages: only the missing ones, so a ready machine pays nothing.
# $(call apt_install,PACKAGES,EXTRA_APT_FLAGS)
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "==> apt-get install$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) $$missing >/dev/null || \
	  { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) $$missing >/dev/null; }; \
	fi
endef

apt:
	$(call apt_install,$(APT_PACKAGES))

# containerd 1.6 and podman 4.3 (with conmon) for the engine tests (test/engines)
engines-deps:
	$(call apt_install,$(ENGINE_PACKAGES),--no-install-recommends)

# Debian 12's criu 3.17 cannot start on Linux 6.13+: the tests use Debian 13's 4.1 from build/criu
criu-deps:
	$(call apt_install,$(CRIU_PACKAGES),--no-install-recommends)
	@bash scripts/criu-private.sh build/criu

npm: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@echo "==> npm ci"
	@set -o pipefail; npm ci --no-audit --no-fund --loglevel=error 2>&1 | { grep -v 'Unknown user config' || true; } \
	  || { echo "npm ci failed" >&2; exit 1; }
	@touch $@

build: native ts

native: build/tsrun-init

# Every start copies the init into a sealed memfd (native/sealed.c): the debug
# info goes to a side file (gdb finds it by the debuglink), a third the copy.
build/tsrun-init: $(NATIVE_SRC) $(NATIVE_HDR)
	@mkdir -p build
	$(CC) $(NATIVE_CFLAGS) -o $@.tmp $(NATIVE_SRC)
	objcopy --only-keep-debug $@.tmp $@.debug
	objcopy --strip-debug --add-gnu-debuglink=$@.debug $@.tmp
	mv -f $@.tmp $@

ts: build/tsrun

# The bundle (build/tsrun.js) and the Bun executable compiled from it (build/tsrun-bun).
build/tsrun-bun build/tsrun.js &: $(TS_SRC) build.mjs scripts/bun-compile.mjs scripts/precompile-validators.mjs package.json node_modules/.package-lock.json
	@mkdir -p build
	node build.mjs

ifeq ($(TSRUN_ENGINE),node)
# build.mjs writes build/tsrun, a Node script that loads the bundle
build/tsrun: build/tsrun.js
else
# The launcher that starts build/tsrun-bun with the JIT off: the init's flags, and
# no libc (see its comment); no loop turned into a memcpy call by the optimiser,
# which would be our memcpy calling itself.
LAUNCHER_CFLAGS := -static -nostdlib -ffreestanding -fno-stack-protector \
  -fno-tree-loop-distribute-patterns -fno-asynchronous-unwind-tables -no-pie
LAUNCHER_SRC := $(wildcard native/launcher*.c)
build/tsrun: $(LAUNCHER_SRC) native/launcher-sys.h build/tsrun-bun
	$(CC) $(NATIVE_CFLAGS) $(LAUNCHER_CFLAGS) -o $@.tmp $(LAUNCHER_SRC)
	objcopy --strip-debug $@.tmp
	mv -f $@.tmp $@
endif

typecheck: npm
	npx tsc --noEmit

demo: deps build
	@bash scripts/demo.sh

test: deps criu-deps build typecheck
	@bash scripts/test.sh

# no apt and no root: gcc, make and Node are enough
test-unit: npm build
	npx vitest run --project unit

test-integration: deps criu-deps build
	npx vitest run --project integration

test-engines: deps engines-deps criu-deps build
	npx vitest run --project engines

# a real systemd booted in its own namespaces (test/systemd/lab.sh), runc --systemd-cgroup as the reference (root)
systemd-lab-deps:
	$(call apt_install,$(SYSTEMD_LAB_PACKAGES),--no-install-recommends)

test-systemd: deps systemd-lab-deps engines-deps build
	npx vitest run --project systemd

# a real user who is not root, made and removed by the tests (test/rootless/user.ts), runc as the reference (root to set up)
rootless-deps:
	$(call apt_install,$(ROOTLESS_PACKAGES),--no-install-recommends)

test-rootless: deps rootless-deps engines-deps build
	npx vitest run --project rootless

# tsrun beside runc and crun (bench/run.sh; BENCH_RUNS=N for more runs)
bench: deps engines-deps build
	$(call apt_install,$(BENCH_PACKAGES),--no-install-recommends)
	bash bench/run.sh

# the long versions of the fuzz and endurance tests (CI runs bounded ones)
STRESS_FUZZ_CASES ?= 3000
STRESS_CYCLES ?= 1000
stress: deps build
	FUZZ_CASES=$(STRESS_FUZZ_CASES) FUZZ_SEED=$${FUZZ_SEED:-$$(date +%s)} ENDURANCE_CYCLES=$(STRESS_CYCLES) \
	  npx vitest run --project integration test/integration/fuzz.test.ts test/integration/endurance.test.ts

clean:
	rm -rf build
