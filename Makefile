# svcplane: every target runs on the project's own Node 24 (node_modules/.bin/node),
# never on the system's older node.
SHELL := /bin/bash
.DEFAULT_GOAL := build
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NODE := $(CURDIR)/node_modules/.bin/node
# Debian packages the agent and its tests use (command -> package).
DEB_PACKAGES := iptables iproute2 conntrack nftables procps kmod socat

.PHONY: bpf build deps system-deps build-tools npm-tool check-node test test-unit deploy-check demo bench lint clean

# $(call ensure-tools,CHECK:PACKAGE ...,WHAT): each CHECK is a command on PATH or, starting
# with /, a file. What is missing is installed with apt-get when running as root on Debian
# (unless SVCPLANE_NO_INSTALL=1), else make stops with one line saying what to install.
define ensure-tools
@missing=""; \
for c in $(1); do \
  case "$${c%%:*}" in /*) [ -e "$${c%%:*}" ] ;; *) command -v "$${c%%:*}" >/dev/null 2>&1 ;; esac || missing="$$missing $${c##*:}"; \
done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$${SVCPLANE_NO_INSTALL:-}" != 1 ]; then \
    echo "installing Debian packages for $(2):$$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
  else \
    echo "svcplane: $(2) needs Debian packages that are missing:$$missing (as root: apt-get install$$missing)" >&2; exit 1; \
  fi; \
fi
endef

# Installs the Debian packages that are missing (root on Debian; a no-op when all are there).
# The VM tests (test/vm) boot Debian's kernel (linux-image-amd64) under qemu, from an
# initramfs around a static busybox. The eBPF mode's programs are built with clang against
# libbpf-dev's headers; the agent loads them through libbpf1 (a dependency of bpftool).
# The ingress controller runs Debian's nginx as its own child (its own config and prefix):
# the package's nginx.service is disabled, its default site never used.
# The bench's PNG charts are drawn with DejaVu Sans (fonts-dejavu-core): without a font resvg
# draws no text.
system-deps:
	@missing=""; \
	for c in iptables-restore:iptables ip:iproute2 conntrack:conntrack nft:nftables sysctl:procps socat:socat \
	         modprobe:kmod qemu-system-x86_64:qemu-system-x86 ipvsadm:ipvsadm ipset:ipset cpio:cpio xz:xz-utils \
	         clang:clang llvm-strip:llvm bpftool:bpftool unshare:util-linux nsenter:util-linux dig:bind9-dnsutils knotd:knot dnsperf:dnsperf \
	         nginx:nginx-light openssl:openssl curl:curl wrk:wrk haproxy:haproxy npm:npm; do \
	  command -v $${c%%:*} >/dev/null 2>&1 || missing="$$missing $${c##*:}"; \
	done; \
	ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || missing="$$missing linux-image-amd64"; \
	[ -f /usr/include/bpf/bpf_helpers.h ] || missing="$$missing libbpf-dev"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	dpkg-query -W -f='$${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing="$$missing busybox-static"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi; \
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl disable --now nginx.service >/dev/null 2>&1 || true; fi

# npm (Debian's, on Debian's nodejs) only installs the dependencies, Node 24 among them.
npm-tool:
	$(call ensure-tools,npm:npm,npm ci (the Node 24 dependencies))

node_modules/.package-lock.json: package.json package-lock.json | npm-tool
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json check-node

check-node: node_modules/.package-lock.json
	@$(NODE) -e 'const v=process.versions.node; if (!v.startsWith("24.")) { console.error("svcplane needs Node 24, found " + v); process.exit(1); }'

# tsc --build: a no-op when nothing changed (its state is dist/.tsbuildinfo, so it goes with dist),
# and it re-emits outputs that went missing; a full compile is 40 s on a loaded 2-core machine.
build: deps bpf
	tsc -b tsconfig.build.json
	@# The test bed's helper scripts run as separate node processes (plain ESM, no build step).
	cp src/testbed/*.mjs dist/testbed/

# The eBPF mode's programs: clang, llvm and libbpf-dev's headers (see system-deps).
build-tools:
	$(call ensure-tools,clang:clang llvm-strip:llvm /usr/include/bpf/bpf_helpers.h:libbpf-dev,make build (the BPF programs))

# The BPF objects land in bpf/build/ (not committed).
bpf: build-tools
	$(MAKE) -C bpf

lint: deps
	tsc -p tsconfig.json --noEmit
	$(NODE) scripts/check-imports.mjs

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
	$(NODE) --enable-source-maps --max-semi-space-size=8 --expose-gc dist/bench/main.js

clean:
	rm -rf dist
