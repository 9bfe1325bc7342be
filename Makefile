# svcplane: every target runs on the project's own Node 24 (node_modules/.bin/node),
# never on the system's older node.
SHELL := /bin/bash
.DEFAULT_GOAL := build
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NODE := $(CURDIR)/node_modules/.bin/node
# Debian packages the agent and its tests use (command -> package).
DEB_PACKAGES := iptables iproute2 conntrack nftables procps kmod socat

.PHONY: bpf build deps system-deps check-node test test-unit deploy-check demo bench lint clean

# Installs the Debian packages that are missing (root on Debian; a no-op when all are there).
# The VM tests (test/vm) boot Debian's kernel (linux-image-amd64) under qemu, from an
# initramfs around a static busybox. The eBPF mode's programs are built with clang against
# libbpf-dev's headers; the agent loads them through libbpf1 (a dependency of bpftool).
system-deps:
	@missing=""; \
	for c in iptables-restore:iptables ip:iproute2 conntrack:conntrack nft:nftables sysctl:procps socat:socat \
	         modprobe:kmod qemu-system-x86_64:qemu-system-x86 ipvsadm:ipvsadm cpio:cpio xz:xz-utils \
	         clang:clang llvm-strip:llvm bpftool:bpftool; do \
	  command -v $${c%%:*} >/dev/null 2>&1 || missing="$$missing $${c##*:}"; \
	done; \
	ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || missing="$$missing linux-image-amd64"; \
	[ -f /usr/include/bpf/bpf_helpers.h ] || missing="$$missing libbpf-dev"; \
	dpkg-query -W -f='$${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing="$$missing busybox-static"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json check-node

check-node: node_modules/.package-lock.json
	@$(NODE) -e 'const v=process.versions.node; if (!v.startsWith("24.")) { console.error("svcplane needs Node 24, found " + v); process.exit(1); }'

build: deps bpf
	tsc -p tsconfig.build.json
	@# The test bed's helper scripts run as separate node processes (plain ESM, no build step).
	cp src/testbed/*.mjs dist/testbed/

# The BPF objects land in bpf/build/ (not committed).
bpf:
	$(MAKE) -C bpf

lint: deps
	tsc -p tsconfig.json --noEmit

test: system-deps build lint deploy-check
	vitest run

# The deployment artefacts in deploy/, offline: Kubernetes schemas, svcplane's config parser
# on the embedded and example configs, light lints of the unit and the Dockerfile.
deploy-check: build
	$(NODE) scripts/deploy-check.mjs

test-unit: build
	vitest run src

demo: system-deps build
	$(NODE) --enable-source-maps dist/cli/main.js demo

bench: system-deps build
	$(NODE) --enable-source-maps --expose-gc dist/bench/main.js

clean:
	rm -rf dist
