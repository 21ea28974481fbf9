#!/usr/bin/env bash
# Installs the system packages tracer-tui needs to build and test, only the
# missing ones. Idempotent: a machine that has them all is left alone.
# With --test, also what only the tests use (a real Prometheus, to scrape
# --metrics).
set -euo pipefail

# package, and how to tell it is there (a command, or a file it installs)
need=(
  "clang:command:clang"
  "libelf-dev:file:/usr/include/libelf.h"
  "zlib1g-dev:file:/usr/include/zlib.h"
  "pkg-config:command:pkg-config"
  "make:command:make"
  "gcc:command:cc"
  "tmux:command:tmux"
  "python3:command:python3"
  "procps:command:pkill"
  "util-linux:command:setpriv"
)
if [ "${1:-}" = "--test" ]; then
  # prometheus and promtool. On a host run by systemd the package also
  # starts its own service (port 9090): the tests do not use it, they run
  # their own Prometheus on free ports
  need+=("prometheus:command:promtool")
fi
missing=()
for entry in "${need[@]}"; do
  IFS=: read -r pkg kind probe <<< "$entry"
  case "$kind" in
    command) command -v "$probe" > /dev/null 2>&1 && continue ;;
    file) [ -e "$probe" ] && continue ;;
  esac
  missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
echo "install-deps: done" >&2
