# tsrun: `make demo` and `make test` install what is missing, build, and run.
SHELL := /bin/bash
CC ?= gcc
CFLAGS ?= -O2 -g
NATIVE_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $(CFLAGS)
NATIVE_SRC := $(wildcard native/*.c)
NATIVE_HDR := $(wildcard native/*.h)
TS_SRC := $(shell find src schemas -type f 2>/dev/null)
APT_PACKAGES := gcc make busybox-static libseccomp2 hyperfine

.PHONY: all deps apt npm build native ts demo test test-unit test-integration typecheck bench clean

all: build

deps: apt npm

# Debian packages: only the missing ones, so a ready machine pays nothing.
apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "==> apt-get install$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
	  { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	fi

npm: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@echo "==> npm ci"
	@npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
	@test -d node_modules/ajv || { echo "npm ci failed"; exit 1; }
	@touch $@

build: native ts

native: build/tsrun-init

build/tsrun-init: $(NATIVE_SRC) $(NATIVE_HDR)
	@mkdir -p build
	$(CC) $(NATIVE_CFLAGS) -o $@ $(NATIVE_SRC)

ts: build/tsrun.js

build/tsrun.js: $(TS_SRC) build.mjs package.json node_modules/.package-lock.json
	@mkdir -p build
	node build.mjs

typecheck: npm
	npx tsc --noEmit

demo: deps build
	@bash scripts/demo.sh

test: deps build typecheck
	@bash scripts/test.sh

test-unit: deps build
	npx vitest run --project unit

test-integration: deps build
	npx vitest run --project integration

clean:
	rm -rf build
