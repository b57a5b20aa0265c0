#!/usr/bin/env bash
# Set up everything nslab needs on a fresh Debian 12 machine, then build it.
# Run as root (or with sudo): it installs Debian packages. Safe to run again.
#
#   tini, util-linux, procps …  the lab and the tutorial's tools
#   jupyter-* / python3-*       Debian's Jupyter stack (frontends, nbclient/nbconvert for the
#                               handouts, jupyter_client and the conformance suite for tests)
#   chromium, fonts-noto-cjk    browser tests and handout screenshots (Japanese text)
#   faketime, locales           the date tests: reruns as if on other days, Japanese date forms
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  tini util-linux procps psmisc iproute2 iputils-ping bash-completion man-db
  faketime locales
  jupyter-server jupyter-notebook jupyter-console jupyter-nbconvert
  python3-nbclient python3-jupyter-client python3-jupyter-kernel-test python3-ipykernel
  chromium fonts-noto-cjk
)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
command -v g++ >/dev/null 2>&1 || packages+=(g++ make python3)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "setup: installing Debian packages"
as_root apt-get update -q
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"

echo "setup: installing npm dependencies and building"
npm ci --no-audit --no-fund
npm run build
echo "setup: done (node $(node --version))"
